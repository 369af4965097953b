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
  /** A model whose token inputs have a fixed length (exported from padding="max_length"): every row is padded to it. */
  readonly padTo?: number;
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

/** One normalizer step of tokenizer.json, applied to a character at a time. */
type Step = (text: string) => string;

/** How a tokenizer.json turns text into tokens, as far as finding each token in the text needs it. */
interface Alignment {
  /** BertNormalizer's clean_text: control, format, private-use and surrogate characters are dropped. */
  readonly clean: boolean;
  readonly steps: readonly Step[];
  /** WordPiece's continuing-subword prefix (`##`) and unknown token (`[UNK]`). */
  readonly prefix: string;
  readonly unk: string;
}

interface TokenizerJson {
  readonly added_tokens?: readonly { id: number; content: string; special?: boolean }[];
  readonly normalizer?: NormalizerJson | null;
  readonly pre_tokenizer?: { type?: string; pretokenizers?: readonly { type?: string }[] } | null;
  readonly model?: { type?: string; unk_token?: string; continuing_subword_prefix?: string };
}

interface NormalizerJson {
  readonly type?: string;
  readonly normalizers?: readonly NormalizerJson[];
  readonly clean_text?: boolean;
  readonly lowercase?: boolean;
  readonly strip_accents?: boolean | null;
}

const lower: Step = (t) => t.toLowerCase();
/** BertNormalizer's accent stripping: decomposed, without non-spacing marks. */
const stripMn: Step = (t) => t.normalize('NFD').replace(/\p{Mn}/gu, '');
/** The StripAccents normalizer's: every mark, as the text stands. */
const stripM: Step = (t) => t.replace(/\p{M}/gu, '');

/**
 * The alignment of a tokenizer.json, or why there is none: entity offsets are found by matching
 * WordPiece tokens against the text normalized as @huggingface/tokenizers does it (its code,
 * BertNormalizer and the Sequence members below, mirrored a character at a time).
 */
function alignmentOf(json: TokenizerJson): Alignment | string {
  const model = json.model?.type ?? 'none';
  if (model !== 'WordPiece') return `its model is ${model}, and entity offsets are found only for WordPiece (BERT-style) tokenizers`;
  const pre = json.pre_tokenizer;
  const pres = pre?.type === 'Sequence' ? pre.pretokenizers ?? [] : pre ? [pre] : [];
  const odd = pres.find((p) => !['BertPreTokenizer', 'Whitespace', 'WhitespaceSplit'].includes(p.type ?? ''));
  if (odd) return `its pre-tokenizer ${odd.type ?? '(untyped)'} is not one entity offsets can follow (BertPreTokenizer, Whitespace)`;
  let clean = false;
  const steps: Step[] = [];
  const add = (n: NormalizerJson): string | undefined => {
    switch (n.type) {
      case 'BertNormalizer':
        clean ||= n.clean_text === true;
        if (n.lowercase) steps.push(lower, ...(n.strip_accents !== false ? [stripMn] : []));
        else if (n.strip_accents) steps.push(stripMn);
        return undefined;
      case 'Sequence':
        for (const m of n.normalizers ?? []) {
          const why = add(m);
          if (why) return why;
        }
        return undefined;
      case 'NFC': case 'NFD': case 'NFKC': case 'NFKD':
        steps.push((t) => t.normalize(n.type as 'NFC'));
        return undefined;
      case 'Lowercase':
        steps.push(lower);
        return undefined;
      case 'StripAccents':
        steps.push(stripM);
        return undefined;
      default:
        return `its normalizer ${n.type ?? '(untyped)'} is not one entity offsets can follow (BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents)`;
    }
  };
  const why = json.normalizer ? add(json.normalizer) : undefined;
  if (why) return why;
  return { clean, steps, prefix: json.model?.continuing_subword_prefix ?? '##', unk: json.model?.unk_token ?? '[UNK]' };
}

/** Dropped by BertNormalizer's clean_text (@huggingface/tokenizers): NUL, U+FFFD, and other controls, format, private-use and surrogate characters than tab and line breaks. */
const cleanedAway = (cp: number, ch: string) => cp === 0 || cp === 0xfffd || (ch !== '\t' && ch !== '\n' && ch !== '\r' && /\p{Cc}|\p{Cf}|\p{Co}|\p{Cs}/u.test(ch));

export class TextEncoder {
  readonly #tokenizer: Tokenizer;
  readonly #special: Set<string>;
  readonly #pad: number;
  readonly #alignment: Alignment | string;
  /** tokenizer_config.json's model_max_length: the longest sequence the model takes (transformers writes a huge number for "no limit"). */
  readonly modelMaxLength: number | undefined;

  private constructor(tokenizer: Tokenizer, json: TokenizerJson, config: Record<string, unknown>) {
    const max = config.model_max_length;
    this.modelMaxLength = typeof max === 'number' && Number.isInteger(max) && max > 0 && max < 1e6 ? max : undefined;
    this.#tokenizer = tokenizer;
    this.#special = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.content));
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : '[PAD]';
    this.#pad = json.added_tokens?.find((t) => t.content === padToken)?.id ?? 0;
    this.#alignment = alignmentOf(json);
  }

  /** Why entity offsets cannot be found with this tokenizer; undefined when they can. */
  get unaligned(): string | undefined {
    return typeof this.#alignment === 'string' ? this.#alignment : undefined;
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
    return new TextEncoder(new Tokenizer(json as object, config), json as TokenizerJson, config);
  }

  /**
   * Encodes `texts`, padded to the batch's longest sequence (or `padTo`). `fail` may throw, or record the row
   * and return: the text is then truncated anyway.
   */
  encode(texts: readonly string[], options: TextOptions, fail: (i: number, why: string) => void): EncodedBatch {
    const encoded = texts.map((text, i) => {
      const { e, head } = this.#encodeHead(text, options);
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
      return { ids, tokens, types, info: { ...this.#align(head, tokens), text } };
    });
    const sequence = options.padTo ?? Math.max(1, ...encoded.map((e) => e.ids.length));
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
   * Tokenizes enough of `text` for its first tokens: a head ending at a space, which no WordPiece
   * token crosses, holding more than max_length tokens, so truncation keeps the same ones as from
   * the whole text. A 1 MB cell took ~0.3 s whole (tokenizing, then aligning every character)
   * for the 64 tokens the model sees. With truncation off, or a tokenizer this module does not
   * know the splitting of, the whole text.
   */
  #encodeHead(text: string, options: TextOptions): { e: ReturnType<Tokenizer['encode']>; head: string } {
    const encode = (t: string) => this.#tokenizer.encode(t, { return_token_type_ids: options.tokenTypeIds });
    if (!options.truncation || typeof this.#alignment === 'string') return { e: encode(text), head: text };
    for (let cut = Math.max(1024, options.maxLength * 16); cut < text.length; cut *= 4) {
      let end = cut;
      while (end < text.length && !/\s/.test(text[end]!)) end++;
      if (end >= text.length) break;
      const head = text.slice(0, end);
      const e = encode(head);
      if (e.ids.length > options.maxLength) return { e, head };
    }
    return { e: encode(text), head: text };
  }

  /**
   * Finds each token in the original text. tokenizers.js returns no offsets, so the tokens are
   * matched in order against the text normalized as the tokenizer does it (alignmentOf), keeping
   * where in the original text each normalized character came from. A token is looked for where
   * the last one ended, and within its word: searched for further on, one the normalization here
   * got wrong would match a later word and take every token after it along.
   */
  #align(text: string, tokens: readonly string[]): TokenInfo {
    const alignment = this.#alignment;
    if (typeof alignment === 'string') return { text, tokens, special: tokens.map((t) => this.#special.has(t)), words: tokens.map(() => -1), spans: tokens.map(() => [-1, -1] as const) };
    const { clean, steps, prefix, unk } = alignment;
    let normalized = '';
    /** For each UTF-16 unit of `normalized`: where its character starts and ends in `text`. */
    const from: number[] = [];
    const to: number[] = [];
    // Every step (lowercasing, accent stripping, NFC/NFD/NFKC/NFKD) maps an ASCII character to
    // itself, lowercasing to its lower case: most characters of most texts need no call to them,
    // and clean_text's test (a Unicode property regex) is a range test there. On the bundled NER
    // corpus the steps and the test were ~17% of the scoring thread.
    const lowers = steps.includes(lower);
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i)!;
      if (cp < 0x80) {
        if (!(clean && (cp === 0 || cp === 0x7f || (cp < 0x20 && cp !== 9 && cp !== 10 && cp !== 13)))) {
          from.push(i);
          to.push(i + 1);
          normalized += lowers && cp >= 65 && cp <= 90 ? String.fromCharCode(cp + 32) : text[i];
        }
        i++;
        continue;
      }
      const n = cp > 0xffff ? 2 : 1;
      const ch = text.slice(i, i + n);
      if (!(clean && cleanedAway(cp, ch))) {
        let c = ch;
        for (const step of steps) c = step(c);
        for (let k = 0; k < c.length; k++) {
          from.push(i);
          to.push(i + n);
        }
        normalized += c;
      }
      i += n;
    }
    from.push(text.length);
    const special: boolean[] = [];
    const words: number[] = [];
    const spans: [number, number][] = [];
    const space = (at: number) => /\s/.test(normalized[at]!);
    let cursor = 0;
    let word = -1;
    for (const token of tokens) {
      if (this.#special.has(token) && token !== unk) {
        special.push(true);
        words.push(-1);
        spans.push([-1, -1]);
        continue;
      }
      const sub = prefix !== '' && token.startsWith(prefix);
      const piece = sub ? token.slice(prefix.length) : token;
      if (!sub) {
        word++;
        while (cursor < normalized.length && space(cursor)) cursor++;
      }
      let start = cursor;
      let end: number;
      if (token === unk) {
        // An unknown word covers one pre-token: a punctuation mark or a CJK ideograph (BERT splits
        // those one by one), or a run up to space, punctuation or an ideograph.
        const width = (at: number) => (normalized.codePointAt(at)! > 0xffff ? 2 : 1);
        end = start + width(start);
        if (!splitAlone(normalized.codePointAt(start))) {
          while (end < normalized.length && !space(end) && !splitAlone(normalized.codePointAt(end))) end += width(end);
        }
        end = Math.min(end, normalized.length);
      } else if (normalized.startsWith(piece, cursor)) {
        end = cursor + piece.length;
      } else {
        let stop = cursor;
        while (stop < normalized.length && !space(stop)) stop++;
        const found = normalized.indexOf(piece, cursor);
        start = found !== -1 && found + piece.length <= stop ? found : cursor;
        end = found !== -1 && found + piece.length <= stop ? found + piece.length : cursor;
      }
      cursor = end;
      special.push(false);
      words.push(word);
      spans.push(end > start ? [from[start]!, to[end - 1]!] : [from[start]!, from[start]!]);
    }
    return { text, tokens, special, words, spans };
  }
}

/**
 * Characters BERT's pre-tokenizer splits off one by one: ASCII punctuation and symbols (`$`, `+`,
 * `<`, `=`, … as well as `.` and `,`), Unicode punctuation, and the CJK ideographs its normalizer
 * spaces out (the ranges of BERT's _is_chinese_char in the Basic Multilingual Plane; 〇 and other
 * Han outside them are letters).
 */
function splitAlone(c: number | undefined): boolean {
  if (c === undefined) return false;
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  if (/\p{P}/u.test(String.fromCodePoint(c))) return true;
  // BERT's ranges past the Basic Multilingual Plane are left out: tokenizers.js looks at UTF-16
  // units there, so it never spaces out an ideograph written as a surrogate pair.
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff);
}
