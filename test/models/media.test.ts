import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import wavefile from 'wavefile';
import { decodeImage, decodePng, encodePng, planarToRgb, resampleLinear, rgbToPlanar } from '../../src/models/media.js';
import { decodeWav, encodeWav } from '../../src/models/wav.js';
import {
  checkAudioLimits,
  DEFAULT_MEDIA_LIMITS,
  inspectImage,
  inspectWav,
  MediaFormatError,
  MediaLimitError,
} from '../../src/models/media-inspect.js';
import { Prng } from '../../src/models/prng.js';

test('PNG encode/decode is lossless for 8-bit RGB', () => {
  const rng = new Prng(1);
  const image = { width: 7, height: 5, rgb: Uint8Array.from({ length: 105 }, () => rng.int(256)) };
  assert.deepEqual(decodePng(encodePng(image)), image);
});

test('transparent PNG pixels decode as composited over white', () => {
  const png = new PNG({ width: 1, height: 1 });
  png.data.set([0, 0, 0, 0]);
  assert.deepEqual([...decodePng(PNG.sync.write(png)).rgb], [255, 255, 255]);
});

test('planar float ↔ RGB conversion clamps and round-trips', () => {
  const planar = Float32Array.of(0, 1, 2, -1, 0.5, 0.25);
  const rgb = planarToRgb(planar, 1, 2);
  assert.deepEqual([...rgb.rgb], [0, 255, 128, 255, 0, 64]);
  assert.deepEqual(
    [...rgbToPlanar(rgb)].map((v) => Math.round(v * 255)),
    [0, 255, 255, 0, 128, 64],
  );
  assert.throws(() => planarToRgb(new Float32Array(5), 1, 2), /expected 6 values/);
});

test('WAV round-trips within 16-bit quantisation, and stereo mixes down to mono', () => {
  const samples = Float32Array.from({ length: 160 }, (_, i) => 0.8 * Math.sin(i / 7));
  const back = decodeWav(encodeWav({ sampleRateHz: 16000, samples }));
  assert.equal(back.sampleRateHz, 16000);
  assert.equal(back.samples.length, samples.length);
  // One step of rounding plus wavefile's 1/32768 vs our 1/32767 scale.
  assert.ok(back.samples.every((v, i) => Math.abs(v - samples[i]) <= 2 / 32767));
  const stereo = new wavefile.WaveFile();
  stereo.fromScratch(2, 8000, '16', [Int16Array.of(1000, -2000), Int16Array.of(3000, 2000)]);
  const mono = decodeWav(stereo.toBuffer());
  assert.equal(mono.sampleRateHz, 8000);
  assert.ok(Math.abs(mono.samples[0] - 2000 / 32768) < 1e-4 && Math.abs(mono.samples[1]) < 1e-4);
});

test('linear resampling keeps duration and a slow sine', () => {
  const samples = Float32Array.from({ length: 4410 }, (_, i) => Math.sin((2 * Math.PI * 100 * i) / 44100));
  const out = resampleLinear({ sampleRateHz: 44100, samples }, 16000);
  assert.equal(out.samples.length, 1600);
  assert.ok(out.samples.every((v, i) => Math.abs(v - Math.sin((2 * Math.PI * 100 * i) / 16000)) < 1e-3));
});

/** A PNG of only its signature and IHDR chunk (CRC left zero): what a pixel bomb's header is. */
function pngHeaderOnly(width: number, height: number): Uint8Array {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'ascii');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
}

test('decodeImage refuses a pixel bomb from its header, before decoding anything', () => {
  const bomb = pngHeaderOnly(20_000, 20_000);
  assert.deepEqual(inspectImage(bomb), { format: 'png', width: 20_000, height: 20_000 });
  assert.throws(
    () => decodeImage(bomb, DEFAULT_MEDIA_LIMITS),
    (err: unknown) =>
      err instanceof MediaLimitError &&
      err.limit === 'maxImagePixels' &&
      /20000×20000 \(400000000 pixels\); the limit is 16777216/.test(err.message),
  );
  // The same header under a limit it fits: decoding is attempted and the missing data reported.
  assert.throws(() => decodeImage(pngHeaderOnly(4, 4), { maxImagePixels: 16 }), MediaFormatError);
  assert.throws(() => decodeImage(pngHeaderOnly(5, 4), { maxImagePixels: 16 }), MediaLimitError);
});

test('decodeImage reads JPEG (sniffed, whatever the caller says) to RGB, and its size from the frame header', () => {
  const width = 24;
  const height = 16;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([(i % width) * 10, 128, 255 - (i % width) * 10, 255], i * 4);
  const bytes = jpeg.encode({ width, height, data: rgba }, 95).data;
  assert.deepEqual(inspectImage(bytes), { format: 'jpeg', width, height });
  const image = decodeImage(bytes, DEFAULT_MEDIA_LIMITS);
  assert.deepEqual([image.width, image.height, image.rgb.length], [width, height, width * height * 3]);
  // Lossy, but close: the left column is dark red-blue, the right bright red.
  assert.ok(Math.abs(image.rgb[0] - 0) < 16 && Math.abs(image.rgb[2] - 255) < 16, `first pixel ${image.rgb.subarray(0, 3).join(',')}`);
  assert.throws(() => decodeImage(bytes, { maxImagePixels: width * height - 1 }), MediaLimitError);
  const png = decodeImage(readFileSync(new URL('../../fixtures/media/picture.png', import.meta.url)), DEFAULT_MEDIA_LIMITS);
  assert.deepEqual([png.width, png.height], [32, 32]);
});

test('inspectImage names what it cannot read', () => {
  assert.throws(() => inspectImage(Buffer.from('GIF89a not really')), /not a PNG or JPEG image/);
  assert.throws(() => inspectImage(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), /no frame header/);
  assert.throws(() => inspectImage(pngHeaderOnly(0, 10)), /0×10 image/);
});

/** A 16-bit PCM WAV header claiming `frames` frames, with the data actually present. */
function wavOf(sampleRateHz: number, channels: number, frames: number): Uint8Array {
  const dataBytes = frames * channels * 2;
  const b = Buffer.alloc(44 + dataBytes);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRateHz, 24);
  b.writeUInt32LE(sampleRateHz * channels * 2, 28);
  b.writeUInt16LE(channels * 2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(dataBytes, 40);
  return b;
}

test('inspectWav reads duration and sample count from the header; the limits refuse a WAV bomb', () => {
  const speech = inspectWav(readFileSync(new URL('../../fixtures/media/speech.wav', import.meta.url)));
  assert.equal(speech.sampleRateHz, 8000);
  assert.equal(speech.durationS, 1);
  // 100 kB of samples at 1 Hz: 50 000 s, which resampling to 16 kHz would make 800 M samples.
  const slow = inspectWav(wavOf(1, 1, 50_000));
  assert.equal(slow.durationS, 50_000);
  assert.throws(
    () => checkAudioLimits(slow, DEFAULT_MEDIA_LIMITS),
    (e: unknown) => e instanceof MediaLimitError && e.limit === 'maxAudioSeconds',
  );
  // A very high rate: short, but too many samples.
  const dense = inspectWav(wavOf(4_000_000, 2, 60_000));
  assert.doesNotThrow(() => checkAudioLimits(dense, { ...DEFAULT_MEDIA_LIMITS, maxAudioSeconds: 1 }));
  assert.throws(
    () => checkAudioLimits(dense, { ...DEFAULT_MEDIA_LIMITS, maxAudioSamples: 100_000 }),
    (e: unknown) => e instanceof MediaLimitError && e.limit === 'maxAudioSamples',
  );
  // A declared data size past the end counts only the bytes present.
  const truncated = Buffer.from(wavOf(8000, 1, 10));
  truncated.writeUInt32LE(0xffffffff, 40);
  assert.equal(inspectWav(truncated).frames, 10);
  const zeroRate = Buffer.from(wavOf(8000, 1, 10));
  zeroRate.writeUInt32LE(0, 24);
  assert.throws(() => inspectWav(zeroRate), /sample rate of 0 Hz/);
});
