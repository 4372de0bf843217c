// Media a benchmark sends, synthesised to the sizes a request carries: PNG images of the
// request's width × height (a line of rendered text on white, so an OCR pipeline finds and reads
// something and a vision encoder sees structure, not noise) and mono 16 kHz WAV speech-like tones
// of the request's length. Deterministic, and cached by size: a benchmark sends the same few
// sizes many times, and encoding them once keeps the load generator off the CPU it measures.
import { encodePng, type RgbImage } from '../models/media.js';
import { encodeWav } from '../models/wav.js';
import { renderText } from '../models/ocr/bitmap-font.js';

/** The text drawn into every synthesised image. */
export const IMAGE_TEXT = 'Cornserve 2026';
export const AUDIO_SAMPLE_RATE_HZ = 16_000;

/** A width × height picture: the text at the largest scale that fits, centred on white; a gradient when even scale 1 does not fit. */
export function synthImage(width: number, height: number): RgbImage {
  if (!(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1))
    throw new RangeError(`image size must be whole pixels ≥ 1, got ${width}×${height}`);
  const rgb = new Uint8Array(width * height * 3);
  let text: RgbImage | undefined;
  for (let scale = 5; scale >= 1 && !text; scale--) {
    const candidate = renderText(IMAGE_TEXT, { scale, marginCells: 2 });
    if (candidate.width <= width && candidate.height <= height) text = candidate;
  }
  if (!text) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++)
        rgb.set(
          [Math.round((255 * x) / Math.max(1, width - 1)), Math.round((255 * y) / Math.max(1, height - 1)), 128],
          (y * width + x) * 3,
        );
    }
    return { width, height, rgb };
  }
  rgb.fill(255);
  const x0 = Math.floor((width - text.width) / 2);
  const y0 = Math.floor((height - text.height) / 2);
  for (let y = 0; y < text.height; y++)
    rgb.set(text.rgb.subarray(y * text.width * 3, (y + 1) * text.width * 3), ((y0 + y) * width + x0) * 3);
  return { width, height, rgb };
}

/** `seconds` of a rising two-tone chirp at 16 kHz, faded in and out (speech-like energy, no content). */
export function synthSpeech(seconds: number): { sampleRateHz: number; samples: Float32Array } {
  if (!(seconds > 0)) throw new RangeError(`audio length must be > 0 s, got ${seconds}`);
  const n = Math.max(1, Math.round(seconds * AUDIO_SAMPLE_RATE_HZ));
  const samples = new Float32Array(n);
  const fade = Math.min(0.05, seconds / 4);
  for (let i = 0; i < n; i++) {
    const t = i / AUDIO_SAMPLE_RATE_HZ;
    const envelope = Math.min(1, t / fade, (seconds - t) / fade);
    const f = 220 + (440 * t) / seconds;
    samples[i] = envelope * (0.35 * Math.sin(2 * Math.PI * f * t) + 0.15 * Math.sin(2 * Math.PI * 2.5 * f * t));
  }
  return { sampleRateHz: AUDIO_SAMPLE_RATE_HZ, samples };
}

/** Encoded media by size, made on first use. */
export class MediaCache {
  private readonly pngs = new Map<string, string>();
  private readonly wavs = new Map<number, string>();

  /** A `data:image/png;base64,…` URL of a width × height image. */
  imageUrl(width: number, height: number): string {
    const key = `${width}x${height}`;
    let url = this.pngs.get(key);
    if (!url) this.pngs.set(key, (url = `data:image/png;base64,${Buffer.from(encodePng(synthImage(width, height))).toString('base64')}`));
    return url;
  }

  /** Base64 of a WAV of `seconds` (to the millisecond). */
  wavBase64(seconds: number): string {
    const key = Math.round(seconds * 1000);
    let b64 = this.wavs.get(key);
    if (!b64) this.wavs.set(key, (b64 = Buffer.from(encodeWav(synthSpeech(key / 1000))).toString('base64')));
    return b64;
  }
}
