// Transformer building blocks shared by the tiny components. The math here is mirrored exactly
// by reference.ts (same epsilon, same GELU approximation), which is how tests check onnxruntime.
import { attr } from './onnx-writer.js';
import type { GraphBuilder } from './graph-builder.js';

export const LAYER_NORM_EPSILON = 1e-5;
/** Additive mask value for disallowed attention scores: exp() of it underflows to exactly 0. */
export const MASK_NEGATIVE = -1e9;

export interface TransformerDims {
  hidden: number;
  heads: number;
  /** Width of the MLP's inner layer (4 × hidden in GPT-2 and ViT). */
  mlp: number;
}

export function linear(g: GraphBuilder, x: string, prefix: string, inDim: number, outDim: number): string {
  const w = g.linearWeight(`${prefix}.weight`, inDim, outDim);
  const b = g.weight(`${prefix}.bias`, [outDim], 0.02);
  return g.op('Add', [g.op('MatMul', [x, w]), b]);
}

export function layerNorm(g: GraphBuilder, x: string, prefix: string, dim: number): string {
  const scale = g.around(`${prefix}.weight`, [dim], 1, 0.1);
  const bias = g.around(`${prefix}.bias`, [dim], 0, 0.1);
  return g.op('LayerNormalization', [x, scale, bias], { axis: attr.int(-1), epsilon: attr.float(LAYER_NORM_EPSILON) });
}

/**
 * GELU, tanh approximation (GPT-2's): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). The exact
 * `Gelu` op only exists from opset 20 and this project writes opset 17.
 */
export function geluTanh(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.constFloat(0.044715)])]), g.constFloat(Math.sqrt(2 / Math.PI))]);
  const gate = g.op('Add', [g.op('Tanh', [inner]), g.constFloat(1)]);
  return g.op('Mul', [g.op('Mul', [x, gate]), g.constFloat(0.5)]);
}

export function mlp(g: GraphBuilder, x: string, prefix: string, dims: TransformerDims): string {
  const h = geluTanh(g, linear(g, x, `${prefix}.fc1`, dims.hidden, dims.mlp));
  return linear(g, h, `${prefix}.fc2`, dims.mlp, dims.hidden);
}

/** [B, S, hidden] → [B, heads, S, headDim]. */
export function splitHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const shaped = g.op('Reshape', [x, g.constInt64([0, 0, heads, headDim])]);
  return g.op('Transpose', [shaped], { perm: attr.ints([0, 2, 1, 3]) });
}

/** [B, heads, S, headDim] → [B, S, hidden]. */
export function mergeHeads(g: GraphBuilder, x: string, hidden: number): string {
  const t = g.op('Transpose', [x], { perm: attr.ints([0, 2, 1, 3]) });
  return g.op('Reshape', [t, g.constInt64([0, 0, hidden])]);
}

/** softmax(q·kᵀ/√d)·v over [B, heads, S, d] tensors. */
function scaledDotAttention(g: GraphBuilder, q: string, k: string, v: string, headDim: number): string {
  const kT = g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });
  const scores = g.op('Mul', [g.op('MatMul', [q, kT]), g.constFloat(1 / Math.sqrt(headDim))]);
  return g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), v]);
}

/** Bidirectional self-attention (encoders and the DiT): every token sees every token. */
function selfAttention(g: GraphBuilder, x: string, prefix: string, dims: TransformerDims): string {
  const headDim = dims.hidden / dims.heads;
  const q = splitHeads(g, linear(g, x, `${prefix}.q`, dims.hidden, dims.hidden), dims.heads, headDim);
  const k = splitHeads(g, linear(g, x, `${prefix}.k`, dims.hidden, dims.hidden), dims.heads, headDim);
  const v = splitHeads(g, linear(g, x, `${prefix}.v`, dims.hidden, dims.hidden), dims.heads, headDim);
  const attended = mergeHeads(g, scaledDotAttention(g, q, k, v, headDim), dims.hidden);
  return linear(g, attended, `${prefix}.out`, dims.hidden, dims.hidden);
}

/** Pre-LayerNorm encoder block: x + attn(ln1(x)), then + mlp(ln2(x)). */
export function encoderBlock(g: GraphBuilder, x: string, prefix: string, dims: TransformerDims): string {
  const a = g.op('Add', [x, selfAttention(g, layerNorm(g, x, `${prefix}.ln1`, dims.hidden), `${prefix}.attn`, dims)]);
  return g.op('Add', [a, mlp(g, layerNorm(g, a, `${prefix}.ln2`, dims.hidden), `${prefix}.mlp`, dims)]);
}

export function assertDivisible(what: string, value: number, by: number): void {
  if (value % by !== 0) throw new Error(`${what} (${value}) must be divisible by ${by}`);
}
