// The HTTP front of `serve` (fastify): OpenAI-compatible chat completions, model list, health,
// readiness, Prometheus metrics and a JSON status for the dashboard. It validates and
// translates requests, hands them to the dispatcher and shapes the answer; tensors between
// components never pass through here. Every failure leaves as an OpenAI-style error body.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DispatchError, type Dispatcher, type RequestHandle } from '../dispatcher/dispatcher.js';
import type { RequestGraph } from '../dispatcher/graph.js';
import type { ReplicaTable } from '../dispatcher/replicas.js';
import type { OutputPart } from '../protocol.js';
import { silentLogger, type Logger } from '../log.js';
import { DEFAULT_MEDIA_LIMITS, type MediaLimits } from '../../models/media-inspect.js';
import { applyConnectionTimeouts, DEFAULT_CONNECTION_TIMEOUTS, type ConnectionTimeouts } from './connections.js';
import { ApiError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import { checkChatRequest, parseChatRequest, type ParsedChat } from './openai.js';
import { addPart, chunkBody, completionBody, deltaFor, emptyAnswer, type Answer, type ResponseMeta } from './responses.js';
import { RecentErrors, statusBody } from './status.js';
import type { LiveTraffic } from './traffic.js';
import type { RequestTraceLog } from './request-trace.js';
import { monotonicMs } from '../protocol.js';
import { registerAdminRoutes, type PlanControl } from './admin.js';

export interface GatewayOptions {
  /** The model ids clients name (GET /v1/models lists them; see servedModelNames). */
  modelNames: readonly string[];
  dispatcher: Dispatcher;
  replicas: ReplicaTable;
  metrics: ServeMetrics;
  /** When set, /v1/* requires `Authorization: Bearer <key>`. */
  apiKey?: string;
  bodyLimitBytes?: number;
  /** Directory `file:` image URLs may point into; unset refuses local files. */
  mediaRoot?: string;
  /** Pixel and audio-length limits on input media (default DEFAULT_MEDIA_LIMITS). */
  mediaLimits?: Partial<MediaLimits>;
  /** Limits on idle and slow client connections (default DEFAULT_CONNECTION_TIMEOUTS). */
  connectionTimeouts?: Partial<ConnectionTimeouts>;
  log?: Logger;
  /** Wall clock for timestamps (durations use the monotonic clock). */
  now?: () => number;
  /** Called once per chat request with its outcome (benchmarks, tests). */
  onFinished?: (outcome: { type: string; status: number; durationMs: number }) => void;
  /** The live window, record and drift prediction: fed each served request, shown in /status, /metrics and /v1/cornserve/workload. */
  traffic?: LiveTraffic;
  /** The served plan and how to move to another: enables /admin/plan (see admin.ts). */
  planControl?: PlanControl;
  /** Time every chat request and its invocations into this log (`serve --trace-requests`). */
  requestTrace?: RequestTraceLog;
}

interface RequestState {
  startMs: number;
  /** On the trace clock (protocol.ts monotonicMs), when the request is traced. */
  receiveMs?: number;
  type: string;
  recorded: boolean;
}

const CHAT_PATH = '/v1/chat/completions';
/** Response header naming the request's input modalities its request type does not read. */
export const IGNORED_INPUTS_HEADER = 'x-cornserve-ignored-inputs';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DispatchError) return new ApiError(err.status, err.code, err.message, null, err.retryAfterS);
  const fe = err as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the request body is empty');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'request_too_large', 'the request body is larger than this server accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'send the request body as application/json');
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return new ApiError(fe.statusCode, 'invalid_request', fe.message);
  return new ApiError(500, 'internal_error', 'the server failed to handle the request');
}

export class Gateway {
  readonly app: FastifyInstance;
  private readonly recentErrors = new RecentErrors();
  private readonly states = new WeakMap<FastifyRequest, RequestState>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly keyDigest: Buffer | undefined;
  private readonly mediaLimits: MediaLimits;
  private drainingFlag = false;

  constructor(private readonly options: GatewayOptions) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.keyDigest = options.apiKey !== undefined ? digest(options.apiKey) : undefined;
    this.mediaLimits = { ...DEFAULT_MEDIA_LIMITS, ...options.mediaLimits };
    this.app = Fastify({
      bodyLimit: options.bodyLimitBytes ?? 32 * 1024 * 1024,
      logger: false,
      forceCloseConnections: 'idle',
      return503OnClosing: true,
    });
    applyConnectionTimeouts(this.app.server, { ...DEFAULT_CONNECTION_TIMEOUTS, ...options.connectionTimeouts });
    this.app.removeContentTypeParser('text/plain'); // bodies are JSON; anything else is a 415
    this.app.addHook('onRequest', async (req, reply) => this.guard(req, reply));
    this.app.addHook('onResponse', async (req, reply) => {
      const st = this.states.get(req);
      if (st && !st.recorded) this.record(st, reply.statusCode, reply.statusCode >= 400 ? `HTTP ${reply.statusCode}` : undefined);
    });
    this.app.setErrorHandler((err, req, reply) => this.sendError(req, reply, toApiError(err), err));
    this.app.setNotFoundHandler((req, reply) =>
      this.sendError(req, reply, new ApiError(404, 'not_found', `no route ${req.method} ${req.url}`)),
    );
    this.routes();
  }

  get draining(): boolean {
    return this.drainingFlag;
  }

  /** Stop taking new chat requests (they get 503) and report not ready; in-flight ones go on. */
  startDraining(): void {
    this.drainingFlag = true;
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await this.app.listen({ host, port });
    const addr = this.app.server.address();
    return { host, port: typeof addr === 'object' && addr ? addr.port : port };
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  private routes(): void {
    const { app } = this;
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const { replicas } = this.options;
      const down = replicas.unitIds().filter((u) => replicas.liveCount(u) === 0);
      if (!this.drainingFlag && down.length === 0) return { status: 'ready' };
      reply.code(503);
      return { status: this.drainingFlag ? 'draining' : 'not ready', unitsWithoutLiveReplica: down };
    });
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', this.options.metrics.contentType);
      return this.options.metrics.text();
    });
    app.get('/status', async () => ({
      ...statusBody(this.options.replicas, this.recentErrors, this.options.dispatcher.inFlight),
      ...(this.options.traffic ? { liveWorkload: this.options.traffic.status() } : {}),
    }));
    app.get('/v1/cornserve/workload', async () => {
      const body = this.options.traffic?.workloadBody();
      if (!body) throw new ApiError(404, 'no_live_traffic', 'no request has been served in the live window yet; send traffic first');
      return body;
    });
    app.get('/v1/models', async () => ({
      object: 'list',
      data: this.options.modelNames.map((id) => ({ id, object: 'model', created: 0, owned_by: 'cornserve' })),
    }));
    app.post(CHAT_PATH, async (req, reply) => this.chat(req, reply));
    const control = this.options.planControl;
    if (control) registerAdminRoutes(app, { control, apiKey: this.options.apiKey, draining: () => this.drainingFlag });
  }

  private async guard(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = req.url.split('?')[0];
    if (path === CHAT_PATH)
      this.states.set(req, {
        startMs: performance.now(),
        ...(this.options.requestTrace ? { receiveMs: monotonicMs() } : {}),
        type: 'none',
        recorded: false,
      });
    if (!path.startsWith('/v1/')) return;
    if (this.keyDigest) {
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(header);
      if (!m || !timingSafeEqual(digest(m[1].trim()), this.keyDigest)) {
        const message = m ? 'the API key is not valid' : 'missing API key: send Authorization: Bearer <key>';
        return this.sendError(req, reply, new ApiError(401, 'invalid_api_key', message));
      }
    }
    if (this.drainingFlag) {
      reply.header('connection', 'close');
      return this.sendError(
        req,
        reply,
        new ApiError(503, 'shutting_down', 'the server is shutting down; retry on another instance', null, 5),
      );
    }
  }

  private sendError(req: FastifyRequest, reply: FastifyReply, err: ApiError, cause?: unknown): FastifyReply {
    if (err.status >= 500 && !(cause instanceof DispatchError) && err.code === 'internal_error')
      this.log.error('gateway.error', { url: req.url, error: cause as Error });
    if (err.retryAfterS !== undefined) reply.header('retry-after', String(err.retryAfterS));
    const st = this.states.get(req);
    if (st && !st.recorded) this.record(st, err.status, err.message);
    return reply.code(err.status).send(err.body());
  }

  private record(st: RequestState, status: number, message?: string): void {
    st.recorded = true;
    const { metrics } = this.options;
    metrics.requests.inc({ type: st.type, status: String(status) });
    const durationMs = performance.now() - st.startMs;
    metrics.duration.observe({ type: st.type }, durationMs / 1000);
    this.options.onFinished?.({ type: st.type, status, durationMs });
    if (status >= 400)
      this.recentErrors.add({ time: new Date(this.now()).toISOString(), requestType: st.type, status, message: message ?? '' });
    if (status >= 500) this.log.warn('request.failed', { type: st.type, status, message });
  }

  private async chat(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const st = this.states.get(req)!;
    const body = checkChatRequest(req.body);
    if (!this.options.modelNames.includes(body.model)) {
      const served = this.options.modelNames.map((m) => `'${m}'`).join(', ');
      throw new ApiError(404, 'model_not_found', `the model '${body.model}' does not exist; this server serves ${served}`, 'model');
    }
    const parsed = await parseChatRequest(body, {
      mediaRoot: this.options.mediaRoot,
      maxMediaBytes: this.options.bodyLimitBytes ?? 32 * 1024 * 1024,
      limits: this.mediaLimits,
    });
    const meta: ResponseMeta = { id: `chatcmpl-${randomUUID()}`, model: body.model, createdS: Math.floor(this.now() / 1000) };
    const { graph, ignoredInputs } = this.options.dispatcher.classify(parsed.inputs, parsed.outputs, body.model);
    st.type = graph.requestType;
    // Served without them (OCR reads the image, not the words beside it): say so, not silently.
    if (ignoredInputs.length > 0) reply.header(IGNORED_INPUTS_HEADER, ignoredInputs.join(','));
    this.checkPromptLength(graph, parsed);
    const submittedMs = st.receiveMs !== undefined ? monotonicMs() : 0;
    const handle = this.options.dispatcher.submit({
      requestId: meta.id,
      model: body.model,
      inputs: parsed.inputs,
      outputs: parsed.outputs,
      payload: {
        messages: parsed.messages,
        images: parsed.images,
        audios: parsed.audios,
        mediaLimits: this.mediaLimits,
        params: parsed.params,
      },
      trace: st.receiveMs !== undefined,
    });
    const trace = (firstPartMs?: number): void => {
      if (st.receiveMs === undefined) return;
      this.options.requestTrace?.add({
        id: meta.id,
        type: st.type,
        status: 200,
        receiveMs: st.receiveMs,
        submittedMs,
        ...(firstPartMs !== undefined ? { firstPartMs } : {}),
        sentMs: monotonicMs(),
        stages: handle.stages,
      });
    };
    let finished = false;
    reply.raw.on('close', () => {
      if (!finished) handle.cancel('the client disconnected');
    });
    try {
      if (!parsed.stream) {
        const answer = emptyAnswer();
        for await (const part of handle.parts) addPart(answer, part);
        finished = true;
        this.served(st, parsed, answer);
        const body = completionBody(meta, answer);
        trace();
        return body;
      }
      // Wait for the first part before committing to 200, so early failures keep their status.
      const first = await handle.parts.next();
      const firstPartMs = st.receiveMs !== undefined ? monotonicMs() : undefined;
      if (await this.stream(reply, st, meta, parsed, handle, first.done ? undefined : first.value)) trace(firstPartMs);
      finished = true;
      return reply;
    } catch (err) {
      finished = true;
      throw err;
    }
  }

  /** Hands a request answered with 200 to the live traffic watcher (sizes only, never content). */
  private served(st: RequestState, parsed: ParsedChat, answer: Answer): void {
    this.options.traffic?.observe({ type: st.type, arrivalMs: st.startMs, latencyMs: performance.now() - st.startMs, parsed, answer });
  }

  /** A prompt longer than the context of a component that reads it: 400 before any executor work. */
  private checkPromptLength(graph: RequestGraph, parsed: ParsedChat): void {
    let promptBytes = 0;
    for (const m of parsed.messages) for (const c of m.content) if (c.type === 'text') promptBytes += Buffer.byteLength(c.text);
    for (const inv of graph.invocations) {
      if (!inv.reads.includes('messages')) continue;
      const limit = this.options.replicas.maxPromptBytes(inv.component);
      if (limit !== undefined && promptBytes > limit) {
        throw new ApiError(
          400,
          'context_length_exceeded',
          `the prompt's text is ${promptBytes} bytes; '${inv.component}' takes at most ${limit} (its context length), so it cannot fit: shorten the messages`,
          'messages',
        );
      }
    }
  }

  /** Streams the answer as server-sent events; true when it went out in full (only those are traced). */
  private async stream(
    reply: FastifyReply,
    st: RequestState,
    meta: ResponseMeta,
    parsed: ParsedChat,
    handle: RequestHandle,
    first: OutputPart | undefined,
  ): Promise<boolean> {
    reply.hijack();
    const raw = reply.raw;
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const audio = { requested: parsed.outputs.has('audio'), format: parsed.params.audio?.format ?? 'wav', first: true };
    const answer = emptyAnswer();
    await send(raw, chunkBody(meta, { role: 'assistant', content: '' }));
    const emit = async (part: OutputPart): Promise<void> => {
      addPart(answer, part);
      const delta = deltaFor(meta, part, audio);
      if (part.kind === 'audio') audio.first = false;
      if (delta) await send(raw, chunkBody(meta, delta));
    };
    try {
      if (first) await emit(first);
      for await (const part of handle.parts) await emit(part);
      await send(raw, chunkBody(meta, {}, answer.finishReason));
      if (parsed.includeUsage) await send(raw, { ...chunkBody(meta, {}), choices: [], usage: answer.usage });
      raw.write('data: [DONE]\n\n');
      this.record(st, 200);
      this.served(st, parsed, answer);
      return true;
    } catch (err) {
      const e = toApiError(err);
      if (!raw.destroyed) raw.write(`data: ${JSON.stringify(e.body())}\n\n`);
      this.record(st, e.status, e.message);
      return false;
    } finally {
      raw.end();
    }
  }
}

/** Writes one SSE event, waiting for the socket to drain when its buffer is full. */
async function send(raw: ServerResponse, body: unknown): Promise<void> {
  if (raw.destroyed) throw new DispatchError(499, 'cancelled', 'the client disconnected');
  if (raw.write(`data: ${JSON.stringify(body)}\n\n`)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}
