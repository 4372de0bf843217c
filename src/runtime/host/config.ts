// What the supervisor tells an executor process at start (as JSON in CORNSERVE_HOST): which
// replica it is, the components it hosts, its unit's engine block, the runner module that
// implements them, and where its tensor endpoint listens.
import type { Component, EngineSettings, ResolvedModel } from '../../spec/types.generated.js';
import type { ListenSpec } from '../transport/endpoint.js';

export interface HostConfig {
  unit: string;
  replica: number;
  /** The unit's components from the plan's model, executor graph paths made absolute. */
  components: Component[];
  /** The plan's model (request types, neighbouring components), for engines' defaults. */
  model?: ResolvedModel;
  /** The unit's engine block, as the plan writes it: batching, KV capacity, prefill chunk, threads. */
  engine: EngineSettings;
  /** This replica's devices from the plan's placement: CUDA device indices (gpu) or CPU core slots (cpu). */
  devices: number[];
  /** Path or file: URL of a module exporting `createRunners` (a RunnerFactory). */
  runners: string;
  listen: ListenSpec;
  /** Shared secret of this serve run's tensor endpoints. */
  token: string;
}

export const HOST_CONFIG_ENV = 'CORNSERVE_HOST';
