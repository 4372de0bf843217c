// What a media file claims to be, read from its header alone: an image's format and pixel size,
// a WAV's sample rate, channels and length. Checked against limits before anything is decoded,
// so a 69-byte PNG that claims 20000×20000 pixels (or a WAV at 1 Hz that resamples to hours) is
// refused without allocating what it asks for.

export interface MediaLimits {
  /** Largest width × height of an input image. */
  maxImagePixels: number;
  /** Longest input audio clip. */
  maxAudioSeconds: number;
  /** Most samples (frames × channels) in an input audio clip. */
  maxAudioSamples: number;
}

/**
 * 4096 × 4096 pixels (64 MiB as 8-bit RGBA while decoding); ten minutes of audio, and that
 * at 48 kHz stereo in samples. Large enough for any photo or clip a chat request carries.
 */
export const DEFAULT_MEDIA_LIMITS: MediaLimits = { maxImagePixels: 4096 * 4096, maxAudioSeconds: 600, maxAudioSamples: 600 * 48_000 * 2 };

/** The file is not a supported format, or its header is broken. */
export class MediaFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaFormatError';
  }
}

/** The header is fine but asks for more than the limits allow. */
export class MediaLimitError extends Error {
  constructor(
    readonly limit: keyof MediaLimits,
    message: string,
  ) {
    super(message);
    this.name = 'MediaLimitError';
  }
}

export type ImageFormat = 'png' | 'jpeg';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

export const IMAGE_MIME: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg' };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
const be16 = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];
const be32 = (b: Uint8Array, at: number): number => ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];

/** PNG: the IHDR chunk follows the signature at once (PNG spec §5.2, §11.2.2). */
function pngHeader(b: Uint8Array): ImageHeader {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') throw new MediaFormatError('the PNG has no IHDR header');
  const width = be32(b, 16);
  const height = be32(b, 20);
  if (width === 0 || height === 0) throw new MediaFormatError(`the PNG header gives a ${width}×${height} image`);
  return { format: 'png', width, height };
}

/** Start-of-frame markers (ITU T.81 Table B.1): SOF0–15 except DHT (C4), JPG (C8) and DAC (CC). */
const isStartOfFrame = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** JPEG: walk the marker segments to the first start-of-frame, which holds the frame size. */
function jpegHeader(b: Uint8Array): ImageHeader {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) throw new MediaFormatError(`the JPEG has no marker at byte ${at}`);
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or entropy-coded data: no frame header before it
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = be16(b, at + 2);
    if (length < 2) throw new MediaFormatError(`the JPEG has a segment of length ${length} at byte ${at}`);
    if (isStartOfFrame(marker)) {
      if (at + 9 > b.length) break;
      const height = be16(b, at + 5);
      const width = be16(b, at + 7);
      if (width === 0 || height === 0)
        throw new MediaFormatError(
          `the JPEG frame header gives a ${width}×${height} image (a height set later by a DNL marker is not supported)`,
        );
      return { format: 'jpeg', width, height };
    }
    at += 2 + length;
  }
  throw new MediaFormatError('the JPEG has no frame header');
}

/** The format and size an image file declares; throws MediaFormatError for anything but PNG and JPEG. */
export function inspectImage(bytes: Uint8Array): ImageHeader {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v)) return pngHeader(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegHeader(bytes);
  throw new MediaFormatError('not a PNG or JPEG image (the formats supported)');
}

export function checkImageLimits(header: ImageHeader, limits: Pick<MediaLimits, 'maxImagePixels'>): void {
  const pixels = header.width * header.height;
  if (pixels > limits.maxImagePixels) {
    throw new MediaLimitError(
      'maxImagePixels',
      `the image is ${header.width}×${header.height} (${pixels} pixels); the limit is ${limits.maxImagePixels} pixels`,
    );
  }
}

export interface WavHeader {
  /** WAVE format code (1 PCM, 3 IEEE float; WAVE_FORMAT_EXTENSIBLE resolved to its sub-format). */
  formatCode: number;
  channels: number;
  sampleRateHz: number;
  bitsPerSample: number;
  /** Byte offset of the sample data. */
  dataOffset: number;
  /** Bytes of sample data present (the declared size, cut to what the file holds). */
  dataBytes: number;
  /** Sample frames (one sample per channel each) in the data present. */
  frames: number;
  durationS: number;
}

/** The RIFF/WAVE chunks up to the data chunk; throws MediaFormatError when they do not make a WAV. */
export function inspectWav(bytes: Uint8Array): WavHeader {
  if (bytes.length < 12 || ascii(bytes, 0, 4) !== 'RIFF' || ascii(bytes, 8, 4) !== 'WAVE')
    throw new MediaFormatError('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavHeader, 'dataOffset' | 'dataBytes' | 'frames' | 'durationS'> | undefined;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = ascii(bytes, at, 4);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new MediaFormatError('the WAV fmt chunk is too short');
      let formatCode = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (formatCode === 0xfffe && size >= 40 && body + 26 <= bytes.length) formatCode = view.getUint16(body + 24, true);
      fmt = {
        formatCode,
        channels: view.getUint16(body + 2, true),
        sampleRateHz: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
      if (fmt.channels < 1) throw new MediaFormatError('the WAV header gives 0 channels');
      if (fmt.sampleRateHz < 1) throw new MediaFormatError('the WAV header gives a sample rate of 0 Hz');
      if (fmt.bitsPerSample < 1) throw new MediaFormatError('the WAV header gives 0 bits per sample');
    } else if (id === 'data') {
      if (!fmt) throw new MediaFormatError('the WAV data chunk comes before the fmt chunk');
      const dataBytes = Math.min(size, bytes.length - body);
      const frames = Math.floor(dataBytes / (Math.ceil(fmt.bitsPerSample / 8) * fmt.channels));
      return { ...fmt, dataOffset: body, dataBytes, frames, durationS: frames / fmt.sampleRateHz };
    }
    at = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new MediaFormatError('the WAV has no data chunk');
}

export function checkAudioLimits(header: WavHeader, limits: Pick<MediaLimits, 'maxAudioSeconds' | 'maxAudioSamples'>): void {
  if (header.durationS > limits.maxAudioSeconds) {
    throw new MediaLimitError(
      'maxAudioSeconds',
      `the audio is ${header.durationS.toFixed(1)} s long (${header.frames} frames at ${header.sampleRateHz} Hz); the limit is ${limits.maxAudioSeconds} s`,
    );
  }
  const samples = header.frames * header.channels;
  if (samples > limits.maxAudioSamples) {
    throw new MediaLimitError(
      'maxAudioSamples',
      `the audio holds ${samples} samples (${header.channels} channel(s) at ${header.sampleRateHz} Hz); the limit is ${limits.maxAudioSamples} samples`,
    );
  }
}
