// PP-OCR text detection, before and after the network: resize so both sides are multiples of
// 32 (longest side at most 960, PaddleOCR's DetResizeForTest 'max' mode) with ImageNet
// normalisation, then DB post-processing of the probability map: threshold, connected
// components, score filter, and "unclip" (grow each box by area × ratio / perimeter).
// Boxes are axis-aligned bounding boxes, not PaddleOCR's rotated minimum-area rectangles: enough
// for horizontal text, and it keeps this free of a polygon-clipping library.
import type { RgbImage } from '../media.js';
import { resizeBilinear, writeNormalizedBgr, type Box } from './image-ops.js';
import type { FloatTensor } from './tensor.js';

const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

export interface DetOptions {
  limitSideLen: number;
  /** Probability above which a pixel counts as text. */
  binaryThreshold: number;
  /** Mean probability a box needs to be kept. */
  boxThreshold: number;
  unclipRatio: number;
  /** Boxes whose short side is below this many pixels (in the resized image) are dropped. */
  minSizePx: number;
}

export const DEFAULT_DET_OPTIONS: DetOptions = {
  limitSideLen: 960,
  binaryThreshold: 0.3,
  boxThreshold: 0.5,
  unclipRatio: 1.5,
  minSizePx: 3,
};

export interface DetInput {
  tensor: FloatTensor;
  /** Resized size divided by original size, per axis. */
  scaleX: number;
  scaleY: number;
  originalWidth: number;
  originalHeight: number;
}

export interface TextBox extends Box {
  score: number;
}

export function detPreprocess(image: RgbImage, options: Pick<DetOptions, 'limitSideLen'> = DEFAULT_DET_OPTIONS): DetInput {
  const ratio = Math.min(1, options.limitSideLen / Math.max(image.width, image.height));
  const width = Math.max(32, Math.round((image.width * ratio) / 32) * 32);
  const height = Math.max(32, Math.round((image.height * ratio) / 32) * 32);
  const resized = resizeBilinear(image, width, height);
  const data = new Float32Array(3 * width * height);
  writeNormalizedBgr(resized, data, 0, width, DET_MEAN, DET_STD);
  return {
    tensor: { dtype: 'float32', shape: [1, 3, height, width], data },
    scaleX: width / image.width,
    scaleY: height / image.height,
    originalWidth: image.width,
    originalHeight: image.height,
  };
}

/** Boxes in original-image pixels from the [1, 1, H, W] probability map of one image. */
export function detPostprocess(prob: FloatTensor, input: DetInput, options: DetOptions = DEFAULT_DET_OPTIONS): TextBox[] {
  const [, , height, width] = prob.shape;
  const boxes: TextBox[] = [];
  for (const c of connectedComponents(prob.data, width, height, options.binaryThreshold)) {
    const w = c.x1 - c.x0;
    const h = c.y1 - c.y0;
    if (Math.min(w, h) < options.minSizePx) continue;
    const score = meanInBox(prob.data, width, c);
    if (score < options.boxThreshold) continue;
    const grow = (w * h * options.unclipRatio) / (2 * (w + h));
    if (Math.min(w, h) + 2 * grow < options.minSizePx + 2) continue;
    boxes.push({
      x0: Math.max(0, (c.x0 - grow) / input.scaleX),
      y0: Math.max(0, (c.y0 - grow) / input.scaleY),
      x1: Math.min(input.originalWidth, (c.x1 + grow) / input.scaleX),
      y1: Math.min(input.originalHeight, (c.y1 + grow) / input.scaleY),
      score,
    });
  }
  return sortReadingOrder(boxes);
}

/** 8-connected components of `map > threshold`, as bounding boxes (exclusive right/bottom). */
function connectedComponents(map: Float32Array, width: number, height: number, threshold: number): Box[] {
  const seen = new Uint8Array(width * height);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < map.length; start++) {
    if (seen[start] || map[start] <= threshold) continue;
    const box = { x0: width, y0: height, x1: 0, y1: 0 };
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      box.x0 = Math.min(box.x0, x);
      box.y0 = Math.min(box.y0, y);
      box.x1 = Math.max(box.x1, x + 1);
      box.y1 = Math.max(box.y1, y + 1);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (!seen[q] && map[q] > threshold) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    boxes.push(box);
  }
  return boxes;
}

function meanInBox(map: Float32Array, width: number, box: Box): number {
  let sum = 0;
  for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) sum += map[y * width + x];
  return sum / ((box.x1 - box.x0) * (box.y1 - box.y0));
}

/**
 * Top-to-bottom, then left-to-right among boxes whose tops are within 10 px of each other
 * (PaddleOCR's sorted_boxes rule).
 */
export function sortReadingOrder<T extends Box>(boxes: readonly T[]): T[] {
  const sorted = [...boxes].sort((a, b) => a.y0 - b.y0 || a.x0 - b.x0);
  for (let i = 0; i < sorted.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      if (Math.abs(sorted[j + 1].y0 - sorted[j].y0) < 10 && sorted[j + 1].x0 < sorted[j].x0) {
        [sorted[j], sorted[j + 1]] = [sorted[j + 1], sorted[j]];
      } else {
        break;
      }
    }
  }
  return sorted;
}
