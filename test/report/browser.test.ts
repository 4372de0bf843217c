// The report in a real browser: headless Chromium (Debian's, at /usr/bin/chromium; .ci/run
// installs it) loads the file with no console errors and no requests beyond the file itself,
// every chart is a non-empty SVG, and a screenshot is kept in the test's temp folder.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { renderReport } from '../../src/report/index.js';
import { buildPlan } from '../fixtures/plans/build.js';
import { buildSeries } from '../fixtures/plans/series.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium); .ci/run installs it`;

describe('report in headless Chromium', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'cornserve-report-browser-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('loads with no console errors, every chart has a non-empty SVG, a screenshot is written', async () => {
    const { chromium } = await import('playwright-core');
    const plan = buildPlan({ simulated: true, name: 'omni <demo> & "quotes"' });
    const file = join(root, 'report.html');
    writeFileSync(file, renderReport({ plan, simulation: buildSeries(plan) }));

    const context = await chromium.launchPersistentContext(join(root, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });

      const chartsInPage = await page.$$eval('figure.chart', (figures) =>
        figures.map((f) => {
          const svg = f.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          const drawn = svg ? [...svg.querySelectorAll('rect, path, line, circle, text')].filter((e) => {
            const b = (e as unknown as { getBBox(): { width: number; height: number } }).getBBox();
            return b.width > 0 || b.height > 0;
          }).length : 0;
          return { name: f.getAttribute('data-chart'), width: box?.width ?? 0, height: box?.height ?? 0, drawn };
        }),
      );
      assert.equal(chartsInPage.length, 7);
      for (const c of chartsInPage) {
        assert.ok(c.width > 100 && c.height > 40, `${c.name}: svg is ${c.width}×${c.height}`);
        assert.ok(c.drawn > 5, `${c.name}: only ${c.drawn} drawn elements`);
      }
      assert.equal(await page.title(), 'cornserve plan omni <demo> & "quotes"');

      const shot = join(root, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);

      assert.deepEqual(problems, []);
      assert.deepEqual(requests, [url]);
    } finally {
      await context.close();
    }
  });
});
