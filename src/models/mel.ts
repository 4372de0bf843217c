// Log-mel spectrogram of mono PCM, computed in TypeScript so the audio encoder's ONNX graph
// starts at features (as Whisper's does). Parameters follow Whisper's front end: 25 ms Hann
// window (400 samples at 16 kHz) zero-padded to a 512-point FFT, 10 ms hop (160 samples), HTK
// mel scale from 0 Hz to Nyquist, log10 clamped to 8 decades below the loudest bin, then
// scaled by (x + 4) / 4. No centre padding: frames = 1 + floor((samples − window) / hop).

export interface MelConfig {
  sampleRateHz: number;
  windowSamples: number;
  hopSamples: number;
  fftSize: number;
  melBins: number;
}

export const WHISPER_LIKE_MEL: Omit<MelConfig, 'melBins'> = {
  sampleRateHz: 16000,
  windowSamples: 400,
  hopSamples: 160,
  fftSize: 512,
};

export function melFrameCount(config: MelConfig, samples: number): number {
  return samples < config.windowSamples ? 0 : 1 + Math.floor((samples - config.windowSamples) / config.hopSamples);
}

/** In-place iterative radix-2 FFT over separate real and imaginary arrays. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0) throw new Error(`FFT size ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k);
        const wi = Math.sin(angle * k);
        const a = start + k;
        const b = a + len / 2;
        const tr = re[b] * wr - im[b] * wi;
        const ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
}

const hzToMel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel: number): number => 700 * (10 ** (mel / 2595) - 1);

/** Triangular filters [melBins × (fftSize/2 + 1)], peak 1, edges evenly spaced in mel. */
export function melFilterbank(config: MelConfig): Float64Array[] {
  const bins = config.fftSize / 2 + 1;
  const maxMel = hzToMel(config.sampleRateHz / 2);
  const edgesHz = Array.from({ length: config.melBins + 2 }, (_, i) => melToHz((maxMel * i) / (config.melBins + 1)));
  const binHz = (k: number): number => (k * config.sampleRateHz) / config.fftSize;
  return Array.from({ length: config.melBins }, (_, m) => {
    const [lo, mid, hi] = [edgesHz[m], edgesHz[m + 1], edgesHz[m + 2]];
    const row = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const f = binHz(k);
      row[k] = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
    }
    return row;
  });
}

/** Features [melBins × frames] (row-major), the layout the audio encoder's Conv1d expects. */
export function logMelSpectrogram(pcm: Float32Array, config: MelConfig): { data: Float32Array; frames: number } {
  const frames = melFrameCount(config, pcm.length);
  const filters = melFilterbank(config);
  const bins = config.fftSize / 2 + 1;
  const hann = Array.from({ length: config.windowSamples }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / config.windowSamples));
  const logMel = new Float64Array(config.melBins * frames);
  const re = new Float64Array(config.fftSize);
  const im = new Float64Array(config.fftSize);
  const power = new Float64Array(bins);
  for (let f = 0; f < frames; f++) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < config.windowSamples; i++) re[i] = pcm[f * config.hopSamples + i] * hann[i];
    fft(re, im);
    for (let k = 0; k < bins; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    for (let m = 0; m < config.melBins; m++) {
      let energy = 0;
      for (let k = 0; k < bins; k++) energy += filters[m][k] * power[k];
      logMel[m * frames + f] = Math.log10(Math.max(energy, 1e-10));
    }
  }
  const floor = logMel.reduce((a, b) => Math.max(a, b), -Infinity) - 8;
  return { data: Float32Array.from(logMel, (v) => (Math.max(v, floor) + 4) / 4), frames };
}
