// Dynamic batching for a plain ONNX component (encoders, decoders, OCR stages): requests whose
// inputs have the same dtypes and the same shape after the batch axis are concatenated along
// axis 0, run once, and each gets its own rows of every output back.
import { BatchLoop, type BatchStats } from './batch-loop.js';
import type { BatchPolicyConfig } from './batch-policy.js';
import { validateFeeds, type ComponentSession } from './session.js';
import { concatBatch, describeTensor, splitBatch, TensorError, type TensorMap } from './tensor.js';

/** The bucket of a request: its inputs' dtypes and shapes without the batch axis. */
export function shapeBucket(feeds: TensorMap): string {
  return Object.keys(feeds)
    .sort()
    .map((k) => `${k}:${feeds[k].dtype}[${feeds[k].shape.slice(1).join(',')}]`)
    .join(' ');
}

export function batchRows(feeds: TensorMap): number {
  const rows = new Set(Object.values(feeds).map((t) => t.shape[0]));
  if (rows.size !== 1) {
    throw new TensorError(
      `inputs disagree on the batch axis: ${Object.entries(feeds)
        .map(([k, t]) => `${k} ${describeTensor(t)}`)
        .join(', ')}`,
    );
  }
  return [...rows][0];
}

export class ModelBatcher {
  private readonly loop: BatchLoop<TensorMap, TensorMap>;

  constructor(
    readonly session: ComponentSession,
    config: BatchPolicyConfig,
  ) {
    this.loop = new BatchLoop(config, (inputs) => this.runBatch(inputs));
  }

  get stats(): BatchStats {
    return this.loop.stats;
  }

  /** Rejects a malformed request on its own, before it can fail a whole batch. */
  async submit(feeds: TensorMap): Promise<TensorMap> {
    validateFeeds(this.session.name, this.session.signature.inputs, feeds);
    return this.loop.submit(feeds, shapeBucket(feeds), batchRows(feeds));
  }

  private async runBatch(inputs: TensorMap[]): Promise<TensorMap[]> {
    const names = Object.keys(inputs[0]);
    const batched: TensorMap = {};
    for (const name of names) batched[name] = concatBatch(inputs.map((i) => i[name]));
    const out = await this.session.run(batched);
    const rows = inputs.map(batchRows);
    const results: TensorMap[] = inputs.map(() => ({}));
    for (const [name, t] of Object.entries(out)) splitBatch(t, rows).forEach((piece, i) => (results[i][name] = piece));
    return results;
  }
}
