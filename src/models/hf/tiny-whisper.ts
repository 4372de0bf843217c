// Writes a tiny random-weight Whisper-style model folder in the Hugging Face ONNX export layout:
// config.json, generation_config.json (decoder start, language, task and no-timestamps tokens),
// preprocessor_config.json (WhisperFeatureExtractor: 80 mel bins, 30 s windows), tokenizer.json
// (byte-level BPE with merges), tokenizer_config.json and onnx/{encoder_model,
// decoder_model_merged}.onnx. Same seed, same bytes (fixtures/hf/tiny-whisper/).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BPE_CORPUS, trainByteLevelBpe } from './bpe-fixture.js';
import { buildWhisperDecoderMerged, buildWhisperEncoder, type TinyWhisperConfig } from './tiny-whisper-graphs.js';

export const TINY_WHISPER_SEED = 20262;

export const TINY_WHISPER_SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|startoftranscript|>',
  '<|en|>',
  '<|translate|>',
  '<|transcribe|>',
  '<|notimestamps|>',
] as const;

/** Whisper's front end and window (80 mel bins, 3000 frames = 30 s at a 10 ms hop), tiny networks. */
export const TINY_WHISPER: TinyWhisperConfig = {
  melBins: 80,
  frames: 3000,
  hidden: 32,
  heads: 2,
  mlp: 64,
  encoderLayers: 1,
  decoderLayers: 2,
  vocab: 512,
  maxTargetPositions: 64,
};

export const TINY_WHISPER_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/encoder_model.onnx',
  'onnx/decoder_model_merged.onnx',
] as const;

const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

export function writeTinyWhisper(dir: string, seed = TINY_WHISPER_SEED): { path: string; bytes: number }[] {
  const c = TINY_WHISPER;
  const specials = TINY_WHISPER_SPECIAL_TOKENS;
  const id = (t: (typeof specials)[number]): number => specials.indexOf(t);
  const files: Record<(typeof TINY_WHISPER_FILES)[number], string | Uint8Array> = {
    'config.json': json({
      architectures: ['WhisperForConditionalGeneration'],
      model_type: 'whisper',
      d_model: c.hidden,
      encoder_layers: c.encoderLayers,
      decoder_layers: c.decoderLayers,
      encoder_attention_heads: c.heads,
      decoder_attention_heads: c.heads,
      encoder_ffn_dim: c.mlp,
      decoder_ffn_dim: c.mlp,
      num_mel_bins: c.melBins,
      max_source_positions: c.frames / 2,
      max_target_positions: c.maxTargetPositions,
      vocab_size: c.vocab,
      bos_token_id: id('<|endoftext|>'),
      eos_token_id: id('<|endoftext|>'),
      pad_token_id: id('<|endoftext|>'),
      decoder_start_token_id: id('<|startoftranscript|>'),
      cornserve_tiny: { seed, note: 'random weights for tests; not a trained model' },
    }),
    'generation_config.json': json({
      decoder_start_token_id: id('<|startoftranscript|>'),
      eos_token_id: id('<|endoftext|>'),
      pad_token_id: id('<|endoftext|>'),
      is_multilingual: true,
      lang_to_id: { '<|en|>': id('<|en|>') },
      task_to_id: { translate: id('<|translate|>'), transcribe: id('<|transcribe|>') },
      no_timestamps_token_id: id('<|notimestamps|>'),
      max_length: c.maxTargetPositions,
    }),
    'preprocessor_config.json': json({
      feature_extractor_type: 'WhisperFeatureExtractor',
      processor_class: 'WhisperProcessor',
      feature_size: c.melBins,
      sampling_rate: 16000,
      hop_length: 160,
      n_fft: 400,
      chunk_length: 30,
      n_samples: 480000,
      nb_max_frames: c.frames,
      padding_side: 'right',
      padding_value: 0,
      return_attention_mask: false,
    }),
    'tokenizer.json': json(trainByteLevelBpe(BPE_CORPUS, c.vocab, specials)),
    'tokenizer_config.json': json({
      tokenizer_class: 'WhisperTokenizer',
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      model_max_length: c.maxTargetPositions,
      additional_special_tokens: specials.slice(1),
    }),
    'onnx/encoder_model.onnx': buildWhisperEncoder(c, seed).bytes,
    'onnx/decoder_model_merged.onnx': buildWhisperDecoderMerged(c, seed).bytes,
  };
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  return TINY_WHISPER_FILES.map((path) => {
    const content = files[path];
    writeFileSync(join(dir, path), content);
    return { path, bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength };
  });
}
