// The control messages between the serving process (dispatcher, supervisor) and an executor
// process, sent over the child-process IPC channel. They are small: tensors between
// components never travel here, only the request's own inputs (prompt, media bytes) and the
// parts of its final answer.
import type { MediaLimits } from '../models/media-inspect.js';
import type { Modality, Route } from '../spec/types.generated.js';

/** One part of a message's content, in order; media refer to the payload's arrays by index. */
export type ContentRef = { type: 'text'; text: string } | { type: 'image'; index: number } | { type: 'audio'; index: number };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'developer' | 'tool';
  content: ContentRef[];
}

export interface MediaInput {
  /** The file's bytes: PNG or JPEG for images, WAV for audio. */
  bytes: Uint8Array;
  mime: string;
}

export interface GenerationParams {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Requested generated-image size and denoising steps. */
  image?: { width?: number; height?: number; steps?: number };
  /** Requested generated-audio voice and container. */
  audio?: { voice?: string; format?: 'wav' | 'pcm16' };
}

/** What of the request one invocation reads; the dispatcher sends each component only its part. */
export interface RequestPayload {
  messages?: ChatMessage[];
  images?: MediaInput[];
  audios?: MediaInput[];
  /** The limits the gateway checked the media's headers against; decoders hold them to it too. */
  mediaLimits?: MediaLimits;
  params: GenerationParams;
}

/** A piece of the request's final answer, emitted by the component that produces it. */
export type OutputPart =
  | { kind: 'text'; text: string }
  | { kind: 'image'; png: Uint8Array }
  | { kind: 'audio'; samples: Float32Array; sampleRateHz: number }
  | { kind: 'finish'; reason: 'stop' | 'length'; promptTokens?: number; completionTokens?: number };

export interface InputBinding {
  /** Producer component. */
  from: string;
  /** Edge name, `from->to`. */
  edge: string;
  streaming: boolean;
  /** The producer's replica, and its tensor endpoint unless it is this same replica. */
  producer: { replica: string; address: string | 'local' };
}

export interface OutputBinding {
  to: string;
  edge: string;
  streaming: boolean;
  /** Whether the consumer runs in this same replica (an in-process handoff, no copy). */
  local: boolean;
}

/** One phase of an LLM split into prefill and decode units (the plan's route.phase). */
export type InvocationPhase = NonNullable<Route['phase']>;

export interface InvocationSpec {
  component: string;
  /** Which phase of a split LLM this invocation runs; its unit's engine.role is the same. */
  phase?: InvocationPhase;
  /** The request type this invocation serves (engines read its default sizes). */
  requestType: string;
  inputs: InputBinding[];
  outputs: OutputBinding[];
  /** Final modalities this invocation emits to the client. */
  emits: Modality[];
}

/**
 * The clock of a request trace (`serve --trace-requests`), ms: CLOCK_MONOTONIC, the same in
 * every process of the machine, so the gateway's and the executors' readings line up.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** One traced invocation inside its executor, on the monotonicMs clock (executor/stage-timer.ts). */
export interface StageTiming {
  /** The invoke message reached the executor. */
  invokeMs: number;
  /** Its first input arrived from its producer (absent for a component fed by the request alone). */
  inputMs?: number;
  /** The first batch (or LLM step) it took part in started, and the last one ended. */
  firstBatchStartMs?: number;
  lastBatchEndMs?: number;
  /** Time inside those batches, ms, and how many there were. */
  batchMs: number;
  batches: number;
  /** The invocation finished and reported done. */
  doneMs: number;
}

export type ToHost =
  /** trace: time this invocation (StageTiming on its done message). */
  | { type: 'invoke'; requestId: string; invocation: InvocationSpec; payload: RequestPayload; trace?: true }
  /** The request failed or was abandoned: stop its invocations, drop its tensors. */
  | { type: 'cancel'; requestId: string; reason: string }
  /** The request finished: drop anything still held for it. */
  | { type: 'release'; requestId: string }
  /** Liveness probe: answered at once with a pong carrying the same seq (a frozen executor misses it). */
  | { type: 'ping'; seq: number }
  | { type: 'shutdown' };

export type FromHost =
  /** maxPromptBytes: per component that reads the prompt and knows its limit (ComponentRunner.maxPromptBytes). */
  | { type: 'ready'; address: string; components: string[]; pid: number; maxPromptBytes?: Record<string, number> }
  // phase: echoed from the invocation of a split LLM, which shares its component name with the other phase.
  | { type: 'output'; requestId: string; component: string; phase?: InvocationPhase; part: OutputPart }
  | {
      type: 'done';
      requestId: string;
      component: string;
      phase?: InvocationPhase;
      forwardedBytes: Record<string, number>;
      timing?: StageTiming;
    }
  /** cause `input`: the request itself is unusable (a corrupt image, a prompt longer than the context): a 400, not a 500. */
  | {
      type: 'failed';
      requestId: string;
      component: string;
      phase?: InvocationPhase;
      message: string;
      cause: 'component' | 'input' | 'peer-lost' | 'cancelled';
    }
  | { type: 'batch'; component: string; size: number }
  | { type: 'pong'; seq: number }
  /** The executor could not start (bad model file, missing runner): restarting will not help. */
  | { type: 'fatal'; message: string };

/** How the dispatcher reaches one replica's control channel (IPC, TCP or in-process). */
export interface ExecutorLink {
  send(msg: ToHost): void;
}

export const edgeName = (from: string, to: string): string => `${from}->${to}`;
