/**
 * @file How batches travel to a writer or Parquet encoder thread. postMessage clones every string of a column
 * separately, and the thread allocates each one again: on a tiny model that was most of the
 * reading thread's cost and much of the writer's garbage. Text columns with few distinct
 * values (categories, labels, dictionary-encoded Parquet columns) go instead as their distinct
 * strings plus a code per row; the thread rebuilds the columns pointing at one string each.
 * Number columns with nulls in plain arrays (model outputs of failed rows, JSONL numbers) go as
 * one Float64Array plus a mark per row, moved rather than cloned value by value. Typed-array
 * columns, masked or not, go as one array of all their rows (and one mask), moved: postMessage
 * would copy a typed array twice (into the message, out of it), copy the whole buffer under a
 * view (a batch is a view of its chunk), and lose a MaskedColumn's class.
 */
import type { Worker } from 'node:worker_threads';
import { compact } from '../source/blocks.js';
import { cell, cellBytes, cells, CodedColumn, type Column, MaskedColumn, type NumberArray, sliceColumn } from '../source/types.js';
import type { OutputBatch } from './types.js';

/** A run of batches as posted: their lengths (batch boundaries matter to Parquet row groups) and each column. */
export interface PackedBatches {
  readonly lengths: readonly number[];
  readonly columns: readonly (readonly [string, PackedColumn])[];
}

export type PackedColumn =
  /** Each batch's column as it was (numbers, unique text, mixed values). */
  | { readonly parts: readonly Column[] }
  /** Every batch's typed array, one after another. */
  | { readonly typed: TypedColumn; readonly valid?: undefined }
  /** The same for masked number columns (some batches' may be unmasked), with one mask. */
  | { readonly typed: NumberArray; readonly valid: Uint8Array }
  /** Codes into `strings`; 0 is null, 1 undefined. */
  | { readonly strings: readonly string[]; readonly codes: Uint16Array }
  /** Numbers, with `marks` 0 (NULL) or 1 (UNDEFINED) where the row has none, and 2 where `numbers` holds it. */
  | { readonly numbers: Float64Array; readonly marks: Uint8Array }
  /** Lists of numbers (embeddings), one after another in `values`, each row's ending at `ends`; `marks` as for numbers. */
  | { readonly values: Float64Array; readonly ends: Int32Array; readonly marks: Uint8Array };

type TypedColumn = Float64Array | Float32Array | Int32Array | BigInt64Array | Uint8Array;

const NULL = 0;
const UNDEFINED = 1;
/** The mark of a row `numbers` holds; also the first text code, for `strings[0]` (codes below it are null and undefined). */
export const NUMBER = 2;
export const FIRST_STRING = 2;

/** Rows gathered before a post: a message costs a fixed amount besides its values. */
export const POST_ROWS = 4096;
/**
 * Batches gathered before a post, whatever their rows: each waits as an object of its own (a
 * map of column views) until it is posted, and with batches of one row 4,096 of them were live
 * through every young-generation collection of the scoring thread (761 collections of 3.5 ms on
 * 310k rows, a quarter of its time).
 */
export const POST_BATCHES = 64;

/** Bytes (batchBytes) gathered before a post, whatever the rows: 4,096 rows of 10,000 columns are ~120 MB. */
export const POST_BYTES = 4 << 20;

/**
 * About the bytes a batch's values take, for bounding what is queued when rows are wide: 16 a
 * cell, and the size of each text (a CSV record kept whole, a long note) and nested value in a
 * plain column. Counting the CSV record alone let 16,384 rows of 20 KB kept notes, or of JSON
 * nested 300 deep, be queued for a writer heap of 102 MB: it ran out of memory on 5,000 of them.
 */
export function batchBytes(batch: OutputBatch): number {
  let bytes = 16 * batch.length * batch.columns.size;
  for (const column of batch.columns.values()) {
    if (!Array.isArray(column)) continue;
    for (let r = 0; r < batch.length; r++) {
      const v: unknown = column[r];
      if (typeof v === 'string') bytes += v.length;
      else if (v !== null && typeof v === 'object') bytes += cellBytes(v);
    }
  }
  return bytes;
}


/** Rows `[from, to)` of a batch, its typed, masked and coded columns as views. */
export function sliceOutput(batch: OutputBatch, from: number, to: number): OutputBatch {
  const columns = new Map<string, Column>();
  for (const [name, column] of batch.columns) columns.set(name, sliceColumn(column, from, to));
  return { length: to - from, columns };
}

/** Batches gathered towards a post: handed to `send` once `limit` rows, POST_BYTES or POST_BATCHES batches are in, or when flushed. */
export class BatchQueue {
  #batches: OutputBatch[] = [];
  #rows = 0;
  #bytes = 0;

  constructor(private readonly limit: number, private readonly send: (batches: OutputBatch[], rows: number, bytes: number) => void) {}

  /** Rows gathered and not yet sent. */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes (batchBytes) gathered and not yet sent. */
  get bytes(): number {
    return this.#bytes;
  }

  add(batch: OutputBatch, bytes = 0): void {
    this.#batches.push(batch);
    this.#rows += batch.length;
    this.#bytes += bytes;
    if (this.#rows >= this.limit || this.#bytes >= POST_BYTES || this.#batches.length >= POST_BATCHES) this.flush();
  }

  flush(): void {
    if (this.#rows === 0) return;
    const batches = this.#batches;
    const rows = this.#rows;
    const bytes = this.#bytes;
    this.#batches = [];
    this.#rows = 0;
    this.#bytes = 0;
    this.send(batches, rows, bytes);
  }
}

/** Posts `batches` packed, in the message `wrap` makes of them; the buffers made for it are moved, not copied. */
export function postBatches(worker: Worker, batches: readonly OutputBatch[], wrap: (packed: PackedBatches) => unknown): void {
  const packed = packBatches(batches);
  worker.postMessage(wrap(packed), transferList(packed));
}

export function packBatches(batches: readonly OutputBatch[]): PackedBatches {
  const lengths = batches.map((b) => b.length);
  const rows = lengths.reduce((a, b) => a + b, 0);
  const names = batches.length === 0 ? [] : [...batches[0]!.columns.keys()];
  return {
    lengths,
    columns: names.map((name) => {
      let parts = batches.map((b) => b.columns.get(name)!);
      const coded = parts.filter((p) => p instanceof CodedColumn).length;
      // Labels of a batch split around a failing row come as a plain array among coded ones.
      if (coded > 0 && coded < parts.length) parts = parts.map(plain);
      const packed = coded === parts.length ? codedOf(parts as CodedColumn[], lengths, rows)
        : parts.every((p) => Array.isArray(p)) ? dictionaryOf(parts, lengths, rows) ?? numbersOf(parts, lengths, rows) ?? listsOf(parts, lengths, rows) : typedOf(parts, lengths, rows);
      return [name, packed ?? { parts: parts.map(plain) }] as const;
    }),
  };
}

export function unpackBatches(packed: PackedBatches): OutputBatch[] {
  const batches = packed.lengths.map((length) => ({ length, columns: new Map<string, Column>() }));
  for (const [name, column] of packed.columns) unpackColumn(column, packed.lengths).forEach((part, b) => batches[b]!.columns.set(name, part));
  return batches;
}

/** A packed column as each batch held it (numbers and text as plain arrays). */
export function unpackColumn(column: PackedColumn, lengths: readonly number[]): Column[] {
  if ('parts' in column) return [...column.parts];
  if ('typed' in column) {
    const { typed, valid } = column;
    let at = 0;
    return lengths.map((length) => {
      const values = typed.subarray(at, (at += length));
      return valid ? new MaskedColumn(values as NumberArray, valid.subarray(at - length, at)) : values;
    });
  }
  if ('ends' in column) return unpackLists(column, lengths);
  const values: readonly unknown[] = 'numbers' in column ? [] : [null, undefined, ...column.strings];
  let o = 0;
  return lengths.map((length) => {
    const out = new Array<unknown>(length);
    if ('numbers' in column) {
      const { numbers, marks } = column;
      for (let r = 0; r < length; r++, o++) out[r] = marks[o] === NUMBER ? numbers[o] : marks[o] === NULL ? null : undefined;
    } else for (let r = 0; r < length; r++) out[r] = values[column.codes[o++]!];
    return out;
  });
}

/** What to move rather than copy: the buffers made for the post. */
export function transferList(packed: PackedBatches): ArrayBuffer[] {
  return packed.columns.flatMap(([, c]) => {
    if ('codes' in c) return [c.codes.buffer as ArrayBuffer];
    if ('numbers' in c) return [c.numbers.buffer as ArrayBuffer, c.marks.buffer as ArrayBuffer];
    if ('ends' in c) return [c.values.buffer as ArrayBuffer, c.ends.buffer as ArrayBuffer, c.marks.buffer as ArrayBuffer];
    if ('typed' in c) return c.valid ? [c.typed.buffer as ArrayBuffer, c.valid.buffer as ArrayBuffer] : [c.typed.buffer as ArrayBuffer];
    return [];
  });
}

/**
 * A column of numbers with nulls (or undefineds) as numbers and marks; undefined when it holds
 * something else, or no number (nothing is allocated unless its first value is a number).
 */
function numbersOf(parts: readonly Column[], lengths: readonly number[], rows: number): PackedColumn | undefined {
  if (typeof firstPresent(parts, lengths) !== 'number') return undefined;
  const numbers = new Float64Array(rows);
  const marks = new Uint8Array(rows);
  let o = 0;
  for (let b = 0; b < parts.length; b++) {
    const part = parts[b] as readonly unknown[];
    for (let r = 0; r < lengths[b]!; r++, o++) {
      const v = part[r];
      if (typeof v === 'number') {
        numbers[o] = v;
        marks[o] = NUMBER;
      } else if (v === undefined) marks[o] = UNDEFINED;
      else if (v !== null) return undefined;
    }
  }
  return { numbers, marks };
}

/**
 * A column of lists of numbers (an embedding kept, a model's list output), with nulls, as its
 * numbers in one array: cloned list by list, 768-float rows took 40% of the reading thread in
 * postMessage. Undefined where a cell is anything else, or a list holds anything but numbers.
 */
function listsOf(parts: readonly Column[], lengths: readonly number[], rows: number): PackedColumn | undefined {
  if (!Array.isArray(firstPresent(parts, lengths))) return undefined;
  let total = 0;
  for (let b = 0; b < parts.length; b++) {
    const part = parts[b] as readonly unknown[];
    for (let r = 0; r < lengths[b]!; r++) {
      const v = part[r];
      if (Array.isArray(v)) total += v.length;
      else if (v !== null && v !== undefined) return undefined;
    }
  }
  const values = new Float64Array(total);
  const ends = new Int32Array(rows);
  const marks = new Uint8Array(rows);
  let o = 0;
  let at = 0;
  for (let b = 0; b < parts.length; b++) {
    const part = parts[b] as readonly unknown[];
    for (let r = 0; r < lengths[b]!; r++, o++) {
      const v = part[r];
      if (Array.isArray(v)) {
        for (let k = 0; k < v.length; k++) {
          const x: unknown = v[k];
          if (typeof x !== 'number') return undefined;
          values[at++] = x;
        }
        marks[o] = NUMBER;
      } else marks[o] = v === undefined ? UNDEFINED : NULL;
      ends[o] = at;
    }
  }
  return { values, ends, marks };
}

/** Lists of numbers as each batch held them: plain arrays. */
function unpackLists(column: { readonly values: Float64Array; readonly ends: Int32Array; readonly marks: Uint8Array }, lengths: readonly number[]): Column[] {
  const { values, ends, marks } = column;
  let o = 0;
  return lengths.map((length) => {
    const out = new Array<unknown>(length);
    for (let r = 0; r < length; r++, o++) {
      if (marks[o] !== NUMBER) {
        out[r] = marks[o] === NULL ? null : undefined;
        continue;
      }
      const start = o === 0 ? 0 : ends[o - 1]!;
      const list = new Array<number>(ends[o]! - start);
      for (let k = 0; k < list.length; k++) list[k] = values[start + k]!;
      out[r] = list;
    }
    return out;
  });
}

/** Typed arrays of one kind, masked or not, in one new array (and one mask); undefined for anything else. */
function typedOf(parts: readonly Column[], lengths: readonly number[], rows: number): PackedColumn | undefined {
  const arrays = parts.map((p) => (p instanceof MaskedColumn ? p.values : p));
  const first = arrays[0];
  if (!ArrayBuffer.isView(first) || !arrays.every((p) => p.constructor === first.constructor)) return undefined;
  const typed = new (first.constructor as new (n: number) => TypedColumn)(rows);
  const valid = parts.some((p) => p instanceof MaskedColumn) ? new Uint8Array(rows) : undefined;
  let at = 0;
  for (let b = 0; b < parts.length; b++) {
    const n = lengths[b]!;
    const part = arrays[b] as TypedColumn;
    typed.set((part.length === n ? part : part.subarray(0, n)) as never, at);
    if (valid) {
      const p = parts[b]!;
      if (p instanceof MaskedColumn) valid.set(p.valid.subarray(0, n), at);
      else valid.fill(1, at, at + n);
    }
    at += n;
  }
  return valid ? { typed: typed as NumberArray, valid } : { typed };
}

/** A column postMessage can clone as it is: a masked or coded one (whose class would be lost) as a plain array. */
function plain(column: Column): Column {
  if (ArrayBuffer.isView(column)) return compact(column);
  return column instanceof MaskedColumn || column instanceof CodedColumn ? cells(column) : column;
}

/** The first value of the column that is neither null nor undefined. */
function firstPresent(parts: readonly Column[], lengths: readonly number[]): unknown {
  for (let b = 0; b < parts.length; b++) {
    for (let r = 0; r < lengths[b]!; r++) {
      const v = cell(parts[b]!, r);
      if (v !== null && v !== undefined) return v;
    }
  }
  return undefined;
}

/**
 * Distinct strings a post of `rows` rows may carry as codes: an eighth of the rows (at least 64),
 * within a Uint16 code; past that, text is too varied to gain.
 */
const distinctLimit = (rows: number) => Math.min(0xffff - 2, Math.max(64, rows >> 3));

/** The strings coded columns use, and a code per row; undefined past `distinctLimit` strings. */
function codedOf(parts: readonly CodedColumn[], lengths: readonly number[], rows: number): PackedColumn | undefined {
  const limit = distinctLimit(rows);
  const strings: string[] = [];
  const codes = new Uint16Array(rows);
  // Parts over one dictionary (one row group's, or a model's labels) share their remapping.
  let dictionary: readonly string[] | undefined;
  let remap = new Int32Array(0);
  let o = 0;
  for (let b = 0; b < parts.length; b++) {
    const part = parts[b]!;
    if (part.dictionary !== dictionary) {
      dictionary = part.dictionary;
      remap = new Int32Array(dictionary.length).fill(-1);
    }
    for (let r = 0; r < lengths[b]!; r++) {
      const c = part.codes[r]!;
      if (c < 0) {
        codes[o++] = NULL;
        continue;
      }
      let code = remap[c]!;
      if (code < 0) {
        if (strings.length === limit) return undefined;
        code = remap[c] = strings.push(dictionary[c]!) - 1 + FIRST_STRING;
      }
      codes[o++] = code;
    }
  }
  return { strings, codes };
}

/**
 * A plain-array column as distinct strings and codes, or undefined when it is not all text (or nulls) or
 * has too many distinct values to gain (given up early, so unique text costs little).
 */
function dictionaryOf(parts: readonly Column[], lengths: readonly number[], rows: number): PackedColumn | undefined {
  const limit = distinctLimit(rows);
  const index = new Map<string, number>();
  const strings: string[] = [];
  const codes = new Uint16Array(rows);
  let o = 0;
  for (let b = 0; b < parts.length; b++) {
    const part = parts[b] as readonly unknown[];
    for (let r = 0; r < lengths[b]!; r++) {
      const v = part[r];
      if (typeof v === 'string') {
        let code = index.get(v);
        if (code === undefined) {
          if (strings.length === limit) return undefined;
          code = strings.push(v) - 1 + FIRST_STRING;
          index.set(v, code);
        }
        codes[o++] = code;
      } else if (v === null) codes[o++] = NULL;
      else if (v === undefined) codes[o++] = UNDEFINED;
      else return undefined;
    }
  }
  // A column of nothing but nulls gains nothing either; keep it as it was.
  return strings.length === 0 ? undefined : { strings, codes };
}
