// The HTTP edge of the load generator: POST one streaming chat completion to an OpenAI-compatible
// server with Node's fetch, time it, and classify what went wrong. Every request has a deadline,
// so no server, however stuck, can hang a benchmark.
import type { SendResult } from './run.js';
import { AnswerObserver, SseReader } from './stream.js';

export interface ChatClientOptions {
  /** The server's base URL, with or without a trailing /v1. */
  baseUrl: string;
  apiKey?: string;
  /** A request that has not finished after this long fails as a timeout. */
  timeoutMs: number;
  now?: () => number;
}

/** `http://host:8000`, `http://host:8000/` and `http://host:8000/v1` all mean the same server. */
export function chatCompletionsUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(`'${baseUrl}' is not a URL; expected e.g. http://127.0.0.1:8000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`'${baseUrl}' is not an http(s) URL`);
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.origin}${path}/v1/chat/completions`;
}

/** Whether `baseUrl` names this machine (a loopback address): a load generator there shares the server's cores. */
export function isLoopbackUrl(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The OpenAI-style error message of a body, or its first characters. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof body.error === 'string') return body.error;
    if (body.error?.message) return body.error.message;
    if (body.message) return body.message;
  } catch {
    // not JSON: quote it
  }
  return text.trim().slice(0, 200) || '(empty body)';
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** Sends `body` (a chat-completion request with stream: true) and measures the answer. */
export async function sendChat(body: string, options: ChatClientOptions, signal: AbortSignal): Promise<SendResult> {
  const now = options.now ?? (() => performance.now());
  const url = chatCompletionsUrl(options.baseUrl);
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const both = AbortSignal.any([signal, deadline]);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const t0 = now();
  const cut = (): SendResult => ({
    failure: deadline.aborted
      ? { kind: 'timeout', message: `no complete answer within ${options.timeoutMs} ms` }
      : { kind: 'stream', message: 'cut off: the run stopped' },
  });
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, signal: both });
  } catch (err) {
    if (both.aborted) return cut();
    return { failure: { kind: 'connection', message: `cannot reach ${url}: ${causeOf(err)}` } };
  }
  try {
    if (!response.ok) {
      const text = await response.text();
      const kind = response.status === 429 || response.status === 503 ? 'overload' : 'http';
      return { failure: { kind, status: response.status, message: errorMessage(text) } };
    }
    const observer = new AnswerObserver();
    if (!/text\/event-stream/i.test(response.headers.get('content-type') ?? '')) {
      // A server that ignores `stream` answers in one piece: its end-to-end latency still counts.
      const text = await response.text();
      observer.event(text, now() - t0);
      observer.event('[DONE]', now() - t0);
    } else if (response.body) {
      const sse = new SseReader();
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        const at = now() - t0;
        for (const data of sse.push(decoder.decode(chunk as Uint8Array, { stream: true }))) observer.event(data, at);
      }
    }
    const timing = observer.result();
    const latencyMs = now() - t0;
    if (timing.error) return { timing, failure: { kind: 'stream', status: response.status, message: timing.error } };
    if (!timing.done)
      return { timing, failure: { kind: 'stream', status: response.status, message: 'the stream ended without data: [DONE]' } };
    return { latencyMs, timing };
  } catch (err) {
    if (both.aborted) return cut();
    return { failure: { kind: 'stream', status: response.status, message: `the answer broke off: ${causeOf(err)}` } };
  }
}
