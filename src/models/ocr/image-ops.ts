// Pixel operations the OCR pre-processing needs (what PaddleOCR does with cv2): bilinear
// resize, crop, 180° rotation, and planar normalisation into a float tensor.
import type { RgbImage } from '../media.js';

/** Bilinear resize with cv2.INTER_LINEAR's pixel-centre alignment. */
export function resizeBilinear(src: RgbImage, width: number, height: number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  const sx = src.width / width;
  const sy = src.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), src.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, src.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), src.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, src.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const top = src.rgb[(y0 * src.width + x0) * 3 + c] * (1 - wx) + src.rgb[(y0 * src.width + x1) * 3 + c] * wx;
        const bottom = src.rgb[(y1 * src.width + x0) * 3 + c] * (1 - wx) + src.rgb[(y1 * src.width + x1) * 3 + c] * wx;
        rgb[(y * width + x) * 3 + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return { width, height, rgb };
}

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The pixels of `box` (exclusive right/bottom edges), clipped to the image. */
export function crop(src: RgbImage, box: Box): RgbImage {
  const x0 = Math.max(0, Math.floor(box.x0));
  const y0 = Math.max(0, Math.floor(box.y0));
  const x1 = Math.min(src.width, Math.ceil(box.x1));
  const y1 = Math.min(src.height, Math.ceil(box.y1));
  const width = Math.max(1, x1 - x0);
  const height = Math.max(1, y1 - y0);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    rgb.set(src.rgb.subarray(((y0 + y) * src.width + x0) * 3, ((y0 + y) * src.width + x0 + width) * 3), y * width * 3);
  return { width, height, rgb };
}

export function rotate180(src: RgbImage): RgbImage {
  const n = src.width * src.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) rgb.set(src.rgb.subarray(i * 3, i * 3 + 3), (n - 1 - i) * 3);
  return { width: src.width, height: src.height, rgb };
}

/**
 * Writes `src` into `out` (planar [3, H, outWidth] at `offset`), channel c becoming
 * (value/255 − mean[c]) / std[c]. PaddleOCR reads images with cv2, so channel 0 is blue: the
 * models were trained on BGR input, and that is the order written here.
 */
export function writeNormalizedBgr(
  src: RgbImage,
  out: Float32Array,
  offset: number,
  outWidth: number,
  mean: readonly number[],
  std: readonly number[],
): void {
  const plane = src.height * outWidth;
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      for (let c = 0; c < 3; c++) {
        const value = src.rgb[(y * src.width + x) * 3 + (2 - c)] / 255;
        out[offset + c * plane + y * outWidth + x] = (value - mean[c]) / std[c];
      }
    }
  }
}
