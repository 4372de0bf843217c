import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MediaCache, synthImage } from '../../src/loadgen/media.js';
import { chatBody, promptText, UnsupportedRequestError, withTypeSizes } from '../../src/loadgen/request-body.js';
import { decodePng } from '../../src/models/media.js';
import { decodeWav } from '../../src/models/wav.js';
import { encodeText } from '../../src/models/tokenizer.js';
import type { Plan, RequestType } from '../../src/spec/types.generated.js';

const plan = JSON.parse(readFileSync('plans/demo-local.plan.json', 'utf8')) as Plan;
const typeOf = (name: string): RequestType => plan.model.requestTypes.find((t) => t.name === name)!;
const media = new MediaCache();
const options = { model: 'm', tokenizer: 'bytes' as const, media };

type Part = { type: string; text?: string; image_url?: { url: string }; input_audio?: { data: string; format: string } };
const partsOf = (body: Record<string, unknown>): Part[] => {
  const content = (body.messages as { content: string | Part[] }[])[0].content;
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
};

test('prompts have the requested token count under either tokenizer, and differ between requests', () => {
  for (const n of [1, 5, 32, 700]) {
    // cornserve's byte tokenizer adds BOS; the rest is one token per byte.
    assert.equal(encodeText(promptText(n, 'bytes', 12)).length - 1, n);
    assert.equal(promptText(n, 'words', 12).split(' ').length, n);
  }
  assert.notEqual(promptText(32, 'bytes', 1), promptText(32, 'bytes', 2));
  assert.doesNotMatch(promptText(300, 'words', 7) + promptText(300, 'bytes', 7), /undefined/);
  assert.throws(() => promptText(5, 'bytes', -1), RangeError);
});

test('images are PNGs of the request’s width × height; audio is a WAV of its length', () => {
  const body = chatBody(
    { arrivalS: 0, type: 'i2t', promptTokens: 16, images: 2, imageWidth: 465, imageHeight: 105, outputTokens: 7 },
    3,
    typeOf('i2t'),
    options,
  );
  const parts = partsOf(body);
  assert.deepEqual(
    parts.map((p) => p.type),
    ['text', 'image_url', 'image_url'],
  );
  const png = decodePng(Buffer.from(parts[1].image_url!.url.split(',')[1], 'base64'));
  assert.deepEqual([png.width, png.height], [465, 105]);
  assert.ok(new Set(png.rgb).size > 2, 'the picture is not blank');
  assert.equal(body.max_tokens, 7);
  assert.equal(body.stream, true);
  assert.equal(body.modalities, undefined);

  const audio = chatBody({ arrivalS: 0, type: 'a2t', promptTokens: 16, audioSeconds: 1.5 }, 0, typeOf('a2t'), options);
  const wav = decodeWav(Buffer.from(partsOf(audio)[1].input_audio!.data, 'base64'));
  assert.equal(wav.samples.length / wav.sampleRateHz, 1.5);
  assert.deepEqual([synthImage(8, 8).width, synthImage(8, 8).height], [8, 8]);
});

test('generated outputs ask for their modality, image size and steps; OCR sends only its image', () => {
  const t2i = chatBody(
    { arrivalS: 0, type: 't2i', promptTokens: 16, outputImageWidth: 64, outputImageHeight: 48, diffusionSteps: 4, outputTokens: 1 },
    0,
    typeOf('t2i'),
    options,
  );
  assert.deepEqual(t2i.modalities, ['image']);
  assert.deepEqual(t2i.image, { width: 64, height: 48, steps: 4 });
  const t2a = chatBody({ arrivalS: 0, type: 't2a', promptTokens: 16 }, 0, typeOf('t2a'), options);
  assert.deepEqual(t2a.modalities, ['audio']);
  assert.deepEqual(t2a.audio, { format: 'pcm16' });
  const ocr = chatBody(withTypeSizes({ arrivalS: 0, type: 'ocr' }, typeOf('ocr')), 0, typeOf('ocr'), options);
  assert.deepEqual(
    partsOf(ocr).map((p) => p.type),
    ['image_url'],
  );
  const video: RequestType = { ...typeOf('t2t'), name: 'v2t', inputs: ['video', 'text'] };
  assert.throws(() => chatBody({ arrivalS: 0, type: 'v2t' }, 0, video, options), UnsupportedRequestError);
});

test('sizes a trace leaves out come from the type; the ones it has are kept', () => {
  const filled = withTypeSizes({ arrivalS: 0, type: 'ocr', imageWidth: 100 }, typeOf('ocr'));
  assert.deepEqual(filled, { arrivalS: 0, type: 'ocr', imageWidth: 100, imageHeight: 105, images: 1 });
});
