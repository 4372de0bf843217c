// The routing policy of a plan's engine blocks (`weighted-round-robin`), as pure functions the
// dispatcher and the simulator both call, so that simulated and served requests take the same
// paths. Three rules, applied per invocation of a request:
// 1. Colocation: an invocation whose producer ran on a unit that also serves it stays on the
//    producer's replica (its input never leaves the process). It is charged to that unit's
//    credit as if rule 2 had picked it (chargeFollowed), so the shares count every invocation.
// 2. Between units: smooth weighted round-robin over the routing shares (nginx's: every share
//    adds to its unit's credit, the largest credit wins and pays back the total), so over any
//    window the split, followed invocations included, follows the shares (the planner's MILP
//    never routes a unit less of a consumer than it follows there); the pick spills to the
//    calmest unit when its least-loaded replica is `spillDepth` invocations deeper than that unit's.
// 3. Inside a unit: the least-loaded replica, ties going round-robin.
// The caller owns the state (credits, cursors) and decides which units are eligible; nothing
// here keeps hidden state or reads a clock. Credits may start at a seeded phase (initialCredits)
// so that independent simulations do not all route their first requests alike.
import { Rng } from '../workload/random.js';

/** Anything indexable by position: plain arrays and typed arrays. */
interface Indexed {
  readonly length: number;
  readonly [i: number]: number;
}

/** Writable credits: plain arrays and Float64Array. */
interface Credits {
  [i: number]: number;
}

/**
 * Starting credits of one (request type, component) decision over units with these shares:
 * zero without a seed, else a seeded phase in [0, share) per unit (the split is unchanged; only
 * which unit goes first differs).
 */
export function initialCredits(shares: Indexed, seed?: { seed: number; stream: string }): Float64Array {
  const credits = new Float64Array(shares.length);
  if (seed === undefined) return credits;
  const rng = new Rng(seed.seed, `routing/${seed.stream}`);
  for (let i = 0; i < shares.length; i++) credits[i] = rng.next() * shares[i];
  return credits;
}

/**
 * Rule 2: the unit (an index into the first `count` entries) an invocation goes to, and the
 * credits updated for it. `depths[i]`: invocations held by unit i's least-loaded replica;
 * `spillDepths[i]`: unit i's engine.routing.spillDepth.
 */
export function pickUnit(shares: Indexed, credits: Credits, depths: Indexed, spillDepths: Indexed, count = shares.length): number {
  let total = 0;
  for (let i = 0; i < count; i++) {
    credits[i] += shares[i];
    total += shares[i];
  }
  let pick = 0;
  let calmest = 0;
  for (let i = 1; i < count; i++) {
    if (credits[i] > credits[pick]) pick = i;
    if (depths[i] < depths[calmest]) calmest = i;
  }
  if (depths[pick] - depths[calmest] >= spillDepths[pick]) pick = calmest;
  credits[pick] -= total;
  return pick;
}

/**
 * Rule 1's bookkeeping: an invocation that followed its producer onto unit `followed` (an index
 * into the first `count` entries) pays for it as a rule-2 pick would, so the round-robin sends the
 * other invocations where the shares still lack them instead of adding a full share on top.
 */
export function chargeFollowed(shares: Indexed, credits: Credits, followed: number, count = shares.length): void {
  let total = 0;
  for (let i = 0; i < count; i++) {
    credits[i] += shares[i];
    total += shares[i];
  }
  credits[followed] -= total;
}

/**
 * Rule 3: the replica with the smallest load among `loads[first … first+count−1]`, as an offset
 * from `first`; ties go to the first at or after offset `cursor`. −1 when every load is Infinity
 * (no replica can take it). The caller moves its cursor past the pick.
 */
export function pickReplica(loads: Indexed, cursor: number, first = 0, count = loads.length - first): number {
  let best = -1;
  let bestLoad = Infinity;
  for (let k = 0; k < count; k++) {
    const r = (cursor + k) % count;
    const l = loads[first + r];
    if (l < bestLoad) {
      bestLoad = l;
      best = r;
    }
  }
  return best;
}

/** The smallest of `loads[first … first+count−1]` (a unit's depth for rule 2). */
export function leastLoad(loads: Indexed, first = 0, count = loads.length - first): number {
  let least = Infinity;
  for (let k = first; k < first + count; k++) if (loads[k] < least) least = loads[k];
  return least;
}

/**
 * Rule 1: which producer an invocation follows: the index of the first of `producerUnits` (the
 * units its producers ran on, in input order; the first `count`) that `units` (those its routing
 * shares name) contains, or −1 when none does.
 */
export function followedProducer<T>(
  producerUnits: ArrayLike<T>,
  units: { indexOf(unit: T): number },
  count = producerUnits.length,
): number {
  for (let i = 0; i < count; i++) if (units.indexOf(producerUnits[i]) >= 0) return i;
  return -1;
}
