// Writes a real byte-level BPE `tokenizer.json` (the Hugging Face tokenizers format: vocabulary,
// ranked merges, ByteLevel pre-tokenizer and decoder, added special tokens) for the tiny
// HF-layout test models. The merges are learnt from a small built-in corpus by the classic
// procedure (count adjacent symbol pairs over pre-tokenized words, merge the most frequent, repeat)
// so the file is one a tokenizer library must really apply, not a character table. This only
// makes a fixture: encoding and decoding at serving time are @huggingface/tokenizers' own.
import * as tokenizers from '@huggingface/tokenizers';

// The package exports its ByteLevel pre-tokenizer at run time, but its type declarations re-export
// it through `export *` from an extensionless path that NodeNext resolution does not follow.
const { ByteLevelPreTokenizer } = tokenizers as unknown as {
  ByteLevelPreTokenizer: new (config: object) => { byte_encoder: Record<number, string>; pre_tokenize_text(text: string): string[] };
};

/** Text the merges are learnt from: chat turns and words the tests and the README use. */
export const BPE_CORPUS = [
  'User: Describe this image in one sentence.',
  'Assistant: The picture shows a small red square on a white background.',
  'User: What is in the picture? Answer with a short sentence.',
  'Assistant: There is a cat sitting on the table next to the window.',
  'User: Transcribe the audio, please.',
  'Assistant: Hello world, this is a test of the speech recognition model.',
  'The planner chooses units, replicas and placement; the executors serve the plan.',
  'Images are resized, rescaled, normalised and split into tiles before the vision encoder runs.',
  'The decoder generates one token at a time with a key and value cache for every layer.',
  'Continuous batching lets many requests share each step of the language model.',
  'Tiny models with random weights are enough to test the whole serving path end to end.',
  'Say hello to the tiny model and tell me what you see in these images and sounds.',
  'the of and to in is that it for on with as was at by this be are from or an have not',
  'one two three four five six seven eight nine ten hundred thousand first second third',
].join('\n');

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface BpeTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  post_processor: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  decoder: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: [string, string][];
  };
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } as const;

/**
 * A byte-level BPE tokenizer of exactly `vocabSize` entries: the special tokens first (ids
 * 0…k−1, in the order given), then the 256 byte symbols, then learnt merges until the vocabulary
 * is full. Ties between equally frequent pairs go to the lexicographically smallest pair, so the
 * same corpus always gives the same file.
 */
export function trainByteLevelBpe(corpus: string, vocabSize: number, specialTokens: readonly string[]): BpeTokenizerJson {
  const pre = new ByteLevelPreTokenizer({ ...BYTE_LEVEL });
  const byteSymbols = Array.from({ length: 256 }, (_, b) => pre.byte_encoder[b]);
  const vocab: Record<string, number> = {};
  specialTokens.forEach((t, i) => (vocab[t] = i));
  byteSymbols.forEach((s) => (vocab[s] = Object.keys(vocab).length));
  if (Object.keys(vocab).length > vocabSize)
    throw new Error(`a vocabulary of ${vocabSize} cannot hold ${specialTokens.length} special tokens and 256 bytes`);

  const wordCounts = new Map<string, number>();
  for (const word of pre.pre_tokenize_text(corpus)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  const words = [...wordCounts].map(([w, count]) => ({ symbols: [...w], count }));
  const merges: [string, string][] = [];
  while (Object.keys(vocab).length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, count] of pairs) {
      if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined) throw new Error(`the corpus runs out of pairs to merge at ${Object.keys(vocab).length} of ${vocabSize} tokens`);
    const [left, right] = best.split(' ') as [string, string];
    merges.push([left, right]);
    vocab[left + right] = Object.keys(vocab).length;
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === left && w.symbols[i + 1] === right) {
          next.push(left + right);
          i++;
        } else next.push(w.symbols[i]);
      }
      w.symbols = next;
    }
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { ...BYTE_LEVEL },
    post_processor: { ...BYTE_LEVEL, trim_offsets: false },
    decoder: { ...BYTE_LEVEL },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
