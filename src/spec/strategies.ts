// The deployment strategies a plan scores: `planned` (the free search) and the fixed baselines.
// The schema's `solution.strategy` enum is the source; this list is checked against it at compile
// time, so a strategy added there fails the build until it is listed here too.
import type { Solution } from './types.generated.js';

export type Strategy = Solution['strategy'];
export type BaselineStrategy = Exclude<Strategy, 'planned'>;

/**
 * Every strategy, in the order plans, reports and tables list them. encoder-disaggregated: each
 * encoder alone, the LLM unsplit (what this project called EPD before issue 16); pd: the LLM's
 * prefill and decode on separate units, encoders with the prefill; epd: encoders, prefill and
 * decode all separate (the EPD of vLLM, SGLang and Dynamo).
 */
export const STRATEGIES = [
  'planned',
  'monolithic',
  'encoder-disaggregated',
  'pd',
  'epd',
  'disaggregated',
] as const satisfies readonly Strategy[];
export const BASELINE_STRATEGIES: readonly BaselineStrategy[] = STRATEGIES.filter((s): s is BaselineStrategy => s !== 'planned');

// Compiles only while STRATEGIES names every strategy of the schema.
const _everyStrategyListed: Exclude<Strategy, (typeof STRATEGIES)[number]> extends never ? true : never = true;
