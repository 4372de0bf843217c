// Image pre-processing of Idefics3 / SmolVLM as preprocessor_config.json describes it: resize so
// the longest edge is size.longest_edge (keeping the aspect ratio, even sides), then with
// do_image_splitting round both sides up to whole tiles of max_image_size.longest_edge, cut the
// tiles row by row and add the whole image resized to one tile (the "global" image); rescale by
// rescale_factor, normalise with image_mean / image_std. Every frame is one tile square, so the
// pixel attention mask is all true. Resampling is bilinear whatever `resample` says (PIL's
// Lanczos is not reimplemented here), so pixels differ slightly from transformers' processor.
// The prompt then carries, per image, the frame markers and image_seq_len image tokens per frame.
import { resizeBilinear } from '../ocr/image-ops.js';
import type { RgbImage } from '../media.js';
import { configNumber, type JsonObject } from './folder.js';

export interface Idefics3ImageConfig {
  /** size.longest_edge; undefined when do_resize is false. */
  longestEdge: number | undefined;
  /** max_image_size.longest_edge: the vision encoder's square input. */
  tileSize: number;
  split: boolean;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export function idefics3ImageConfig(pre: JsonObject, file: string): Idefics3ImageConfig {
  const triple = (key: string, fallback: number): [number, number, number] => {
    const v = pre[key];
    if (v === undefined) return [fallback, fallback, fallback];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return v as [number, number, number];
    throw new Error(`${file}: ${key} must be three numbers`);
  };
  const normalize = pre.do_normalize !== false;
  return {
    longestEdge: pre.do_resize === false ? undefined : configNumber(pre, file, 'size.longest_edge'),
    tileSize: configNumber(pre, file, 'max_image_size.longest_edge'),
    split: pre.do_image_splitting === true,
    rescale: pre.do_rescale === false ? 1 : configNumber(pre, file, 'rescale_factor'),
    mean: normalize ? triple('image_mean', 0.5) : [0, 0, 0],
    std: normalize ? triple('image_std', 0.5) : [1, 1, 1],
  };
}

export interface Idefics3Frames {
  /** Tile grid; 0 × 0 when the image is a single frame. */
  rows: number;
  cols: number;
  /** [frames, 3, tile, tile]: tiles row by row, then the global image. */
  pixels: Float32Array;
  frames: number;
}

/** Sides scaled so the longer one is `longest`, the other even and at least 1 (transformers' rule). */
function fitLongestEdge(width: number, height: number, longest: number): { width: number; height: number } {
  const even = (n: number): number => Math.max(1, n % 2 === 0 ? n : n + 1);
  return width >= height
    ? { width: longest, height: even(Math.floor((longest * height) / width)) }
    : { width: even(Math.floor((longest * width) / height)), height: longest };
}

export function preprocessIdefics3(image: RgbImage, c: Idefics3ImageConfig): Idefics3Frames {
  const t = c.tileSize;
  let img = c.longestEdge === undefined ? image : resizeTo(image, fitLongestEdge(image.width, image.height, c.longestEdge));
  const tiles: RgbImage[] = [];
  let rows = 0;
  let cols = 0;
  if (c.split) {
    const ceilTile = (n: number): number => Math.max(1, Math.ceil(n / t)) * t;
    const width = img.width >= img.height ? ceilTile(img.width) : ceilTile(Math.floor((ceilTile(img.height) * img.width) / img.height));
    const height = img.width >= img.height ? ceilTile(Math.floor((width * img.height) / img.width)) : ceilTile(img.height);
    img = resizeTo(img, { width, height });
    if (width > t || height > t) {
      rows = height / t;
      cols = width / t;
      for (let r = 0; r < rows; r++) for (let col = 0; col < cols; col++) tiles.push(cropTile(img, col * t, r * t, t));
    }
  }
  tiles.push(resizeTo(img, { width: t, height: t }));
  const plane = t * t;
  const pixels = new Float32Array(tiles.length * 3 * plane);
  tiles.forEach((tile, f) => {
    for (let i = 0; i < plane; i++) {
      for (let ch = 0; ch < 3; ch++) pixels[(f * 3 + ch) * plane + i] = (tile.rgb[i * 3 + ch] * c.rescale - c.mean[ch]) / c.std[ch];
    }
  });
  return { rows, cols, pixels, frames: tiles.length };
}

function resizeTo(image: RgbImage, size: { width: number; height: number }): RgbImage {
  return image.width === size.width && image.height === size.height ? image : resizeBilinear(image, size.width, size.height);
}

function cropTile(image: RgbImage, x0: number, y0: number, size: number): RgbImage {
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    rgb.set(image.rgb.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x0 + size) * 3), y * size * 3);
  return { width: size, height: size, rgb };
}

/** The prompt text one `<image>` of the chat template becomes (Idefics3Processor's expansion). */
export function idefics3ImagePrompt(rows: number, cols: number, tokensPerFrame: number): string {
  const image = '<image>'.repeat(tokensPerFrame);
  const global = `<fake_token_around_image><global-img>${image}<fake_token_around_image>`;
  if (rows === 0 && cols === 0) return global;
  let text = '';
  for (let r = 1; r <= rows; r++) {
    for (let c = 1; c <= cols; c++) text += `<fake_token_around_image><row_${r}_col_${c}>${image}`;
    text += '\n';
  }
  return `${text}\n${global}`;
}
