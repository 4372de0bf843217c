// Byte-level tokenizer: token ids 0–255 are the UTF-8 bytes of the text, then three specials.
// Any string round-trips, and the vocabulary is small enough for the tiny LLM's output layer.

export const BOS_ID = 256;
export const EOS_ID = 257;
export const PAD_ID = 258;
export const VOCAB_SIZE = 259;

export function encodeText(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
  const ids = Array.from(new TextEncoder().encode(text));
  if (options.bos ?? true) ids.unshift(BOS_ID);
  if (options.eos ?? false) ids.push(EOS_ID);
  return ids;
}

export function isSpecialToken(id: number): boolean {
  return id >= 256;
}

/** Decodes whole sequences; special tokens are dropped, invalid UTF-8 becomes U+FFFD. */
export function decodeTokens(ids: readonly number[]): string {
  return new TextDecoder().decode(Uint8Array.from(ids.filter((id) => !isSpecialToken(id))));
}

/**
 * Decodes tokens as they stream out of the LLM: a multi-byte character split across tokens is
 * held back until its last byte arrives, so every emitted piece is valid text.
 */
export class StreamingTextDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  push(id: number): string {
    if (isSpecialToken(id)) return '';
    return this.decoder.decode(Uint8Array.of(id), { stream: true });
  }

  end(): string {
    return this.decoder.decode();
  }
}
