// A direct reader for the WAV files clients send (PCM 8/16/24/32-bit and 32/64-bit float,
// any channel count, WAVE_FORMAT_EXTENSIBLE included): mono float samples in [-1, 1], channels
// averaged, as models/media.ts decodeWav gives, at a fraction of its cost — wavefile's
// bit-depth conversion took a third of the audio path's CPU. Other encodings fall back to it.
import { inspectWav } from '../../../models/media-inspect.js';
import { decodeWav, type PcmAudio } from '../../../models/media.js';

export function readWav(bytes: Uint8Array): PcmAudio {
  const h = inspectWav(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = pcmToMono(view, h.dataOffset, h.dataBytes, { code: h.formatCode, channels: h.channels, bits: h.bitsPerSample });
  return samples ? { sampleRateHz: h.sampleRateHz, samples } : decodeWav(bytes);
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
