// What goes to an external engine and how its stream is read back: the request body from an
// invocation's payload, SSE split across arbitrary chunk boundaries, and the finish with usage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chatCompletionBody,
  readStreamEvent,
  SseReader,
  UnforwardableInput,
  type StreamEvent,
} from '../../../src/runtime/dispatcher/openai-forward.js';
import { externalCommand } from '../../../src/runtime/supervisor/external-command.js';

const chunk = (content: string | null, finish: string | null = null): string =>
  JSON.stringify({ choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] });

describe('chatCompletionBody', () => {
  it('joins text parts per message, names the engine model, asks for a stream with usage', () => {
    const body = chatCompletionBody('Qwen/Qwen3-32B', {
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hello, ' },
            { type: 'text', text: 'world' },
          ],
        },
      ],
      params: { maxTokens: 7, temperature: 0, seed: 3 },
    });
    assert.deepEqual(body, {
      model: 'Qwen/Qwen3-32B',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello, world' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 7,
      temperature: 0,
      seed: 3,
    });
  });

  it('refuses media it cannot forward', () => {
    assert.throws(
      () => chatCompletionBody('m', { messages: [{ role: 'user', content: [{ type: 'image', index: 0 }] }], params: {} }),
      UnforwardableInput,
    );
  });
});

describe('reading the engine stream', () => {
  it('splits events across any chunk boundary and turns them into text, then finish with usage, then end', () => {
    const stream = [
      `data: ${chunk('Hel')}\n\n`,
      `data: ${chunk('lo')}\r\n\r\n`,
      `: keep-alive\n\n`,
      `data: ${chunk(null, 'length')}\n\n`,
      `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } })}\n\n`,
      'data: [DONE]\n\n',
    ].join('');
    for (const size of [1, 3, 7, stream.length]) {
      const reader = new SseReader();
      const state = {};
      const events: StreamEvent[] = [];
      for (let i = 0; i < stream.length; i += size)
        for (const data of reader.push(stream.slice(i, i + size))) events.push(...readStreamEvent(data, state));
      assert.deepEqual(
        events,
        [
          { kind: 'part', part: { kind: 'text', text: 'Hel' } },
          { kind: 'part', part: { kind: 'text', text: 'lo' } },
          { kind: 'part', part: { kind: 'finish', reason: 'length', promptTokens: 5, completionTokens: 2 } },
          { kind: 'end' },
        ],
        `chunks of ${size}`,
      );
    }
  });

  it('an engine that sends no usage still finishes at [DONE]; an error event is an error', () => {
    const state = {};
    assert.deepEqual(readStreamEvent(chunk('x', 'stop'), state), [{ kind: 'part', part: { kind: 'text', text: 'x' } }]);
    assert.deepEqual(readStreamEvent('[DONE]', state), [{ kind: 'part', part: { kind: 'finish', reason: 'stop' } }, { kind: 'end' }]);
    assert.deepEqual(readStreamEvent(JSON.stringify({ error: { message: 'CUDA out of memory' } }), {}), [
      { kind: 'error', message: 'CUDA out of memory' },
    ]);
    assert.equal(readStreamEvent('not json', {})[0].kind, 'error');
  });
});

describe('externalCommand', () => {
  it('fills every placeholder in every word, without a shell', () => {
    const cmd = externalCommand(
      { command: '  vllm serve {model}  --tensor-parallel-size {tp} --host {host} --port {port} --x=$HOME;{tp}', model: 'Qwen/Qwen3-32B' },
      { tp: '4', port: '8123', host: '127.0.0.1' },
    );
    assert.deepEqual(cmd, {
      file: 'vllm',
      args: ['serve', 'Qwen/Qwen3-32B', '--tensor-parallel-size', '4', '--host', '127.0.0.1', '--port', '8123', '--x=$HOME;4'],
    });
  });
});
