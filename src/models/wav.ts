// WAV in both directions, for media inputs and generated audio. Reading: PCM 8/16/24/32-bit and
// 32/64-bit float, any channel count, WAVE_FORMAT_EXTENSIBLE included, to mono float samples in
// [-1, 1] (channels averaged), read directly — wavefile's bit-depth conversion took a third of the
// audio path's CPU; other encodings fall back to wavefile. Writing: 16-bit PCM mono with the
// canonical 44-byte header, written directly — wavefile's encoder was a tenth of the gateway's CPU
// on audio answers. test/models/wav.test.ts checks both against wavefile.
import wavefile from 'wavefile';
import { inspectWav } from './media-inspect.js';

export interface PcmAudio {
  sampleRateHz: number;
  samples: Float32Array;
}

/** Decodes a WAV to mono float samples; several channels are averaged. Header problems throw MediaFormatError. */
export function decodeWav(bytes: Uint8Array): PcmAudio {
  const h = inspectWav(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = pcmToMono(view, h.dataOffset, h.dataBytes, { code: h.formatCode, channels: h.channels, bits: h.bitsPerSample });
  return samples ? { sampleRateHz: h.sampleRateHz, samples } : decodeWithWavefile(bytes);
}

function pcmToMono(
  view: DataView,
  offset: number,
  length: number,
  f: { code: number; channels: number; bits: number },
): Float32Array | undefined {
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

/** Any encoding wavefile reads, converted to 32-bit float and averaged to mono. */
function decodeWithWavefile(bytes: Uint8Array): PcmAudio {
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

/** A 16-bit PCM mono WAV: the 44-byte canonical header, then the samples. */
export function encodeWav(audio: PcmAudio): Uint8Array {
  const data = pcm16(audio.samples);
  const out = Buffer.allocUnsafe(44 + data.length);
  writeWavHeader(out, audio.sampleRateHz, data.length);
  out.set(data, 44);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The 44-byte header that starts a streamed WAV: its length is not known yet, so both sizes are 0xFFFFFFFF. */
export function wavStreamHeader(sampleRateHz: number): Uint8Array {
  const out = Buffer.alloc(44);
  writeWavHeader(out, sampleRateHz, undefined);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function writeWavHeader(out: Buffer, sampleRateHz: number, dataBytes: number | undefined): void {
  const unknown = 0xffffffff;
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(dataBytes === undefined ? unknown : 36 + dataBytes, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16); // fmt chunk size
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRateHz, 24);
  out.writeUInt32LE(sampleRateHz * 2, 28); // bytes per second
  out.writeUInt16LE(2, 32); // bytes per frame
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes ?? unknown, 40);
}

/** Little-endian 16-bit PCM (every host serve runs on is little-endian, as the transport assumes). */
export function pcm16(samples: Float32Array): Uint8Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.round(Math.min(1, Math.max(-1, samples[i])) * 32767);
  return new Uint8Array(out.buffer);
}
