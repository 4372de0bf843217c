import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BOS_ID, decodeTokens, encodeText, EOS_ID, StreamingTextDecoder, VOCAB_SIZE } from '../../src/models/tokenizer.js';

test('any string round-trips through the byte tokenizer', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (text) => {
      const ids = encodeText(text, { bos: true, eos: true });
      assert.equal(ids[0], BOS_ID);
      assert.equal(ids[ids.length - 1], EOS_ID);
      assert.ok(ids.every((id) => id >= 0 && id < VOCAB_SIZE));
      assert.equal(decodeTokens(ids), text);
    }),
  );
});

test('streaming decode holds back a split multi-byte character until it is whole', () => {
  const ids = encodeText('né 🚀', { bos: false });
  const decoder = new StreamingTextDecoder();
  const pieces = ids.map((id) => decoder.push(id));
  assert.deepEqual(pieces, ['n', '', 'é', ' ', '', '', '', '🚀']);
  assert.equal(pieces.join('') + decoder.end(), 'né 🚀');
  assert.equal(decoder.push(EOS_ID), '');
});
