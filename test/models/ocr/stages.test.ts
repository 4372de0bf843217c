import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderText } from '../../../src/models/ocr/bitmap-font.js';
import { detPostprocess, detPreprocess, sortReadingOrder } from '../../../src/models/ocr/det.js';
import { ctcGreedyDecode, recPreprocess, REC_HEIGHT, REC_WIDTH_STEP } from '../../../src/models/ocr/rec.js';
import type { FloatTensor } from '../../../src/models/ocr/tensor.js';

test('detection input: sides rounded to multiples of 32, longest side capped, normalised', () => {
  const image = { width: 1000, height: 50, rgb: new Uint8Array(1000 * 50 * 3).fill(255) };
  const input = detPreprocess(image);
  assert.deepEqual(input.tensor.shape, [1, 3, 64, 960]);
  // White: (1 − mean) / std per channel, blue first (BGR, as PaddleOCR's cv2 input).
  assert.ok(Math.abs(input.tensor.data[0] - (1 - 0.485) / 0.229) < 1e-6);
  assert.ok(Math.abs(input.tensor.data[input.tensor.data.length - 1] - (1 - 0.406) / 0.225) < 1e-6);
});

test('DB post-processing: two blobs become two unclipped boxes in original pixels, faint ones dropped', () => {
  const [h, w] = [32, 64];
  const map = new Float32Array(h * w);
  const blob = (x0: number, y0: number, x1: number, y1: number, p: number) => {
    for (let y = y0; y < y1; y++) map.fill(p, y * w + x0, y * w + x1);
  };
  blob(40, 4, 60, 10, 0.9);
  blob(4, 4, 24, 10, 0.9);
  blob(4, 20, 24, 28, 0.4); // above the pixel threshold, below the box score threshold
  const prob: FloatTensor = { dtype: 'float32', shape: [1, 1, h, w], data: map };
  const boxes = detPostprocess(prob, { tensor: prob, scaleX: 0.5, scaleY: 0.5, originalWidth: 128, originalHeight: 64 });
  assert.equal(boxes.length, 2);
  const grow = (20 * 6 * 1.5) / (2 * 26);
  assert.ok(Math.abs(boxes[0].x0 - (4 - grow) * 2) < 1e-9 && Math.abs(boxes[0].y1 - (10 + grow) * 2) < 1e-9);
  assert.ok(boxes[1].x0 > boxes[0].x1, 'left box first');
});

test('reading order: lines top to bottom, boxes on one line left to right', () => {
  const box = (x0: number, y0: number) => ({ x0, y0, x1: x0 + 10, y1: y0 + 10 });
  const sorted = sortReadingOrder([box(50, 103), box(0, 0), box(30, 100), box(60, -4)]);
  assert.deepEqual(
    sorted.map((b) => [b.x0, b.y0]),
    [
      [0, 0],
      [60, -4],
      [30, 100],
      [50, 103],
    ],
  );
});

test('recognition input: height 48, at least 320 wide in steps of 160, padded with zeros', () => {
  const tensor = recPreprocess([renderText('Hi', { scale: 2 }), renderText('Hello there', { scale: 2 })]);
  const [n, c, height, width] = tensor.shape;
  assert.deepEqual([n, c, height], [2, 3, REC_HEIGHT]);
  assert.ok(width >= 320 && width % REC_WIDTH_STEP === 0);
  assert.equal(tensor.data[(0 * 3 + 0) * height * width + width - 1], 0, 'padding of the short crop');
});

test('CTC greedy decoding collapses repeats and drops blanks', () => {
  const classes = ['', 'a', 'b', ' '];
  const steps = [1, 1, 0, 1, 2, 2, 3, 0, 2];
  const data = new Float32Array(steps.length * 4);
  steps.forEach((c, t) => (data[t * 4 + c] = 0.9));
  const [result] = ctcGreedyDecode({ dtype: 'float32', shape: [1, steps.length, 4], data }, classes);
  assert.equal(result.text, 'aab b');
  assert.ok(Math.abs(result.score - 0.9) < 1e-6);
  assert.throws(() => ctcGreedyDecode({ dtype: 'float32', shape: [1, 1, 5], data: new Float32Array(5) }, classes), /5 classes/);
});

test('the font refuses characters it cannot draw', () => {
  assert.throws(() => renderText('naïve', { scale: 2 }), /no glyph for "ï"/);
});
