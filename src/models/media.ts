// PNG, JPEG and WAV codecs for generated outputs and media inputs, over pngjs, jpeg-js and
// wavefile. Images move through the system as 8-bit RGB (row-major, interleaved); tensors use
// planar float [3, H, W] in [0, 1]. Audio is mono float PCM in [-1, 1]; WAV output is 16-bit PCM.
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import wavefile from 'wavefile';
import { checkImageLimits, inspectImage, MediaFormatError, type MediaLimits } from './media-inspect.js';

export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes, row-major, R G B. */
  rgb: Uint8Array;
}

export interface PcmAudio {
  sampleRateHz: number;
  samples: Float32Array;
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
    throw new MediaFormatError(`the ${header.format.toUpperCase()} data cannot be decoded (${err instanceof Error ? err.message : String(err)})`);
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

export function encodeWav(audio: PcmAudio): Uint8Array {
  const pcm16 = Int16Array.from(audio.samples, (s) => Math.round(Math.min(1, Math.max(-1, s)) * 32767));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, audio.sampleRateHz, '16', pcm16);
  return wav.toBuffer();
}

/** Decodes a WAV of any bit depth wavefile reads; several channels are averaged to mono. */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const wav = new wavefile.WaveFile(bytes);
  wav.toBitDepth('32f');
  const fmt = wav.fmt as { numChannels: number; sampleRate: number };
  const interleaved = wav.getSamples(true, Float32Array);
  const channels = fmt.numChannels;
  const samples = new Float32Array(interleaved.length / channels);
  for (let i = 0; i < samples.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c];
    samples[i] = sum / channels;
  }
  return { sampleRateHz: fmt.sampleRate, samples };
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
