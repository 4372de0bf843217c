// Whisper's log-mel front end as preprocessor_config.json (WhisperFeatureExtractor) describes it:
// audio at sampling_rate, zero-padded or cut to n_samples (30 s), a centred STFT (reflect
// padding of n_fft / 2) with a periodic Hann window of n_fft samples every hop_length samples,
// the power spectrum through feature_size Slaney-scale mel filters (Slaney normalisation, 0 Hz to
// Nyquist), log10 floored at 1e-10, clamped to 8 decades below the maximum, then (x + 4) / 4. The
// last STFT frame is dropped, giving nb_max_frames = n_samples / hop_length frames.
// n_fft is 400, not a power of two, so each frame is a direct DFT over precomputed twiddles; frames
// that lie wholly in the zero padding are silent and skip it.
import { configNumber, type JsonObject } from './folder.js';

export interface WhisperFeatureConfig {
  sampleRateHz: number;
  melBins: number;
  fftSize: number;
  hopSamples: number;
  windowSamples: number;
}

export function whisperFeatureConfig(pre: JsonObject, file: string): WhisperFeatureConfig {
  return {
    sampleRateHz: configNumber(pre, file, 'sampling_rate'),
    melBins: configNumber(pre, file, 'feature_size'),
    fftSize: configNumber(pre, file, 'n_fft'),
    hopSamples: configNumber(pre, file, 'hop_length'),
    windowSamples: configNumber(pre, file, 'n_samples'),
  };
}

export function whisperFrameCount(c: WhisperFeatureConfig): number {
  return Math.floor(c.windowSamples / c.hopSamples);
}

const hzToMel = (hz: number): number => (hz < 1000 ? (3 * hz) / 200 : 15 + (27 * Math.log(hz / 1000)) / Math.log(6.4));
const melToHz = (mel: number): number => (mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp(((mel - 15) * Math.log(6.4)) / 27));

/** [melBins, fftSize / 2 + 1] triangular filters, Slaney mel scale and area normalisation. */
export function slaneyMelFilters(c: WhisperFeatureConfig): Float64Array {
  const bins = c.fftSize / 2 + 1;
  const nyquist = c.sampleRateHz / 2;
  const top = hzToMel(nyquist);
  const edges = Array.from({ length: c.melBins + 2 }, (_, i) => melToHz((top * i) / (c.melBins + 1)));
  const filters = new Float64Array(c.melBins * bins);
  for (let m = 0; m < c.melBins; m++) {
    const [left, centre, right] = [edges[m], edges[m + 1], edges[m + 2]];
    const norm = 2 / (right - left);
    for (let k = 0; k < bins; k++) {
      const hz = (k * nyquist) / (bins - 1);
      const w = Math.max(0, Math.min((hz - left) / (centre - left), (right - hz) / (right - centre)));
      filters[m * bins + k] = w * norm;
    }
  }
  return filters;
}

/** Log-mel features [melBins, frames] of mono PCM already at c.sampleRateHz. */
export function whisperLogMel(samples: Float32Array, c: WhisperFeatureConfig, filters = slaneyMelFilters(c)): Float32Array {
  const n = c.fftSize;
  const half = n / 2;
  const bins = half + 1;
  const frames = whisperFrameCount(c);
  const audio = samples.subarray(0, c.windowSamples);
  // Reflect-padded signal: index j of the padded signal is sample j − half, mirrored at the ends.
  const total = c.windowSamples;
  const at = (j: number): number => {
    let i = j - half;
    if (i < 0) i = -i;
    if (i >= total) i = 2 * (total - 1) - i;
    return i < audio.length ? audio[i] : 0;
  };
  const window = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const cos = new Float64Array(bins * n);
  const sin = new Float64Array(bins * n);
  for (let k = 0; k < bins; k++) {
    for (let i = 0; i < n; i++) {
      const angle = (2 * Math.PI * ((k * i) % n)) / n;
      cos[k * n + i] = Math.cos(angle);
      sin[k * n + i] = Math.sin(angle);
    }
  }
  const mel = new Float64Array(c.melBins * frames);
  // Frames starting past the audio (plus the window's reach) see only zeros.
  const audible = Math.min(frames, Math.ceil((audio.length + half) / c.hopSamples) + 1);
  const frame = new Float64Array(n);
  const power = new Float64Array(bins);
  for (let t = 0; t < audible; t++) {
    for (let i = 0; i < n; i++) frame[i] = at(t * c.hopSamples + i) * window[i];
    for (let k = 0; k < bins; k++) {
      let re = 0;
      let im = 0;
      const row = k * n;
      for (let i = 0; i < n; i++) {
        re += frame[i] * cos[row + i];
        im -= frame[i] * sin[row + i];
      }
      power[k] = re * re + im * im;
    }
    for (let m = 0; m < c.melBins; m++) {
      let sum = 0;
      for (let k = 0; k < bins; k++) sum += filters[m * bins + k] * power[k];
      mel[m * frames + t] = sum;
    }
  }
  let max = -Infinity;
  for (let i = 0; i < mel.length; i++) {
    mel[i] = Math.log10(Math.max(mel[i], 1e-10));
    if (mel[i] > max) max = mel[i];
  }
  return Float32Array.from(mel, (v) => (Math.max(v, max - 8) + 4) / 4);
}
