/**
 * @file Number, 64-bit integer (and timestamp) and text columns of a Parquet row group, gathered
 * into typed arrays as rows arrive and written as column chunks without a boxed value, a
 * definition-level array or a filtered copy per row. On a tiny model these columns are nearly all an encoder thread does.
 * Encodings, dictionary choices, page splits and statistics follow hyparquet-writer's rules, so
 * the bytes are the ones it writes from the same values (test/sink/row-group.test.ts holds
 * them equal); it still writes every other column type (sink/parquet.ts).
 */
import { gzipSync } from 'node:zlib';
import type { ColumnChunk, Encoding, Statistics } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import type { OutputSpec } from '../job/spec.js';
import { cell, type Column, int64Max, int64Min, MaskedColumn } from '../source/types.js';
import { HybridEncoder } from './hybrid.js';
import { snappyCompress } from './snappy.js';
import { zstdCompress } from './zstd.js';
import { FIRST_STRING, NUMBER } from './transfer.js';

/** A Parquet output's page codec, and its level where the job sets one (gzip, zstd). */
export interface Compression {
  readonly codec: OutputSpec['parquet']['compression'];
  readonly level?: number;
}

/** hyparquet-writer's defaults: a page ends once ~1 MiB of values is in it. */
const PAGE_BYTES = 1 << 20;
/** Values sampled before a dictionary is built, and the share of distinct bytes that rejects it. */
const SAMPLE = 1000;
const SAMPLE_REJECTS = 0.9;
/** A BYTE_ARRAY value's length prefix, in PLAIN pages and in the dictionary. */
const PREFIX = 4;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What a row group's typed columns share: present values in row order, which rows have one, and growing both. */
abstract class Gathered<T extends Float64Array | BigInt64Array | Uint8Array> {
  protected values: T;
  protected levels: Uint8Array<ArrayBuffer> = new Uint8Array(1024);
  protected rowCount = 0;
  protected presentCount = 0;

  protected constructor(values: T) {
    this.values = values;
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Empties the column for the next row group (its arrays are kept for it). */
  clear(): void {
    this.rowCount = 0;
    this.presentCount = 0;
  }

  /** Room for `more` rows: both arrays grown (at least doubled) where they lack it. */
  protected reserve(more: number): void {
    const need = this.rowCount + more;
    if (need <= this.levels.length) return;
    const size = Math.max(need, this.levels.length * 2);
    const values = new (this.values.constructor as new (length: number) => T)(size);
    values.set(this.values.subarray(0, this.presentCount) as never);
    const levels = new Uint8Array(size);
    levels.set(this.levels);
    this.values = values;
    this.levels = levels;
    this.grew();
  }

  /** Appends `length` rows of a typed array, every one present. */
  protected appendAll(column: Float32Array | Float64Array | Int32Array | BigInt64Array, length: number): void {
    this.values.set(column.subarray(0, length) as never, this.presentCount);
    this.levels.fill(1, this.rowCount, this.rowCount + length);
    this.rowCount += length;
    this.presentCount += length;
  }

  /** Called once the arrays are new (a view of them to remake). */
  protected grew(): void {}

  /** The rows gathered (their count, present values and levels), the column emptied for the next row group. */
  protected take(): { rows: number; present: T; levels: Uint8Array } {
    const rows = this.rowCount;
    const taken = { rows, present: this.values.subarray(0, this.presentCount) as T, levels: this.levels.subarray(0, rows) };
    this.clear();
    return taken;
  }
}

/** A row group's float32 or float64 column: present values in row order, and which rows have one. */
export class NumberColumn extends Gathered<Float64Array> {
  /** `int32`: an INT32 column (Spark's IntegerType, DuckDB's INTEGER, or a DATE's days), whose values are whole and within its range. */
  constructor(private readonly float32: boolean, private readonly int32 = false) {
    super(new Float64Array(1024));
  }

  /** Appends a column as a batch holds it: a typed array, masked or not, or values with nulls. */
  add(column: Column, length: number): void {
    this.reserve(length);
    const values = this.values;
    const levels = this.levels;
    if (column instanceof Float32Array || (column instanceof Float64Array && !this.float32 && !this.int32) || (column instanceof Int32Array && this.int32)) {
      this.appendAll(column, length);
      return;
    }
    let p = this.presentCount;
    let r = this.rowCount;
    if (column instanceof MaskedColumn && (column.values instanceof Int32Array || (!this.int32 && !(column.values instanceof BigInt64Array)))) {
      const { values: numbers, valid } = column;
      for (let i = 0; i < length; i++, r++) {
        levels[r] = valid[i]!;
        if (valid[i]) values[p++] = this.#number(numbers[i]!);
      }
      this.rowCount = r;
      this.presentCount = p;
      return;
    }
    for (let i = 0; i < length; i++, r++) {
      const v = cell(column, i);
      if (v === null || v === undefined) levels[r] = 0;
      else {
        // A DATE column's Dates (midnight UTC, as read) are its days since the epoch.
        values[p++] = this.#number(typeof v === 'number' ? v : v instanceof Date ? Math.floor(v.getTime() / 86_400_000) : Number(v));
        levels[r] = 1;
      }
    }
    this.rowCount = r;
    this.presentCount = p;
  }

  /** Appends a column packed as numbers and marks. */
  addPacked(numbers: Float64Array, marks: Uint8Array): void {
    this.reserve(numbers.length);
    const values = this.values;
    const levels = this.levels;
    let p = this.presentCount;
    let r = this.rowCount;
    for (let i = 0; i < numbers.length; i++, r++) {
      if (marks[i] === NUMBER) {
        values[p++] = this.#number(numbers[i]!);
        levels[r] = 1;
      } else levels[r] = 0;
    }
    this.rowCount = r;
    this.presentCount = p;
  }

  /** The file holds float32: values are rounded on arrival, so dictionaries and statistics see what is written. */
  #number(v: number): number {
    return this.float32 ? Math.fround(v) : v;
  }

  /** Writes the column chunk, PLAIN or with a dictionary where one pays, and empties the column. */
  write(writer: ByteWriter, name: string, compression: Compression, plain: boolean): ColumnChunk {
    const { rows, present, levels } = this.take();
    // As hyparquet-writer refuses one, when the row group is encoded (the column is emptied all the same).
    if (this.int32) for (const v of present) if (!(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) throw new RangeError(`parquet INT32 value is not a 32-bit integer: ${v}`);
    const width = this.float32 || this.int32 ? 4 : 8;
    const dictionary = plain ? undefined : numberDictionary(present, rows - present.length, width, levels);
    const counted = dictionary ? numberStatistics(dictionary.values, rows - present.length, dictionary.indexes) : numberStatistics(present, rows - present.length);
    // An integer column counts no NaNs: hyparquet-writer leaves the count out.
    const statistics = this.int32 ? { ...counted, nan_count: undefined } : counted;
    const bytes = (values: Float64Array) => (this.int32 ? plainInt32(values) : plainNumbers(values, this.float32));
    return writeChunk(writer, {
      name, type: this.int32 ? 'INT32' : this.float32 ? 'FLOAT' : 'DOUBLE', compression, rows, levels, statistics,
      ...(dictionary
        ? { dictionary: { bytes: bytes(dictionary.values), count: dictionary.values.length, indexes: dictionary.indexes } }
        : { plain: { width, count: present.length, bytes: (from: number, to: number) => bytes(present.subarray(from, to)) } }),
    });
  }
}

/**
 * A row group's list of float32 or float64 (an embedding kept: LIST<FLOAT> or LIST<DOUBLE> in the
 * three-level layout), gathered as rows arrive: its elements' present values, and an entry a
 * row's element (or a row, where the list is null or empty) with Dremel's levels: repetition 0
 * where a row starts, else 1; definition 0 for a null list, 1 for an empty one, 2 for a null
 * element, 3 for a value. hyparquet-writer walked its schema for every value (~100 ns each: 4 of
 * the reading thread's 6 CPU-s on 50,000 rows of 768 floats).
 */
export class ListNumberColumn extends Gathered<Float64Array> {
  // Gathered's rows are this column's entries and its levels their definition levels; the
  // repetition levels grow beside them (grew).
  #reps = new Uint8Array(1024);

  constructor(private readonly float32: boolean) {
    super(new Float64Array(1024));
  }

  /** Appends a column of lists (arrays or typed arrays of numbers, with nulls) as a batch holds it. */
  add(column: Column, length: number): void {
    for (let r = 0; r < length; r++) {
      const cellValue = cell(column, r);
      if (cellValue === null || cellValue === undefined) {
        this.#entry(0);
        continue;
      }
      // As hyparquet-writer is given a list: Array.from of what the cell holds.
      const items = Array.isArray(cellValue) || ArrayBuffer.isView(cellValue) ? cellValue as ArrayLike<unknown> : Array.from(cellValue as Iterable<unknown>);
      const n = items.length;
      if (n === 0) {
        this.#entry(1);
        continue;
      }
      this.reserve(n);
      const e = this.rowCount;
      this.#reps[e] = 0;
      this.#reps.fill(1, e + 1, e + n);
      if ((items instanceof Float32Array || (items instanceof Float64Array && !this.float32))) {
        this.values.set(items, this.presentCount);
        this.levels.fill(3, e, e + n);
        this.presentCount += n;
      } else {
        const values = this.values;
        const defs = this.levels;
        let p = this.presentCount;
        for (let i = 0; i < n; i++) {
          const v = items[i];
          if (v === null || v === undefined) defs[e + i] = 2;
          else {
            defs[e + i] = 3;
            const x = typeof v === 'number' ? v : Number(v);
            values[p++] = this.float32 ? Math.fround(x) : x;
          }
        }
        this.presentCount = p;
      }
      this.rowCount += n;
    }
  }

  /** A row of no element: a null list (0) or an empty one (1). */
  #entry(def: number): void {
    this.reserve(1);
    this.#reps[this.rowCount] = 0;
    this.levels[this.rowCount++] = def;
  }

  protected override grew(): void {
    const reps = new Uint8Array(this.levels.length);
    reps.set(this.#reps.subarray(0, this.rowCount));
    this.#reps = reps;
  }

  /** Writes the leaf's column chunk (PLAIN, or with a dictionary where one pays, as for a flat column) and empties the column. */
  write(writer: ByteWriter, name: string, compression: Compression): ColumnChunk {
    const reps = this.#reps.subarray(0, this.rowCount);
    const { rows: entries, present, levels: defs } = this.take();
    const nulls = entries - present.length;
    const width = this.float32 ? 4 : 8;
    const flags = new Uint8Array(entries);
    for (let i = 0; i < entries; i++) flags[i] = defs[i] === 3 ? 1 : 0;
    const dictionary = numberDictionary(present, nulls, width, flags);
    const statistics = dictionary ? numberStatistics(dictionary.values, nulls, dictionary.indexes) : numberStatistics(present, nulls);
    return writeChunk(writer, {
      name, type: this.float32 ? 'FLOAT' : 'DOUBLE', compression, rows: entries, levels: defs, statistics,
      repeated: { reps, maxDef: 3, path: [name, 'list', 'element'] },
      ...(dictionary
        ? { dictionary: { bytes: plainNumbers(dictionary.values, this.float32), count: dictionary.values.length, indexes: dictionary.indexes } }
        : { plain: { width, count: present.length, bytes: (from: number, to: number) => plainNumbers(present.subarray(from, to), this.float32) } }),
    });
  }
}

/**
 * A row group's INT64 column (a signed 64-bit integer, or a timestamp counted in its unit): present
 * values in row order, and which rows have one. Values are moved as their two 32-bit words, never
 * as a bigint each: hyparquet-writer's passes over a column of bigints (range check, statistics,
 * dictionary, plain bytes) each made one per value, ~0.5 µs a cell.
 */
export class Int64Column extends Gathered<BigInt64Array> {
  /** `scale`: a Date's milliseconds to the column's unit (a timestamp's; 1n otherwise). */
  #words: Uint32Array;

  constructor(private readonly scale = 1n) {
    super(new BigInt64Array(1024));
    this.#words = new Uint32Array(this.values.buffer);
  }

  /** Appends a column as a batch holds it: a BigInt64Array, masked or not, or values (bigints, whole numbers) with nulls. */
  add(column: Column, length: number): void {
    this.reserve(length);
    const levels = this.levels;
    if (column instanceof BigInt64Array) {
      this.appendAll(column, length);
      return;
    }
    let p = this.presentCount;
    let r = this.rowCount;
    if (column instanceof MaskedColumn && column.values instanceof BigInt64Array) {
      const { values, valid } = column;
      const from = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
      const to = this.#words;
      for (let i = 0; i < length; i++, r++) {
        levels[r] = valid[i]!;
        if (!valid[i]) continue;
        to[2 * p] = from[2 * i]!;
        to[2 * p + 1] = from[2 * i + 1]!;
        p++;
      }
    } else {
      for (let i = 0; i < length; i++, r++) {
        const v = cell(column, i);
        if (v === null || v === undefined) levels[r] = 0;
        else {
          const n = typeof v === 'bigint' ? v : v instanceof Date ? BigInt(v.getTime()) * this.scale : BigInt(v as number);
          // A BigInt64Array would keep the low 64 bits of a larger value: another number, silently.
          if (n < int64Min || n > int64Max) throw new RangeError(`parquet INT64 value out of range: ${n}`);
          this.values[p++] = n;
          levels[r] = 1;
        }
      }
    }
    this.rowCount = r;
    this.presentCount = p;
  }

  protected override grew(): void {
    this.#words = new Uint32Array(this.values.buffer);
  }

  /** Writes the column chunk, PLAIN or with a dictionary where one pays, and empties the column. */
  write(writer: ByteWriter, name: string, compression: Compression): ColumnChunk {
    const { rows, present, levels } = this.take();
    const dictionary = int64Dictionary(present, rows - present.length, levels);
    const statistics = int64Statistics(dictionary ? dictionary.values : present, rows - present.length);
    return writeChunk(writer, {
      name, type: 'INT64', compression, rows, levels, statistics,
      ...(dictionary
        ? { dictionary: { bytes: plainInt64(dictionary.values), count: dictionary.values.length, indexes: dictionary.indexes } }
        : { plain: { width: 8, count: present.length, bytes: (from: number, to: number) => plainInt64(present.subarray(from, to)) } }),
    });
  }
}

/**
 * A row group's BOOLEAN column: present values as 0 and 1 in row order, and which rows have one;
 * written RLE (bit-packed runs, length-prefixed) past 16 rows, else PLAIN bits, as
 * hyparquet-writer writes them.
 */
export class BoolColumn extends Gathered<Uint8Array> {
  constructor() {
    super(new Uint8Array(1024));
  }

  /** Appends a column as a batch holds it: booleans (or what is truthy) with nulls. */
  add(column: Column, length: number): void {
    this.reserve(length);
    const values = this.values;
    const levels = this.levels;
    let p = this.presentCount;
    let r = this.rowCount;
    for (let i = 0; i < length; i++, r++) {
      const v = cell(column, i);
      if (v === null || v === undefined) levels[r] = 0;
      else {
        values[p++] = v ? 1 : 0;
        levels[r] = 1;
      }
    }
    this.rowCount = r;
    this.presentCount = p;
  }

  /** Writes the column chunk and empties the column. */
  write(writer: ByteWriter, name: string, compression: Compression): ColumnChunk {
    const { rows, present, levels } = this.take();
    let falses = 0;
    for (let i = 0; i < present.length; i++) falses += 1 - present[i]!;
    const trues = present.length - falses;
    const statistics = {
      min_value: falses > 0 ? false : trues > 0 ? true : undefined, max_value: trues > 0 ? true : falses > 0 ? false : undefined,
      null_count: BigInt(rows - present.length), nan_count: undefined,
    };
    const rle = rows > 16;
    return writeChunk(writer, {
      name, type: 'BOOLEAN', compression, rows, levels, statistics,
      plain: { width: 0.125, count: present.length, encoding: rle ? 'RLE' : 'PLAIN', bytes: (from, to) => (rle ? rleBooleans(present.subarray(from, to)) : plainBooleans(present.subarray(from, to))) },
    });
  }
}

const booleanEncoder = new HybridEncoder();

/** Booleans RLE-encoded (bit width 1), after their byte length. */
function rleBooleans(values: Uint8Array): Uint8Array {
  const encoded = booleanEncoder.encode(values, 1);
  const out = new Uint8Array(4 + encoded.length);
  new DataView(out.buffer).setUint32(0, encoded.length, true);
  out.set(encoded, 4);
  return out;
}

/** Booleans as PLAIN bits, the first in a byte's lowest bit. */
function plainBooleans(values: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) out[i >> 3]! |= values[i]! << (i & 7);
  return out;
}

/** A row group's text column: runs of rows as posted (distinct strings and codes, or the values). */
export class TextColumn {
  #segments: TextSegment[] = [];
  #rows = 0;

  get rows(): number {
    return this.#rows;
  }

  /** Appends a column as a batch holds it; values that are not strings are written as their text. */
  add(column: Column, length: number): void {
    this.#segments.push({ values: column, length });
    this.#rows += length;
  }

  /** Appends a column packed as distinct strings and a code per row (sink/transfer.ts). */
  addPacked(strings: readonly string[], codes: Uint16Array): void {
    this.#segments.push({ strings, codes });
    this.#rows += codes.length;
  }

  /** Empties the column for the next row group. */
  clear(): void {
    this.#segments = [];
    this.#rows = 0;
  }

  /** Writes the column chunk, with a dictionary where one pays or PLAIN, and empties the column. */
  write(writer: ByteWriter, name: string, compression: Compression): ColumnChunk {
    const rows = this.#rows;
    const segments = this.#segments;
    this.clear();
    const dictionary = textDictionary(segments, rows);
    if (dictionary) {
      return writeChunk(writer, { name, type: 'BYTE_ARRAY', compression, rows, levels: dictionary.levels, statistics: textStatistics(dictionary.values, rows - dictionary.present), dictionary: { bytes: plainTexts(dictionary.values).bytes, count: dictionary.values.length, indexes: dictionary.indexes } });
    }
    const levels = new Uint8Array(rows);
    const present: string[] = [];
    let r = 0;
    forEachText(segments, (v) => {
      if (v !== null) {
        levels[r] = 1;
        present.push(v);
      }
      r++;
    });
    const { bytes, offsets } = plainTexts(present);
    return writeChunk(writer, {
      name, type: 'BYTE_ARRAY', compression, rows, levels, statistics: textStatistics(present, rows - present.length),
      // Pages split by the values' UTF-8 bytes, as the writer counts them once they are encoded.
      plain: { width: (i) => offsets[i + 1]! - offsets[i]! - PREFIX, count: present.length, bytes: (from, to) => bytes.subarray(offsets[from]!, offsets[to]!) },
    });
  }
}

type TextSegment =
  | { readonly values: Column; readonly length: number }
  | { readonly strings: readonly string[]; readonly codes: Uint16Array };

/** A row's text: null for null or undefined, else the value as a string. */
function text(v: unknown): string | null {
  return v === null || v === undefined ? null : typeof v === 'string' ? v : String(v);
}

/** Row `i` of a segment, as text. */
function textOf(s: TextSegment, i: number): string | null {
  if (!('codes' in s)) return text(cell(s.values, i));
  const c = s.codes[i]!;
  return c < FIRST_STRING ? null : s.strings[c - FIRST_STRING]!;
}

const segmentRows = (s: TextSegment) => ('codes' in s ? s.codes.length : s.length);

/** Every row's text, in order. */
function forEachText(segments: readonly TextSegment[], each: (text: string | null) => void): void {
  for (const s of segments) for (let i = 0, n = segmentRows(s); i < n; i++) each(textOf(s, i));
}

/** The rows at `at` (ascending), as text. */
function textsAt(segments: readonly TextSegment[], at: readonly number[]): (string | null)[] {
  const out: (string | null)[] = [];
  let start = 0;
  let k = 0;
  for (const s of segments) {
    const length = segmentRows(s);
    for (; k < at.length && at[k]! < start + length; k++) out.push(textOf(s, at[k]! - start));
    start += length;
  }
  return out;
}

/**
 * The rows hyparquet-writer samples to decide whether a dictionary may pay: spread evenly over the
 * chunk. Every column of a row group asks for the same rows, so the last answer is kept: a
 * 1,000-column output in row groups of 2,000 rows spent a tenth of its encoding time making them.
 */
function sampleRows(rows: number): readonly number[] {
  if (sampled.rows === rows) return sampled.at;
  const n = Math.min(rows, SAMPLE);
  sampled = { rows, at: Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Math.floor((i * (rows - 1)) / (n - 1)))) };
  return sampled.at;
}
let sampled: { rows: number; at: readonly number[] } = { rows: -1, at: [] };

/** Rejects a dictionary when the sample's distinct values are nearly all its bytes. */
function sampleRejects(values: readonly unknown[], size: (v: unknown) => number): boolean {
  const sizes = new Map<unknown, number>();
  let distinct = 0;
  let total = 0;
  for (const v of values) {
    let s = sizes.get(v);
    if (s === undefined) {
      s = size(v);
      sizes.set(v, s);
      distinct += s;
    }
    total += s;
  }
  return !total || distinct / total > SAMPLE_REJECTS;
}

/** A dictionary pays when it and its bit-packed indexes take at most half the PLAIN bytes. */
function dictionaryPays(distinct: number, distinctBytes: number, present: number, presentBytes: number): boolean {
  const indexBytes = Math.ceil((present * Math.ceil(Math.log2(distinct))) / 8);
  return 2 * (distinctBytes + indexBytes) <= presentBytes;
}

interface TextDictionary {
  readonly values: string[];
  /** Per present row, in order. */
  readonly indexes: Int32Array;
  readonly levels: Uint8Array;
  readonly present: number;
}

function textDictionary(segments: readonly TextSegment[], rows: number): TextDictionary | undefined {
  if (sampleRejects(textsAt(segments, sampleRows(rows)), (v) => (v === null ? 0 : (v as string).length + PREFIX))) return undefined;
  const index = new Map<string, number>();
  const values: string[] = [];
  const indexes = new Int32Array(rows);
  const levels = new Uint8Array(rows);
  let present = 0;
  let presentBytes = 0;
  let distinctBytes = 0;
  const indexOf = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = values.push(s) - 1;
      index.set(s, i);
      distinctBytes += s.length + PREFIX;
    }
    return i;
  };
  let r = 0;
  for (const s of segments) {
    if ('codes' in s) {
      // Each posted string is looked up once, not once per row, and its bytes are added up per
      // string after the loop: reading a string's length a row cost more than the rest of the row.
      const remap = new Int32Array(s.strings.length).fill(-1);
      const counts = new Int32Array(s.strings.length);
      for (let k = 0; k < s.codes.length; k++, r++) {
        const c = s.codes[k]! - FIRST_STRING;
        if (c < 0) continue;
        let i = remap[c]!;
        if (i < 0) i = remap[c] = indexOf(s.strings[c]!);
        levels[r] = 1;
        indexes[present++] = i;
        counts[c] = counts[c]! + 1;
      }
      for (let c = 0; c < counts.length; c++) presentBytes += counts[c]! * (s.strings[c]!.length + PREFIX);
    } else {
      for (let k = 0; k < s.length; k++, r++) {
        const v = text(cell(s.values, k));
        if (v === null) continue;
        levels[r] = 1;
        indexes[present++] = indexOf(v);
        presentBytes += v.length + PREFIX;
      }
    }
  }
  if (!dictionaryPays(values.length, distinctBytes, present, presentBytes)) return undefined;
  return { values, indexes: indexes.subarray(0, present), levels, present };
}

/**
 * sampleRejects for a number column, whose values all take the same bytes: whether the distinct
 * values among the sampled rows that have one are nearly all of them. Found by their bits, as
 * numberDictionary and int64Dictionary find theirs (a Map boxed every double and made a bigint of
 * every integer, a fixed ~50 µs a column chunk that wide outputs in small row groups pay by the
 * thousand); `same` makes the values SameValueZero would call one (zeros, NaNs) one.
 */
function sampleRejectsNumbers<T extends Float64Array | BigInt64Array>(present: T, rows: number, levels: Uint8Array, same?: (v: number) => number): boolean {
  const at = sampleRows(rows);
  const values = (present instanceof Float64Array ? new Float64Array(at.length) : new BigInt64Array(at.length)) as T;
  let n = 0;
  let p = 0;
  let r = 0;
  for (const row of at) {
    for (; r < row; r++) p += levels[r]!;
    if (levels[row]) values[n++] = present[p]!;
  }
  if (n === 0) return true;
  if (same) for (let i = 0; i < n; i++) values[i] = same(values[i] as number);
  const { firsts } = distinctWords(new Uint32Array(values.buffer, 0, n * 2), n, true);
  return firsts.length / n > SAMPLE_REJECTS;
}

/** Zeros and NaNs as one value each, as a Map's SameValueZero sees them. */
const sameValueZero = (v: number) => (v === 0 ? 0 : v !== v ? NaN : v);

/**
 * Distinct values in first-seen order among `count` values given as pairs of 32-bit words (a
 * double's bits, a 64-bit integer's), found through a hash table over the words with nothing
 * boxed (a Map would box every double, and make a bigint of every integer, it is asked about):
 * each value's index among the distinct ones, and where each was first met. `sized`: make the
 * table for `count` distinct values at once (a sample, whose values are often all distinct: the
 * table grew four times for each).
 */
function distinctWords(words: Uint32Array, count: number, sized = false): { indexes: Int32Array; firsts: Int32Array } {
  let firsts = new Int32Array(sized ? Math.max(count, 1) : 64);
  let distinct = 0;
  let slots = new Int32Array(sized ? Math.max(256, 2 ** Math.ceil(Math.log2(2 * count + 1))) : 256).fill(-1);
  const indexes = new Int32Array(count);
  const slotOf = (k: number, table: Int32Array): number => {
    const low = words[2 * k]!;
    const high = words[2 * k + 1]!;
    const mask = table.length - 1;
    // Both words mixed into every bit (murmur3's finalizer): integers and whole doubles have
    // all-zero low or high words, and a table indexed by one word alone put them in one chain.
    let h = Math.imul(low, 0x9e3779b1) ^ high;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    let s = (h ^ (h >>> 16)) & mask;
    for (;;) {
      const i = table[s]!;
      if (i < 0 || (words[2 * firsts[i]!] === low && words[2 * firsts[i]! + 1] === high)) return s;
      s = (s + 1) & mask;
    }
  };
  for (let k = 0; k < count; k++) {
    const s = slotOf(k, slots);
    let i = slots[s]!;
    if (i < 0) {
      if (distinct === firsts.length) {
        const grown = new Int32Array(distinct * 2);
        grown.set(firsts);
        firsts = grown;
      }
      i = distinct++;
      firsts[i] = k;
      slots[s] = i;
      if (distinct * 2 > slots.length) {
        const table = new Int32Array(slots.length * 2).fill(-1);
        for (let j = 0; j < distinct; j++) table[slotOf(firsts[j]!, table)] = j;
        slots = table;
      }
    }
    indexes[k] = i;
  }
  return { indexes, firsts: firsts.subarray(0, distinct) };
}

/**
 * Distinct numbers in first-seen order, as hyparquet-writer's Map finds them: zeros are one value,
 * as are NaNs (SameValueZero), so their bits are compared once both are made one; the dictionary
 * holds each as first met (−0 where it came before 0).
 */
function numberDictionary(present: Float64Array, nulls: number, width: number, levels: Uint8Array): { values: Float64Array; indexes: Int32Array } | undefined {
  if (sampleRejectsNumbers(present, present.length + nulls, levels, sameValueZero)) return undefined;
  const same = present.map(sameValueZero);
  const { indexes, firsts } = distinctWords(new Uint32Array(same.buffer, same.byteOffset, same.length * 2), present.length);
  if (!dictionaryPays(firsts.length, firsts.length * width, present.length, present.length * width)) return undefined;
  return { values: Float64Array.from(firsts, (k) => present[k]!), indexes };
}

/** Distinct 64-bit integers in first-seen order, by their two words (no bigint made a value), as hyparquet-writer decides and builds a dictionary of them. */
function int64Dictionary(present: BigInt64Array, nulls: number, levels: Uint8Array): { values: BigInt64Array; indexes: Int32Array } | undefined {
  if (sampleRejectsNumbers(present, present.length + nulls, levels)) return undefined;
  const words = new Uint32Array(present.buffer, present.byteOffset, present.length * 2);
  const { indexes, firsts } = distinctWords(words, present.length);
  if (!dictionaryPays(firsts.length, firsts.length * 8, present.length, present.length * 8)) return undefined;
  const values = new BigInt64Array(firsts.length);
  const out = new Uint32Array(values.buffer);
  firsts.forEach((k, i) => out.set(words.subarray(2 * k, 2 * k + 2), 2 * i));
  return { values, indexes };
}

/** Statistics of an INT64 column from its present (or distinct) values: compared by their words, the high one signed. */
function int64Statistics(values: BigInt64Array, nulls: number): Statistics & { nan_count?: bigint } {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  let min = -1;
  let max = -1;
  const below = (a: number, b: number) => {
    const ha = words[2 * a + 1]! | 0;
    const hb = words[2 * b + 1]! | 0;
    return ha < hb || (ha === hb && words[2 * a]! < words[2 * b]!);
  };
  for (let i = 0; i < values.length; i++) {
    if (min < 0 || below(i, min)) min = i;
    if (max < 0 || below(max, i)) max = i;
  }
  return { min_value: min >= 0 ? values[min]! : undefined, max_value: max >= 0 ? values[max]! : undefined, null_count: BigInt(nulls), nan_count: undefined };
}

/**
 * Statistics of a number column from its present values, or, when `indexes` is given, from its
 * dictionary's distinct values: the same minimum and maximum (the dictionary holds every present
 * value, zeros and NaNs merged, and Parquet's rule below fixes the zeros' signs), with NaNs
 * counted by row through the indexes. A row group's dictionary is usually a few hundred values
 * where the rows are 65,536.
 */
function numberStatistics(values: Float64Array, nulls: number, indexes?: Int32Array): Statistics & { nan_count?: bigint } {
  let min = Infinity;
  let max = -Infinity;
  let nans = 0;
  let nanAt = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) {
      nans++;
      nanAt = i;
    } else {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (indexes) {
    nans = 0;
    if (nanAt >= 0) for (let i = 0; i < indexes.length; i++) if (indexes[i] === nanAt) nans++;
  }
  // No minimum or maximum where a NaN is, as DuckDB's and parquet-mr's writers (PARQUET-1246) leave
  // them out: DuckDB orders NaN above every number and would skip the row group for `x > max`.
  // Parquet's rule for zeros: the minimum is written as −0 and the maximum as +0.
  const any = min <= max && nanAt < 0;
  return {
    min_value: !any ? undefined : min === 0 ? -0 : min, max_value: !any ? undefined : max === 0 ? 0 : max,
    null_count: BigInt(nulls), nan_count: BigInt(nans),
  };
}

/** Statistics of a text column from its distinct present values, first seen first (ties keep the first). */
function textStatistics(values: readonly string[], nulls: number): Statistics & { nan_count?: bigint } {
  let min: string | undefined;
  let max: string | undefined;
  for (const v of values) {
    if (v === min || v === max) continue;
    if (min === undefined) min = max = v;
    else if (utf8Compare(v, min) < 0) min = v;
    else if (utf8Compare(v, max!) > 0) max = v;
  }
  return { min_value: min, max_value: max, null_count: BigInt(nulls), nan_count: undefined };
}

/** Strings in UTF-8 byte order, which is code point order (lone surrogates as U+FFFD, as they are encoded). */
function utf8Compare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  // Outside surrogates UTF-16 order is code point order; within them, compare whole code points.
  if ((x < 0xd800 || x > 0xdfff) && (y < 0xd800 || y > 0xdfff)) return x - y;
  if (i > 0 && a.charCodeAt(i - 1) >= 0xd800 && a.charCodeAt(i - 1) <= 0xdbff) i--;
  for (;;) {
    if (i >= a.length || i >= b.length) return a.length - b.length;
    const p = codePoint(a, i);
    const q = codePoint(b, i);
    if (p !== q) return p - q;
    i += p > 0xffff ? 2 : 1;
  }
}

function codePoint(s: string, i: number): number {
  const c = s.codePointAt(i)!;
  return c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
}

/** Numbers as PLAIN bytes: little-endian float64 or float32. */
function plainNumbers(values: Float64Array, float32: boolean): Uint8Array {
  const array = float32 ? Float32Array.from(values) : values;
  if (littleEndian) return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const out = new Uint8Array(array.byteLength);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => (float32 ? view.setFloat32(i * 4, v, true) : view.setFloat64(i * 8, v, true)));
  return out;
}

/** 32-bit integers (held as doubles) as PLAIN bytes, little-endian. */
function plainInt32(values: Float64Array): Uint8Array {
  const array = Int32Array.from(values);
  if (littleEndian) return new Uint8Array(array.buffer);
  const out = new Uint8Array(array.byteLength);
  const view = new DataView(out.buffer);
  array.forEach((v, i) => view.setInt32(i * 4, v, true));
  return out;
}

/** 64-bit integers as PLAIN bytes: little-endian, as a BigInt64Array holds them here. */
function plainInt64(values: BigInt64Array): Uint8Array {
  if (littleEndian) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

const encoder = new TextEncoder();

/** Strings as PLAIN bytes (each as its UTF-8 length and bytes), and where each begins. */
function plainTexts(values: readonly string[]): { bytes: Uint8Array; offsets: Int32Array } {
  let size = 0;
  for (const v of values) size += PREFIX + v.length * 3;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const offsets = new Int32Array(values.length + 1);
  let o = 0;
  for (let i = 0; i < values.length; i++) {
    const { written } = encoder.encodeInto(values[i]!, out.subarray(o + PREFIX));
    view.setUint32(o, written, true);
    o += PREFIX + written;
    offsets[i + 1] = o;
  }
  return { bytes: out.subarray(0, o), offsets };
}

interface ChunkSpec {
  readonly name: string;
  readonly type: 'BOOLEAN' | 'FLOAT' | 'DOUBLE' | 'INT32' | 'INT64' | 'BYTE_ARRAY';
  readonly compression: Compression;
  readonly rows: number;
  /** 1 where the row has a value, 0 where it is null. */
  readonly levels: Uint8Array;
  readonly statistics: Statistics;
  /** RLE_DICTIONARY pages: the dictionary page's values, and an index per present row. */
  readonly dictionary?: { readonly bytes: Uint8Array; readonly count: number; readonly indexes: Int32Array };
  /** PLAIN pages: a present value's size as the page split counts it, how many values are present, and the bytes of present values [from, to). */
  readonly plain?: { readonly width: number | ((i: number) => number); readonly count: number; bytes(from: number, to: number): Uint8Array; readonly encoding?: Encoding };
  /**
   * A list's leaf: `rows` counts its entries, `levels` holds their definition levels (a value at
   * `maxDef`), `reps` their repetition levels (0 where a row starts); the column's path in the schema.
   */
  readonly repeated?: { readonly reps: Uint8Array; readonly maxDef: number; readonly path: readonly string[] };
}

export const codecs = { snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD', uncompressed: 'UNCOMPRESSED' } as const;

/** A page's bytes compressed; snappy's are valid until the next call (sink/snappy.ts). */
function compress(bytes: Uint8Array, { codec, level }: Compression): Uint8Array {
  return codec === 'snappy' ? snappyCompress(bytes) : codec === 'gzip' ? gzipSync(bytes, { level }) : codec === 'zstd' ? zstdCompress(bytes, level) : bytes;
}

/** A page's levels and dictionary indexes, each encoded into a buffer reused across pages. */
const repEncoder = new HybridEncoder();
const levelEncoder = new HybridEncoder();
const indexEncoder = new HybridEncoder();

/** Writes a column chunk: a dictionary page if any, then DATA_PAGE_V2 pages of ~1 MiB of values each. */
function writeChunk(writer: ByteWriter, spec: ChunkSpec): ColumnChunk {
  const { rows, levels, dictionary, plain, repeated } = spec;
  const maxDef = repeated?.maxDef ?? 1;
  const start = writer.offset;
  let uncompressed = 0;
  let dictionaryOffset: bigint | undefined;
  if (dictionary) {
    dictionaryOffset = BigInt(writer.offset);
    const compressed = compress(dictionary.bytes, spec.compression);
    const at = writer.offset;
    writePageHeader(writer, {
      type: 'DICTIONARY_PAGE', uncompressed_page_size: dictionary.bytes.length, compressed_page_size: compressed.length,
      dictionary_page_header: { num_values: dictionary.count, encoding: 'PLAIN' },
    });
    uncompressed += writer.offset - at + dictionary.bytes.length;
    writer.appendBytes(compressed);
  }
  const encoding: Encoding = dictionary ? 'RLE_DICTIONARY' : plain!.encoding ?? 'PLAIN';
  const dataOffset = BigInt(writer.offset);
  // A page ends before the value that brings it to PAGE_BYTES (dictionary indexes count 4 bytes).
  const width = dictionary ? 4 : plain!.width;
  let pages = 0;
  const present = dictionary ? dictionary.indexes.length : plain!.count;
  // A fixed width splits where a page's count of values reaches PAGE_BYTES / width: with no null
  // row, or with every value in one page, the pages follow without a walk over the rows. A list's
  // page starts where a row does.
  const perPage = typeof width === 'number' ? Math.ceil(PAGE_BYTES / width) - 1 : 0;
  if (perPage > 0 && ((present === rows && !repeated) || present <= perPage)) {
    const step = present === rows ? perPage : rows;
    for (let first = 0; first < rows; first += step) {
      const end = Math.min(rows, first + step);
      uncompressed += writePage(writer, spec, encoding, first, end, present === rows ? first : 0, present === rows ? end : present);
      pages++;
    }
  } else {
    const reps = repeated?.reps;
    let first = 0;
    let firstPresent = 0;
    let bytes = 0;
    let p = 0;
    for (let r = 0; r <= rows; r++) {
      const size = r === rows || levels[r] !== maxDef ? 0 : typeof width === 'number' ? width : width(p);
      bytes += size;
      if (r === rows ? first < rows : bytes >= PAGE_BYTES && r > first && (reps === undefined || reps[r] === 0)) {
        uncompressed += writePage(writer, spec, encoding, first, r, firstPresent, p);
        pages++;
        first = r;
        firstPresent = p;
        bytes = size;
      }
      if (r < rows && levels[r] === maxDef) p++;
    }
  }
  return {
    meta_data: {
      type: spec.type,
      encodings: dictionary ? ['PLAIN', 'RLE_DICTIONARY'] : [encoding],
      path_in_schema: repeated ? [...repeated.path] : [spec.name],
      codec: codecs[spec.compression.codec],
      num_values: BigInt(rows),
      total_compressed_size: BigInt(writer.offset - start),
      total_uncompressed_size: BigInt(uncompressed),
      data_page_offset: dataOffset,
      ...(dictionaryOffset !== undefined ? { dictionary_page_offset: dictionaryOffset } : {}),
      statistics: spec.statistics,
      encoding_stats: [
        ...(dictionary ? [{ page_type: 'DICTIONARY_PAGE' as const, encoding: 'PLAIN' as const, count: 1 }] : []),
        { page_type: 'DATA_PAGE_V2' as const, encoding, count: pages },
      ],
    },
    file_offset: BigInt(start),
  };
}

/** One DATA_PAGE_V2 of rows (a list's entries) [first, end), whose present values are [from, to); returns its uncompressed size. */
function writePage(writer: ByteWriter, spec: ChunkSpec, encoding: Encoding, first: number, end: number, from: number, to: number): number {
  const levels = spec.levels.subarray(first, end);
  const reps = spec.repeated?.reps.subarray(first, end);
  const repBytes = reps ? repEncoder.encode(reps, 1) : new Uint8Array(0);
  const levelBytes = levelEncoder.encode(levels, Math.ceil(Math.log2((spec.repeated?.maxDef ?? 1) + 1)));
  let rows = levels.length;
  if (reps) {
    rows = 0;
    for (let i = 0; i < reps.length; i++) if (reps[i] === 0) rows++;
  }
  let values: Uint8Array;
  if (spec.dictionary) {
    const indexes = spec.dictionary.indexes.subarray(from, to);
    let max = 0;
    for (let i = 0; i < indexes.length; i++) if (indexes[i]! > max) max = indexes[i]!;
    const bitWidth = Math.ceil(Math.log2(max + 1));
    values = indexEncoder.encode(indexes, bitWidth, bitWidth);
  } else values = spec.plain!.bytes(from, to);
  const compressed = compress(values, spec.compression);
  const at = writer.offset;
  writePageHeader(writer, {
    type: 'DATA_PAGE_V2', uncompressed_page_size: repBytes.length + levelBytes.length + values.length, compressed_page_size: repBytes.length + levelBytes.length + compressed.length,
    data_page_header_v2: {
      num_values: levels.length, num_nulls: levels.length - (to - from), num_rows: rows, encoding,
      definition_levels_byte_length: levelBytes.length, repetition_levels_byte_length: repBytes.length, is_compressed: true,
    },
  });
  const header = writer.offset - at;
  writer.appendBytes(repBytes);
  writer.appendBytes(levelBytes);
  writer.appendBytes(compressed);
  return header + repBytes.length + levelBytes.length + values.length;
}
