// scripts/gpu-check.sh: sends every request type of a served plan, a few times each, with the
// bundled sample media, and writes each type's latencies as a Markdown table. Exit 1 if any
// request fails.
//   node --import tsx scripts/gpu-check-requests.ts <gateway url> <plan.json> <out.md> [requests per type]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../src/cli/output.js';
import { readPlan } from '../src/plan/io.js';
import type { RequestType } from '../src/spec/types.generated.js';

const [url, planPath, out, perTypeText] = process.argv.slice(2);
if (!url || !planPath || !out) {
  process.stderr.write('usage: gpu-check-requests.ts <gateway url> <plan.json> <out.md> [requests per type]\n');
  process.exit(2);
}
const perType = Number(perTypeText ?? 8);
const plan = readPlan(planPath);
const media = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../fixtures/media/${name}`, import.meta.url))).toString('base64');
const picture = `data:image/png;base64,${media('picture.png')}`;
const speech = media('speech.wav');

/** A chat request carrying the type's input modalities and asking for its outputs. */
function requestFor(t: RequestType, n: number): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (t.inputs.includes('text')) content.push({ type: 'text', text: `GPU check request ${n}: describe what you get.` });
  if (t.inputs.includes('image')) content.push({ type: 'image_url', image_url: { url: picture } });
  if (t.inputs.includes('audio')) content.push({ type: 'input_audio', input_audio: { data: speech, format: 'wav' } });
  const modalities = t.outputs.filter((m) => m !== 'text');
  return {
    model: t.servedModel ?? plan.model.name,
    messages: [{ role: 'user', content }],
    max_tokens: 32,
    ...(modalities.length > 0 ? { modalities } : {}),
  };
}

const rows: string[][] = [];
let failures = 0;
for (const t of plan.model.requestTypes) {
  const latenciesMs: number[] = [];
  for (let n = 0; n < perType; n++) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(requestFor(t, n)),
    });
    const body = await res.text();
    if (res.status !== 200) {
      failures++;
      process.stderr.write(`${t.name} request ${n}: HTTP ${res.status} ${body.slice(0, 300)}\n`);
      continue;
    }
    latenciesMs.push(performance.now() - started);
  }
  latenciesMs.sort((a, b) => a - b);
  const at = (q: number): string =>
    latenciesMs.length > 0 ? latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))].toFixed(1) : '-';
  rows.push([t.name, String(perType), String(latenciesMs.length), at(0.5), at(1)]);
}
const table = formatTable([['type', 'sent', 'ok', 'p50 ms', 'max ms'], ...rows]);
writeFileSync(
  out,
  `# ${plan.model.name} served on CUDA (scripts/gpu-check.sh)\n\nSequential requests, one at a time, through the gateway.\n\n\`\`\`text\n${table}\n\`\`\`\n`,
);
process.stdout.write(`${table}\n`);
process.exit(failures > 0 ? 1 : 0);
