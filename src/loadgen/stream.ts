// Reading a streamed chat completion (server-sent events) into timings: time to the first text
// token, to the last one, to the first audio chunk and the first image, the token counts from the
// usage chunk, whether the stream ended with [DONE], and an error event if the server sent one.
// Pure: the HTTP client feeds it text and clock readings.

/** Splits an SSE byte stream (decoded to text) into the payloads of its `data:` lines, one per event. */
export class SseReader {
  private buffer = '';

  /** The data payloads of the events completed by `chunk`. */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const out: string[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buffer);
      if (!m) return out;
      const event = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
      if (data.length > 0) out.push(data.join('\n'));
    }
  }

  /** Text left after the last complete event (a stream cut short leaves some). */
  get pending(): string {
    return this.buffer;
  }
}

/** What one streamed answer measured; times in ms from when the request was sent. */
export interface AnswerTiming {
  firstTokenMs?: number;
  lastTokenMs?: number;
  /** Deltas that carried text (the answer's content, or the transcript of an audio answer). */
  textDeltas: number;
  firstAudioMs?: number;
  firstImageMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** The stream ended with `data: [DONE]`. */
  done: boolean;
  /** An error event or an unparsable one, as the server worded it. */
  error?: string;
}

interface Delta {
  content?: unknown;
  audio?: { data?: unknown; transcript?: unknown };
}

/** Folds the events of one streamed answer, with the time each arrived, into an AnswerTiming. */
export class AnswerObserver {
  private readonly timing: AnswerTiming = { textDeltas: 0, done: false };

  event(data: string, atMs: number): void {
    const t = this.timing;
    if (data.trim() === '[DONE]') {
      t.done = true;
      return;
    }
    let body: {
      choices?: { delta?: Delta }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
      error?: { message?: string };
    };
    try {
      body = JSON.parse(data) as typeof body;
    } catch {
      t.error ??= `the server sent an event that is not JSON: ${data.slice(0, 120)}`;
      return;
    }
    if (body.error) {
      t.error ??= body.error.message ?? JSON.stringify(body.error);
      return;
    }
    if (body.usage) {
      if (typeof body.usage.prompt_tokens === 'number') t.promptTokens = body.usage.prompt_tokens;
      if (typeof body.usage.completion_tokens === 'number') t.completionTokens = body.usage.completion_tokens;
    }
    for (const choice of body.choices ?? []) {
      const d = choice.delta ?? {};
      const text = typeof d.content === 'string' ? d.content : typeof d.audio?.transcript === 'string' ? d.audio.transcript : '';
      if (text.length > 0) {
        t.firstTokenMs ??= atMs;
        t.lastTokenMs = atMs;
        t.textDeltas++;
      }
      if (Array.isArray(d.content) && d.content.some((p: { type?: unknown }) => p?.type === 'image_url')) t.firstImageMs ??= atMs;
      if (typeof d.audio?.data === 'string' && d.audio.data.length > 0) t.firstAudioMs ??= atMs;
    }
  }

  result(): AnswerTiming {
    return { ...this.timing };
  }
}

/**
 * Time per output token after the first: (last − first) / (tokens − 1), tokens as the server
 * counted them (else the text deltas). Undefined unless the text streamed in at least two
 * deltas: an answer that arrives in one piece (OCR) has no decode pace to measure.
 */
export function timePerOutputTokenMs(t: AnswerTiming): number | undefined {
  const tokens = t.completionTokens ?? t.textDeltas;
  if (t.firstTokenMs === undefined || t.lastTokenMs === undefined || t.textDeltas < 2 || tokens < 2) return undefined;
  return (t.lastTokenMs - t.firstTokenMs) / (tokens - 1);
}
