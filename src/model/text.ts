/**
 * @file Text models: the only module that imports @huggingface/tokenizers. Tokenizes a batch
 * of texts with the bundle's tokenizer.json, truncates to max_length, pads to the longest
 * sequence in the batch (not the global max), and keeps each token's character span in the
 * original text so entities can be reported with their offsets.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { BentoError } from '../errors.js';

export interface TextOptions {
  readonly maxLength: number;
  readonly truncation: boolean;
  readonly tokenTypeIds: boolean;
}

/** One tokenized text: its tokens, whether each is special, the word it belongs to, and its span. */
export interface TokenInfo {
  /** The original text the spans index into. */
  readonly text: string;
  readonly tokens: readonly string[];
  readonly special: readonly boolean[];
  /** Index of the word a token belongs to (subwords share their word's index); -1 for special tokens. */
  readonly words: readonly number[];
  /** [start, end) in the original text; [-1, -1] for special tokens. */
  readonly spans: readonly (readonly [number, number])[];
}

export interface EncodedBatch {
  readonly sequence: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array | undefined;
  readonly info: TokenInfo[];
}

export class TextEncoder {
  readonly #tokenizer: Tokenizer;
  readonly #special: Set<string>;
  readonly #pad: number;
  readonly #lowercase: boolean;

  private constructor(tokenizer: Tokenizer, json: { added_tokens?: { id: number; content: string; special?: boolean }[]; normalizer?: { lowercase?: boolean; type?: string } }, config: Record<string, unknown>) {
    this.#tokenizer = tokenizer;
    this.#special = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.content));
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : '[PAD]';
    this.#pad = json.added_tokens?.find((t) => t.content === padToken)?.id ?? 0;
    this.#lowercase = json.normalizer?.lowercase ?? config.do_lower_case === true;
  }

  /** Loads tokenizer.json (and tokenizer_config.json when present) from a bundle directory. */
  static async load(dir: string, file: string): Promise<TextEncoder> {
    const path = join(dir, file);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new BentoError('MODEL_NOT_FOUND', `Tokenizer ${path} cannot be read: ${(error as Error).message}`, { file: path, hint: 'Ship tokenizer.json in the bundle (bento-batch pack --file tokenizer.json).' });
    }
    const configText = await readFile(join(dir, 'tokenizer_config.json'), 'utf8').catch(() => '{}');
    const config = JSON.parse(configText) as Record<string, unknown>;
    return new TextEncoder(new Tokenizer(json as object, config), json as never, config);
  }

  /** Encodes `texts` (null means empty), padded to the batch's longest sequence. */
  /** `fail` may throw, or record the row and return: the text is then truncated anyway. */
  encode(texts: readonly (string | null)[], options: TextOptions, fail: (i: number, why: string) => void): EncodedBatch {
    const encoded = texts.map((text, i) => {
      const e = this.#tokenizer.encode(text ?? '', { return_token_type_ids: options.tokenTypeIds });
      let ids = e.ids;
      let tokens = e.tokens;
      let types = e.token_type_ids;
      if (ids.length > options.maxLength) {
        if (!options.truncation) fail(i, `has ${ids.length} tokens, more than max_length ${options.maxLength} (truncation is off)`);
        // Keep the closing special token ([SEP]) as the tokenizer's template put it there.
        const last = this.#special.has(tokens.at(-1)!) ? 1 : 0;
        ids = [...ids.slice(0, options.maxLength - last), ...ids.slice(ids.length - last)];
        tokens = [...tokens.slice(0, options.maxLength - last), ...tokens.slice(tokens.length - last)];
        types = types ? [...types.slice(0, options.maxLength - last), ...types.slice(types.length - last)] : undefined;
      }
      return { ids, tokens, types, info: this.#align(text ?? '', tokens) };
    });
    const sequence = Math.max(1, ...encoded.map((e) => e.ids.length));
    const inputIds = new BigInt64Array(texts.length * sequence).fill(BigInt(this.#pad));
    const attentionMask = new BigInt64Array(texts.length * sequence);
    const tokenTypeIds = options.tokenTypeIds ? new BigInt64Array(texts.length * sequence) : undefined;
    encoded.forEach((e, r) => {
      for (let k = 0; k < e.ids.length; k++) {
        inputIds[r * sequence + k] = BigInt(e.ids[k]!);
        attentionMask[r * sequence + k] = 1n;
        if (tokenTypeIds) tokenTypeIds[r * sequence + k] = BigInt(e.types?.[k] ?? 0);
      }
    });
    return { sequence, inputIds, attentionMask, tokenTypeIds, info: encoded.map((e) => e.info) };
  }

  /**
   * Finds each token in the original text. tokenizers.js returns no offsets, so the tokens are
   * matched in order against the text normalized the way a BERT normalizer does (lowercase,
   * accents stripped), keeping a map from normalized characters back to original positions.
   */
  #align(text: string, tokens: readonly string[]): TokenInfo {
    let normalized = '';
    const origin: number[] = [];
    for (let i = 0; i < text.length; i++) {
      let c = text[i]!;
      if (this.#lowercase) c = c.normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
      for (const ch of c) {
        normalized += ch;
        origin.push(i);
      }
    }
    origin.push(text.length);
    const special: boolean[] = [];
    const words: number[] = [];
    const spans: [number, number][] = [];
    let cursor = 0;
    let word = -1;
    for (const token of tokens) {
      if (this.#special.has(token) && token !== '[UNK]') {
        special.push(true);
        words.push(-1);
        spans.push([-1, -1]);
        continue;
      }
      const sub = token.startsWith('##');
      const piece = sub ? token.slice(2) : token;
      if (!sub) {
        word++;
        while (cursor < normalized.length && /\s/.test(normalized[cursor]!)) cursor++;
      }
      let start = cursor;
      let end: number;
      if (token === '[UNK]') {
        // An unknown word covers one pre-token: a punctuation mark or a CJK ideograph (BERT splits
        // those one by one), or a run up to space, punctuation or an ideograph.
        const width = (at: number) => (normalized.codePointAt(at)! > 0xffff ? 2 : 1);
        end = start + width(start);
        if (!splitAlone(normalized.codePointAt(start))) {
          while (end < normalized.length && !/\s/.test(normalized[end]!) && !splitAlone(normalized.codePointAt(end))) end += width(end);
        }
      } else {
        const found = normalized.indexOf(piece, cursor);
        start = found === -1 ? cursor : found;
        end = found === -1 ? cursor : found + piece.length;
      }
      cursor = end;
      special.push(false);
      words.push(word);
      spans.push([origin[start]!, origin[end]!]);
    }
    return { text, tokens, special, words, spans };
  }
}

/**
 * Characters BERT's pre-tokenizer splits off one by one: ASCII punctuation and symbols (`$`, `+`,
 * `<`, `=`, … as well as `.` and `,`), Unicode punctuation, and the CJK ideographs its normalizer
 * spaces out (the ranges of BERT's _is_chinese_char; 〇 and other Han outside them are letters).
 */
function splitAlone(c: number | undefined): boolean {
  if (c === undefined) return false;
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  if (/\p{P}/u.test(String.fromCodePoint(c))) return true;
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f)
    || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}
