// The dispatcher's link to one replica of an external OpenAI-compatible engine (vLLM, SGLang, or
// another cornserve). It stands where an executor's control channel stands: an invoke becomes
// a streaming chat-completions request, each text delta of the engine's stream comes back as an
// output part the moment it arrives, and the end of the stream as the invocation's `done`;
// cancel aborts the request. Routing, queue depth, timeouts and replica loss stay the
// dispatcher's, unchanged.
import type { FromHost, ToHost } from '../protocol.js';
import { chatCompletionBody, readStreamEvent, SseReader, UnforwardableInput } from './openai-forward.js';
import type { ExecutorLink } from '../protocol.js';

export interface ExternalLinkOptions {
  /** The engine's base URL, e.g. http://127.0.0.1:8123. */
  baseUrl: string;
  /** The `model` every forwarded request names. */
  model: string;
  /** Where the engine's answers go: the dispatcher's onHostMessage for this replica. */
  deliver: (msg: FromHost) => void;
}

export class ExternalEngineLink implements ExecutorLink {
  private readonly inFlight = new Map<string, AbortController>();

  constructor(private readonly options: ExternalLinkOptions) {}

  send(msg: ToHost): void {
    if (msg.type === 'invoke') void this.forward(msg);
    else if (msg.type === 'cancel') this.inFlight.get(msg.requestId)?.abort();
  }

  /** Aborts every request in flight (the engine process died or is being stopped). */
  abortAll(): void {
    for (const controller of this.inFlight.values()) controller.abort();
  }

  private async forward(msg: Extract<ToHost, { type: 'invoke' }>): Promise<void> {
    const { requestId } = msg;
    const { component } = msg.invocation;
    const { deliver } = this.options;
    const failed = (message: string, cause: 'component' | 'input' | 'peer-lost'): void =>
      deliver({ type: 'failed', requestId, component, message, cause });
    let body: string;
    try {
      body = JSON.stringify(chatCompletionBody(this.options.model, msg.payload));
    } catch (err) {
      if (err instanceof UnforwardableInput) return failed(err.message, 'input');
      throw err;
    }
    const controller = new AbortController();
    this.inFlight.set(requestId, controller);
    try {
      const res = await fetch(`${this.options.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body,
        signal: controller.signal,
      });
      if (!res.ok || !res.body) {
        const text = await res.text().catch(() => '');
        const detail = engineErrorMessage(text) ?? `HTTP ${res.status}`;
        // The engine judged the request itself unusable (too long a prompt, a bad parameter): the client's 400.
        return failed(`the external engine refused the request: ${detail}`, res.status >= 400 && res.status < 500 ? 'input' : 'component');
      }
      const reader = new SseReader();
      const state: { finishReason?: 'stop' | 'length' } = {};
      const decoder = new TextDecoder();
      for await (const bytes of res.body) {
        for (const data of reader.push(decoder.decode(bytes as Uint8Array, { stream: true }))) {
          for (const event of readStreamEvent(data, state)) {
            if (event.kind === 'error') return failed(`the external engine failed mid-stream: ${event.message}`, 'component');
            if (event.kind === 'end') return deliver({ type: 'done', requestId, component, forwardedBytes: {} });
            deliver({ type: 'output', requestId, component, part: event.part });
          }
        }
      }
      failed('the external engine closed the stream before it finished', 'peer-lost');
    } catch (err) {
      if (controller.signal.aborted) return; // cancelled: the dispatcher already settled the request
      failed(
        `the external engine could not be reached: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
        'peer-lost',
      );
    } finally {
      this.inFlight.delete(requestId);
    }
  }
}

/** The message of an OpenAI-style error body, if the text is one. */
function engineErrorMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof body.error === 'string') return body.error;
    return body.error?.message ?? body.message;
  } catch {
    return text.trim() ? text.trim().slice(0, 300) : undefined;
  }
}
