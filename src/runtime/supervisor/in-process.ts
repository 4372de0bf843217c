// Every replica of a plan hosted inside this process: the same dispatcher, replica table,
// executor hosts and tensor endpoints as `serve`, minus the child processes. For tests of the
// dispatcher and gateway, and for measuring their overhead without IPC in the way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../spec/types.generated.js';
import { Dispatcher, type DispatchObserver } from '../dispatcher/dispatcher.js';
import { ReplicaTable } from '../dispatcher/replicas.js';
import { startInProcessReplica, type InProcessReplica } from '../host/in-process.js';
import { promptLimits, type ComponentRunner } from '../host/runner.js';

export interface InProcessCluster {
  replicas: ReplicaTable;
  dispatcher: Dispatcher;
  /** Hosted replicas by key (`unit#index`). */
  hosts: Map<string, InProcessReplica>;
  /** Takes one replica down as a crash would: the dispatcher fails what it was serving. */
  crash(key: string): Promise<void>;
  close(): Promise<void>;
}

export async function startInProcessCluster(
  plan: Plan,
  runnersFor: (unit: string, replica: number, reportBatch: (component: string, size: number) => void) => Record<string, ComponentRunner>,
  options: { queueBound?: number; requestTimeoutMs?: number; observer?: DispatchObserver } = {},
): Promise<InProcessCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-'));
  const { units, routing } = plan.solution;
  const replicas = new ReplicaTable(units);
  const dispatcher = new Dispatcher({ model: plan.model, routes: routing, units, replicas, ...options });
  const hosts = new Map<string, InProcessReplica>();
  for (const r of replicas.all()) {
    const reportBatch = (component: string, size: number): void => dispatcher.onHostMessage(r.key, { type: 'batch', component, size });
    const runners = runnersFor(r.unit, r.index, reportBatch);
    const hosted = await startInProcessReplica({
      runners,
      listen: { kind: 'unix', path: join(dir, `${hosts.size}.sock`) },
      onMessage: (msg) => dispatcher.onHostMessage(r.key, msg),
    });
    hosts.set(r.key, hosted);
    replicas.markLive(r.key, hosted.address, hosted.link, promptLimits(runners));
  }
  return {
    replicas,
    dispatcher,
    hosts,
    async crash(key) {
      replicas.markDown(key);
      await hosts.get(key)?.close();
      dispatcher.replicaLost(key, 'crashed');
    },
    async close() {
      await Promise.all([...hosts.values()].map((h) => h.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
