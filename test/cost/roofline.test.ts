import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BANDWIDTH_EFFICIENCY,
  COMPUTE_EFFICIENCY,
  decodeLatencyMs,
  kvBytesPerTokenPerGpu,
  LAYER_OVERHEAD_S,
  prefillLatencyMs,
  unitLatencyMs,
  rooflineEntry,
} from '../../src/cost/roofline.js';
import { transferMs, worstLink } from '../../src/cost/transfer.js';
import type { Component, GPUType } from '../../src/spec/types.generated.js';

const A100: GPUType = { name: 'A100-80GB', device: 'gpu', peakTflops: 312, memoryBandwidthGBps: 2039, memoryGiB: 80, source: 'datasheet' };
const dense: Component = {
  name: 'llm',
  kind: 'llm',
  modality: 'text',
  weightBytes: 16e9,
  architecture: { params: 8e9, layers: 32, hiddenSize: 4096, heads: 32, kvHeads: 8, headDim: 128 },
  work: { prefillTokens: { promptTokens: 1 }, decodeTokens: { outputTokens: 1 } },
  source: 't',
};
const encoder: Component = {
  name: 'enc',
  kind: 'encoder',
  modality: 'image',
  weightBytes: 1e9,
  architecture: { params: 5e8, layers: 24, hiddenSize: 1024, heads: 16, tokensPerUnit: 1024 },
  work: { units: { images: 1 } },
  source: 't',
};
const at = (tp: 1 | 2 | 4 | 8) => ({ gpu: A100, tp, intraNodeBandwidthGBps: 600 });

test('decode at batch 1 is bandwidth-bound: one read of the weights', () => {
  const ms = decodeLatencyMs(dense, at(1), 1, 0);
  const expected = (16e9 / (2039e9 * BANDWIDTH_EFFICIENCY) + 32 * LAYER_OVERHEAD_S) * 1000;
  assert.ok(Math.abs(ms - expected) < 1e-9, `${ms} vs ${expected}`);
  assert.ok(decodeLatencyMs(dense, at(1), 64, 0) < 1.2 * ms, 'a batch of 64 still costs about one weight read');
  assert.ok(decodeLatencyMs(dense, at(1), 64, 4096) > decodeLatencyMs(dense, at(1), 64, 0), 'the KV cache read adds to a step');
});

test('prefill is compute-bound and grows with the tokens', () => {
  const ms = prefillLatencyMs(dense, at(1), 8192);
  const flops = 2 * 8e9 * 8192 + 2 * 32 * 8192 ** 2 * 4096;
  assert.ok(ms >= (flops / (312e12 * COMPUTE_EFFICIENCY)) * 1000);
  assert.ok(prefillLatencyMs(dense, at(1), 4096) < ms / 1.9);
});

test('tensor parallelism divides compute and adds a communication term', () => {
  const one = prefillLatencyMs(dense, at(1), 8192);
  const two = prefillLatencyMs(dense, at(2), 8192);
  assert.ok(two > one / 2, 'TP2 is less than twice as fast: all-reduces cost time');
  assert.ok(two < one);
  assert.ok(
    unitLatencyMs(encoder, at(1), 8) > unitLatencyMs(encoder, at(1), 1) * 4,
    'encoders are compute-bound: a batch costs about its work',
  );
});

test('KV bytes per token per device: K and V for every layer, heads split across TP', () => {
  assert.equal(kvBytesPerTokenPerGpu(dense, 1), 2 * 32 * 8 * 128 * 2);
  assert.equal(kvBytesPerTokenPerGpu(dense, 2), 2 * 32 * 4 * 128 * 2);
  assert.equal(kvBytesPerTokenPerGpu(dense, 8), 2 * 32 * 1 * 128 * 2);
  const entry = rooflineEntry(dense, at(2), { contextTokens: 500, maxBatch: 256 });
  assert.equal(entry.source, 'roofline');
  assert.ok(entry.memoryBytes > 8e9 && entry.memoryBytes < 10e9, 'half the weights per device plus activations');
  assert.ok(entry.decodeLatencyMs && entry.prefillLatencyMs && !entry.unitLatencyMs);
});

test('transfers: bytes over the link plus a hop, nothing when colocated', () => {
  assert.equal(transferMs(25e6, { bandwidthGBps: 25, hopLatencyMs: 0.5 }, false), 1.5);
  assert.equal(transferMs(25e6, { bandwidthGBps: 25, hopLatencyMs: 0.5 }, true), 0);
  const pool = {
    name: 'p',
    gpu: A100,
    gpusPerNode: 8,
    nodes: 2,
    intraNodeBandwidthGBps: 600,
    interNodeBandwidthGBps: 25,
    hopLatencyMs: 0.5,
    costPerGpuHour: 0,
  };
  assert.equal(worstLink([pool]).bandwidthGBps, 25);
  assert.equal(worstLink([{ ...pool, nodes: 1 }]).bandwidthGBps, 600, 'one node: tensors stay inside it');
});
