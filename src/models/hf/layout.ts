// The input and output names of the Hugging Face ONNX export layout (Optimum / transformers.js)
// that the hf-* engines drive and the tiny builders reproduce: one definition for both.
import { LLM_INPUT, LLM_OUTPUT } from '../llm.js';

/**
 * Decoder-only LLMs: the demo LLM already uses these names (its KV names too: pastName and
 * presentName in ../llm.ts), so the LLM executor drives both.
 */
export const HF_DECODER_IO = { ...LLM_INPUT, logits: LLM_OUTPUT.logits } as const;
export const HF_VISION_IO = { pixels: 'pixel_values', pixelMask: 'pixel_attention_mask', features: 'image_features' } as const;

export const WHISPER_IO = {
  features: 'input_features',
  encoderOut: 'last_hidden_state',
  inputIds: 'input_ids',
  encoderStates: 'encoder_hidden_states',
  useCache: 'use_cache_branch',
  logits: 'logits',
} as const;

export const whisperPastName = (layer: number, part: 'decoder' | 'encoder', kind: 'key' | 'value'): string =>
  `past_key_values.${layer}.${part}.${kind}`;
export const whisperPresentName = (layer: number, part: 'decoder' | 'encoder', kind: 'key' | 'value'): string =>
  `present.${layer}.${part}.${kind}`;
