// Whisper's log-mel front end from the tiny folder's preprocessor_config.json: Slaney filters,
// 3000 frames per 30 s window, a tone lands in the mel bin of its frequency, silence is flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readJsonFile } from '../../../src/models/hf/folder.js';
import { slaneyMelFilters, whisperFeatureConfig, whisperFrameCount, whisperLogMel } from '../../../src/models/hf/whisper-features.js';

const FILE = 'fixtures/hf/tiny-whisper/preprocessor_config.json';
const config = whisperFeatureConfig(readJsonFile(FILE), FILE);

test('the folder config: 80 mel bins, n_fft 400, hop 160, 30 s at 16 kHz → 3000 frames', () => {
  assert.deepEqual(config, { sampleRateHz: 16000, melBins: 80, fftSize: 400, hopSamples: 160, windowSamples: 480000 });
  assert.equal(whisperFrameCount(config), 3000);
  assert.throws(() => whisperFeatureConfig({ feature_size: 80 }, 'p.json'), /p\.json: expected a number at sampling_rate/);
});

test('Slaney filters: 80 non-negative triangles over the 201 frequency bins, each covering some bin', () => {
  const f = slaneyMelFilters(config);
  const bins = 201;
  assert.equal(f.length, 80 * bins);
  for (let m = 0; m < 80; m++) {
    const row = f.subarray(m * bins, (m + 1) * bins);
    assert.ok(
      row.some((v) => v > 0),
      `filter ${m} covers some bin`,
    );
    assert.ok(row.every((v) => v >= 0));
  }
});

test('a 1 kHz tone peaks in the mel bin around 1 kHz, and the features are in Whisper’s range', () => {
  const samples = Float32Array.from({ length: 16000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000));
  const mel = whisperLogMel(samples, config);
  assert.equal(mel.length, 80 * 3000);
  const frame = 50;
  const column = Array.from({ length: 80 }, (_, m) => mel[m * 3000 + frame]);
  const peak = column.indexOf(Math.max(...column));
  // Slaney scale: 1 kHz is mel 15, the 80 filters span mel 0 … ~45.2 (8 kHz): bin ≈ 15 / 45.2 × 81 − 1 ≈ 26.
  assert.ok(peak >= 24 && peak <= 28, `peak at mel bin ${peak}`);
  const max = mel.reduce((a, b) => Math.max(a, b), -Infinity);
  const min = mel.reduce((a, b) => Math.min(a, b), Infinity);
  assert.ok(min >= max - 2 - 1e-6, 'clamped to 8 decades (2 after scaling) below the maximum');
  // After the clip, the window is zero padding: those frames sit at the floor.
  assert.equal(mel[40 * 3000 + 2999], min);
});
