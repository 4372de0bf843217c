// The tiny SmolVLM folder's tokenizer and chat template, run by @huggingface/tokenizers and
// @huggingface/jinja: the rendered template survives encode → decode unchanged, special tokens
// are single ids, and a broken folder is reported with the file at fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HfChat, StreamingDetokenizer } from '../../../src/models/hf/chat.js';
import { hfFolderOfGraph, readJsonFile } from '../../../src/models/hf/folder.js';
import { idefics3ImagePrompt } from '../../../src/models/hf/idefics3-image.js';
import { TINY_SMOLVLM_SPECIAL_TOKENS } from '../../../src/models/hf/tiny-smolvlm.js';

const FOLDER = 'fixtures/hf/tiny-smolvlm';

test('the chat template renders Idefics3 turns and round-trips through the tokenizer', () => {
  const chat = HfChat.load(FOLDER);
  const rendered = chat.render([
    { role: 'system', content: [{ type: 'text', text: 'Answer briefly.' }] },
    { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture? ünïcode 🙂' }] },
  ]);
  assert.equal(
    rendered,
    '<|im_start|>System: Answer briefly.<end_of_utterance>\nUser:<image>What is in the picture? ünïcode 🙂<end_of_utterance>\nAssistant:',
  );
  const expanded = rendered.replace('<image>', idefics3ImagePrompt(1, 2, 4));
  const ids = chat.encode(expanded);
  assert.equal(chat.decode(ids, false), expanded);
  // BPE merges apply: fewer ids than bytes of ordinary text.
  assert.ok(chat.encode('Describe this image in one sentence.').length < 'Describe this image in one sentence.'.length / 2);
  for (const special of TINY_SMOLVLM_SPECIAL_TOKENS) assert.deepEqual(chat.encode(special), [chat.tokenId(special)]);
  const imageId = readJsonFile(join(FOLDER, 'config.json')).image_token_id;
  assert.equal(ids.filter((id) => id === imageId).length, 3 * 4);
  assert.equal(chat.decode(ids), 'System: Answer briefly.\nUser:\n\nWhat is in the picture? ünïcode 🙂\nAssistant:');
});

test('streamed detokenization gives the same text as decoding at once, holding back split characters', () => {
  const chat = HfChat.load(FOLDER);
  const text = 'Hello world 🙂 ünïcode, the tiny model.';
  const ids = chat.encode(text);
  const stream = new StreamingDetokenizer(chat);
  const pieces = ids.map((id) => stream.push(id));
  pieces.push(stream.end());
  assert.equal(pieces.join(''), text);
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
});

test('a folder without a chat template, or with a broken tokenizer.json, names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-hf-chat-'));
  try {
    cpSync(FOLDER, dir, { recursive: true });
    const config = readJsonFile(join(dir, 'tokenizer_config.json'));
    delete config.chat_template;
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    assert.throws(() => HfChat.load(dir), /no chat template \(looked for chat_template\.jinja/);
    writeFileSync(join(dir, 'chat_template.jinja'), '{% for m in messages %}{{ m.role }}{% endfor %}');
    assert.equal(HfChat.load(dir).render([{ role: 'user', content: 'hi' }]), 'user');
    writeFileSync(join(dir, 'tokenizer.json'), '{ "model": ');
    assert.throws(() => HfChat.load(dir), new RegExp(`${join(dir, 'tokenizer.json')}: not valid JSON`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => hfFolderOfGraph('/models/x/decoder_model_merged.onnx'), /sits in the model folder's onnx\/ subfolder/);
});
