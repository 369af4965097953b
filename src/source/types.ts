/**
 * @file What every reader yields: columnar chunks of rows with a fixed schema, plus where
 * each row came from so errors can name the file and row.
 */

import type { BentoError } from '../errors.js';

/**
 * Column types as they travel from sources to sinks. `json` is any JSON value (objects, lists,
 * mixed); `binary` is raw bytes (Uint8Array cells: a Parquet BLOB), which text would mangle.
 */
export type FieldType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'string' | 'binary' | 'timestamp' | 'date' | 'json' | 'list' | 'struct';

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  /** For `list`: the element type. */
  readonly items?: FieldType;
  /** For `struct` (or a list of structs): the members, in order. */
  readonly fields?: readonly Field[];
  /** Real-valued model scores: nearly every value distinct, so a Parquet dictionary never pays. */
  readonly continuous?: boolean;
  /**
   * For a `timestamp` finer than milliseconds (Parquet TIMESTAMP in MICROS or NANOS, as Spark,
   * pandas and Polars write them): its values are bigints in that unit since the epoch, since a
   * Date holds milliseconds only. Absent: Date values. On a `list` of timestamps, its items'.
   */
  readonly unit?: TimeUnit;
  /**
   * For a `timestamp`: true when it is a wall-clock time not adjusted to UTC (Parquet
   * isAdjustedToUTC false, as pandas and Polars write a datetime without a time zone), so a
   * Parquet output declares it the same way. Absent: an instant in UTC. On a `list` of timestamps, its items'.
   */
  readonly naive?: boolean;
  /**
   * For `int32` and `int64` read from Parquet with an integer annotation (DuckDB's TINYINT,
   * UINTEGER, UBIGINT, …): its width and sign, so a Parquet output declares the same type, and
   * an unsigned value past the signed range (UBIGINT 18446744073709551615) can be written at all.
   * On a `list` of integers, its items'.
   */
  readonly integer?: { readonly bits: 8 | 16 | 32 | 64; readonly signed: boolean };
  /**
   * For `string`: a Parquet UUID (16 bytes, as DuckDB, Arrow and Polars write one), its cells the
   * canonical text (`61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1d`), so a Parquet output declares a UUID again.
   * On a `list` of UUIDs, its items'.
   */
  readonly uuid?: boolean;
}

/** Number.MAX_SAFE_INTEGER as a bigint: a bigint within ±this converts to a double exactly. */
export const maxSafeBig = BigInt(Number.MAX_SAFE_INTEGER);

/** What a signed 64-bit integer holds. */
export const int64Min = -(2n ** 63n);
export const int64Max = 2n ** 63n - 1n;

/**
 * DuckDB's and PostgreSQL's 'infinity' (and, negated, '-infinity'): a TIMESTAMP of any unit at the
 * INT64 end, a DATE at the INT32 end, in days.
 */
export const infinityStamp = int64Max;
export const infinityDays = 2_147_483_647;

/** Microseconds or nanoseconds. */
export type TimeUnit = 'us' | 'ns';

/** The typed arrays a number column travels in. */
export type NumberArray = Float64Array | Float32Array | Int32Array | BigInt64Array;

/**
 * A number column with missing cells, kept unboxed: `values[i]` where `valid[i]` is 1, a null
 * cell where it is 0 (its value is then meaningless). A plain array of numbers and nulls costs a
 * heap object per number and a pointer per row, all of it garbage soon after: on a Parquet file
 * whose number columns have a null, that was most of what the scoring thread allocated.
 */
export class MaskedColumn {
  constructor(readonly values: NumberArray, readonly valid: Uint8Array) {}

  get length(): number {
    return this.values.length;
  }

  /** Rows `[from, to)`, sharing memory with this column. */
  subarray(from: number, to: number): MaskedColumn {
    return new MaskedColumn(this.values.subarray(from, to), this.valid.subarray(from, to));
  }
}

/**
 * A text column of few distinct values, as a dictionary-encoded Parquet column and a model's
 * labels are: `dictionary[codes[i]]`, or a null cell where the code is -1. The reader need not
 * look up or copy a string a row, and neither need the batcher or the transfer to a writer or
 * encoder thread.
 */
export class CodedColumn {
  constructor(readonly codes: Int32Array, readonly dictionary: readonly string[]) {}

  get length(): number {
    return this.codes.length;
  }

  /** Rows `[from, to)`, sharing memory with this column. */
  subarray(from: number, to: number): CodedColumn {
    return new CodedColumn(this.codes.subarray(from, to), this.dictionary);
  }
}

/**
 * One column of a chunk, dense, `length` long. Numeric Parquet columns may arrive as typed
 * arrays, or masked ones when they have a null; dictionary-encoded text as coded ones; everything
 * else is a plain array whose holes are `null`. Read a cell of any of them with `cell`.
 */
export type Column = ArrayLike<unknown> | MaskedColumn | CodedColumn;

/** Cell `i` of a column, null where it has none. Hot loops test for the column forms instead. */
export function cell(column: Column, i: number): unknown {
  if (column instanceof MaskedColumn) return column.valid[i] ? column.values[i] : null;
  if (column instanceof CodedColumn) {
    const code = column.codes[i]!;
    return code < 0 ? null : column.dictionary[code];
  }
  return column[i];
}

/**
 * About the bytes a struct's or list's value takes in memory: its texts' characters and ~24
 * bytes each, its numbers' width, nested values summed, with a heap object's own ~32 bytes for
 * each list and struct and ~40 for each of a struct's keys (its dictionary entry, its number
 * boxed): JSON nested 300 deep is 300 objects a row, not the 300 characters of its keys, and an
 * object of 500 keys took ~28 KB where its text took 7.5 KB.
 */
export function cellBytes(value: unknown): number {
  // A string inside a list or struct is a heap object of its own: a list of 2,000 short words took ~25 times its characters.
  if (typeof value === 'string') return 24 + value.length;
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'object') return 8;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Date) return 8;
  // A list read as a typed row (a Parquet list only the model reads): its numbers, unboxed.
  if (ArrayBuffer.isView(value)) return 32 + value.byteLength;
  let bytes = 32;
  if (Array.isArray(value)) {
    // A number counted here, not a call each: an embedding holds hundreds.
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      bytes += typeof item === 'number' ? 8 : cellBytes(item);
    }
    return bytes;
  }
  // for…in, not Object.entries: an array of pairs a struct cost more than the count (2.2 s of 8,000 rows of 500 keys, counted twice).
  const struct = value as Record<string, unknown>;
  for (const key in struct) bytes += 40 + key.length + cellBytes(struct[key]);
  return bytes;
}

/** Rows `[from, to)` of a column: a typed, masked or coded one's as a view (nothing copied), a plain one's copied. */
export function sliceColumn(column: Column, from: number, to: number): Column {
  if (from === 0 && to === column.length) return column;
  if (column instanceof MaskedColumn || column instanceof CodedColumn || ArrayBuffer.isView(column)) return (column as unknown as { subarray(a: number, b: number): Column }).subarray(from, to);
  return Array.prototype.slice.call(column, from, to);
}

/** Every cell of a column, in a plain array. */
export function cells(column: Column): unknown[] {
  return Array.from({ length: column.length }, (_, i) => cell(column, i));
}

/**
 * Where reading stands: the rows of `files[file]` before `row` are consumed. Text formats also
 * carry the byte offset (in the decompressed stream for .gz) just after that row, so a resume
 * seeks instead of rescanning, and the line number for messages.
 */
export interface SourcePosition {
  readonly file: number;
  readonly row: number;
  readonly byte?: number;
  readonly line?: number;
  /** A stream's (source/stream.ts): the hash of its content up to a point at or before `byte`, which a resume checks it is fed again. */
  readonly prefix?: StreamPrefix;
}

/** The sha256 of a stream's first `bytes` bytes of content. */
export interface StreamPrefix {
  readonly bytes: number;
  readonly sha256: string;
}

/** A run of consecutive rows from one file. */
export interface RowChunk {
  readonly file: string;
  /** Index of `file` in the source's file list. */
  readonly fileIndex: number;
  /** Text formats: for each row, the byte offset just after it (and the line it ends on). */
  readonly ends?: { readonly bytes: Float64Array; readonly lines: Float64Array; /** where the first row starts */ readonly start: number };
  /** 0-based index of the chunk's first row within `file` (data rows; the header is not counted). */
  readonly fileRow: number;
  readonly length: number;
  readonly columns: ReadonlyMap<string, Column>;
  /** Rows that could not be read (bad JSON line, wrong field count…), by index in the chunk; their cells are null. */
  readonly errors?: ReadonlyMap<number, BentoError>;
}

/** Bytes or rows done out of a known total, for the progress bar's ETA. */
export interface SourceProgress {
  readonly done: number;
  readonly total: number | undefined;
  readonly unit: 'bytes' | 'rows';
}

/** A reader over one or more files of one format, opened and schema-checked. */
export interface Source {
  readonly files: readonly string[];
  /** Column names and types, known before the first chunk is read. */
  readonly schema: readonly Field[];
  /** Total rows where the format says so up front (Parquet), else undefined. */
  readonly totalRows: number | undefined;
  /**
   * totalRows where known, else an estimate for uncompressed text (estimateRows), else undefined:
   * for choices that a wrong guess makes slower, never wrong.
   */
  readonly estimatedRows: number | undefined;
  /** How a CSV input is read, where that was guessed or is not the default: e.g. `";"-separated (sniffed)`. */
  readonly dialect?: string;
  /**
   * Rows in file order from `from` (default: the start), in chunks of at most the configured
   * size. Closes its files when the loop ends. May be called once.
   */
  chunks(from?: SourcePosition): AsyncIterable<RowChunk>;
  progress(): SourceProgress;
}

/**
 * Name of the extra chunk column a CSV reader adds when asked to (`lines`): each record's text
 * as read, without its line ending. A CSV writer with the same delimiter writes it for all the
 * input columns at once, instead of a cell at a time; null for a record that could not be read.
 */
export const lineColumn = '\u0000line';

/** Values the CSV and JSONL readers treat as missing, as pandas does by default. Each starts with a letter or "#" (source/csv.ts, isMissing, relies on it). */
export const missingTokens: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '#N/A']);

const numberPattern = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Powers of ten that are exact doubles. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The value of a plain decimal, which nearly every numeric cell is ("39.1", "-7", "3790.0"), or
 * NaN when the text is not one (always a number, so a hot loop keeps it unboxed). A char loop,
 * much cheaper than the pattern below. Up to 15 digits and 22 decimals the digits are an exact
 * integer and one division by an exact power of ten rounds correctly, so the result is
 * Number()'s; longer ones go to Number() itself.
 */
export function plainDecimal(text: string): number {
  const n = text.length;
  const negative = n > 0 && text.charCodeAt(0) === 45;
  let mantissa = 0;
  let digits = 0;
  let decimals = 0;
  let dot = false;
  for (let i = negative ? 1 : 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (dot) decimals++;
    } else if (c === 46 && !dot) dot = true;
    else return NaN;
  }
  if (digits === 0) return NaN;
  if (digits > 15 || decimals > 22) return Number(text);
  const value = decimals === 0 ? mantissa : mantissa / POW10[decimals]!;
  return negative ? -value : value;
}

/** What a thousands separator " " stands for: a space, or the no-break (U+00A0) and narrow no-break (U+202F) spaces Excel writes in France. */
const spaceCodes = [0x20, 0xa0, 0x202f];

/**
 * parseNumber for numbers written in a locale's way: `decimal` ',' reads a decimal comma, and
 * `thousands` is dropped where it stands between two digits before the decimal mark
 * ("1,234.5", "1.234,5", "1 234,5"). Anywhere else it stays, and the cell is not a number.
 */
export function localeNumber(decimal: '.' | ',' = '.', thousands?: string): (text: string) => number | undefined {
  if (decimal === '.' && thousands === undefined) return parseNumber;
  const codes = thousands === undefined ? [] : thousands === ' ' ? spaceCodes : [thousands.charCodeAt(0)];
  return (text) => {
    let t = codes.length > 0 ? withoutSeparators(text, codes, decimal) : text;
    if (decimal === ',') t = t.replace(',', '.');
    return parseNumber(t);
  };
}

const isDigit = (c: number) => c >= 48 && c <= 57;

function withoutSeparators(text: string, codes: readonly number[], decimal: string): string {
  const mark = text.indexOf(decimal);
  const end = mark < 0 ? text.length : mark;
  let out = '';
  let from = 0;
  for (let i = 1; i < end - 1; i++) {
    if (codes.includes(text.charCodeAt(i)) && isDigit(text.charCodeAt(i - 1)) && isDigit(text.charCodeAt(i + 1))) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * What to set for a number written in a locale's way, which Excel writes where that is the way:
 * a decimal comma ("39,1"), thousands separators ("1,234.5", "1.234,5", "1 234,5"), or either
 * ("1,234").
 */
export function localeHint(text: string): string | undefined {
  const t = text.trim().replace(/^[-+]/, '');
  if (/^\d{1,3}(,\d{3})+$/.test(t)) return 'The number has a comma: set input.csv.decimal: "," if it is the decimal mark (1,5 is 1.5), or input.csv.thousands: "," if it separates thousands (1,234 is 1234).';
  if (/^\d*,\d+$/.test(t)) return 'The number has a decimal comma: set input.csv.decimal: "," (Excel writes one where the comma is the decimal mark).';
  if (/^\d{1,3}(,\d{3})+\.\d+$/.test(t)) return 'The number has thousands separators: set input.csv.thousands: ",".';
  if (/^\d{1,3}(\.\d{3})+(,\d+)?$/.test(t)) return 'The number has thousands separators and a decimal comma: set input.csv.thousands: "." and input.csv.decimal: ",".';
  const spaced = /^\d{1,3}([ \u00a0\u202f]\d{3})+([.,]\d+)?$/.exec(t);
  if (spaced) return `The number has spaces between groups of digits: set input.csv.thousands: " " (no-break spaces count too)${spaced[2]?.startsWith(',') ? ' and input.csv.decimal: ","' : ''}.`;
  return undefined;
}

/** Parses a CSV cell as a number the way a spreadsheet user means it; undefined if it is not one. */
export function parseNumber(text: string): number | undefined {
  const plain = plainDecimal(text);
  // plain !== plain: NaN, not a plain decimal.
  if (plain === plain) return plain;
  if (numberPattern.test(text)) return Number(text);
  return nonFinite(text);
}

/**
 * Infinities and NaN as DuckDB casts them to DOUBLE, in any case and with a sign: `inf`, `Inf`
 * (R's write.csv), `Infinity` (pandas, Java), `-nan` (C's printf), `NAN`; undefined for anything else.
 */
function nonFinite(text: string): number | undefined {
  const t = text.trim();
  if (t.length < 3 || t.length > 9) return undefined;
  const sign = t.charCodeAt(0) === 45 ? -1 : 1;
  const word = (t.charCodeAt(0) === 45 || t.charCodeAt(0) === 43 ? t.slice(1) : t).toLowerCase();
  if (word === 'inf' || word === 'infinity') return sign * Infinity;
  // NaN and nan alone are missing tokens (pandas' reading), which callers test for themselves.
  return word === 'nan' && !missingTokens.has(t) ? Number.NaN : undefined;
}
