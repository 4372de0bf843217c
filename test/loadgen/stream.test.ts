import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnswerObserver, SseReader, timePerOutputTokenMs } from '../../src/loadgen/stream.js';

const event = (delta: Record<string, unknown>): string => JSON.stringify({ choices: [{ index: 0, delta }] });

test('SSE events split across chunks come out whole, in order', () => {
  const sse = new SseReader();
  assert.deepEqual(sse.push('data: {"a":1}\n\nda'), ['{"a":1}']);
  assert.deepEqual(sse.push('ta: {"b":2}\r\n\r\n: comment\n\ndata: [DONE]\n'), ['{"b":2}']);
  assert.deepEqual(sse.push('\n'), ['[DONE]']);
  assert.equal(sse.pending, '');
});

test('text deltas give TTFT and TPOT; audio and image deltas their first arrival; usage its counts', () => {
  const o = new AnswerObserver();
  o.event(event({ role: 'assistant', content: '' }), 1);
  o.event(event({ content: 'He' }), 10);
  o.event(event({ content: 'll' }), 14);
  o.event(event({ content: 'o' }), 22);
  o.event(JSON.stringify({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 5 } }), 23);
  o.event('[DONE]', 23);
  const t = o.result();
  assert.equal(t.firstTokenMs, 10);
  assert.equal(t.lastTokenMs, 22);
  assert.equal(t.textDeltas, 3);
  assert.equal(t.done, true);
  assert.equal(t.completionTokens, 5);
  assert.equal(timePerOutputTokenMs(t), 3);

  const audio = new AnswerObserver();
  audio.event(event({ audio: { id: 'a', transcript: 'hi' } }), 5);
  audio.event(event({ audio: { id: 'a', data: 'AAAA' } }), 8);
  audio.event(event({ content: [{ type: 'image_url', image_url: { url: 'data:' } }] }), 9);
  assert.equal(audio.result().firstAudioMs, 8);
  assert.equal(audio.result().firstImageMs, 9);
  assert.equal(audio.result().done, false);
  // One text delta: no decode pace to measure.
  assert.equal(timePerOutputTokenMs(audio.result()), undefined);
});

test('an error event or a broken one is reported, the first one kept', () => {
  const o = new AnswerObserver();
  o.event(JSON.stringify({ error: { message: 'executor crashed', type: 'server_error' } }), 3);
  o.event('{not json', 4);
  assert.equal(o.result().error, 'executor crashed');
  const p = new AnswerObserver();
  p.event('{not json', 4);
  assert.match(p.result().error!, /not JSON/);
});
