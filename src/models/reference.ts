// Plain TypeScript forward passes for the tiny LLM and image encoder, reading the same weights
// the ONNX builders wrote. Tests compare onnxruntime's outputs with these; accumulation is in
// float64 so the reference is the more exact of the two.
import type { TensorDef } from './onnx-writer.js';
import { LAYER_NORM_EPSILON } from './layers.js';
import { TOKEN_EMBEDDING, type LlmConfig } from './llm.js';
import type { ImageEncoderConfig } from './image-encoder.js';

type Weights = ReadonlyMap<string, TensorDef>;

/** A row-major matrix: `rows` × `cols` values. */
interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

function weight(weights: Weights, name: string): Float32Array {
  const t = weights.get(name);
  if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`reference: no float32 weight ${name}`);
  return t.data;
}

function linear(weights: Weights, x: Mat, prefix: string, outDim: number, bias = true): Mat {
  const w = weight(weights, `${prefix}.weight`);
  const b = bias ? weight(weights, `${prefix}.bias`) : undefined;
  const out = new Float64Array(x.rows * outDim);
  for (let r = 0; r < x.rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let acc = b ? b[o] : 0;
      for (let i = 0; i < x.cols; i++) acc += x.data[r * x.cols + i] * w[i * outDim + o];
      out[r * outDim + o] = acc;
    }
  }
  return { rows: x.rows, cols: outDim, data: out };
}

function layerNorm(weights: Weights, x: Mat, prefix: string): Mat {
  const gain = weight(weights, `${prefix}.weight`);
  const shift = weight(weights, `${prefix}.bias`);
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.rows; r++) {
    const row = x.data.subarray(r * x.cols, (r + 1) * x.cols);
    const mean = row.reduce((a, b) => a + b, 0) / x.cols;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / x.cols;
    const inv = 1 / Math.sqrt(variance + LAYER_NORM_EPSILON);
    for (let c = 0; c < x.cols; c++) out[r * x.cols + c] = (row[c] - mean) * inv * gain[c] + shift[c];
  }
  return { rows: x.rows, cols: x.cols, data: out };
}

function add(a: Mat, b: Mat): Mat {
  return { rows: a.rows, cols: a.cols, data: a.data.map((v, i) => v + b.data[i]) };
}

function geluTanh(x: Mat): Mat {
  const k = Math.sqrt(2 / Math.PI);
  return { rows: x.rows, cols: x.cols, data: x.data.map((v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v * v * v)))) };
}

function mlp(weights: Weights, x: Mat, prefix: string, mlpDim: number): Mat {
  return linear(weights, geluTanh(linear(weights, x, `${prefix}.fc1`, mlpDim)), `${prefix}.fc2`, x.cols);
}

/** Multi-head attention of query rows over key rows; `visible(q, k)` says which pairs count. */
function attention(weights: Weights, x: Mat, prefix: string, heads: number, visible: (q: number, k: number) => boolean): Mat {
  const hidden = x.cols;
  const headDim = hidden / heads;
  const q = linear(weights, x, `${prefix}.q`, hidden);
  const k = linear(weights, x, `${prefix}.k`, hidden);
  const v = linear(weights, x, `${prefix}.v`, hidden);
  const out = new Float64Array(x.rows * hidden);
  const scale = 1 / Math.sqrt(headDim);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < x.rows; i++) {
      const scores: number[] = [];
      for (let j = 0; j < x.rows; j++) {
        if (!visible(i, j)) continue;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q.data[i * hidden + h * headDim + d] * k.data[j * hidden + h * headDim + d];
        scores.push(dot * scale);
      }
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      let n = 0;
      for (let j = 0; j < x.rows; j++) {
        if (!visible(i, j)) continue;
        const p = exps[n++] / sum;
        for (let d = 0; d < headDim; d++) out[i * hidden + h * headDim + d] += p * v.data[j * hidden + h * headDim + d];
      }
    }
  }
  return linear(weights, { rows: x.rows, cols: hidden, data: out }, `${prefix}.out`, hidden);
}

/** Token embeddings for `ids` as a [ids.length × hidden] row-major array. */
export function referenceEmbed(config: LlmConfig, weights: Weights, ids: readonly number[]): Float32Array {
  const table = weight(weights, TOKEN_EMBEDDING);
  const out = new Float32Array(ids.length * config.hidden);
  ids.forEach((id, t) => out.set(table.subarray(id * config.hidden, (id + 1) * config.hidden), t * config.hidden));
  return out;
}

/**
 * Logits [T × vocab] of one unpadded sequence whose input embeddings are `embeds` [T × hidden],
 * at positions 0…T−1, with causal attention and no cache.
 */
export function referenceLlmLogits(config: LlmConfig, weights: Weights, embeds: Float32Array): Float32Array {
  const rows = embeds.length / config.hidden;
  const pos = weight(weights, 'embed_positions.weight');
  let x: Mat = { rows, cols: config.hidden, data: Float64Array.from(embeds, (v, i) => v + pos[i]) };
  for (let l = 0; l < config.layers; l++) {
    const prefix = `layers.${l}`;
    x = add(
      x,
      attention(weights, layerNorm(weights, x, `${prefix}.ln1`), `${prefix}.attn`, config.heads, (q, k) => k <= q),
    );
    x = add(x, mlp(weights, layerNorm(weights, x, `${prefix}.ln2`), `${prefix}.mlp`, config.mlp));
  }
  const logits = linear(weights, layerNorm(weights, x, 'ln_f'), 'lm_head', config.vocab, false);
  return Float32Array.from(logits.data);
}

/** Embeddings [patches × outputDim] for one image given as [3 × H × W] floats. */
export function referenceImageEncoder(config: ImageEncoderConfig, weights: Weights, pixels: Float32Array): Float32Array {
  const { imageSize: size, patchSize: p } = config;
  const grid = size / p;
  const patchDim = 3 * p * p;
  const patches = new Float64Array(grid * grid * patchDim);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      let i = (gy * grid + gx) * patchDim;
      for (let c = 0; c < 3; c++) {
        for (let py = 0; py < p; py++) {
          for (let px = 0; px < p; px++) patches[i++] = pixels[c * size * size + (gy * p + py) * size + gx * p + px];
        }
      }
    }
  }
  let x = linear(weights, { rows: grid * grid, cols: patchDim, data: patches }, 'patch_embed', config.hidden);
  const pos = weight(weights, 'pos_embed');
  x = { ...x, data: x.data.map((v, i) => v + pos[i]) };
  for (let l = 0; l < config.layers; l++) {
    const prefix = `blocks.${l}`;
    x = add(
      x,
      attention(weights, layerNorm(weights, x, `${prefix}.ln1`), `${prefix}.attn`, config.heads, () => true),
    );
    x = add(x, mlp(weights, layerNorm(weights, x, `${prefix}.ln2`), `${prefix}.mlp`, config.mlp));
  }
  const out = linear(weights, layerNorm(weights, x, 'ln_post'), 'proj', config.outputDim);
  return Float32Array.from(out.data);
}
