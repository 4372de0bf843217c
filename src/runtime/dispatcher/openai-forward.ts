// What crosses the wire to an external OpenAI-compatible engine, as plain functions: the
// streaming chat-completions body built from one invocation's payload, and the engine's
// server-sent events read back into output parts. external-link.ts does the I/O.
import type { OutputPart, RequestPayload } from '../protocol.js';

export interface ChatCompletionBody {
  model: string;
  messages: { role: string; content: string }[];
  stream: true;
  stream_options: { include_usage: true };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
}

/** A payload part the engine cannot take (media: an external engine component has no encoder edges). */
export class UnforwardableInput extends Error {}

export function chatCompletionBody(model: string, payload: RequestPayload): ChatCompletionBody {
  const messages = (payload.messages ?? []).map((m) => {
    const text = m.content.map((c) => {
      if (c.type !== 'text')
        throw new UnforwardableInput(
          `this model's external engine takes text only, and the request carries ${c.type === 'image' ? 'an image' : 'audio'}`,
        );
      return c.text;
    });
    return { role: m.role, content: text.join('') };
  });
  const { maxTokens, temperature, topP, seed } = payload.params;
  return {
    model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topP !== undefined ? { top_p: topP } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/**
 * Splits a server-sent event stream into the `data:` payloads of its events, across chunk
 * boundaries: push text as it arrives, take the complete events.
 */
export class SseReader {
  private buffer = '';

  push(text: string): string[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const events: string[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''));
      if (data.length > 0) events.push(data.join('\n'));
    }
    return events;
  }
}

export type StreamEvent = { kind: 'part'; part: OutputPart } | { kind: 'end' } | { kind: 'error'; message: string };

interface Chunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/**
 * What one event of the engine's stream means for the request: text to pass on, the finish
 * (reason and token counts, which arrive in the usage chunk after the finish reason), the end,
 * or an error the engine reported mid-stream. `state` carries the finish reason across events.
 */
export function readStreamEvent(data: string, state: { finishReason?: 'stop' | 'length' }): StreamEvent[] {
  if (data.trim() === '[DONE]') {
    const finish: StreamEvent[] =
      state.finishReason !== undefined ? [{ kind: 'part', part: { kind: 'finish', reason: state.finishReason } }] : [];
    state.finishReason = undefined;
    return [...finish, { kind: 'end' }];
  }
  let chunk: Chunk;
  try {
    chunk = JSON.parse(data) as Chunk;
  } catch {
    return [{ kind: 'error', message: `the engine sent an event that is not JSON: ${data.slice(0, 200)}` }];
  }
  if (chunk.error !== undefined)
    return [
      { kind: 'error', message: typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? JSON.stringify(chunk.error)) },
    ];
  const out: StreamEvent[] = [];
  for (const choice of chunk.choices ?? []) {
    const text = choice.delta?.content;
    if (typeof text === 'string' && text.length > 0) out.push({ kind: 'part', part: { kind: 'text', text } });
    if (choice.finish_reason) state.finishReason = choice.finish_reason === 'length' ? 'length' : 'stop';
  }
  if (chunk.usage && state.finishReason !== undefined) {
    out.push({
      kind: 'part',
      part: {
        kind: 'finish',
        reason: state.finishReason,
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
      },
    });
    state.finishReason = undefined;
  }
  return out;
}
