// Memory fit and the KV effect: an encoder colocated with an LLM takes KV capacity away from it,
// so the LLM holds fewer sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unitMemory, usableBytesPerGpu } from '../../src/cost/memory.js';
import { GPU_RUNTIME_RESERVE_BYTES } from '../../src/cost/roofline.js';
import { preparePlanner } from '../../src/planner/prepare.js';
import { cloneSpec, loadSpec, TINY } from '../planner/helpers.js';

test('KV capacity is what weights and activations leave, split between colocated LLMs', () => {
  const gpu = { name: 'G', device: 'gpu' as const, peakTflops: 1, memoryBandwidthGBps: 1, memoryGiB: 10, source: 't' };
  const usable = usableBytesPerGpu(gpu);
  const llm = (name: string, kvBytesPerToken: number) => ({
    component: name,
    kvWeight: 1,
    entry: { component: name, gpu: 'G', tp: 1 as const, source: 'measured' as const, memoryBytes: 2e9, kvBytesPerToken },
  });
  // Measured figures are taken as they are.
  const m = unitMemory([llm('a', 1000), llm('b', 1000)], gpu);
  const both = 4e9;
  assert.equal(m.memoryBytesPerGpu, both);
  // Roofline estimates each add a runtime reserve (CUDA context); two members in one process need one.
  const estimated = (name: string) => ({ ...llm(name, 1000), entry: { ...llm(name, 1000).entry, source: 'roofline' as const } });
  assert.equal(unitMemory([estimated('a'), estimated('b')], gpu).memoryBytesPerGpu, 4e9 - GPU_RUNTIME_RESERVE_BYTES);
  assert.equal(
    unitMemory([llm('a', 1000), estimated('b')], gpu).memoryBytesPerGpu,
    4e9 - GPU_RUNTIME_RESERVE_BYTES,
    'the measured member carries the process reserve',
  );
  assert.equal(m.kvTokens.get('a'), Math.floor((usable - both) / 2 / 1000));
  assert.equal(m.kvTokens.get('a'), m.kvTokens.get('b'));
  assert.equal(unitMemory([{ component: 'x', entry: { ...llm('x', 1).entry, memoryBytes: usable + 1 } }], gpu).fits, false);
});

test("the KV effect: colocating the encoder shrinks the LLM's KV cache and batch", () => {
  const spec = cloneSpec(loadSpec(TINY));
  // A heavy encoder and long requests make the LLM KV-bound on one L40S.
  spec.modelGraph.components[0].weightBytes = 8e9;
  spec.modelGraph.requestTypes[0].sizes = { promptTokens: 8000, outputTokens: 200 };
  spec.workload.generator!.mix = { chat: 1, look: 0 };
  // Targets so loose that latency never limits the operating point (without any, the planner's 5× default would).
  spec.deployment.latencyTargetsMs = { chat: 1e9, look: 1e9 };
  const problem = preparePlanner(spec);
  const alone = problem.candidates.find((c) => c.id === 'llm@l40s:tp1')!;
  const together = problem.candidates.find((c) => c.id === 'vision+llm@l40s:tp1')!;
  assert.ok(together.kvTokens.llm < alone.kvTokens.llm - 8e9 / 2 / 131072 / 2, `${together.kvTokens.llm} vs ${alone.kvTokens.llm}`);
  assert.ok(together.batch.llm < alone.batch.llm, 'fewer sequences fit beside the encoder');
  assert.deepEqual(together.kvBound, ['llm']);
  const busy = (c: typeof alone) => c.loads.find((l) => l.type === 'chat' && l.component === 'llm')!.busyS;
  assert.ok(busy(together) > busy(alone), 'a smaller batch costs more replica time per request');
});

test('colocated members share one process and one vision tower: Qwen2.5-VL fits whole on one L4', () => {
  const spec = cloneSpec(loadSpec('fixtures/deployments/qwen2.5-vl-8xh200.yaml'));
  spec.cluster.pools = [{ ...spec.cluster.pools[0], name: 'l4', gpu: 'L4', gpusPerNode: 1, nodes: 1 }];
  // Targets so loose that only memory decides which units exist.
  spec.deployment.latencyTargetsMs = Object.fromEntries(Object.keys(spec.deployment.latencyTargetsMs ?? {}).map((t) => [t, 1e9]));
  const problem = preparePlanner(spec);
  const whole = problem.candidates.find((c) => c.id === 'image-encoder+video-encoder+llm@l4:tp1');
  assert.ok(whole, JSON.stringify(problem.rejections.filter((r) => r.reason === 'memory')));
  const alone = (id: string) => problem.candidates.find((c) => c.id === id)!.memoryBytesPerGpu;
  // The sum of the members' processes less the two runtime reserves the colocated members do not
  // need and the second copy of the ViT the video encoder shares with the image encoder.
  const tower = spec.modelGraph.components.find((c) => c.name === 'video-encoder')!;
  assert.equal(tower.sharesWeightsWith, 'image-encoder');
  const expected =
    alone('image-encoder@l4:tp1') + alone('video-encoder@l4:tp1') + alone('llm@l4:tp1') - 2 * GPU_RUNTIME_RESERVE_BYTES - tower.weightBytes;
  assert.ok(Math.abs(whole.memoryBytesPerGpu - expected) < 1, `${whole.memoryBytesPerGpu} vs ${expected}`);
  // About 17 GiB, where one context per member and the tower twice charged 20.4 GiB.
  assert.ok(whole.memoryBytesPerGpu < 17.5 * 1024 ** 3, `${whole.memoryBytesPerGpu / 1024 ** 3} GiB`);
  // Apart, each encoder holds the tower itself.
  assert.ok(alone('video-encoder@l4:tp1') >= tower.weightBytes);
});
