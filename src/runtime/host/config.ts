// What the supervisor tells an executor process at start (as JSON in CORNSERVE_HOST): which
// replica it is, the components it hosts, the runner module that implements them, and where
// its tensor endpoint listens.
import type { Component, ResolvedModel } from '../../spec/types.generated.js';
import type { ListenSpec } from '../transport/endpoint.js';

export interface HostConfig {
  unit: string;
  replica: number;
  /** The unit's components from the plan's model, executor graph paths made absolute. */
  components: Component[];
  /** The plan's model (request types, neighbouring components), for engines' defaults. */
  model?: ResolvedModel;
  /** The plan's batch size per component of this unit. */
  batch?: Record<string, number>;
  /** Path or file: URL of a module exporting `createRunners` (a RunnerFactory). */
  runners: string;
  listen: ListenSpec;
  /** Shared secret of this serve run's tensor endpoints. */
  token: string;
  device: { kind: 'cpu' | 'gpu'; threads: number; gpus: number[] };
}

export const HOST_CONFIG_ENV = 'CORNSERVE_HOST';
