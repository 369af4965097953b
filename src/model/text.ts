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

/** How a tokenizer.json splits words into tokens, as far as finding each token in the text needs it. */
interface Alignment {
  /** WordPiece's continuing-subword prefix (`##`) and unknown token (`[UNK]`). */
  readonly prefix: string;
  readonly unk: string;
}

interface TokenizerJson {
  readonly added_tokens?: readonly { id: number; content: string; special?: boolean }[];
  readonly normalizer?: NormalizerJson | null;
  readonly pre_tokenizer?: { type?: string; pretokenizers?: readonly { type?: string }[] } | null;
  readonly model?: { type?: string; unk_token?: string; continuing_subword_prefix?: string; fuse_unk?: boolean };
}

interface NormalizerJson {
  readonly type?: string;
  readonly normalizers?: readonly NormalizerJson[];
}

/**
 * Normalizers that act on each character (with its combining marks) alone, so that the
 * normalized text can be traced back a piece at a time (`mapping`). Strip, Prepend and Replace
 * act on the whole text or on runs of it: their tokens would all span the whole text.
 */
const pieceNormalizers = ['BertNormalizer', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'StripAccents'];

/** A normalizer not in pieceNormalizers, in a Sequence too. */
function oddNormalizer(n: NormalizerJson | null | undefined): string | undefined {
  if (!n) return undefined;
  if (n.type === 'Sequence') {
    for (const m of n.normalizers ?? []) {
      const odd = oddNormalizer(m);
      if (odd) return odd;
    }
    return undefined;
  }
  return pieceNormalizers.includes(n.type ?? '') ? undefined : n.type ?? '(untyped)';
}

/**
 * The parts of @huggingface/tokenizers' Tokenizer (0.2.0, pinned) its encode() is made of. They
 * are called here one by one, as encode() calls them, so that each token's place in the text is
 * known: the library reports none.
 */
interface Parts {
  readonly normalizer: ((text: string) => string) | null;
  readonly pre_tokenizer: ((text: string, options: { section_index: number }) => string[]) | null;
  readonly model: ((words: string[]) => string[]) & { readonly tokens_to_ids: ReadonlyMap<string, number>; readonly unk_token_id?: number };
  readonly post_processor: ((tokens: string[], pair: null, addSpecial: boolean) => { tokens: string[]; token_type_ids?: number[] }) | null;
  readonly splitter_unnormalized: { split(text: string): string[] };
  readonly splitter_normalized: { split(text: string): string[] };
  readonly added_tokens_map: ReadonlyMap<string, { readonly id: number; readonly special: boolean; readonly lstrip: boolean; readonly rstrip: boolean }>;
  readonly remove_space?: boolean;
  readonly do_lowercase_and_remove_accent?: boolean;
}

/** The library's parts, where this version of it has them as expected. */
function partsOf(tokenizer: Tokenizer): Parts | undefined {
  const t = tokenizer as unknown as Partial<Record<keyof Parts, unknown>>;
  const callable = (v: unknown) => typeof v === 'function';
  const ok = (t.normalizer === null || callable(t.normalizer)) && (t.pre_tokenizer === null || callable(t.pre_tokenizer)) && callable(t.model)
    && (t.post_processor === null || callable(t.post_processor)) && t.added_tokens_map instanceof Map
    && typeof (t.splitter_unnormalized as Parts['splitter_unnormalized'] | undefined)?.split === 'function'
    && typeof (t.splitter_normalized as Parts['splitter_normalized'] | undefined)?.split === 'function'
    && (t.model as { tokens_to_ids?: unknown }).tokens_to_ids instanceof Map;
  return ok ? t as unknown as Parts : undefined;
}

/**
 * The alignment of a tokenizer.json, or why there is none: entity offsets need WordPiece, whose
 * tokens spell out their word (an unknown word is one `[UNK]`), after a pre-tokenizer that cuts
 * the normalized text into words without changing them.
 */
function alignmentOf(json: TokenizerJson, parts: Parts | undefined): Alignment | string {
  const model = json.model?.type ?? 'none';
  if (model !== 'WordPiece') return `its model is ${model}, and entity offsets are found only for WordPiece (BERT-style) tokenizers`;
  const pre = json.pre_tokenizer;
  const pres = pre?.type === 'Sequence' ? pre.pretokenizers ?? [] : pre ? [pre] : [];
  const odd = pres.find((p) => !['BertPreTokenizer', 'Whitespace', 'WhitespaceSplit'].includes(p.type ?? ''));
  if (odd) return `its pre-tokenizer ${odd.type ?? '(untyped)'} is not one entity offsets can follow (BertPreTokenizer, Whitespace)`;
  const normalizer = oddNormalizer(json.normalizer);
  if (normalizer) return `its normalizer ${normalizer} is not one entity offsets can follow (BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents)`;
  // fuse_unk joins a text's unknown words into one token, which no word can then be given.
  if (json.model?.fuse_unk === true) return 'its model sets fuse_unk, which joins unknown words into one token';
  if (!parts) return 'the installed @huggingface/tokenizers does not have the parts entity offsets are found with (0.2.0 has them)';
  if (parts.do_lowercase_and_remove_accent) return 'its tokenizer_config.json sets do_lowercase_and_remove_accent, which entity offsets cannot follow';
  return { prefix: json.model?.continuing_subword_prefix ?? '##', unk: json.model?.unk_token ?? '[UNK]' };
}

/** Where each UTF-16 unit of a normalized text came from in the text: `from[k]` to `to[k]`, and `from[length]` the text's end. */
interface Mapping {
  readonly from: readonly number[];
  readonly to: readonly number[];
}

export class TextEncoder {
  readonly #tokenizer: Tokenizer;
  readonly #parts: Parts | undefined;
  readonly #special: Set<string>;
  readonly #pad: number;
  readonly #alignment: Alignment | string;
  /** Whether a long text may be tokenized by its head alone (#encodeHead). */
  readonly #headCuts: boolean;
  /** ASCII characters (by code) a head may also end before: 1 for each. */
  readonly #cutBefore = new Uint8Array(128);
  /** Normalized pieces of text (a character with its marks), as `mapping` asks for them again and again. */
  readonly #pieces = new Map<string, string>();
  /** tokenizer_config.json's model_max_length: the longest sequence the model takes (transformers writes a huge number for "no limit"). */
  readonly modelMaxLength: number | undefined;

  private constructor(tokenizer: Tokenizer, json: TokenizerJson, config: Record<string, unknown>) {
    const max = config.model_max_length;
    this.modelMaxLength = typeof max === 'number' && Number.isInteger(max) && max > 0 && max < 1e6 ? max : undefined;
    this.#tokenizer = tokenizer;
    this.#parts = partsOf(tokenizer);
    this.#special = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.content));
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : '[PAD]';
    this.#pad = json.added_tokens?.find((t) => t.content === padToken)?.id ?? 0;
    this.#alignment = alignmentOf(json, this.#parts);
    // An added token holding a space ("New York" as one token) would be cut in two by a head's end.
    this.#headCuts = typeof this.#alignment !== 'string' && !(json.added_tokens ?? []).some((t) => /\s/.test(t.content));
    // BertPreTokenizer makes each ASCII punctuation character a token of its own, and no normalizer
    // here joins one to its neighbours: a head may end before one too, unless an added token holds
    // it ([ and ] of [CLS]). A 100 KB cell of comma-separated tags, a URL or minified JSON had no
    // space to end a head at, and was tokenized whole, ~23 times the time of a spaced one.
    if ((json as { pre_tokenizer?: { type?: string } }).pre_tokenizer?.type === 'BertPreTokenizer') {
      const held = new Set((json.added_tokens ?? []).flatMap((t) => [...t.content]));
      for (let c = 33; c < 127; c++) if (asciiPunctuation(c) && !held.has(String.fromCharCode(c))) this.#cutBefore[c] = 1;
    }
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
      const e = this.#encodeHead(text, options);
      let { ids, tokens, types, special, words, spans } = e;
      if (ids.length > options.maxLength) {
        if (!options.truncation) fail(i, `has ${ids.length} tokens, more than max_length ${options.maxLength} (truncation is off)`);
        // Keep the template's closing token ([SEP]) as it put it there.
        const last = e.closing;
        const cut = <T>(a: readonly T[]) => [...a.slice(0, options.maxLength - last), ...a.slice(a.length - last)];
        ids = cut(ids);
        tokens = cut(tokens);
        types = types ? cut(types) : undefined;
        special = cut(special);
        words = cut(words);
        spans = cut(spans);
      }
      return { ids, types, info: { text, tokens, special, words, spans } };
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
   * Tokenizes enough of `text` for its first tokens: a head ending at an ASCII space, tab or line
   * break (which every normalizer keeps as a space and every pre-tokenizer here cuts at, where a
   * form feed or U+FEFF is dropped by clean_text and joins its neighbours), or for
   * BertPreTokenizer before ASCII punctuation (#cutBefore), holding more than
   * max_length tokens, so truncation keeps the same ones as from the whole text. A 1 MB cell
   * took ~0.3 s whole for the 64 tokens the model sees. With truncation off, or a tokenizer whose
   * splitting is not known here, the whole text.
   */
  #encodeHead(text: string, options: TextOptions): Tokens {
    if (!options.truncation || !this.#headCuts) return this.#tokens(text, options);
    for (let cut = Math.max(1024, options.maxLength * 16); cut < text.length; cut *= 4) {
      let end = cut;
      for (let c = text.charCodeAt(end); end < text.length && !asciiSpace(c) && !(c < 128 && this.#cutBefore[c]); c = text.charCodeAt(++end));
      if (end >= text.length) break;
      const e = this.#tokens(text.slice(0, end), options);
      if (e.ids.length > options.maxLength) return e;
    }
    return this.#tokens(text, options);
  }

  /** `text`'s tokens, with each token's place in it where this tokenizer's tokens can be placed. */
  #tokens(text: string, options: TextOptions): Tokens {
    const alignment = this.#alignment;
    if (typeof alignment === 'string') {
      const e = this.#tokenizer.encode(text, { return_token_type_ids: options.tokenTypeIds });
      const closing = this.#special.has(e.tokens.at(-1)!) ? 1 : 0;
      return { ids: e.ids, tokens: e.tokens, types: e.token_type_ids, special: e.tokens.map((t: string) => this.#special.has(t)), words: e.tokens.map(() => -1), spans: e.tokens.map(() => [-1, -1] as const), closing };
    }
    const parts = this.#parts!;
    const placed = this.#placed(text, parts, alignment);
    // The template's tokens ([CLS] … [SEP]) around the text's own, as encode() adds them.
    const processed: { tokens: readonly string[]; token_type_ids?: number[] } = parts.post_processor ? parts.post_processor([...placed.tokens], null, true) : { tokens: placed.tokens };
    const tokens = processed.tokens;
    let at = 0;
    while (at + placed.tokens.length <= tokens.length && placed.tokens.some((t, k) => tokens[at + k] !== t)) at++;
    const inText = (k: number) => k >= at && k < at + placed.tokens.length;
    const ids = tokens.map((t) => parts.added_tokens_map.get(t)?.id ?? parts.model.tokens_to_ids.get(t) ?? parts.model.unk_token_id ?? 0);
    return {
      ids, tokens, types: options.tokenTypeIds ? processed.token_type_ids : undefined,
      special: tokens.map((_, k) => (inText(k) ? placed.special[k - at]! : true)),
      words: tokens.map((_, k) => (inText(k) ? placed.words[k - at]! : -1)),
      spans: tokens.map((_, k) => (inText(k) ? placed.spans[k - at]! : [-1, -1] as const)),
      closing: tokens.length - at - placed.tokens.length,
    };
  }

  /**
   * The text's own tokens and where each is in it, made as tokenizers.js's encode() makes them:
   * added tokens cut out of the raw text, each part between them normalized, added tokens cut out
   * of that, the rest cut into words by the pre-tokenizer and each word into WordPiece tokens. A
   * word's tokens spell it out (or it is one unknown token), and each word is found in the
   * normalized text, so a token's place there is exact; normalized text is traced back to the
   * text by `mapping`. A special token in the text ([MASK]) is special, as Hugging Face marks it.
   */
  #placed(text: string, parts: Parts, alignment: Alignment): Omit<TokenInfo, 'text'> {
    const tokens: string[] = [];
    const special: boolean[] = [];
    const words: number[] = [];
    const spans: (readonly [number, number])[] = [];
    let word = -1;
    const push = (token: string, isSpecial: boolean, w: number, span: readonly [number, number]) => {
      tokens.push(token);
      special.push(isSpecial);
      words.push(w);
      spans.push(span);
    };
    const added = (token: string, span: readonly [number, number]) => {
      const isSpecial = parts.added_tokens_map.get(token)!.special;
      push(token, isSpecial, isSpecial ? -1 : ++word, span);
    };
    sections(parts.splitter_unnormalized.split(text), parts).forEach((section, index) => {
      if (section.text.length === 0) return;
      if (parts.added_tokens_map.has(section.text)) return added(section.text, [section.start, section.end]);
      // tokenizer_config.json's remove_space: spaces at the ends dropped, and each run of them one space.
      const kept = parts.remove_space ? spacesRemoved(section.text) : undefined;
      const raw = kept?.text ?? section.text;
      const normalized = parts.normalizer ? parts.normalizer(raw) : raw;
      if (normalized.length === 0) return;
      const { from, to } = parts.normalizer ? mapping(raw, normalized, parts.normalizer, this.#pieces) : identity(raw.length);
      const start = (k: number) => section.start + (kept ? kept.from[k]! : k);
      const end = (k: number) => section.start + (kept ? kept.to[k - 1]! : k);
      const place = (a: number, b: number): readonly [number, number] => [start(from[a]!), b > a ? end(to[b - 1]!) : start(from[a]!)];
      for (const sub of sections(parts.splitter_normalized.split(normalized), parts)) {
        if (sub.text.length === 0) continue;
        if (parts.added_tokens_map.has(sub.text)) {
          added(sub.text, place(sub.start, sub.end));
          continue;
        }
        let at = 0;
        for (const w of parts.pre_tokenizer ? parts.pre_tokenizer(sub.text, { section_index: index }) : [sub.text]) {
          const found = sub.text.indexOf(w, at);
          const first = sub.start + (found === -1 ? at : found);
          const last = found === -1 ? first : first + w.length;
          at = last - sub.start;
          word++;
          let p = first;
          parts.model([w]).forEach((piece, k) => {
            if (piece === alignment.unk) return push(piece, false, word, place(first, last));
            const spelled = k > 0 && piece.startsWith(alignment.prefix) ? piece.length - alignment.prefix.length : piece.length;
            const q = Math.min(p + spelled, last);
            push(piece, false, word, place(p, q));
            p = q;
          });
        }
      }
    });
    return { tokens, special, words, spans };
  }
}

interface Tokens {
  readonly ids: readonly number[];
  readonly tokens: readonly string[];
  readonly types: readonly number[] | undefined;
  readonly special: readonly boolean[];
  readonly words: readonly number[];
  readonly spans: readonly (readonly [number, number])[];
  /** Tokens the template put after the text's own ([SEP]), which truncation keeps. */
  readonly closing: number;
}

/** A space, tab or line break (ASCII). */
const asciiSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
/** BERT's ASCII punctuation: every printable character that is no letter, digit or space. */
const asciiPunctuation = (c: number) => (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);

/**
 * Pieces a splitter cut a text into, placed in it, with the spaces an added token's lstrip and
 * rstrip take from its neighbours taken, as tokenizers.js takes them.
 */
function sections(pieces: readonly string[], parts: Parts): { text: string; start: number; end: number }[] {
  let at = 0;
  const placed = pieces.map((text) => {
    const start = at;
    at += text.length;
    return { text, start, end: at };
  });
  placed.forEach((piece, i) => {
    const token = parts.added_tokens_map.get(piece.text);
    if (!token) return;
    const before = placed[i - 1];
    if (token.lstrip && before) {
      before.text = before.text.trimEnd();
      before.end = before.start + before.text.length;
    }
    const after = placed[i + 1];
    if (token.rstrip && after) {
      const kept = after.text.trimStart();
      after.start = after.end - kept.length;
      after.text = kept;
    }
  });
  return placed;
}

const ascii = /^[\0-\x7f]*$/;

/** `text` as remove_space leaves it (trimmed, each run of spaces one space), with where each of its units came from: `from[k]` to `to[k]`, and `from[length]` the end. */
function spacesRemoved(text: string): { text: string; from: number[]; to: number[] } {
  const from: number[] = [];
  const to: number[] = [];
  let out = '';
  const first = text.length - text.trimStart().length;
  const last = text.trimEnd().length;
  for (let i = first; i < last;) {
    if (/\s/.test(text[i]!)) {
      let j = i + 1;
      while (j < last && /\s/.test(text[j]!)) j++;
      out += ' ';
      from.push(i);
      to.push(j);
      i = j;
    } else {
      out += text[i]!;
      from.push(i);
      to.push(i + 1);
      i++;
    }
  }
  from.push(Math.max(first, last));
  return { text: out, from, to };
}

function identity(length: number): Mapping {
  const from = Array.from({ length: length + 1 }, (_, k) => k);
  return { from, to: from.slice(1) };
}

/**
 * Where each unit of `normalized` (`normalize(text)`, the library's normalizer over the whole
 * text) came from in `text`. Each piece of the text is normalized on its own: a run of ASCII at
 * once (every normalizer keeps an ASCII character's length, or drops it: then its characters one
 * by one), a character with its combining marks together (NFC joins them; accent stripping drops
 * them). Where the pieces spell the whole text's normalization, or as many units of it (Greek Σ
 * lowercased at a word's end is ς, not σ), each unit comes from its piece; otherwise each comes
 * from its word (a run without spaces), and failing that from the whole text: a token's span
 * may then be wider than the token, never lost.
 */
function mapping(text: string, normalized: string, normalize: (text: string) => string, pieces: Map<string, string>): Mapping {
  // Most texts: ASCII, of the same length normalized (lowercased), each unit its own.
  if (normalized.length === text.length && ascii.test(text)) return identity(text.length);
  // A text's characters repeat (CJK, Thai): each is normalized once.
  const cached = (piece: string) => {
    let out = pieces.get(piece);
    if (out === undefined) {
      out = normalize(piece);
      if (pieces.size >= 1 << 16) pieces.clear();
      pieces.set(piece, out);
    }
    return out;
  };
  const fine = pieceMapping(text, cached, false);
  if (fine.spelled.length === normalized.length) return fine;
  const coarse = pieceMapping(text, normalize, true);
  if (coarse.spelled.length === normalized.length) return coarse;
  return { from: [...Array.from({ length: normalized.length }, () => 0), text.length], to: Array.from({ length: normalized.length }, () => text.length) };
}

function pieceMapping(text: string, normalize: (text: string) => string, words: boolean): Mapping & { spelled: string } {
  const from: number[] = [];
  const to: number[] = [];
  let spelled = '';
  const add = (start: number, end: number, piece: string) => {
    for (let k = 0; k < piece.length; k++) {
      from.push(start);
      to.push(end);
    }
    spelled += piece;
  };
  for (let i = 0; i < text.length;) {
    let end = i + 1;
    if (words) {
      if (!/\s/.test(text[i]!)) while (end < text.length && !/\s/.test(text[end]!)) end++;
      add(i, end, normalize(text.slice(i, end)));
    } else if (text.charCodeAt(i) < 0x80) {
      while (end < text.length && text.charCodeAt(end) < 0x80) end++;
      const run = text.slice(i, end);
      const piece = normalize(run);
      if (piece.length === run.length) {
        for (let k = 0; k < piece.length; k++) add(i + k, i + k + 1, piece[k]!);
      } else {
        for (let k = i; k < end; k++) add(k, k + 1, normalize(text[k]!));
      }
    } else {
      if (text.codePointAt(i)! > 0xffff) end++;
      while (end < text.length && /\p{M}/u.test(String.fromCodePoint(text.codePointAt(end)!))) end += text.codePointAt(end)! > 0xffff ? 2 : 1;
      add(i, end, normalize(text.slice(i, end)));
    }
    i = end;
  }
  from.push(text.length);
  return { from, to, spelled };
}
