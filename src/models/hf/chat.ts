// The tokenizer and chat template of a Hugging Face model folder, run by the Hugging Face JS
// libraries (@huggingface/tokenizers for tokenizer.json, @huggingface/jinja for the template):
// messages → prompt text → token ids, and generated ids → text, streamed.
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { readChatTemplate, readJsonFile, type JsonObject } from './folder.js';

/** A message as chat templates take it: text, or parts where `{ type: 'image' }` marks an image. */
export interface TemplateMessage {
  role: string;
  content: string | ({ type: 'text'; text: string } | { type: 'image' } | { type: 'audio' })[];
}

/** tokenizer.json and tokenizer_config.json of a model folder, through @huggingface/tokenizers. */
export class HfTokenizer {
  readonly tokenizer: Tokenizer;

  constructor(
    readonly dir: string,
    readonly tokenizerConfig: JsonObject,
    tokenizerJson: JsonObject,
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  }

  static load(dir: string): HfTokenizer {
    return new HfTokenizer(dir, readJsonFile(join(dir, 'tokenizer_config.json')), readJsonFile(join(dir, 'tokenizer.json')));
  }

  /** Token ids of text, special tokens included as written, none added. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], skipSpecial = true): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecial });
  }

  tokenId(token: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw new Error(`${this.dir}: tokenizer.json has no token ${token}`);
    return id;
  }
}

/** The tokenizer plus the folder's chat template, run by @huggingface/jinja. */
export class HfChat extends HfTokenizer {
  private readonly template: Template;

  constructor(dir: string, tokenizerConfig: JsonObject, tokenizerJson: JsonObject, templateText: string) {
    super(dir, tokenizerConfig, tokenizerJson);
    try {
      this.template = new Template(templateText);
    } catch (err) {
      throw new Error(`${dir}: the chat template does not parse (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
  }

  static override load(dir: string): HfChat {
    const tokenizerConfig = readJsonFile(join(dir, 'tokenizer_config.json'));
    return new HfChat(dir, tokenizerConfig, readJsonFile(join(dir, 'tokenizer.json')), readChatTemplate(dir, tokenizerConfig));
  }

  /** The prompt text the model was trained on for these messages, ending with the answer's cue. */
  render(messages: readonly TemplateMessage[]): string {
    const special = (name: string): string | undefined => {
      const v = this.tokenizerConfig[name];
      return typeof v === 'string'
        ? v
        : typeof v === 'object' && v !== null && typeof (v as JsonObject).content === 'string'
          ? ((v as JsonObject).content as string)
          : undefined;
    };
    return this.template.render({
      messages,
      add_generation_prompt: true,
      bos_token: special('bos_token') ?? '',
      eos_token: special('eos_token') ?? '',
    });
  }
}

/**
 * Text of generated ids as it grows: each push returns the new characters. The whole sequence is
 * decoded again each time (byte-level BPE pieces only make characters together), and a trailing
 * replacement character, an incomplete UTF-8 sequence, waits for the next token.
 */
export class StreamingDetokenizer {
  private readonly ids: number[] = [];
  private sent = 0;

  constructor(private readonly chat: Pick<HfTokenizer, 'decode'>) {}

  push(id: number): string {
    this.ids.push(id);
    const text = this.chat.decode(this.ids);
    if (text.endsWith('\uFFFD')) return '';
    return this.take(text);
  }

  end(): string {
    return this.take(this.chat.decode(this.ids));
  }

  private take(text: string): string {
    const piece = text.slice(this.sent);
    this.sent = text.length;
    return piece;
  }
}
