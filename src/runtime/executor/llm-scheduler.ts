// Continuous batching policy for the LLM (vLLM-style, simplified): every step, admit waiting
// sequences while there is room, prefill them together, and decode one token for every running
// sequence that already has one to feed. Finished sequences leave at once, freeing their slot
// and KV tokens for the next step. Pure bookkeeping: plan() returns the step as a value to print
// or test. Admission follows the simulator's rule (src/sim): a sequence reserves the KV tokens
// it can reach (prompt + most new tokens) when admitted, and waits while the cache cannot hold
// them, unless the cache is empty (a sequence larger than the whole cache still runs, alone).
// A decode-only executor (prefill/decode disaggregation) admits sequences that arrive prefilled,
// with their KV cache and first token: the same admission rule, and they decode at once.

export interface LlmSchedulerConfig {
  /** Most sequences in flight (prefilling or decoding) at once. */
  maxRunningSequences: number;
  /** Prompt tokens admitted per step (the plan's prefillChunkTokens); the first waiting sequence is admitted regardless. */
  maxPrefillTokensPerStep: number;
  /** KV-cache tokens the running sequences may reserve together (the plan's kvCapacityTokens; Infinity: unbounded). */
  kvCapacityTokens: number;
  /** Prompt plus generated tokens a sequence may reach (the model's position table). */
  maxContextTokens: number;
}

export type FinishReason = 'eos' | 'length' | 'context' | 'cancelled';

export interface StepPlan {
  /** Sequences whose prompt runs this step; each yields its first token. */
  prefill: number[];
  /** Sequences feeding their last generated token this step (a prefilled one admitted now among them). */
  decode: number[];
}

interface SequenceState {
  id: number;
  promptTokens: number;
  maxNewTokens: number;
  generated: number;
  /** KV tokens reserved while running: the most the sequence can hold. */
  kvTokens: number;
  /** Arrived with its prompt's KV cache and first token: it skips prefill. */
  prefilled: boolean;
}

export class ContinuousBatchScheduler {
  private readonly waiting: SequenceState[] = [];
  private readonly running = new Map<number, SequenceState>();
  private readonly eosTokens: ReadonlySet<number>;
  private reserved = 0;

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

  /** KV tokens the running sequences hold reserved. */
  get kvReservedTokens(): number {
    return this.reserved;
  }

  enqueue(id: number, promptTokens: number, maxNewTokens: number): void {
    this.push(id, promptTokens, maxNewTokens, 0);
  }

  /**
   * Queues a sequence whose prompt was prefilled elsewhere and that already generated `generated`
   * tokens (the first, from the prefill unit): once admitted it decodes, with no prefill step.
   */
  enqueuePrefilled(id: number, promptTokens: number, maxNewTokens: number, generated: number): void {
    if (generated < 1 || generated >= maxNewTokens)
      throw new Error(
        `sequence ${id}: a prefilled sequence has generated 1 to maxNewTokens − 1 tokens, not ${generated} of ${maxNewTokens}`,
      );
    this.push(id, promptTokens, maxNewTokens, generated);
  }

  private push(id: number, promptTokens: number, maxNewTokens: number, generated: number): void {
    if (promptTokens < 1) throw new Error(`sequence ${id}: empty prompt`);
    if (promptTokens >= this.config.maxContextTokens) {
      throw new Error(`sequence ${id}: prompt of ${promptTokens} tokens does not fit a context of ${this.config.maxContextTokens}`);
    }
    if (maxNewTokens < 1) throw new Error(`sequence ${id}: maxNewTokens must be at least 1`);
    const kvTokens = Math.min(promptTokens + maxNewTokens, this.config.maxContextTokens);
    this.waiting.push({ id, promptTokens, maxNewTokens, generated, kvTokens, prefilled: generated > 0 });
  }

  plan(): StepPlan {
    const decode = [...this.running.values()].filter((s) => s.generated > 0).map((s) => s.id);
    const prefill: number[] = [];
    let budget = this.config.maxPrefillTokensPerStep;
    while (this.waiting.length > 0 && this.running.size < this.config.maxRunningSequences) {
      const next = this.waiting[0];
      if (!next.prefilled && prefill.length > 0 && next.promptTokens > budget) break;
      if (this.reserved + next.kvTokens > this.config.kvCapacityTokens && this.reserved > 0) break;
      this.waiting.shift();
      this.running.set(next.id, next);
      this.reserved += next.kvTokens;
      if (next.prefilled) {
        decode.push(next.id);
        continue;
      }
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
    if (reason !== undefined) this.release(s);
    return reason;
  }

  /** Drops a sequence wherever it is; true if it was known. */
  cancel(id: number): boolean {
    const i = this.waiting.findIndex((s) => s.id === id);
    if (i >= 0) this.waiting.splice(i, 1);
    const s = this.running.get(id);
    if (s !== undefined) this.release(s);
    return s !== undefined || i >= 0;
  }

  private release(s: SequenceState): void {
    this.running.delete(s.id);
    this.reserved -= s.kvTokens;
  }
}
