// The live workload: the requests served in the last `windowS` seconds, kept as trace lines
// (type, sizes, arrival) and summarised the way a trace is (`summariseTrace`: mix, sizes, arrival
// process), with the rate taken over the window rather than between its first and last arrival,
// so a lull after a burst lowers it. Drift detection and `plan --from-server` read it.
import { summariseTrace, type TraceSummary } from '../../workload/summarise.js';
import type { TraceRequest } from '../../spec/types.generated.js';

/** Default length of the live window, seconds: long enough for a stable mix at a few requests a second. */
export const DEFAULT_LIVE_WINDOW_S = 60;
/** Most requests the window holds; beyond it the oldest go first (bounds memory at any rate). */
export const DEFAULT_LIVE_WINDOW_MAX_REQUESTS = 20_000;

export interface LiveSummary extends TraceSummary {
  /** Seconds the window covers now: its length, or less while the server is younger than that. */
  windowS: number;
}

export class LiveWindow {
  private readonly items: TraceRequest[] = [];
  private head = 0;

  /**
   * @param windowS window length, seconds
   * @param startS the clock's reading (seconds, the same clock as the arrivals) when watching began
   */
  constructor(
    readonly windowS: number,
    private readonly startS: number,
    private readonly maxRequests = DEFAULT_LIVE_WINDOW_MAX_REQUESTS,
  ) {
    if (!(windowS > 0)) throw new RangeError(`the live window must be longer than 0 s, got ${windowS}`);
  }

  /** One served request, `arrivalS` on the window's clock. Requests finish out of arrival order; that is fine. */
  add(r: TraceRequest): void {
    this.items.push(r);
    if (this.items.length - this.head > this.maxRequests) this.head++;
    this.compact();
  }

  /** The requests that arrived in (nowS − windowS, nowS], in arrival order. */
  requests(nowS: number): TraceRequest[] {
    const from = nowS - this.windowS;
    return this.items
      .slice(this.head)
      .filter((r) => r.arrivalS > from && r.arrivalS <= nowS)
      .sort((a, b) => a.arrivalS - b.arrivalS);
  }

  /** The window summarised, or undefined when it holds no request. */
  summary(nowS: number): LiveSummary | undefined {
    this.prune(nowS);
    const requests = this.requests(nowS);
    if (requests.length === 0) return undefined;
    const windowS = Math.min(this.windowS, Math.max(1e-3, nowS - this.startS));
    const summary = summariseTrace(requests);
    const ratePerS = requests.length / windowS;
    const perTypeRatePerS = Object.fromEntries(Object.entries(summary.mix).map(([t, f]) => [t, f * ratePerS]));
    return { ...summary, ratePerS, perTypeRatePerS, windowS };
  }

  private prune(nowS: number): void {
    // Late finishers can sit behind earlier arrivals: drop from the front only what is surely out.
    while (this.head < this.items.length && this.items[this.head].arrivalS <= nowS - this.windowS) this.head++;
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}
