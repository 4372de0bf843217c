// GET /status for the dashboard: requests in flight, each unit's replicas, how many are live
// and their queued invocations, plus the last 50 failed requests.
import type { ReplicaTable } from '../dispatcher/replicas.js';

export interface RecentError {
  time: string;
  requestType: string;
  status: number;
  message: string;
}

export class RecentErrors {
  private readonly items: RecentError[] = [];

  constructor(private readonly capacity = 50) {}

  add(e: RecentError): void {
    this.items.push(e);
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** Newest first. */
  list(): RecentError[] {
    return [...this.items].reverse();
  }
}

export interface StatusBody {
  /** Requests accepted and not yet answered. */
  inFlight: number;
  units: { id: string; replicas: number; live: number; queueDepth: number }[];
  recentErrors: RecentError[];
}

export function statusBody(replicas: ReplicaTable, errors: RecentErrors, inFlight: number): StatusBody {
  return {
    inFlight,
    units: replicas.unitIds().map((id) => {
      const rs = replicas.of(id);
      return { id, replicas: rs.length, live: rs.filter((r) => r.live).length, queueDepth: rs.reduce((n, r) => n + r.queueDepth, 0) };
    }),
    recentErrors: errors.list(),
  };
}
