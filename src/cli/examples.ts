// Ready-to-paste `curl` commands for every request type of a served plan, as values: `up` prints
// them, tests run them. Media come from the bundled samples (fixtures/media/), inlined as
// base64 by the shell at paste time (`$(base64 < file | tr -d '\n')`), so the commands stay
// short and work with GNU and BSD base64 alike.
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { servedModelOf } from '../spec/served-model.js';
import type { RequestType, ResolvedModel } from '../spec/types.generated.js';

export const MEDIA_DIR = fileURLToPath(new URL('../../fixtures/media/', import.meta.url));
export const SAMPLE_MEDIA = { picture: 'picture.png', speech: 'speech.wav', ocrLine: 'ocr-line.png' } as const;

export interface CurlExample {
  /** What the request does, e.g. `t2t (text → text, streamed)`. */
  title: string;
  /** Where to look in the answer, when it is not plain text. */
  hint?: string;
  command: string;
}

/** `'…'` quoting for POSIX shells. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path as a user at `cwd` would type it: relative when inside, absolute otherwise. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** OCR request types get the rendered text line; other image inputs get the picture. */
function imageFor(model: ResolvedModel, t: RequestType): string {
  const ocr = t.path.some((name) => model.components.find((c) => c.name === name)?.executor?.engine === 'ocr-det');
  return ocr ? SAMPLE_MEDIA.ocrLine : SAMPLE_MEDIA.picture;
}

function promptFor(t: RequestType): string {
  if (t.outputs.includes('image')) return 'A yellow sun over a blue sea';
  if (t.outputs.includes('audio')) return 'Say hello to the audience';
  if (t.inputs.includes('image')) return 'What is in this picture?';
  if (t.inputs.includes('audio')) return 'What do you hear?';
  return 'Write a haiku about serving models';
}

/** The chat body of one example request; media as `{{file}}` placeholders. */
export function exampleBody(model: ResolvedModel, t: RequestType, stream = false): { body: Record<string, unknown>; media: string[] } {
  const media: string[] = [];
  const content: unknown[] = [];
  if (t.inputs.includes('text')) content.push({ type: 'text', text: promptFor(t) });
  if (t.inputs.includes('image')) {
    const file = imageFor(model, t);
    media.push(file);
    content.push({ type: 'image_url', image_url: { url: `data:image/png;base64,{{${file}}}` } });
  }
  if (t.inputs.includes('audio')) {
    media.push(SAMPLE_MEDIA.speech);
    content.push({ type: 'input_audio', input_audio: { data: `{{${SAMPLE_MEDIA.speech}}}`, format: 'wav' } });
  }
  const body: Record<string, unknown> = { model: servedModelOf(model, t) };
  const modalities = t.outputs.filter((m) => m !== 'text');
  if (modalities.length > 0) body.modalities = t.outputs;
  if (stream) body.stream = true;
  body.messages = [
    { role: 'user', content: content.length === 1 && t.inputs.length === 1 && t.inputs[0] === 'text' ? promptFor(t) : content },
  ];
  return { body, media };
}

/** One curl per request type (text → text also streamed), against `baseUrl`. */
export function curlExamples(
  model: ResolvedModel,
  baseUrl: string,
  options: { cwd?: string; mediaDir?: string; apiKey?: boolean } = {},
): CurlExample[] {
  const cwd = options.cwd ?? process.cwd();
  const mediaDir = options.mediaDir ?? MEDIA_DIR;
  const out: CurlExample[] = [];
  for (const t of model.requestTypes) {
    const streams =
      t.outputs.length === 1 && t.outputs[0] === 'text' && t.inputs.length === 1 && t.inputs[0] === 'text' ? [false, true] : [false];
    for (const stream of streams) {
      const { body } = exampleBody(model, t, stream);
      let json = shellQuote(JSON.stringify(body));
      // Splice each medium in as a shell substitution between the single-quoted JSON pieces.
      json = json.replace(
        /\{\{([^}]+)\}\}/g,
        (_, file: string) => `'"$(base64 < ${shellQuote(displayPath(join(mediaDir, file), cwd))} | tr -d '\\n')"'`,
      );
      const auth = options.apiKey ? ` -H "authorization: Bearer $CORNSERVE_API_KEY"` : '';
      const command = `curl -s${stream ? 'N' : ''} ${baseUrl}/v1/chat/completions -H 'content-type: application/json'${auth} -d ${json}`;
      const io = `${t.inputs.join('+')} → ${t.outputs.join('+')}`;
      const hint = t.outputs.includes('image')
        ? 'the picture is message.content[0].image_url.url, a PNG data URL'
        : t.outputs.includes('audio')
          ? 'message.audio.data is a base64 WAV, message.audio.transcript its text'
          : stream
            ? 'server-sent events: one chat.completion.chunk per text delta, then [DONE]'
            : undefined;
      out.push({
        title: `${t.name} (${io}${stream ? ', streamed' : ''}; model ${servedModelOf(model, t)})`,
        ...(hint ? { hint } : {}),
        command,
      });
    }
  }
  return out;
}

export function formatExamples(examples: readonly CurlExample[]): string {
  return examples.map((e) => [`# ${e.title}`, ...(e.hint ? [`#   ${e.hint}`] : []), e.command].join('\n')).join('\n\n');
}
