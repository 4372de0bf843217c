// The report in a real browser: headless Chromium (Debian's, at /usr/bin/chromium; .ci/run
// installs it) loads the file with no console errors and no requests beyond the file itself,
// every chart is a non-empty SVG, and a screenshot is kept in the test's temp folder. Two pages,
// one browser: a report with fixture series, and a `report --simulate` one from the simulator.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { renderReport, simulateForReport } from '../../src/report/index.js';
import { buildPlan } from '../fixtures/plans/build.js';
import { buildSeries } from '../fixtures/plans/series.js';
import { qwen3OmniPlan } from '../sim/plans.js';
import { readPlan } from '../../src/plan/io.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium); .ci/run installs it`;

interface Loaded {
  charts: { name: string | null; width: number; height: number; drawn: number; series: number; outside: string[]; overlapping: string[] }[];
  title: string;
  problems: string[];
  requests: string[];
  url: string;
}

describe('report in headless Chromium', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'cornserve-report-browser-'));
  let context: BrowserContext | undefined;
  before(async () => {
    if (skip) return;
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(join(root, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await context?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Loads an HTML file, measures every chart and keeps a full-page screenshot next to it. */
  async function load(file: string): Promise<Loaded> {
    const page = await context!.newPage();
    try {
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      const charts = await page.$$eval('figure.chart', (figures) =>
        figures.map((f) => {
          const svg = f.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          // No named helper functions in here: tsx would wrap them in a __name() the page lacks.
          const sized = svg
            ? [...svg.querySelectorAll('rect, path, line, circle, text')].filter((e) => {
                const b = (e as unknown as { getBBox(): { width: number; height: number } }).getBBox();
                return b.width > 0 || b.height > 0;
              })
            : [];
          const drawn = sized.length;
          const series = sized.filter((e) => e.matches('path.series')).length;
          // Every text inside its SVG's box (half a pixel of rounding allowed), as the browser lays it out.
          const texts = svg
            ? [...svg.querySelectorAll('text')].map((t) => ({
                text: t.textContent ?? '',
                cls: t.getAttribute('class') ?? '',
                r: t.getBoundingClientRect(),
              }))
            : [];
          const outside = box
            ? texts
                .filter(
                  ({ r }) => r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5,
                )
                .map((t) => `${t.cls} '${t.text}'`)
            : [];
          // Labels of one kind (colocation groups, legend entries) never on top of each other.
          const labels = texts.filter((t) => t.cls === 'group-label' || t.cls === 'legend');
          const overlapping = labels.flatMap((a, i) =>
            labels
              .slice(i + 1)
              .filter(
                (b) => a.cls === b.cls && a.r.left < b.r.right && b.r.left < a.r.right && a.r.top < b.r.bottom && b.r.top < a.r.bottom,
              )
              .map((b) => `'${a.text}' and '${b.text}'`),
          );
          return {
            name: f.getAttribute('data-chart'),
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            drawn,
            series,
            outside,
            overlapping,
          };
        }),
      );
      const shot = file.replace(/\.html$/, '.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      return { charts, title: await page.title(), problems, requests, url };
    } finally {
      await page.close();
    }
  }

  function assertCleanAndDrawn(loaded: Loaded): void {
    for (const c of loaded.charts) {
      assert.ok(c.width > 100 && c.height > 40, `${c.name}: svg is ${c.width}×${c.height}`);
      assert.ok(c.drawn > 5, `${c.name}: only ${c.drawn} drawn elements`);
      assert.deepEqual(c.outside, [], `${c.name}: text outside its SVG`);
      assert.deepEqual(c.overlapping, [], `${c.name}: overlapping labels`);
    }
    assert.deepEqual(loaded.problems, []);
    assert.deepEqual(loaded.requests, [loaded.url]);
  }

  test('loads with no console errors, every chart has a non-empty SVG, a screenshot is written', async () => {
    const plan = buildPlan({ simulated: true, name: 'omni <demo> & "quotes"' });
    const file = join(root, 'report.html');
    writeFileSync(file, renderReport({ plan, simulation: buildSeries(plan) }));
    const loaded = await load(file);
    assert.equal(loaded.charts.length, 7);
    assertCleanAndDrawn(loaded);
    assert.equal(loaded.title, 'cornserve plan omni <demo> & "quotes"');
  });

  test('a --simulate report loads cleanly with every CDF and the goodput chart drawing a line per strategy', async () => {
    const plan = qwen3OmniPlan(20);
    const file = join(root, 'simulated.html');
    writeFileSync(file, renderReport({ plan, simulation: simulateForReport(plan, { requests: 600 }) }));
    const loaded = await load(file);
    const simulated = loaded.charts.filter((c) => c.name === 'goodput' || c.name?.startsWith('latency-cdf-'));
    assert.deepEqual(
      simulated.map((c) => c.name),
      [...plan.model.requestTypes.map((t) => `latency-cdf-${t.name}`), 'goodput'],
    );
    assertCleanAndDrawn(loaded);
    for (const c of simulated) assert.equal(c.series, 4, `${c.name}: ${c.series} visible series`);
  });

  test('a frozen plan with long unit ids, two colocation groups over the same components and latencies in the 10^4 ms: every text inside its chart', async () => {
    // The plan the issue was found on: its CDFs were drawn at the workload's rate (axes to 1.5
    // million ms, ticks past the edge), its group labels overlapped and a unit label was cut.
    const plan = readPlan('plans/qwen3-omni-16xa100-audio-third.plan.json');
    const file = join(root, 'qwen3-omni.html');
    writeFileSync(file, renderReport({ plan, simulation: simulateForReport(plan, { requests: 600 }) }));
    const loaded = await load(file);
    assert.equal(loaded.charts.length, 3 + plan.model.requestTypes.length + 1);
    assertCleanAndDrawn(loaded);
  });
});
