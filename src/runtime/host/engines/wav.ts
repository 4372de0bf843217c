// A direct reader for the WAV files clients send (PCM 8/16/24/32-bit and 32/64-bit float,
// any channel count, WAVE_FORMAT_EXTENSIBLE included): mono float samples in [-1, 1], channels
// averaged, as models/media.ts decodeWav gives, at a fraction of its cost — wavefile's
// bit-depth conversion took a third of the audio path's CPU. Other encodings fall back to it.
import { decodeWav, type PcmAudio } from '../../../models/media.js';

const tag = (b: Uint8Array, at: number): string => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

export function readWav(bytes: Uint8Array): PcmAudio {
  if (bytes.length < 12 || tag(bytes, 0) !== 'RIFF' || tag(bytes, 8) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: { code: number; channels: number; rate: number; bits: number } | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ' && size >= 16) {
      let code = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (code === 0xfffe && size >= 40) code = view.getUint16(body + 24, true);
      format = { code, channels: view.getUint16(body + 2, true), rate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!format) throw new Error('the data chunk comes before the fmt chunk');
      const length = Math.min(size, bytes.length - body);
      const samples = pcmToMono(view, body, length, format);
      return samples ? { sampleRateHz: format.rate, samples } : decodeWav(bytes);
    }
    at = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new Error('no data chunk');
}

function pcmToMono(view: DataView, offset: number, length: number, f: { code: number; channels: number; bits: number }): Float32Array | undefined {
  const bytesPer = f.bits / 8;
  // Integers scale as wavefile does: positive values by 2^(bits-1) - 1, negative by 2^(bits-1).
  const scale = (v: number, bits: number): number => (v >= 0 ? v / (2 ** (bits - 1) - 1) : v / 2 ** (bits - 1));
  const read: ((at: number) => number) | undefined =
    f.code === 1 && f.bits === 16
      ? (at) => scale(view.getInt16(at, true), 16)
      : f.code === 1 && f.bits === 8
        ? (at) => scale(view.getUint8(at) - 128, 8)
        : f.code === 1 && f.bits === 24
          ? (at) => scale(view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16), 24)
          : f.code === 1 && f.bits === 32
            ? (at) => scale(view.getInt32(at, true), 32)
            : f.code === 3 && f.bits === 32
              ? (at) => view.getFloat32(at, true)
              : f.code === 3 && f.bits === 64
                ? (at) => view.getFloat64(at, true)
                : undefined;
  if (!read || f.channels < 1) return undefined;
  const frame = bytesPer * f.channels;
  const frames = Math.floor(length / frame);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++) sum += read(offset + i * frame + c * bytesPer);
    out[i] = sum / f.channels;
  }
  return out;
}
