// Writes a tiny random-weight SmolVLM-style (Idefics3) model folder in the Hugging Face ONNX
// export layout: config.json, generation_config.json, preprocessor_config.json,
// processor_config.json, tokenizer.json (byte-level BPE with merges), tokenizer_config.json
// (special tokens and the chat template) and onnx/{vision_encoder,embed_tokens,
// decoder_model_merged}.onnx. Same seed, same bytes: the committed copy under
// fixtures/hf/tiny-smolvlm/ is checked against a rebuild.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BPE_CORPUS, trainByteLevelBpe } from './bpe-fixture.js';
import {
  buildDecoderMerged,
  buildEmbedTokens,
  buildVisionEncoder,
  visionTokensPerFrame,
  type TinyDecoderConfig,
  type TinyVisionConfig,
} from './tiny-graphs.js';

export const TINY_SMOLVLM_SEED = 20261;

/** Idefics3's special tokens, with tile markers for up to a 2 × 2 grid (the tiny longest edge is 2 tiles). */
export const TINY_SMOLVLM_SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<end_of_utterance>',
  '<fake_token_around_image>',
  '<image>',
  '<global-img>',
  '<row_1_col_1>',
  '<row_1_col_2>',
  '<row_2_col_1>',
  '<row_2_col_2>',
] as const;

/**
 * The chat template: Idefics3's turn format (`<|im_start|>`, then per message `Role:` and its
 * parts with `<image>` where an image goes, closed by `<end_of_utterance>` and a newline, then
 * `Assistant:` to prompt the answer), written for this fixture.
 */
export const TINY_SMOLVLM_CHAT_TEMPLATE = [
  '<|im_start|>',
  '{% for message in messages %}',
  "{{ message['role'] | capitalize }}",
  "{% if message['content'] is string %}: {{ message['content'] }}",
  "{% else %}{% if message['content'][0]['type'] == 'image' %}:{% else %}: {% endif %}",
  "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% elif part['type'] == 'image' %}<image>{% endif %}{% endfor %}",
  '{% endif %}<end_of_utterance>\n',
  '{% endfor %}',
  '{% if add_generation_prompt %}Assistant:{% endif %}',
].join('');

export const TINY_SMOLVLM = {
  vocab: 512,
  text: { hidden: 32, heads: 2, mlp: 64, layers: 2, maxPositions: 512 } satisfies Omit<TinyDecoderConfig, 'vocab'>,
  vision: {
    imageSize: 32,
    patchSize: 8,
    hidden: 32,
    heads: 2,
    mlp: 64,
    layers: 1,
    scaleFactor: 2,
    textHidden: 32,
  } satisfies TinyVisionConfig,
  /** size.longest_edge: images are first resized so their longest side is 2 tiles. */
  longestEdge: 64,
};

export const TINY_SMOLVLM_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/vision_encoder.onnx',
  'onnx/embed_tokens.onnx',
  'onnx/decoder_model_merged.onnx',
] as const;

const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

/** Writes the folder; returns each file's path relative to `dir` and its size. */
export function writeTinySmolVlm(dir: string, seed = TINY_SMOLVLM_SEED): { path: string; bytes: number }[] {
  const specials = TINY_SMOLVLM_SPECIAL_TOKENS;
  const id = (t: (typeof specials)[number]): number => specials.indexOf(t);
  const tokenizer = trainByteLevelBpe(BPE_CORPUS, TINY_SMOLVLM.vocab, specials);
  const text: TinyDecoderConfig = { ...TINY_SMOLVLM.text, vocab: TINY_SMOLVLM.vocab };
  const v = TINY_SMOLVLM.vision;
  const files: Record<(typeof TINY_SMOLVLM_FILES)[number], string | Uint8Array> = {
    'config.json': json({
      architectures: ['Idefics3ForConditionalGeneration'],
      model_type: 'idefics3',
      image_token_id: id('<image>'),
      scale_factor: v.scaleFactor,
      text_config: {
        model_type: 'llama',
        vocab_size: text.vocab,
        hidden_size: text.hidden,
        intermediate_size: text.mlp,
        num_hidden_layers: text.layers,
        num_attention_heads: text.heads,
        num_key_value_heads: text.heads,
        head_dim: text.hidden / text.heads,
        max_position_embeddings: text.maxPositions,
      },
      vision_config: {
        model_type: 'idefics3_vision',
        hidden_size: v.hidden,
        intermediate_size: v.mlp,
        num_hidden_layers: v.layers,
        num_attention_heads: v.heads,
        image_size: v.imageSize,
        patch_size: v.patchSize,
      },
      cornserve_tiny: { seed, note: 'random weights for tests; not a trained model' },
    }),
    'generation_config.json': json({
      bos_token_id: id('<|im_start|>'),
      eos_token_id: [id('<end_of_utterance>'), id('<|endoftext|>')],
      pad_token_id: id('<|endoftext|>'),
    }),
    'preprocessor_config.json': json({
      image_processor_type: 'Idefics3ImageProcessor',
      do_convert_rgb: true,
      do_resize: true,
      size: { longest_edge: TINY_SMOLVLM.longestEdge },
      resample: 1,
      do_image_splitting: true,
      max_image_size: { longest_edge: v.imageSize },
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [0.5, 0.5, 0.5],
      image_std: [0.5, 0.5, 0.5],
      do_pad: true,
    }),
    'processor_config.json': json({ processor_class: 'Idefics3Processor', image_seq_len: visionTokensPerFrame(v) }),
    'tokenizer.json': json(tokenizer),
    'tokenizer_config.json': json({
      tokenizer_class: 'GPT2Tokenizer',
      bos_token: '<|im_start|>',
      eos_token: '<end_of_utterance>',
      pad_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      add_bos_token: false,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      model_max_length: text.maxPositions,
      additional_special_tokens: specials.slice(2),
      chat_template: TINY_SMOLVLM_CHAT_TEMPLATE,
    }),
    'onnx/vision_encoder.onnx': buildVisionEncoder(v, seed).bytes,
    'onnx/embed_tokens.onnx': buildEmbedTokens(text, seed).bytes,
    'onnx/decoder_model_merged.onnx': buildDecoderMerged(text, seed).bytes,
  };
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  return TINY_SMOLVLM_FILES.map((path) => {
    const content = files[path];
    writeFileSync(join(dir, path), content);
    return { path, bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength };
  });
}
