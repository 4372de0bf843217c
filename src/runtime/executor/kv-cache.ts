// Per-sequence key/value caches and the padding that lets sequences with different past lengths
// share one LLM call. Each step's past tensors are [batch, heads, P, headDim] with P the longest
// past in the batch: sequence b's cache fills slots 0…L_b−1 and slots L_b…P−1 are zero with
// attention_mask 0. New tokens follow at slots P…P+T−1, right-padded to the longest new run T.
// Position ids carry each token's true position, so the gaps change nothing but the mask (see
// models/llm.ts for why the model allows that).

export interface KvDims {
  layers: number;
  heads: number;
  headDim: number;
}

/** One sequence's cache, per layer [heads, capacity, headDim] for keys and for values. */
export class SequenceKvCache {
  length = 0;
  private capacity: number;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];

  constructor(
    readonly dims: KvDims,
    initialCapacity = 32,
  ) {
    this.capacity = initialCapacity;
    const size = dims.heads * initialCapacity * dims.headDim;
    this.keys = Array.from({ length: dims.layers }, () => new Float32Array(size));
    this.values = Array.from({ length: dims.layers }, () => new Float32Array(size));
  }

  /** Bytes held, for memory accounting (capacity, not just length). */
  get bytes(): number {
    return 2 * this.dims.layers * this.dims.heads * this.capacity * this.dims.headDim * 4;
  }

  reserve(tokens: number): void {
    if (tokens <= this.capacity) return;
    const next = Math.max(tokens, 2 * this.capacity);
    const { heads, headDim } = this.dims;
    for (const store of [this.keys, this.values]) {
      store.forEach((old, l) => {
        const grown = new Float32Array(heads * next * headDim);
        for (let h = 0; h < heads; h++)
          grown.set(old.subarray(h * this.capacity * headDim, (h * this.capacity + this.length) * headDim), h * next * headDim);
        store[l] = grown;
      });
    }
    this.capacity = next;
  }

  /**
   * Copies this cache into row `b` of a [batch, heads, pastSlots, headDim] past tensor and zeroes
   * the padding slots after it (the buffer is reused between steps, so they hold old values).
   */
  writePast(layer: number, kind: 'key' | 'value', out: Float32Array, b: number, pastSlots: number): void {
    const { heads, headDim } = this.dims;
    const src = kind === 'key' ? this.keys[layer] : this.values[layer];
    for (let h = 0; h < heads; h++) {
      const row = (b * heads + h) * pastSlots * headDim;
      out.set(src.subarray(h * this.capacity * headDim, (h * this.capacity + this.length) * headDim), row);
      out.fill(0, row + this.length * headDim, row + pastSlots * headDim);
    }
  }

  /** Appends slots start…start+count−1 of row `b` of a [batch, heads, totalSlots, headDim] present. */
  appendPresent(
    layer: number,
    kind: 'key' | 'value',
    present: Float32Array,
    b: number,
    totalSlots: number,
    start: number,
    count: number,
  ): void {
    const { heads, headDim } = this.dims;
    this.reserve(this.length + count);
    const dst = kind === 'key' ? this.keys[layer] : this.values[layer];
    for (let h = 0; h < heads; h++) {
      const from = ((b * heads + h) * totalSlots + start) * headDim;
      dst.set(present.subarray(from, from + count * headDim), (h * this.capacity + this.length) * headDim);
    }
  }

  /** Call once per step after every layer's appendPresent. */
  commit(count: number): void {
    this.length += count;
  }

  /**
   * The real slots only, packed [layers, 2 (key, value), heads, length, headDim]: what a prefill
   * executor ships to a decode executor (transport/kv.ts).
   */
  pack(): Float32Array {
    const { layers, heads, headDim } = this.dims;
    const block = heads * this.length * headDim;
    const out = new Float32Array(layers * 2 * block);
    for (let l = 0; l < layers; l++) {
      [this.keys[l], this.values[l]].forEach((src, kind) => {
        for (let h = 0; h < heads; h++)
          out.set(
            src.subarray(h * this.capacity * headDim, (h * this.capacity + this.length) * headDim),
            (l * 2 + kind) * block + h * this.length * headDim,
          );
      });
    }
    return out;
  }

  /** A cache of `length` slots from pack()'s layout, with room for `capacity` (the tokens it will reach). */
  static unpack(dims: KvDims, length: number, packed: Float32Array, capacity = length): SequenceKvCache {
    const { layers, heads, headDim } = dims;
    const block = heads * length * headDim;
    if (packed.length !== layers * 2 * block)
      throw new Error(
        `a packed KV cache of ${length} slots for ${layers} layers × ${heads} heads × ${headDim} needs ${layers * 2 * block} floats, got ${packed.length}`,
      );
    const cache = new SequenceKvCache(dims, Math.max(1, capacity, length));
    for (let l = 0; l < layers; l++) {
      [cache.keys[l], cache.values[l]].forEach((dst, kind) => {
        for (let h = 0; h < heads; h++)
          dst.set(
            packed.subarray((l * 2 + kind) * block + h * length * headDim, (l * 2 + kind) * block + (h + 1) * length * headDim),
            h * cache.capacity * headDim,
          );
      });
    }
    cache.length = length;
    return cache;
  }
}

export interface StepRow {
  cache: SequenceKvCache;
  /** New tokens this sequence feeds in this step (its prompt in prefill, 1 in decode). */
  newTokens: number;
}

export interface StepLayout {
  pastSlots: number;
  newSlots: number;
  /** [batch, pastSlots + newSlots]: 1 where a slot holds a real token. */
  attentionMask: BigInt64Array;
  /** [batch, newSlots]: true positions; padding repeats the last real one. */
  positionIds: BigInt64Array;
}

export function stepLayout(rows: readonly StepRow[]): StepLayout {
  const pastSlots = Math.max(0, ...rows.map((r) => r.cache.length));
  const newSlots = Math.max(...rows.map((r) => r.newTokens));
  const total = pastSlots + newSlots;
  const attentionMask = new BigInt64Array(rows.length * total);
  const positionIds = new BigInt64Array(rows.length * newSlots);
  rows.forEach((r, b) => {
    attentionMask.fill(1n, b * total, b * total + r.cache.length);
    attentionMask.fill(1n, b * total + pastSlots, b * total + pastSlots + r.newTokens);
    for (let k = 0; k < newSlots; k++) positionIds[b * newSlots + k] = BigInt(r.cache.length + Math.min(k, r.newTokens - 1));
  });
  return { pastSlots, newSlots, attentionMask, positionIds };
}

/**
 * Reusable buffers for the batched past tensors, one per (layer, key/value). Allocating fresh
 * multi-megabyte arrays every decode step cost about as much as the model call itself.
 */
export class PastBuffers {
  private readonly buffers = new Map<string, Float32Array>();

  constructor(readonly dims: KvDims) {}

  /** The [batch, heads, pastSlots, headDim] past for one layer; valid until the next call. */
  fill(rows: readonly StepRow[], layer: number, kind: 'key' | 'value', pastSlots: number): Float32Array {
    const size = rows.length * this.dims.heads * pastSlots * this.dims.headDim;
    const key = `${layer}.${kind}`;
    let buffer = this.buffers.get(key);
    if (buffer === undefined || buffer.length < size) {
      buffer = new Float32Array(Math.max(size, 2 * (buffer?.length ?? 0)));
      this.buffers.set(key, buffer);
    }
    const out = buffer.subarray(0, size);
    rows.forEach((r, b) => r.cache.writePast(layer, kind, out, b, pastSlots));
    return out;
  }
}
