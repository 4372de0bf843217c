// The executor side of serving, independent of how it is reached: it runs invocations on its
// component runners, feeds them their inputs (from a colocated producer in this process, with
// no copy, or from a remote producer over the tensor transport), delivers their outputs the
// same two ways, and reports answer parts and completion through `send`. The process entry
// (main.ts) wires `send` and `handle` to the IPC channel; tests and benchmarks call them directly.
import type { TensorEndpoint } from '../transport/endpoint.js';
import type { BufferPool } from '../transport/buffer-pool.js';
import { Channel } from '../transport/channel.js';
import { CancelledError, PeerLostError } from '../transport/errors.js';
import { parseAddress } from '../transport/address.js';
import type { Chunk } from '../transport/endpoint.js';
import type { Tensor } from '../transport/tensor.js';
import { monotonicMs, type FromHost, type InvocationSpec, type RequestPayload, type StageTiming, type ToHost } from '../protocol.js';
import { StageTimer, stageTimers } from '../executor/stage-timer.js';
import { InvalidInputError, type ComponentRunner, type InvocationContext } from './runner.js';

export interface ExecutorHostOptions {
  runners: Record<string, ComponentRunner>;
  endpoint: TensorEndpoint;
  /** Where received tensor buffers go back once an invocation has finished with them. */
  pool?: BufferPool;
  send(msg: FromHost): void;
}

interface Running {
  requestId: string;
  component: string;
  abort: AbortController;
}

const localKey = (requestId: string, edge: string): string => `${requestId}\u0000${edge}`;

export class ExecutorHost {
  /** In-process handoffs between colocated components, by (request, edge). */
  private readonly local = new Map<string, Channel<Chunk>>();
  private readonly running = new Set<Running>();
  /** Requests cancelled here: an invoke that arrives after its cancel is refused at once. */
  private readonly cancelled = new Map<string, number>();

  constructor(private readonly options: ExecutorHostOptions) {}

  handle(msg: ToHost): void {
    switch (msg.type) {
      case 'invoke':
        void this.invoke(msg.requestId, msg.invocation, msg.payload, msg.trace ? new StageTimer(monotonicMs) : undefined);
        break;
      case 'cancel':
        this.cancel(msg.requestId, msg.reason);
        break;
      case 'release':
        this.release(msg.requestId);
        break;
      case 'ping':
        this.options.send({ type: 'pong', seq: msg.seq });
        break;
      case 'shutdown':
        break; // the process entry owns shutdown
    }
  }

  get activeInvocations(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    for (const r of this.running) r.abort.abort(new CancelledError('the executor is shutting down'));
    await Promise.all(Object.values(this.options.runners).map((r) => r.close?.()));
  }

  private async invoke(requestId: string, spec: InvocationSpec, payload: RequestPayload, timer?: StageTimer): Promise<void> {
    const { component } = spec;
    const phase = spec.phase ? { phase: spec.phase } : {};
    const runner = this.options.runners[component];
    const failed = (message: string, cause: Extract<FromHost, { type: 'failed' }>['cause']): void =>
      this.options.send({ type: 'failed', requestId, component, ...phase, message, cause });
    if (this.cancelled.has(requestId)) return failed('the request was cancelled', 'cancelled');
    if (!runner) return failed(`this executor does not host component '${component}'`, 'component');

    const entry: Running = { requestId, component, abort: new AbortController() };
    this.running.add(entry);
    const inputs = new Map<string, { channel: Channel<Chunk>; streaming: boolean; edge: string }>();
    for (const i of spec.inputs) {
      const key = { requestId, edge: i.edge };
      const channel =
        i.producer.address === 'local'
          ? this.localChannel(requestId, i.edge)
          : this.options.endpoint.receive(parseAddress(i.producer.address), key);
      inputs.set(i.from, { channel, streaming: i.streaming, edge: i.edge });
    }
    const outputs = new Map(spec.outputs.map((o) => [o.to, { ...o, chunk: 0, ended: false }]));
    const received: Tensor[] = [];
    /** Buffers handed on as outputs: still in use downstream, so never recycled here. */
    const passedOn = new Set<ArrayBufferLike>();
    const forwardedBytes: Record<string, number> = {};

    const take = async (from: string): Promise<Chunk | undefined> => {
      const input = inputs.get(from);
      if (!input) throw new Error(`component '${component}' has no input from '${from}' in this request`);
      const r = await input.channel.next();
      timer?.inputArrived();
      if (r.done) return undefined;
      received.push(r.value.tensor);
      return r.value;
    };
    const deliver = (to: string, tensor: Tensor | undefined, last: boolean): void => {
      const out = outputs.get(to);
      if (!out) return; // this request does not take that output
      if (out.ended) throw new Error(`component '${component}' sent to '${to}' after ending that edge`);
      out.ended = last;
      if (tensor) passedOn.add(tensor.data.buffer);
      const key = { requestId, edge: out.edge };
      if (out.local) {
        const ch = this.localChannel(requestId, out.edge);
        if (tensor) ch.push({ tensor, chunk: out.chunk++, last });
        if (last) ch.end();
      } else if (tensor) {
        forwardedBytes[out.edge] = (forwardedBytes[out.edge] ?? 0) + this.options.endpoint.send(key, tensor, { chunk: out.chunk++, last });
      } else {
        this.options.endpoint.end(key);
      }
    };

    const ctx: InvocationContext = {
      requestId,
      component,
      requestType: spec.requestType,
      ...phase,
      payload,
      emits: spec.emits,
      consumers: spec.outputs.map((o) => o.to),
      producers: spec.inputs.map((i) => i.from),
      signal: entry.abort.signal,
      input: async (from) => {
        const first = await take(from);
        if (!first) throw new Error(`the edge from '${from}' to '${component}' ended without a tensor`);
        if (!first.last) throw new Error(`the edge from '${from}' to '${component}' is streaming: read it with stream()`);
        return first.tensor;
      },
      stream: (from) => ({
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<Tensor>> => {
            const c = await take(from);
            return c ? { value: c.tensor, done: false } : { value: undefined, done: true };
          },
        }),
      }),
      send: (to, tensor, opts) => deliver(to, tensor, opts?.last ?? !outputs.get(to)?.streaming),
      end: (to) => deliver(to, undefined, true),
      emit: (part) => {
        if (!entry.abort.signal.aborted) this.options.send({ type: 'output', requestId, component, ...phase, part });
      },
    };

    try {
      await (timer ? stageTimers.run(timer, () => runner.run(ctx)) : runner.run(ctx));
      if (entry.abort.signal.aborted) throw entry.abort.signal.reason;
      for (const [to, out] of outputs) {
        if (out.ended) continue;
        if (!out.streaming) throw new Error(`component '${component}' finished without sending its output to '${to}'`);
        deliver(to, undefined, true);
      }
      const timing = timer && stageTiming(timer);
      this.options.send({ type: 'done', requestId, component, ...phase, forwardedBytes, ...(timing ? { timing } : {}) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      for (const out of outputs.values()) {
        if (out.ended) continue;
        out.ended = true;
        if (out.local) this.localChannel(requestId, out.edge).fail(new Error(`producer '${component}' failed: ${message}`));
        else this.options.endpoint.fail({ requestId, edge: out.edge }, `producer '${component}' failed: ${message}`);
      }
      const cause =
        entry.abort.signal.aborted || err instanceof CancelledError
          ? 'cancelled'
          : err instanceof PeerLostError
            ? 'peer-lost'
            : err instanceof InvalidInputError
              ? 'input'
              : 'component';
      failed(message, cause);
    } finally {
      this.running.delete(entry);
      for (const i of inputs.values()) {
        if (i.channel.closed) this.local.delete(localKey(requestId, i.edge));
      }
      if (this.options.pool) for (const t of received) if (!passedOn.has(t.data.buffer)) this.options.pool.release(t.data.buffer);
    }
  }

  private localChannel(requestId: string, edge: string): Channel<Chunk> {
    const key = localKey(requestId, edge);
    let ch = this.local.get(key);
    if (!ch) this.local.set(key, (ch = new Channel<Chunk>()));
    return ch;
  }

  private cancel(requestId: string, reason: string): void {
    this.cancelled.set(requestId, Date.now());
    this.pruneCancelled();
    const err = new CancelledError(reason);
    for (const r of this.running) if (r.requestId === requestId) r.abort.abort(err);
    for (const [key, ch] of this.local) {
      if (key.startsWith(`${requestId}\u0000`)) {
        ch.fail(err);
        this.local.delete(key);
      }
    }
    this.options.endpoint.cancel(requestId, reason);
    this.options.endpoint.release(requestId);
  }

  private release(requestId: string): void {
    for (const key of [...this.local.keys()]) if (key.startsWith(`${requestId}\u0000`)) this.local.delete(key);
    this.options.endpoint.release(requestId);
  }

  /** Forget cancellations older than a minute: an invoke cannot trail its cancel by that long. */
  private pruneCancelled(): void {
    const cutoff = Date.now() - 60_000;
    for (const [id, at] of this.cancelled) if (at < cutoff) this.cancelled.delete(id);
  }
}

/** A traced invocation's timing for its done message, read at the moment it is done. */
function stageTiming(timer: StageTimer): StageTiming {
  return {
    invokeMs: timer.invokeMs,
    ...(timer.inputMs !== undefined ? { inputMs: timer.inputMs } : {}),
    ...(timer.firstBatchStartMs !== undefined ? { firstBatchStartMs: timer.firstBatchStartMs } : {}),
    ...(timer.lastBatchEndMs !== undefined ? { lastBatchEndMs: timer.lastBatchEndMs } : {}),
    batchMs: timer.batchMs,
    batches: timer.batches,
    doneMs: timer.clockMs(),
  };
}
