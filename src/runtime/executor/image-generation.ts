// The image generator executor: requests with the same step count batch together (dynamic
// batching, bucket = steps); the batch runs K denoising steps of the DiT-style step model with
// a first-order (Euler) flow sampler from t = 1 (noise) to t = 0, then the decoder, and each
// request gets its picture back as RGB and PNG. Noise comes from the request's seed, so the same
// request gives the same image whatever it was batched with.
import { DIT_IO, IMAGE_DECODER_IO } from '../../models/image-generator.js';
import { encodePng, planarToRgb, type RgbImage } from '../../models/media.js';
import { Prng } from '../../models/prng.js';
import { BatchLoop, type BatchStats } from './batch-loop.js';
import type { BatchPolicyConfig } from './batch-policy.js';
import type { ComponentSession } from './session.js';
import { makeTensor } from './tensor.js';

export interface ImageGenerationRequest {
  /** Conditioning vector [condDim], e.g. mean-pooled LLM hidden states. */
  condition: Float32Array;
  steps: number;
  seed: number;
}

export interface GeneratedImage {
  image: RgbImage;
  png: Uint8Array;
}

/** Standard normal samples by Box–Muller over the seeded generator. */
export function gaussianNoise(seed: number, count: number): Float32Array {
  const rng = new Prng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const angle = 2 * Math.PI * rng.next();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

export class ImageGenerator {
  private readonly loop: BatchLoop<ImageGenerationRequest, GeneratedImage>;
  readonly latentShape: [number, number, number];
  readonly conditionDim: number;

  constructor(
    private readonly dit: ComponentSession,
    private readonly decoder: ComponentSession,
    batching: BatchPolicyConfig,
  ) {
    const latent = dit.signature.inputs.find((i) => i.name === DIT_IO.latent)?.dims;
    const condition = dit.signature.inputs.find((i) => i.name === DIT_IO.condition)?.dims;
    const fixed = (d: unknown): number => {
      if (typeof d !== 'number') throw new Error(`${dit.path}: the step model needs fixed latent and condition dims`);
      return d;
    };
    this.latentShape = [fixed(latent?.[1]), fixed(latent?.[2]), fixed(latent?.[3])];
    this.conditionDim = fixed(condition?.[1]);
    this.loop = new BatchLoop(batching, (requests) => this.runBatch(requests));
  }

  get stats(): BatchStats {
    return this.loop.stats;
  }

  generate(request: ImageGenerationRequest): Promise<GeneratedImage> {
    if (request.condition.length !== this.conditionDim) {
      return Promise.reject(new Error(`condition must have ${this.conditionDim} values, got ${request.condition.length}`));
    }
    if (!Number.isInteger(request.steps) || request.steps < 1)
      return Promise.reject(new Error(`steps must be a positive integer, got ${request.steps}`));
    return this.loop.submit(request, `steps=${request.steps}`);
  }

  private async runBatch(requests: ImageGenerationRequest[]): Promise<GeneratedImage[]> {
    const batch = requests.length;
    const [c, h, w] = this.latentShape;
    const perItem = c * h * w;
    const latent = new Float32Array(batch * perItem);
    requests.forEach((r, i) => latent.set(gaussianNoise(r.seed, perItem), i * perItem));
    const condition = new Float32Array(batch * this.conditionDim);
    requests.forEach((r, i) => condition.set(r.condition, i * this.conditionDim));
    const steps = requests[0].steps;
    const dt = 1 / steps;
    for (let k = 0; k < steps; k++) {
      const out = await this.dit.run({
        [DIT_IO.latent]: makeTensor('float32', [batch, c, h, w], latent),
        [DIT_IO.timestep]: makeTensor('float32', [batch], new Float32Array(batch).fill(1 - k * dt)),
        [DIT_IO.condition]: makeTensor('float32', [batch, this.conditionDim], condition),
      });
      const velocity = out[DIT_IO.output].data as Float32Array;
      for (let i = 0; i < latent.length; i++) latent[i] -= dt * velocity[i];
    }
    const decoded = await this.decoder.run({ [IMAGE_DECODER_IO.input]: makeTensor('float32', [batch, c, h, w], latent) });
    const image = decoded[IMAGE_DECODER_IO.output];
    const [, , height, width] = image.shape;
    const plane = 3 * height * width;
    return requests.map((_, i) => {
      const rgb = planarToRgb((image.data as Float32Array).subarray(i * plane, (i + 1) * plane), height, width);
      return { image: rgb, png: encodePng(rgb) };
    });
  }
}
