// POST /v1/chat/completions bodies: the JSON Schema they must meet, and their translation
// into a dispatch request (modalities in and out, the prompt, the media bytes). Content parts
// follow OpenAI's: `text`, `image_url` and `input_audio`. Media are never fetched from the
// network: images (PNG or JPEG) come as `data:image/…;base64,…` URLs or as `file:` URLs under
// the configured media root; audio comes inline as base64 WAV. Each medium's header is checked
// against the media limits here, before any executor sees it.
import { Ajv, type ErrorObject } from 'ajv';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkAudioLimits,
  checkImageLimits,
  IMAGE_MIME,
  inspectImage,
  inspectWav,
  MediaFormatError,
  MediaLimitError,
  type MediaLimits,
} from '../../models/media-inspect.js';
import type { Modality } from '../../spec/types.generated.js';
import type { ChatMessage, ContentRef, GenerationParams, MediaInput } from '../protocol.js';
import { ApiError } from './errors.js';

export const CHAT_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: { type: 'array', minItems: 1, items: { $ref: '#/$defs/message' } },
    stream: { type: 'boolean' },
    stream_options: { type: ['object', 'null'], properties: { include_usage: { type: 'boolean' } } },
    max_tokens: { type: ['integer', 'null'], minimum: 1 },
    max_completion_tokens: { type: ['integer', 'null'], minimum: 1 },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
    seed: { type: ['integer', 'null'] },
    n: { type: ['integer', 'null'], minimum: 1, maximum: 1 },
    modalities: { type: ['array', 'null'], minItems: 1, uniqueItems: true, items: { enum: ['text', 'image', 'audio'] } },
    audio: {
      type: ['object', 'null'],
      properties: { voice: { type: 'string' }, format: { enum: ['wav', 'pcm16'] } },
    },
    image: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        width: { type: 'integer', minimum: 1, maximum: 1024 },
        height: { type: 'integer', minimum: 1, maximum: 1024 },
        steps: { type: 'integer', minimum: 1, maximum: 1000 },
      },
    },
  },
  $defs: {
    message: {
      type: 'object',
      required: ['role'],
      properties: {
        role: { enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
        content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', items: { $ref: '#/$defs/part' } }] },
        name: { type: 'string' },
      },
    },
    part: {
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        { properties: { type: { const: 'text' }, text: { type: 'string' } }, required: ['type', 'text'] },
        {
          properties: {
            type: { const: 'image_url' },
            image_url: {
              type: 'object',
              required: ['url'],
              properties: { url: { type: 'string', minLength: 1 }, detail: { type: 'string' } },
            },
          },
          required: ['type', 'image_url'],
        },
        {
          properties: {
            type: { const: 'input_audio' },
            input_audio: {
              type: 'object',
              required: ['data', 'format'],
              properties: { data: { type: 'string' }, format: { type: 'string' } },
            },
          },
          required: ['type', 'input_audio'],
        },
      ],
    },
  },
} as const;

type Part =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: 'input_audio'; input_audio: { data: string; format: string } };

export interface ChatRequestBody {
  model: string;
  messages: { role: ChatMessage['role']; content?: string | null | Part[] }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  modalities?: Modality[] | null;
  audio?: { voice?: string; format?: 'wav' | 'pcm16' } | null;
  image?: { width?: number; height?: number; steps?: number } | null;
}

const ajv = new Ajv({ allErrors: false, discriminator: true, strict: false });
const validateBody = ajv.compile<ChatRequestBody>(CHAT_REQUEST_SCHEMA);

/** `/messages/0/content/1/type` → `messages[0].content[1].type` (OpenAI's `param` style). */
export function paramOf(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function explain(e: ErrorObject): ApiError {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'discriminator') {
    const where = paramOf(`${e.instancePath}/type`);
    const message =
      p.error === 'mapping'
        ? `${where} '${String(p.tagValue)}' is not a supported content part type; use text, image_url or input_audio`
        : `${where} must be a string naming the content part type`;
    return new ApiError(400, 'invalid_content_part', message, where);
  }
  let param = paramOf(e.instancePath);
  if (e.keyword === 'required') param = param ? `${param}.${String(p.missingProperty)}` : String(p.missingProperty);
  const allowed = e.keyword === 'enum' ? `: ${(p.allowedValues as unknown[]).join(', ')}` : '';
  const message =
    e.keyword === 'required' ? `missing required parameter '${param}'` : `${param || 'the body'} ${e.message ?? 'is invalid'}${allowed}`;
  return new ApiError(400, e.keyword === 'required' ? 'missing_required_parameter' : 'invalid_value', message, param || null);
}

/**
 * The error to report: the deepest one (a content part's own problem rather than "content must
 * be a string" from the alternative it did not take); alternatives failing at the same place are
 * merged into one "must be a or b".
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const real = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  const depth = (e: ErrorObject): number => e.instancePath.split('/').length;
  const deepest = real.reduce((a, b) => (depth(b) > depth(a) ? b : a), real[0] ?? errors[0]);
  const sameType = real.filter((e) => e.instancePath === deepest.instancePath && e.keyword === 'type');
  if (sameType.length > 1) {
    const types = sameType.map((e) => String((e.params as { type: string }).type));
    return { ...deepest, message: `must be ${types.slice(0, -1).join(', ')} or ${types.at(-1)}` };
  }
  return deepest;
}

/** Checks a parsed body against the schema; throws a 400 ApiError naming the first problem. */
export function checkChatRequest(body: unknown): ChatRequestBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError(400, 'invalid_request', 'the request body must be a JSON object');
  if (validateBody(body)) return body;
  throw explain(mostSpecific(validateBody.errors ?? []));
}

export interface MediaOptions {
  /** Directory local `file:` media may come from; unset refuses local files. */
  mediaRoot?: string;
  /** Largest decoded medium accepted. */
  maxMediaBytes: number;
  /** Pixel and audio-length limits, checked on the headers. */
  limits: MediaLimits;
}

export interface ParsedChat {
  inputs: Set<Modality>;
  outputs: Set<Modality>;
  messages: ChatMessage[];
  images: MediaInput[];
  audios: MediaInput[];
  params: GenerationParams;
  stream: boolean;
  includeUsage: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string, param: string, what: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length === 0 || clean.length % 4 !== 0 || !BASE64.test(clean)) {
    throw new ApiError(400, 'invalid_base64', `${param} is not valid base64 ${what}`, param);
  }
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/** The image's header: a supported format within the pixel limit, or a 400 that says which. */
function checkedImage(bytes: Uint8Array, param: string, limits: MediaLimits): MediaInput {
  try {
    const header = inspectImage(bytes);
    checkImageLimits(header, limits);
    return { bytes, mime: IMAGE_MIME[header.format] };
  } catch (err) {
    if (err instanceof MediaLimitError) throw new ApiError(400, 'image_too_many_pixels', `${param}: ${err.message}`, param);
    if (err instanceof MediaFormatError) throw new ApiError(400, 'unsupported_image', `${param}: ${err.message}`, param);
    throw err;
  }
}

async function loadImage(url: string, param: string, media: MediaOptions): Promise<MediaInput> {
  const data = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (data) {
    if (!/;base64$/.test(data[2]))
      throw new ApiError(
        400,
        'invalid_image_url',
        `${param} must be a base64 data URL (data:image/png;base64,… or data:image/jpeg;base64,…)`,
        param,
      );
    const bytes = decodeBase64(data[3], param, 'image data');
    if (bytes.length > media.maxMediaBytes)
      throw new ApiError(413, 'image_too_large', `${param} is over ${media.maxMediaBytes} bytes`, param);
    return checkedImage(bytes, param, media.limits);
  }
  if (/^https?:/i.test(url)) {
    throw new ApiError(
      400,
      'remote_url_not_supported',
      `${param}: remote image URLs are not fetched (this server makes no outbound requests); send the image as a data: URL or a local file: URL`,
      param,
    );
  }
  if (url.startsWith('file:') || isAbsolute(url)) {
    if (!media.mediaRoot)
      throw new ApiError(
        400,
        'local_files_disabled',
        `${param}: local files are not served; start the server with --media-root DIR to allow files under DIR`,
        param,
      );
    let path: string;
    try {
      path = await realpath(url.startsWith('file:') ? fileURLToPath(url) : url);
    } catch {
      throw new ApiError(400, 'file_not_found', `${param}: no such file under the media root`, param);
    }
    const root = await realpath(media.mediaRoot);
    const rel = relative(root, path);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new ApiError(400, 'file_outside_media_root', `${param}: the file is outside the media root`, param);
    const bytes = new Uint8Array(await readFile(resolve(root, rel)));
    if (bytes.length > media.maxMediaBytes)
      throw new ApiError(413, 'image_too_large', `${param} is over ${media.maxMediaBytes} bytes`, param);
    return checkedImage(bytes, param, media.limits);
  }
  throw new ApiError(400, 'invalid_image_url', `${param} must be a data: URL or a file: URL`, param);
}

function loadAudio(part: { data: string; format: string }, param: string, media: MediaOptions): MediaInput {
  if (part.format !== 'wav')
    throw new ApiError(
      400,
      'unsupported_audio_format',
      `${param}.format '${part.format}' is not supported; send WAV ('wav')`,
      `${param}.format`,
    );
  const bytes = decodeBase64(part.data, `${param}.data`, 'audio data');
  if (bytes.length > media.maxMediaBytes)
    throw new ApiError(413, 'audio_too_large', `${param}.data is over ${media.maxMediaBytes} bytes`, `${param}.data`);
  try {
    checkAudioLimits(inspectWav(bytes), media.limits);
  } catch (err) {
    if (err instanceof MediaLimitError) throw new ApiError(400, 'audio_too_long', `${param}.data: ${err.message}`, `${param}.data`);
    if (err instanceof MediaFormatError)
      throw new ApiError(400, 'invalid_audio', `${param}.data is not a WAV file this server reads: ${err.message}`, `${param}.data`);
    throw err;
  }
  return { bytes, mime: 'audio/wav' };
}

/** Turns a checked body into modalities, messages and media; throws ApiError for bad media. */
export async function parseChatRequest(body: ChatRequestBody, media: MediaOptions): Promise<ParsedChat> {
  const inputs = new Set<Modality>();
  const images: MediaInput[] = [];
  const audios: MediaInput[] = [];
  const messages: ChatMessage[] = [];
  for (const [m, msg] of body.messages.entries()) {
    const content: ContentRef[] = [];
    const parts: Part[] = typeof msg.content === 'string' ? [{ type: 'text', text: msg.content }] : (msg.content ?? []);
    for (const [p, part] of parts.entries()) {
      const param = `messages[${m}].content[${p}]`;
      if (part.type === 'text') {
        content.push({ type: 'text', text: part.text });
        if (part.text.length > 0) inputs.add('text');
      } else if (part.type === 'image_url') {
        images.push(await loadImage(part.image_url.url, `${param}.image_url.url`, media));
        content.push({ type: 'image', index: images.length - 1 });
        inputs.add('image');
      } else {
        audios.push(loadAudio(part.input_audio, `${param}.input_audio`, media));
        content.push({ type: 'audio', index: audios.length - 1 });
        inputs.add('audio');
      }
    }
    messages.push({ role: msg.role, content });
  }
  const outputs = new Set<Modality>(body.modalities ?? ['text']);
  const params: GenerationParams = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) params.maxTokens = maxTokens;
  if (body.temperature != null) params.temperature = body.temperature;
  if (body.top_p != null) params.topP = body.top_p;
  if (body.seed != null) params.seed = body.seed;
  if (body.image) params.image = { ...body.image };
  if (outputs.has('audio') || body.audio) params.audio = { voice: body.audio?.voice, format: body.audio?.format ?? 'wav' };
  return {
    inputs,
    outputs,
    messages,
    images,
    audios,
    params,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
  };
}
