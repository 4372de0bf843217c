// A deployment the planner cannot serve, explained in one paragraph that names the binding
// resource and what to change. The CLI prints the message and exits 1.
export type PlanningErrorKind =
  | 'component-fits-nowhere'
  | 'type-unservable'
  | 'target-above-capacity'
  | 'no-capacity'
  | 'bad-objective'
  | 'unknown-gpu-type'
  | 'trace-workload'
  | 'solver';

export class PlanningError extends Error {
  constructor(
    readonly kind: PlanningErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PlanningError';
  }
}
