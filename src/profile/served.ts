// Times an encoder or generator the way `serve` runs it: through the engine's own runner
// (runtime/host/engine-runners.ts), so a point includes what serving does around the ONNX run —
// PNG decoding and resizing, WAV reading and the log-mel front end, OCR detection's resize and
// box extraction, recognition crops padded as served, the vocoder's chunks with their context
// frames, PNG encoding of generated images — and the dynamic batcher. A batch of B is B
// concurrent invocations; the runner's batch limit (the plan's operating batch in serving) is
// set so that their rows fill one run exactly, as they do at that operating batch under load.
import { engineBlock } from '../planner/engine-block.js';
import type { ExecutorLogger } from '../runtime/executor/session.js';
import type { ExecutionProviderName } from '../runtime/executor/execution-provider.js';
import { timeCalls, type Timing } from '../runtime/executor/measure.js';
import { ENGINE_RUNNERS } from '../runtime/host/engine-runners.js';
import type { ComponentRunner, InvocationContext } from '../runtime/host/runner.js';
import type { OutputPart, RequestPayload } from '../runtime/protocol.js';
import { withAbsolutePaths } from '../runtime/supervisor/supervisor.js';
import type { Tensor } from '../runtime/transport/tensor.js';
import type { Component, Modality, ModelGraph } from '../spec/types.generated.js';

/** One invocation of the component as the dispatcher would make it, with its producers' tensors at hand. */
export interface ServedInvocation {
  requestType: string;
  payload: RequestPayload;
  emits: Modality[];
  consumers: string[];
  /** Per producer, the tensors it sends: the one tensor of a plain edge, or a streaming edge's chunks in order. */
  inputs: Record<string, Tensor[]>;
}

/** What one invocation produced: tensors sent per consumer and answer parts emitted. */
export interface InvocationOutput {
  sent: Map<string, Tensor[]>;
  emitted: OutputPart[];
}

function invocationContext(component: string, spec: ServedInvocation, requestId: string, out: InvocationOutput): InvocationContext {
  const inputsOf = (from: string): Tensor[] => {
    const tensors = spec.inputs[from];
    if (!tensors) throw new Error(`component '${component}' asked for input from '${from}', which this measurement does not feed`);
    return tensors;
  };
  return {
    requestId,
    component,
    requestType: spec.requestType,
    payload: spec.payload,
    emits: spec.emits,
    consumers: spec.consumers,
    producers: Object.keys(spec.inputs),
    input: (from) => Promise.resolve(inputsOf(from)[0]),
    stream: async function* (from) {
      yield* inputsOf(from);
    },
    send: (to, tensor) => void (out.sent.get(to) ?? out.sent.set(to, []).get(to)!).push(tensor),
    end: () => {},
    emit: (part) => void out.emitted.push(part),
    signal: new AbortController().signal,
  };
}

export interface ServedRunnerOptions {
  component: Component;
  graph: ModelGraph;
  graphDir: string;
  executionProvider: ExecutionProviderName;
  threads: number;
  /** The plan's operating batch for the component, in its work units. */
  planBatch: number;
  logger: ExecutorLogger;
}

/** A component's serving runner, started as an executor would start it, and the rows of each run it made. */
export interface ServedRunner {
  runner: ComponentRunner;
  /** Rows of every batch the runner reported (cornserve_batch_size in serving). */
  batchRows: number[];
  close(): Promise<void>;
}

export async function startServedRunner(o: ServedRunnerOptions): Promise<ServedRunner> {
  const component = withAbsolutePaths(o.component, o.graphDir);
  const engine = component.executor?.engine;
  if (!engine) throw new Error(`component '${component.name}' has no executor spec`);
  const batchRows: number[] = [];
  // The engine block the planner would write for a one-component unit at this batch, on this device.
  const device = { gpu: { device: o.executionProvider === 'cuda' ? ('gpu' as const) : ('cpu' as const) } };
  const block = engineBlock(
    { components: [component.name], tp: 1, batch: { [component.name]: Math.max(1, Math.ceil(o.planBatch)) }, kvTokens: {} },
    device,
    new Map([[component.name, component]]),
  );
  // A vocoder's batch limit is in audio seconds, so one stream's chunk is a fraction of one.
  const settings = { ...block.components[component.name], maxBatch: o.planBatch };
  const runner = await ENGINE_RUNNERS[engine]({
    component,
    model: { name: o.graph.name, components: o.graph.components, edges: o.graph.edges, requestTypes: o.graph.requestTypes },
    engine: block,
    settings,
    device: { executionProvider: o.executionProvider, threads: o.threads },
    reportBatch: (rows) => batchRows.push(rows),
    log: (event, fields) => {
      if (event === 'executor.warning') o.logger.warn(String(fields?.message ?? event));
    },
  });
  return { runner, batchRows, close: async () => void (await runner.close?.()) };
}

/** Runs `batch` invocations at once and returns what each produced. */
export async function runConcurrently(
  component: string,
  runner: ComponentRunner,
  batch: number,
  invocation: (index: number) => ServedInvocation,
): Promise<InvocationOutput[]> {
  const outputs = Array.from({ length: batch }, (): InvocationOutput => ({ sent: new Map(), emitted: [] }));
  await Promise.all(outputs.map((out, i) => runner.run(invocationContext(component, invocation(i), `profile-${i}`, out))));
  return outputs;
}

/** Median and p90 of `repeats` rounds of `batch` concurrent invocations, after one warm-up round. */
export function timeServedBatch(
  component: string,
  runner: ComponentRunner,
  batch: number,
  invocation: (index: number) => ServedInvocation,
  repeats: number,
): Promise<Timing> {
  return timeCalls(() => runConcurrently(component, runner, batch, invocation), repeats);
}
