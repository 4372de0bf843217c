// The serving process's own CPU per request, by request type: what the gateway (HTTP, JSON,
// base64 media, the streamed answer) and the dispatcher (routing, invocations, the executors'
// messages) cost, measured on a live cornserve server from its process CPU counter on /metrics
// while it answers one request at a time. Executors run in their own processes, so their work
// is not counted; the counter's idle rate and the scrapes' own cost are taken out.
import { setTimeout as sleep } from 'node:timers/promises';
import { chatCompletionsUrl, sendChat } from '../loadgen/client.js';
import { MediaCache } from '../loadgen/media.js';
import { chatBody, withTypeSizes } from '../loadgen/request-body.js';
import { servedModelOf } from '../spec/served-model.js';
import type { ModelGraph } from '../spec/types.generated.js';
import { ProfileError } from './graphs.js';

/** The serving process's CPU counter (prom-client's process metrics under the gateway's prefix). */
export const GATEWAY_CPU_METRIC = 'cornserve_gateway_process_cpu_seconds_total';
/** Untimed requests per type first, so that JIT compilation and first-use caches are not counted. */
const WARMUP_REQUESTS = 2;
const SCRAPES_FOR_COST = 5;
const IDLE_WINDOW_MS = 1000;

/** The value of `GATEWAY_CPU_METRIC` in a Prometheus text exposition, or undefined when absent. */
export function parseCpuSeconds(metricsText: string): number | undefined {
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(GATEWAY_CPU_METRIC)) continue;
    const [name, value] = line.trim().split(/\s+/);
    if (name === GATEWAY_CPU_METRIC && value !== undefined && Number.isFinite(Number(value))) return Number(value);
  }
  return undefined;
}

export function metricsUrl(baseUrl: string): string {
  return chatCompletionsUrl(baseUrl).replace(/\/v1\/chat\/completions$/, '/metrics');
}

export interface GatewayMeasureOptions {
  baseUrl: string;
  graph: ModelGraph;
  /** Timed requests per request type, sent one after another. */
  requests: number;
  apiKey?: string;
  timeoutMs: number;
  onProgress?: (fraction: number, detail: string) => void;
}

export interface GatewayMeasurement {
  /** Request type → CPU milliseconds of the serving process per request. */
  cpuMsPerRequest: Record<string, number>;
  /** What one /metrics scrape costs the server, ms (taken out). */
  scrapeCpuMs: number;
  /** The server's CPU while idle, ms per second (taken out over each type's window). */
  idleCpuMsPerS: number;
}

async function scrapeCpuSeconds(url: string, headers: Record<string, string>): Promise<number> {
  let text: string;
  try {
    const response = await fetch(url, { headers });
    if (!response.ok) throw new ProfileError(`${url} answered ${response.status}; --gateway needs a cornserve server's /metrics`);
    text = await response.text();
  } catch (err) {
    if (err instanceof ProfileError) throw err;
    throw new ProfileError(
      `cannot reach ${url}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.message : String(err))}`,
    );
  }
  const seconds = parseCpuSeconds(text);
  if (seconds === undefined)
    throw new ProfileError(`${url} has no ${GATEWAY_CPU_METRIC}; --gateway measures a cornserve server (serve), whose gateway exports it`);
  return seconds;
}

/** CPU ms of the serving process per request of each of the graph's request types, in graph order. */
export async function measureGateway(o: GatewayMeasureOptions): Promise<GatewayMeasurement> {
  const url = metricsUrl(o.baseUrl);
  const headers: Record<string, string> = o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {};
  const scrape = () => scrapeCpuSeconds(url, headers);
  const first = await scrape();
  let last = first;
  for (let i = 0; i < SCRAPES_FOR_COST; i++) last = await scrape();
  const scrapeCpuMs = Math.max(0, ((last - first) * 1000) / SCRAPES_FOR_COST);
  const idleStart = await scrape();
  const idleStartedAt = performance.now();
  await sleep(IDLE_WINDOW_MS);
  const idleEnd = await scrape();
  const idleCpuMsPerS = Math.max(0, ((idleEnd - idleStart) * 1000 - scrapeCpuMs) / ((performance.now() - idleStartedAt) / 1000));

  const media = new MediaCache();
  const types = o.graph.requestTypes;
  const cpuMsPerRequest: Record<string, number> = {};
  let index = 0;
  for (const [k, type] of types.entries()) {
    const body = (i: number) =>
      JSON.stringify(
        chatBody(withTypeSizes({ arrivalS: 0, type: type.name }, type), i, type, {
          model: servedModelOf(o.graph, type),
          tokenizer: 'bytes',
          media,
        }),
      );
    const send = async (): Promise<void> => {
      const result = await sendChat(
        body(index++),
        { baseUrl: o.baseUrl, apiKey: o.apiKey, timeoutMs: o.timeoutMs },
        new AbortController().signal,
      );
      if (result.failure)
        throw new ProfileError(
          `request type '${type.name}': the server did not answer (${result.failure.kind}${result.failure.status ? ` ${result.failure.status}` : ''}: ${result.failure.message})`,
        );
    };
    o.onProgress?.(k / types.length, `gateway: ${type.name}`);
    for (let i = 0; i < WARMUP_REQUESTS; i++) await send();
    const before = await scrape();
    const startedAt = performance.now();
    for (let i = 0; i < o.requests; i++) await send();
    const after = await scrape();
    const windowS = (performance.now() - startedAt) / 1000;
    const busyMs = (after - before) * 1000 - scrapeCpuMs - idleCpuMsPerS * windowS;
    cpuMsPerRequest[type.name] = Math.round((Math.max(0, busyMs) / o.requests) * 1e4) / 1e4;
  }
  return { cpuMsPerRequest, scrapeCpuMs, idleCpuMsPerS };
}
