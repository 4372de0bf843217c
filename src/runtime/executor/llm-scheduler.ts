// Continuous batching policy for the LLM (vLLM-style, simplified): every step, admit waiting
// sequences while there is room, prefill them together, and decode one token for every running
// sequence that already has one to feed. Finished sequences leave at once, freeing their slot
// for the next step. Pure bookkeeping: plan() returns the step as a value to print or test.

export interface LlmSchedulerConfig {
  /** Most sequences in flight (prefilling or decoding) at once. */
  maxRunningSequences: number;
  /** Prompt tokens admitted per step; the first waiting sequence is admitted regardless. */
  maxPrefillTokensPerStep: number;
  /** Prompt plus generated tokens a sequence may reach (the model's position table). */
  maxContextTokens: number;
}

export type FinishReason = 'eos' | 'length' | 'context' | 'cancelled';

export interface StepPlan {
  /** Sequences whose prompt runs this step; each yields its first token. */
  prefill: number[];
  /** Sequences feeding their last generated token this step. */
  decode: number[];
}

interface SequenceState {
  id: number;
  promptTokens: number;
  maxNewTokens: number;
  generated: number;
}

export class ContinuousBatchScheduler {
  private readonly waiting: SequenceState[] = [];
  private readonly running = new Map<number, SequenceState>();
  private readonly eosTokens: ReadonlySet<number>;

  constructor(
    readonly config: LlmSchedulerConfig,
    eosToken: number | readonly number[],
  ) {
    this.eosTokens = new Set(typeof eosToken === 'number' ? [eosToken] : eosToken);
  }

  get idle(): boolean {
    return this.waiting.length === 0 && this.running.size === 0;
  }

  get runningCount(): number {
    return this.running.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  enqueue(id: number, promptTokens: number, maxNewTokens: number): void {
    if (promptTokens < 1) throw new Error(`sequence ${id}: empty prompt`);
    if (promptTokens >= this.config.maxContextTokens) {
      throw new Error(`sequence ${id}: prompt of ${promptTokens} tokens does not fit a context of ${this.config.maxContextTokens}`);
    }
    if (maxNewTokens < 1) throw new Error(`sequence ${id}: maxNewTokens must be at least 1`);
    this.waiting.push({ id, promptTokens, maxNewTokens, generated: 0 });
  }

  plan(): StepPlan {
    const decode = [...this.running.values()].filter((s) => s.generated > 0).map((s) => s.id);
    const prefill: number[] = [];
    let budget = this.config.maxPrefillTokensPerStep;
    while (this.waiting.length > 0 && this.running.size < this.config.maxRunningSequences) {
      const next = this.waiting[0];
      if (prefill.length > 0 && next.promptTokens > budget) break;
      this.waiting.shift();
      this.running.set(next.id, next);
      prefill.push(next.id);
      budget -= next.promptTokens;
    }
    return { prefill, decode };
  }

  /** Records a sequence's new token; returns why it finished, or undefined if it goes on. */
  record(id: number, token: number): FinishReason | undefined {
    const s = this.running.get(id);
    if (s === undefined) throw new Error(`sequence ${id} is not running`);
    s.generated++;
    let reason: FinishReason | undefined;
    if (this.eosTokens.has(token)) reason = 'eos';
    else if (s.generated >= s.maxNewTokens) reason = 'length';
    // Decoding token g feeds it at position prompt + g − 1, which must stay inside the table.
    else if (s.promptTokens + s.generated >= this.config.maxContextTokens) reason = 'context';
    if (reason !== undefined) this.running.delete(id);
    return reason;
  }

  /** Drops a sequence wherever it is; true if it was known. */
  cancel(id: number): boolean {
    const i = this.waiting.findIndex((s) => s.id === id);
    if (i >= 0) this.waiting.splice(i, 1);
    return this.running.delete(id) || i >= 0;
  }
}
