// Chunked streaming for the vocoder: frames arrive a few at a time (from the talker LLM) and
// audio leaves in chunks as soon as a chunk's frames and its right context are in. Each chunk
// runs with `contextFrames` extra frames on both sides and keeps only its own samples, which
// gives exactly the waveform of one whole-utterance run (models/vocoder.ts says why). Chunks
// from different streams batch together through the component's ModelBatcher when their
// windows have the same length.
import { VOCODER_IO } from '../../models/vocoder.js';
import type { ModelBatcher } from './model-batcher.js';
import { makeTensor } from './tensor.js';
import { AsyncChannel } from './async-channel.js';

export interface ChunkPolicyConfig {
  chunkFrames: number;
  contextFrames: number;
}

export interface StreamProgress {
  receivedFrames: number;
  emittedFrames: number;
  ended: boolean;
}

/** Emit frames [start, end) by running the vocoder on frames [windowStart, windowEnd). */
export interface ChunkWindow {
  start: number;
  end: number;
  windowStart: number;
  windowEnd: number;
}

/** The next chunk that can be produced now, or undefined if it must wait for more frames. */
export function nextChunk(p: StreamProgress, config: ChunkPolicyConfig): ChunkWindow | undefined {
  const start = p.emittedFrames;
  if (start >= p.receivedFrames) return undefined;
  const end = Math.min(start + config.chunkFrames, p.receivedFrames);
  const full = end - start === config.chunkFrames && end + config.contextFrames <= p.receivedFrames;
  if (!full && !p.ended) return undefined;
  return {
    start,
    end,
    windowStart: Math.max(0, start - config.contextFrames),
    windowEnd: Math.min(p.receivedFrames, end + config.contextFrames),
  };
}

export interface VocoderStreamConfig extends ChunkPolicyConfig {
  inputDim: number;
  hopSamples: number;
}

/** One utterance: push frames, end it, and read waveform chunks as they are ready. */
export class VocoderStream {
  private frames = new Float32Array(0);
  private readonly progress: StreamProgress = { receivedFrames: 0, emittedFrames: 0, ended: false };
  private readonly ready = new AsyncChannel<Float32Array>();
  private working: Promise<void> = Promise.resolve();

  constructor(
    private readonly batcher: ModelBatcher,
    readonly config: VocoderStreamConfig,
  ) {}

  /** Appends frames given as [n × inputDim] values. */
  push(frames: Float32Array): void {
    if (this.progress.ended) throw new Error('push after end');
    if (frames.length % this.config.inputDim !== 0)
      throw new Error(`frames must be a multiple of ${this.config.inputDim} values, got ${frames.length}`);
    const grown = new Float32Array(this.frames.length + frames.length);
    grown.set(this.frames);
    grown.set(frames, this.frames.length);
    this.frames = grown;
    this.progress.receivedFrames += frames.length / this.config.inputDim;
    this.drain();
  }

  end(): void {
    this.progress.ended = true;
    this.drain();
  }

  /** Waveform chunks in order; ends after end() once every frame is emitted. Iterate once. */
  audio(): AsyncIterable<Float32Array> {
    return this.ready;
  }

  private drain(): void {
    this.working = this.working
      .then(async () => {
        for (let w = nextChunk(this.progress, this.config); w !== undefined; w = nextChunk(this.progress, this.config)) {
          this.progress.emittedFrames = w.end;
          this.ready.push(await this.runWindow(w));
        }
        if (this.progress.ended && this.progress.emittedFrames === this.progress.receivedFrames) this.ready.close();
      })
      .catch((err: unknown) => this.ready.fail(err));
  }

  private async runWindow(w: ChunkWindow): Promise<Float32Array> {
    const { inputDim, hopSamples } = this.config;
    const windowFrames = w.windowEnd - w.windowStart;
    const input = this.frames.slice(w.windowStart * inputDim, w.windowEnd * inputDim);
    const out = await this.batcher.submit({ [VOCODER_IO.input]: makeTensor('float32', [1, windowFrames, inputDim], input) });
    const wave = out[VOCODER_IO.output].data as Float32Array;
    return wave.slice((w.start - w.windowStart) * hopSamples, (w.end - w.windowStart) * hopSamples);
  }
}
