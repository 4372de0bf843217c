// What the planner's stages pass each other: the options a caller plans with, the progress it
// hears, and one strategy's outcome (its solve, decoded solution and simulate-and-tighten loop).
import type { LoopIteration, Solution } from '../spec/types.generated.js';
import type { Strategy } from '../graph/groups.js';
import type { PrepareOptions } from './prepare.js';
import type { MilpLayout } from './milp.js';
import type { GlpkSolver, SolveOutcome } from './glpk-solver.js';
import type { DecodedSolution, SolutionParts } from './decode.js';

export interface PlanProgress {
  phase: 'prepared' | 'solving' | 'progress' | 'solved' | 'simulated';
  strategy?: Strategy;
  /** GLPK's progress line while solving; the outcome status when solved. */
  line?: string;
  seconds?: number;
  candidates?: number;
  /** simulated: the loop iteration (1-based), the rate simulated, the requests per seed, and the types that missed their target. */
  iteration?: number;
  ratePerS?: number;
  requests?: number;
  missed?: string[];
}

export interface PlanOptions extends PrepareOptions {
  /** Directory the plan file will be written to: provenance and ONNX paths are made relative to it (default: the deployment's). */
  planDir?: string;
  /** Solve the baselines too (default true). */
  baselines?: boolean;
  onProgress?: (event: PlanProgress) => void;
  /** A solver to reuse (it is not closed); by default one is started and closed. */
  solver?: GlpkSolver;
  /**
   * Simulate each strategy's solution on the workload and tighten ρmax where a type misses its
   * target (default true). Off: the MILP's choice as is, with no simulated metrics.
   */
  simulate?: boolean;
  /** Most simulations per strategy in the loop (default MAX_LOOP_ITERATIONS). */
  maxLoopIterations?: number;
  /** Fewest requests per loop simulation (default LOOP_MIN_REQUESTS); the horizon rule may ask for more. */
  minLoopRequests?: number;
  /** Solutions on more devices than this are simulated in the loop on a slice of about this many (default SLICE_DEVICES, planner/slice.ts). */
  sliceDevices?: number;
}

export interface StrategyRun {
  strategy: Strategy;
  solution: Solution;
  layout?: MilpLayout;
  outcome?: SolveOutcome;
  decoded?: DecodedSolution;
  parts?: SolutionParts;
  /** The simulate-and-tighten loop's steps for this strategy (empty without simulation). */
  iterations?: LoopIteration[];
  /** 1-based index of the iteration kept. */
  kept?: number;
  /** The ρmax overrides (candidate id → ρmax) the kept iteration was solved with. */
  overrides?: ReadonlyMap<string, number>;
  /** Wall seconds of its simulate-and-tighten loop (solves and simulations; for a loop run beside others, while they ran too). */
  loopSeconds?: number;
  /** Set when this run is a baseline's units adopted as the plan: the baseline, and the free search's own run it replaced. */
  adopted?: { strategy: Exclude<Strategy, 'planned'>; freeSearch: StrategyRun };
}
