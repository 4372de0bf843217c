// PNG and JPEG codecs and audio resampling for generated outputs and media inputs (WAV is in
// wav.ts, headers and limits in media-inspect.ts). Images move through the system as 8-bit RGB
// (row-major, interleaved); tensors use planar float [3, H, W] in [0, 1]. Audio is mono float PCM
// in [-1, 1].
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkImageLimits, inspectImage, MediaFormatError, type MediaLimits } from './media-inspect.js';
import type { PcmAudio } from './wav.js';

export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes, row-major, R G B. */
  rgb: Uint8Array;
}

export function encodePng(image: RgbImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0; i < image.width * image.height; i++) {
    png.data[i * 4] = image.rgb[i * 3];
    png.data[i * 4 + 1] = image.rgb[i * 3 + 1];
    png.data[i * 4 + 2] = image.rgb[i * 3 + 2];
    png.data[i * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** Decodes any PNG pngjs reads; transparency is composited over white, as a viewer shows it. */
export function decodePng(bytes: Uint8Array): RgbImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    const alpha = png.data[i * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(png.data[i * 4 + c] * alpha + 255 * (1 - alpha));
  }
  return { width: png.width, height: png.height, rgb };
}

/**
 * Decodes an input image (PNG or JPEG, sniffed from its bytes) once its header has passed the
 * pixel limit: throws MediaFormatError or MediaLimitError before decoding anything, and
 * MediaFormatError when the data behind a good header is broken.
 */
export function decodeImage(bytes: Uint8Array, limits: Pick<MediaLimits, 'maxImagePixels'>): RgbImage {
  const header = inspectImage(bytes);
  checkImageLimits(header, limits);
  try {
    if (header.format === 'png') return decodePng(bytes);
    const decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: limits.maxImagePixels / 1e6 + 1 });
    return { width: decoded.width, height: decoded.height, rgb: decoded.data };
  } catch (err) {
    throw new MediaFormatError(
      `the ${header.format.toUpperCase()} data cannot be decoded (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** Planar float [3, H, W] in [0, 1] (clamped) → 8-bit RGB. */
export function planarToRgb(data: Float32Array, height: number, width: number): RgbImage {
  const plane = height * width;
  if (data.length !== 3 * plane) throw new Error(`expected ${3 * plane} values for a 3×${height}×${width} image, got ${data.length}`);
  const rgb = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(Math.min(1, Math.max(0, data[c * plane + i])) * 255);
  }
  return { width, height, rgb };
}

/** 8-bit RGB → planar float [3, H, W] in [0, 1]. */
export function rgbToPlanar(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = image.rgb[i * 3 + c] / 255;
  }
  return out;
}

/** Linear-interpolation resampling: enough for feeding speech to a 16 kHz encoder front end. */
export function resampleLinear(audio: PcmAudio, targetRateHz: number): PcmAudio {
  if (audio.sampleRateHz === targetRateHz) return audio;
  const length = Math.floor((audio.samples.length * targetRateHz) / audio.sampleRateHz);
  const samples = new Float32Array(length);
  const step = audio.sampleRateHz / targetRateHz;
  for (let i = 0; i < length; i++) {
    const pos = i * step;
    const i0 = Math.floor(pos);
    const i1 = Math.min(i0 + 1, audio.samples.length - 1);
    samples[i] = audio.samples[i0] + (audio.samples[i1] - audio.samples[i0]) * (pos - i0);
  }
  return { sampleRateHz: targetRateHz, samples };
}
