// Prometheus metrics of one serving process, in their own registry (no global state). Names
// and labels are a contract with the dashboard: keep them exactly. Queue depth, live replicas
// and busy ratio are read from the replica table at scrape time; the rest are counted as
// things happen.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DispatchObserver } from '../dispatcher/dispatcher.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'type' | 'status'>;
  readonly duration: Histogram<'type'>;
  readonly batchSize: Histogram<'unit' | 'component'>;
  readonly forwardedBytes: Counter<'edge'>;
  readonly restarts: Counter<'unit'>;
  readonly kvTransferBytes: Counter<'component'>;
  readonly kvTransfers: Counter<'component'>;

  constructor(replicas: ReplicaTable, options: { now?: () => number; processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const now = options.now ?? Date.now;
    this.requests = new Counter({
      name: 'cornserve_requests_total',
      help: 'Chat completion requests by request type and HTTP status.',
      labelNames: ['type', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'cornserve_request_duration_seconds',
      help: 'End-to-end latency of chat completion requests by request type.',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'cornserve_batch_size',
      help: 'Sizes of the batches executors ran, by unit and component.',
      labelNames: ['unit', 'component'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.forwardedBytes = new Counter({
      name: 'cornserve_tensor_bytes_forwarded_total',
      help: 'Tensor bytes sent between executor processes, by edge.',
      labelNames: ['edge'],
      registers,
    });
    this.kvTransferBytes = new Counter({
      name: 'cornserve_kv_transfer_bytes_total',
      help: 'KV-cache bytes a split LLM shipped from its prefill to its decode executors, by component.',
      labelNames: ['component'],
      registers,
    });
    this.kvTransfers = new Counter({
      name: 'cornserve_kv_transfers_total',
      help: 'KV-cache handoffs from prefill to decode executors, by component.',
      labelNames: ['component'],
      registers,
    });
    this.restarts = new Counter({
      name: 'cornserve_executor_restarts_total',
      help: 'Executor processes restarted after a crash, by unit.',
      labelNames: ['unit'],
      registers,
    });
    new Gauge({
      name: 'cornserve_unit_queue_depth',
      help: 'Invocations sent to a replica and not yet finished.',
      labelNames: ['unit', 'replica'],
      registers,
      collect() {
        this.reset(); // a unit a live reconfiguration removed leaves no stale series
        for (const r of replicas.all()) this.set({ unit: r.unit, replica: String(r.index) }, r.queueDepth);
      },
    });
    new Gauge({
      name: 'cornserve_unit_live_replicas',
      help: 'Replicas of a unit that are up and ready.',
      labelNames: ['unit'],
      registers,
      collect() {
        this.reset();
        for (const u of replicas.unitIds()) this.set({ unit: u }, replicas.liveCount(u));
      },
    });
    new Gauge({
      name: 'cornserve_unit_busy_ratio',
      help: 'Fraction of the time since the previous scrape a replica held at least one invocation.',
      labelNames: ['unit', 'replica'],
      registers,
      collect() {
        const t = now();
        this.reset();
        for (const r of replicas.all()) this.set({ unit: r.unit, replica: String(r.index) }, replicas.busyRatio(r.key, t));
      },
    });
    for (const u of replicas.unitIds()) this.restarts.inc({ unit: u }, 0);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cornserve_gateway_' });
  }

  observer(): DispatchObserver {
    return {
      forwardedBytes: (edge, bytes) => this.forwardedBytes.inc({ edge }, bytes),
      kvTransfer: (component, bytes) => {
        this.kvTransferBytes.inc({ component }, bytes);
        this.kvTransfers.inc({ component });
      },
      batch: (unit, component, size) => this.batchSize.observe({ unit, component }, size),
    };
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
