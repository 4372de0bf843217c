// The narrow interface an executor engine implements to be hosted: one ComponentRunner per
// component of the unit. The host calls `run` once per invocation, concurrently for concurrent
// requests (a runner that batches does so across those calls), and wires its inputs, outputs
// and answer parts to the transport, the in-process handoff and the control channel.
import type { Modality } from '../../spec/types.generated.js';
import type { HostConfig } from './config.js';
import type { Tensor } from '../transport/tensor.js';
import type { InvocationPhase, OutputPart, RequestPayload } from '../protocol.js';

export interface InvocationContext {
  requestId: string;
  component: string;
  /** The request type being served (its default sizes fill in what the request leaves out). */
  requestType: string;
  /** For an LLM split into prefill and decode units: the phase this invocation runs (the unit's engine.role). */
  phase?: InvocationPhase;
  /** The parts of the request this component reads (see dispatcher/graph.ts `reads`). */
  payload: RequestPayload;
  /** Final modalities this invocation answers the client with (emit them). */
  emits: readonly Modality[];
  /** Components this one feeds in this request, and the ones that feed it. */
  consumers: readonly string[];
  producers: readonly string[];
  /**
   * The tensor on a non-streaming edge from `from`. Input tensors are valid until `run`
   * settles: their buffers are recycled afterwards, so copy what must outlive the call.
   */
  input(from: string): Promise<Tensor>;
  /** Chunks of a streaming edge from `from`, ending when the producer ends the stream. */
  stream(from: string): AsyncIterable<Tensor>;
  /** Sends to a consumer: the tensor of a non-streaming edge, or one chunk of a streaming one. */
  send(to: string, tensor: Tensor, opts?: { last?: boolean }): void;
  /** Ends a streaming edge (not needed after a chunk sent with last: true). */
  end(to: string): void;
  /** A part of the client's answer: text delta, image, audio chunk, finish. */
  emit(part: OutputPart): void;
  /** Aborted when the request is cancelled; a runner should stop and reject. */
  signal: AbortSignal;
}

export interface ComponentRunner {
  run(ctx: InvocationContext): Promise<void>;
  /**
   * For a runner that reads the prompt: the most UTF-8 bytes of message text that could fit its
   * context. The gateway refuses longer prompts before any executor work, so set it only where
   * every longer prompt is certainly too long (a byte-level tokenizer: the context in tokens).
   */
  maxPromptBytes?: number;
  close?(): Promise<void>;
}

/** What a runner module is given: the replica's identity, components, model and engine settings. */
export interface RunnerFactoryContext extends Pick<HostConfig, 'unit' | 'replica' | 'components' | 'model' | 'engine' | 'devices'> {
  /** Report the size of a batch a runner ran (feeds cornserve_batch_size). */
  reportBatch(component: string, size: number): void;
  log(event: string, fields?: Record<string, unknown>): void;
}

/** What a runner module exports (as `createRunners`): one runner per component of the unit. */
export type RunnerFactory = (ctx: RunnerFactoryContext) => Promise<Record<string, ComponentRunner>>;

/**
 * Thrown by a runner when the request itself cannot be served (an undecodable image, a prompt
 * longer than the model's context): the client gets a 400 with this message, not a 500.
 */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** Each runner's maxPromptBytes, for the ready message (components without one are left out). */
export function promptLimits(runners: Record<string, ComponentRunner>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(runners).flatMap(([name, r]) => (r.maxPromptBytes !== undefined ? [[name, r.maxPromptBytes]] : [])),
  );
}
