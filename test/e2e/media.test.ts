// The sample media under fixtures/media/ are exactly what their generator writes (run
// `npx tsx bench/demo/media.ts` after changing it), and decode as what they claim.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodePng } from '../../src/models/media.js';
import { decodeWav } from '../../src/models/wav.js';
import { MEDIA_DIR as EXAMPLES_MEDIA_DIR, SAMPLE_MEDIA } from '../../src/cli/examples.js';
import { DEMO_MEDIA, MEDIA_DIR } from '../../bench/demo/media.js';

test('fixtures/media holds byte for byte what the generator writes', () => {
  assert.equal(EXAMPLES_MEDIA_DIR, MEDIA_DIR);
  assert.deepEqual(Object.keys(DEMO_MEDIA).sort(), Object.values(SAMPLE_MEDIA).sort());
  for (const [name, make] of Object.entries(DEMO_MEDIA)) {
    assert.ok(Buffer.from(make()).equals(readFileSync(join(MEDIA_DIR, name))), `${name} differs from its generator`);
  }
});

test('the samples decode: a 32×32 picture, one second of 8 kHz audio, a 465×105 text line', () => {
  const picture = decodePng(readFileSync(join(MEDIA_DIR, SAMPLE_MEDIA.picture)));
  assert.deepEqual([picture.width, picture.height], [32, 32]);
  const speech = decodeWav(readFileSync(join(MEDIA_DIR, SAMPLE_MEDIA.speech)));
  assert.deepEqual([speech.sampleRateHz, speech.samples.length], [8000, 8000]);
  const line = decodePng(readFileSync(join(MEDIA_DIR, SAMPLE_MEDIA.ocrLine)));
  assert.deepEqual([line.width, line.height], [465, 105]);
});
