import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodePng } from '../../../src/models/media.js';
import { encodeWav } from '../../../src/models/wav.js';
import { createLogger } from '../../../src/runtime/log.js';
import { RecordError, recordLine, rotatedPath, TraceRecorder } from '../../../src/runtime/gateway/record.js';
import { servedTraceRequest } from '../../../src/runtime/gateway/served-request.js';
import { parseTrace, readTraceFile } from '../../../src/workload/trace.js';
import { traceStats } from '../../../src/workload/summarise.js';

const dir = mkdtempSync(join(tmpdir(), 'cs-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function logged(): { log: ReturnType<typeof createLogger>; events: Record<string, unknown>[] } {
  const events: Record<string, unknown>[] = [];
  return { log: createLogger({ format: 'json', write: (l) => events.push(JSON.parse(l) as Record<string, unknown>) }), events };
}

const png = (width: number, height: number) => encodePng({ width, height, rgb: new Uint8Array(width * height * 3) });

describe('a served request as a trace line', () => {
  it('carries the type, arrival, sizes read from headers and counts, and the latency; never content', () => {
    const wav = encodeWav({ samples: new Float32Array(24_000), sampleRateHz: 16_000 });
    const r = servedTraceRequest(
      {
        type: 'omni',
        arrivalMs: 2500,
        latencyMs: 42.1234567,
        parsed: {
          images: [
            { bytes: png(30, 10), mime: 'image/png' },
            { bytes: png(50, 20), mime: 'image/png' },
          ],
          audios: [{ bytes: wav, mime: 'audio/wav' }],
          params: { image: { steps: 12 } },
        },
        answer: {
          usage: { prompt_tokens: 17, completion_tokens: 5, total_tokens: 22 },
          images: [png(64, 48)],
          audio: { chunks: [new Float32Array(8000), new Float32Array(4000)], sampleRateHz: 24_000 },
        },
      },
      500,
      8,
    );
    assert.deepEqual(r, {
      arrivalS: 2,
      type: 'omni',
      promptTokens: 17,
      outputTokens: 5,
      images: 2,
      imageWidth: 40,
      imageHeight: 15,
      audioSeconds: 1.5,
      outputAudioSeconds: 0.5,
      outputImages: 1,
      outputImageWidth: 64,
      outputImageHeight: 48,
      diffusionSteps: 12,
      latencyMs: 42.1234567,
    });
    const line = recordLine(r);
    assert.equal(
      line,
      '{"arrivalS":2,"type":"omni","promptTokens":17,"outputTokens":5,"images":2,"imageWidth":40,"imageHeight":15,"audioSeconds":1.5,"outputAudioSeconds":0.5,"outputImages":1,"outputImageWidth":64,"outputImageHeight":48,"diffusionSteps":12,"latencyMs":42.123457}\n',
    );
    const read = parseTrace(line, 'x.jsonl');
    assert.deepEqual(read.diagnostics, []);
    assert.equal(read.requests[0].latencyMs, 42.123457);
  });

  it("takes the type's default steps when the request named none, and leaves out what was not there", () => {
    const base = { type: 't2i', arrivalMs: 0, latencyMs: 1, parsed: { images: [], audios: [], params: {} } };
    const image = servedTraceRequest(
      { ...base, answer: { usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 }, images: [png(4, 4)], audio: undefined } },
      0,
      8,
    );
    assert.equal(image.diffusionSteps, 8);
    const text = servedTraceRequest(
      { ...base, answer: { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }, images: [], audio: undefined } },
      0,
      8,
    );
    assert.deepEqual(text, { arrivalS: 0, type: 't2i', promptTokens: 3, outputTokens: 2, latencyMs: 1 });
  });
});

describe('the trace recorder', () => {
  const line = (i: number) => ({ arrivalS: i * 0.1, type: i % 2 ? 't2t' : 'ocr', promptTokens: 100 + i, latencyMs: 5 + i });

  it('writes every line, rotates by size keeping N files, and each file is a valid trace', async () => {
    const path = join(dir, 'rot', 'live.jsonl');
    mkdirSync(join(dir, 'rot'));
    const { log, events } = logged();
    const rec = new TraceRecorder({ path, maxBytes: 1024, keep: 2 }, log);
    const bytes = recordLine(line(10)).length;
    const n = 60;
    for (let i = 0; i < n; i++) rec.add(line(i));
    await rec.close();
    assert.equal(rec.written, n);
    assert.equal(rec.dropped, 0);
    assert.deepEqual(readdirSync(join(dir, 'rot')).sort(), ['live.jsonl', 'live.jsonl.1', 'live.jsonl.2']);
    const perFile = Math.floor(1024 / bytes);
    const kept: number[] = [];
    for (const f of [rotatedPath(path, 2), rotatedPath(path, 1), path]) {
      const text = readFileSync(f, 'utf8');
      assert.ok(Buffer.byteLength(text) <= 1024);
      const read = readTraceFile(f);
      assert.deepEqual(read.diagnostics, []);
      kept.push(...read.requests.map((r) => r.promptTokens! - 100));
    }
    // The oldest files were dropped: what is left is the newest lines, in order, none lost in between.
    assert.deepEqual(
      kept,
      Array.from({ length: kept.length }, (_, i) => n - kept.length + i),
    );
    assert.ok(kept.length >= 2 * perFile);
    assert.equal(events.filter((e) => e.event === 'record.rotated').length, Math.ceil(n / perFile) - 1);
    assert.equal(traceStats(readTraceFile(path).requests).requests, readTraceFile(path).requests.length);
  });

  it('rotates away a recording already at the path instead of mixing two time origins', async () => {
    const path = join(dir, 'old.jsonl');
    writeFileSync(path, recordLine(line(1)));
    const rec = new TraceRecorder({ path }, logged().log);
    rec.add(line(2));
    await rec.close();
    assert.equal(readTraceFile(rotatedPath(path, 1)).requests[0].promptTokens, 101);
    assert.equal(readTraceFile(path).requests[0].promptTokens, 102);
  });

  it('refuses a path it cannot write at construction, with a message that says why', () => {
    const missing = join(dir, 'nope', 'x.jsonl');
    assert.throws(
      () => new TraceRecorder({ path: missing }, logged().log),
      (e: unknown) => e instanceof RecordError && e.message === `cannot record to ${missing}: its directory does not exist`,
    );
    assert.throws(() => new TraceRecorder({ path: dir }, logged().log), /is a directory/);
  });

  it('a write error is logged once, recording stops, and adding never throws', async () => {
    const sub = join(dir, 'vanishing');
    mkdirSync(sub);
    const path = join(sub, 'live.jsonl');
    const { log, events } = logged();
    const rec = new TraceRecorder({ path, maxBytes: 1024, keep: 1 }, log);
    rec.add(line(0));
    await rec.close().then(() => undefined);
    // A fresh recorder whose directory disappears under it: its rotation cannot rename.
    const rec2 = new TraceRecorder({ path, maxBytes: 1024, keep: 1 }, log);
    rmSync(sub, { recursive: true });
    for (let i = 0; i < 100; i++) rec2.add(line(i));
    await rec2.close();
    for (let i = 0; i < 10; i++) rec2.add(line(i));
    const failures = events.filter((e) => e.event === 'record.failed');
    assert.equal(failures.length, 1, JSON.stringify(events));
    assert.equal(failures[0].level, 'error');
    assert.equal(rec2.written + rec2.dropped, 110);
    assert.ok(rec2.dropped > 0);
    assert.equal(existsSync(sub), false);
  });
});
