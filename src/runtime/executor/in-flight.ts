// The sequences in flight in a continuous-batching executor (the LLM's, the encoder-decoder's):
// the step loop that runs until the scheduler is idle and fails them all when a model call
// throws, and finishing one sequence.
import type { GenerationResult } from './llm-executor.js';
import type { FinishReason } from './llm-scheduler.js';

export interface InFlightSequence {
  id: number;
  tokens: number[];
  /** The stream of its tokens, where the executor keeps one. */
  channel?: { close(): void; fail(err: unknown): void };
  resolve: (r: GenerationResult) => void;
  reject: (err: unknown) => void;
}

interface Scheduler {
  readonly idle: boolean;
  cancel(id: number): void;
}

/**
 * Runs `step` until the scheduler is idle; a step that throws fails every sequence in flight.
 * `done` runs last, whatever happened (before this returns, when the scheduler is idle at once).
 */
export async function stepUntilIdle<S extends InFlightSequence>(
  scheduler: Scheduler,
  sequences: Map<number, S>,
  step: () => Promise<unknown>,
  done: () => void,
): Promise<void> {
  try {
    while (!scheduler.idle) {
      await step();
      // Let submissions made while the step ran join the next one.
      await new Promise((r) => setImmediate(r));
    }
  } catch (err) {
    // A failed model call leaves the caches inconsistent: every sequence in flight fails.
    for (const seq of sequences.values()) {
      scheduler.cancel(seq.id);
      seq.channel?.fail(err);
      seq.reject(err);
    }
    sequences.clear();
  } finally {
    done();
  }
}

/** Ends sequence `id` (if still in flight) with `reason`, closing its stream and resolving its result. */
export function finishSequence<S extends InFlightSequence>(
  scheduler: Scheduler,
  sequences: Map<number, S>,
  id: number,
  reason: FinishReason,
  promptTokens: (seq: S) => number,
): void {
  const seq = sequences.get(id);
  if (seq === undefined) return;
  sequences.delete(id);
  scheduler.cancel(id);
  seq.channel?.close();
  seq.resolve({ sequenceId: id, promptTokens: promptTokens(seq), tokens: seq.tokens, finishReason: reason });
}
