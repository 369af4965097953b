/**
 * @file Helpers shared by the row-oriented readers (CSV, JSONL): column accumulation into
 * chunks, a peeked first chunk so the schema is known before reading starts, and type sniffing.
 */
import { BentoError, closestName, columnList, thousands } from '../errors.js';
import { type ByteProgress, isGzip } from './files.js';
import { releaseStreams } from './stream.js';
import { type Column, type Field, type FieldType, int64Max, int64Min, lineColumn, MaskedColumn, parseNumber, type RowChunk, type Source, type SourcePosition } from './types.js';

/**
 * Rows of the first CSV or JSONL chunk whose cells fix the column types: more than a chunk
 * needs (chunks are kept small, which costs the garbage collector less), so that a column
 * numeric in its first rows and text later is still seen as text.
 */
export const typeRows = 8192;

/**
 * Cells the first chunk of a wide CSV or JSONL file holds, and a later one, unless
 * input.chunk_rows is set: 8,192 rows of 2,000 columns are 16 million strings, more than the
 * scoring thread's share of the default limits.memory. Up to 512 columns the row counts are
 * unchanged (fewer rows typed a column that turns to text late as a number, and lost those rows). Fixed, not taken from limits.memory: the first chunk types the columns,
 * and a rerun with more memory must resume with the same types.
 */
export const typeCells = 1 << 21;
/**
 * Bytes of text a chunk holds at most, whatever its rows: 8,192 documents of 100 KB were one
 * first chunk of 800 MB (limits.memory 256 MB). The first, which types the columns, may hold
 * more (typeBytes); fixed, as typeCells is, and not at all where input.chunk_rows is set (its
 * rows are taken as asked, as a hint to type from more rows says).
 */
const chunkBytes = 16 << 20;
const typeBytes = 32 << 20;

/** Whether a chunk of `bytes` of text is full by its bytes (see chunkBytes). */
export function fullByBytes(options: ChunkOptions, typesKnown: boolean, bytes: number): boolean {
  if (typesKnown) return bytes >= chunkBytes;
  return !options.chunkRowsSet && bytes >= typeBytes;
}
export const chunkCells = 1 << 19;
/** Rows a chunk holds at least, however wide. */
const minChunkRows = 64;

/**
 * The longest line (a JSON Lines line, a CSV record) read, in bytes. A line is held whole, then as a string, then parsed: one of
 * 100 MB ran the scoring thread out of heap in the middle of an allocation, which V8 cannot
 * recover from (the process aborts with exit 134, no error line, no summary). Past this, the run
 * stops with MEMORY_LIMIT instead, naming the line.
 */
export const maxLineBytes = (memoryMb: number) => Math.floor((memoryMb * 1024 * 1024) / 16);

export interface ChunkOptions {
  readonly chunkRows: number;
  readonly typeRows?: number;
  /** input.chunk_rows was given: its rows are taken as they are, however wide the rows. */
  readonly chunkRowsSet?: boolean;
}

/** A job's input settings as chunkEnd takes them (the readers' options and the fingerprint's alike). */
export const chunkOptions = (input: { readonly chunkRows: number; readonly chunkRowsSet?: boolean }): ChunkOptions =>
  ({ chunkRows: input.chunkRows, typeRows, ...(input.chunkRowsSet ? { chunkRowsSet: true } : {}) });

/** Rows a chunk being built of `width` cells a row holds: the first, whose cells fix the types, at least `typeRows` if given (fewer for a wide file: typeCells). */
export function chunkEnd(options: ChunkOptions, typesKnown: boolean, width = 1): number {
  const cap = (cells: number) => (options.chunkRowsSet ? Infinity : Math.max(minChunkRows, Math.floor(cells / Math.max(1, width))));
  return typesKnown ? Math.min(options.chunkRows, cap(chunkCells)) : Math.min(Math.max(options.chunkRows, options.typeRows ?? 0), cap(typeCells));
}

/**
 * Collects row values column by column, with each row's end offset, and hands out RowChunks.
 * Arrays are made at the chunk's size up front and filled by index: grown by push they were
 * copied as they doubled, the reader's largest allocation after the records themselves.
 */
export class ColumnBuilder {
  readonly #names: readonly string[];
  /**
   * Rows the arrays are made for: the chunk size, up to 65,536 (a larger chunk_rows grows its
   * arrays past that rather than holding a large empty one for a short file).
   */
  readonly #capacity: number;
  #columns: unknown[][];
  #text?: (string | null)[];
  #bytes: Float64Array;
  #lines: Float64Array;
  #length = 0;
  #errors = new Map<number, BentoError>();
  #fileRow: number;
  #lastEnd: number;
  #chunkStart: number;
  #weight = 0;
  /** Whether the arrays went with the last take (renewed at the next row). */
  #spent = false;

  /**
   * `withLines`: also collect each record's text, as the `lineColumn` column. `capacity`: the chunk
   * size the reader takes at. `bytesLeft`: the file's bytes from `startByte` (a row takes one at
   * least), where they are known: a small file's arrays are made for its rows (30,000 files of 20
   * rows made arrays for 8,192 each, and collecting them took a fifth of the run).
   */
  constructor(names: readonly string[], readonly file: string, readonly fileIndex: number, firstRow = 0, startByte = 0, readonly withLines = false, capacity = 1024, bytesLeft = Infinity) {
    this.#names = names;
    this.#capacity = Math.max(1, Math.min(capacity, 65536, bytesLeft));
    this.#columns = names.map(() => this.#array());
    if (withLines) this.#text = this.#array();
    this.#bytes = new Float64Array(this.#capacity);
    this.#lines = new Float64Array(this.#capacity);
    this.#fileRow = firstRow;
    this.#lastEnd = startByte;
    this.#chunkStart = startByte;
  }

  #array<T>(): T[] {
    return new Array<T>(this.#capacity);
  }

  /** Arrays for the rows after a take. */
  #renew(): void {
    this.#spent = false;
    this.#columns = this.#names.map(() => this.#array());
    if (this.#text) this.#text = this.#array();
  }

  /** 1-based row number the next pushed row will have, and the byte offset it starts at. */
  get next(): { row: number; byte: number } {
    return { row: this.#fileRow + this.#length + 1, byte: this.#lastEnd };
  }

  /** Rows collected since the last take(). */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the file the rows collected since the last take() span, and what weigh() added. */
  get bytes(): number {
    return this.#lastEnd - this.#chunkStart + this.#weight;
  }

  /** Counts memory the rows hold beyond their text (JSON Lines' parsed structs and lists, cellBytes) toward `bytes`. */
  weigh(bytes: number): void {
    this.#weight += bytes;
  }

  /** Adds one row: `values(i)` is the value of the i-th selected column; `endByte` the offset just after the row; `text` its record, with lines. */
  push(values: (i: number) => unknown, endByte: number, endLine: number, text?: string): void {
    if (this.#spent) this.#renew();
    for (let i = 0; i < this.#columns.length; i++) this.#columns[i]![this.#length] = values(i);
    this.#end(endByte, endLine, text ?? null);
  }

  /** Adds a row whose selected values are `fields[picks[i]]` (no closure a row: the CSV hot path). */
  pushFields(fields: readonly unknown[], picks: readonly number[], endByte: number, endLine: number, text?: string): void {
    if (this.#spent) this.#renew();
    for (let i = 0; i < this.#columns.length; i++) this.#columns[i]![this.#length] = fields[picks[i]!];
    this.#end(endByte, endLine, text ?? null);
  }

  #end(endByte: number, endLine: number, text: string | null): void {
    const n = this.#length++;
    if (this.#text) this.#text[n] = text;
    if (n === this.#bytes.length) {
      this.#bytes = grow(this.#bytes);
      this.#lines = grow(this.#lines);
    }
    this.#bytes[n] = endByte;
    this.#lines[n] = endLine;
    this.#lastEnd = endByte;
  }

  /** Adds a row that could not be read: null cells, and the error the run reports for it. */
  pushError(error: BentoError, endByte: number, endLine: number): void {
    this.#errors.set(this.#length, error);
    this.push(() => null, endByte, endLine);
  }

  /** The rows collected so far as a chunk, or undefined when there are none. */
  take(): RowChunk | undefined {
    const length = this.#length;
    if (length === 0) return undefined;
    const fit = <T>(values: T[]) => {
      if (values.length !== length) values.length = length;
      return values;
    };
    const chunk: RowChunk = {
      file: this.file, fileIndex: this.fileIndex, fileRow: this.#fileRow, length,
      columns: new Map([...this.#names.map((name, i): [string, Column] => [name, fit(this.#columns[i]!)]), ...(this.#text ? [[lineColumn, fit(this.#text)] as [string, Column]] : [])]),
      ends: { bytes: this.#bytes.slice(0, length), lines: this.#lines.slice(0, length), start: this.#chunkStart },
      ...(this.#errors.size > 0 ? { errors: this.#errors } : {}),
    };
    this.#errors = new Map();
    this.#fileRow += length;
    this.#length = 0;
    // New arrays when a row comes: a file's last take is followed by none.
    this.#spent = true;
    this.#chunkStart = this.#lastEnd;
    this.#weight = 0;
    return chunk;
  }
}

function grow(values: Float64Array): Float64Array {
  const out = new Float64Array(Math.max(16, values.length * 2));
  out.set(values);
  return out;
}

/** A whole number's text, as BigInt reads it once trimmed. */
export const integerText = /^\s*[-+]?\d+\s*$/;

/** Whether `n`, read from `text`, is a whole number that a double holds only rounded (past ±2^53): a 64-bit id. */
export function inexactInteger(text: string, n: number): boolean {
  return (n > Number.MAX_SAFE_INTEGER || n < -Number.MAX_SAFE_INTEGER) && integerText.test(text);
}

/** What to raise so that a column's type is fixed by more rows, to end a hint with. */
export function raiseChunkRows(options: { readonly chunkRows: number; readonly typeRows?: number }): string {
  return `raise input.chunk_rows above ${thousands(chunkEnd(options, false))} (the first chunk's rows fix the column types)`;
}

/**
 * A bad row for a cell of a later chunk that its column's type, fixed by the first chunk, does
 * not hold (CSV and JSONL): `holds` says what the column holds, `shown` is the cell as the
 * message quotes it.
 */
export function typeMismatch(chunk: RowChunk, i: number, column: string, holds: string, shown: string, value: string, hint: string, declared = false): BentoError {
  return new BentoError('INVALID_VALUE', `Invalid value: column "${column}" ${declared ? `is declared to hold ${holds} (input.csv.types)` : `holds ${holds} in its first rows`}, got ${shown} at ${chunk.file} row ${chunk.fileRow + i + 1}`, {
    file: chunk.file, row: chunk.fileRow + i + 1, column, value, byte: i > 0 ? chunk.ends?.bytes[i - 1] : chunk.ends?.start,
    // The first file's first rows fixed the type: no chunk size reaches a later file's rows.
    hint: chunk.fileIndex > 0 && !declared ? `The column types come from the first rows of the first input file. Fix or remove the value, or score ${chunk.file} in a job of its own.` : hint,
  });
}

/** The hint for a whole number past ±2^53 in a column its first chunk typed as doubles (CSV and JSONL). */
export function inexactIntegerHint(options: { readonly chunkRows: number; readonly typeRows?: number }): string {
  return `A whole number past 2^53 would be rounded to another: ${raiseChunkRows(options)} so that the first chunk holds one, and the column is read as 64-bit whole numbers.`;
}

/**
 * Whether a number's text is a code's: a leading zero (`007`, a zip code `02134`, ICD-9 `038.9`)
 * or a plus sign (a phone number `+442079460958`). As a number it would lose them in a JSON Lines
 * or Parquet output, so such a column stays text, as DuckDB's CSV sniffer keeps it. Never a cell
 * with a comma (`07,5`): a text cell is read by a model as a number with a point only.
 */
export function codeLike(text: string): boolean {
  const c = text.charCodeAt(0);
  if (c === 32 || c === 9) return codeLike(text.trim());
  if (c === 43) return !text.includes(',');
  // A minus sign makes a number, leading zero or not (-05, a time zone offset), as DuckDB reads it.
  if (c !== 48) return false;
  const d = text.charCodeAt(1);
  return d >= 48 && d <= 57 && !text.includes(',');
}

/**
 * Infers a column's type from sample values: numbers if every present value is one, else
 * strings. With `codes`, a code's number (codeLike) makes the column text. Whole numbers
 * past ±2^53 (64-bit ids: Snowflake, Twitter, hashed keys) would be rounded as doubles: a column
 * of whole numbers with one is int64, read exactly; one that also holds fractions is text, kept
 * as written.
 */
export function sniffCsvType(values: ArrayLike<unknown>, isMissing: (v: string) => boolean, parse: (text: string) => number | undefined = parseNumber, codes = true): FieldType {
  let sawValue = false;
  let inexact = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null;
    if (v === null || isMissing(v)) continue;
    const n = parse(v);
    if (n === undefined || (codes && codeLike(v))) return 'string';
    inexact ||= inexactInteger(v, n);
    sawValue = true;
  }
  if (!inexact) return sawValue ? 'float64' : 'string';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null;
    if (v === null || isMissing(v)) continue;
    // Past 64 bits (an unsigned id of 2^64 − 1) a whole number is kept as the text it is.
    if (!integerText.test(v)) return 'string';
    const n = BigInt(v.trim().replace(/^\+/, ''));
    if (n < int64Min || n > int64Max) return 'string';
  }
  return 'int64';
}

/**
 * Type of a JSON value as a column type; mixed kinds fall back to `json`. Whole numbers past
 * ±2^53 come as bigints (jsonl.ts: parseExact): with whole numbers beside them the column is
 * int64; with fractions, or past 64 bits, it is `json`, which writes each value as it came.
 */
export function sniffJsonType(values: ArrayLike<unknown>): FieldType {
  let type: FieldType | undefined;
  let big = false;
  let fraction = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v === 'bigint') {
      if (v < int64Min || v > int64Max) return 'json';
      big = true;
    } else if (typeof v === 'number' && (!Number.isInteger(v) || Math.abs(v) >= 2 ** 63)) {
      // A fraction, or a whole number past 64 bits (1e19): beside a 64-bit id, neither has a place in an int64 column.
      fraction = true;
    }
    const t: FieldType = typeof v === 'number' || typeof v === 'bigint' ? 'float64' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool' : 'json';
    if (type !== undefined && type !== t) return 'json';
    type = t;
  }
  if (big) return fraction ? 'json' : 'int64';
  return type ?? 'json';
}

/** Wraps a chunk generator so its first chunk is read now (fixing the schema) and replayed first. */
export async function peek(chunks: AsyncGenerator<RowChunk>): Promise<{ first: RowChunk | undefined; all: () => AsyncGenerator<RowChunk>; discard: () => void }> {
  const head = await chunks.next();
  let used = false;
  return {
    first: head.done ? undefined : head.value,
    discard() {
      used = true;
      void chunks.return(undefined);
    },
    async *all() {
      if (used) throw new Error('a source can be read once');
      used = true;
      try {
        if (!head.done) yield head.value;
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await chunks.return(undefined);
      }
    },
  };
}

/** INPUT_FORMAT for an input none of whose files holds a row: one file, or all of a folder's (Spark's empty partitions). */
export function noRows(files: readonly string[]): BentoError {
  if (files.length === 1) return new BentoError('INPUT_FORMAT', `Input ${files[0]} has no rows`, { file: files[0], hint: 'Check the step that writes it: an empty input gives no output.' });
  return new BentoError('INPUT_FORMAT', `None of the ${files.length} input files holds a row (${files[0]}, …): each is empty or a header alone`, {
    file: files[0], hint: 'Check the step that writes them (a Spark job whose partitions were all empty writes such part files): an empty input gives no output.',
  });
}

/**
 * The Source over a row-oriented reader: reads the first chunk now (its schema callback then
 * answers), replays it to a reader from the start, and reads afresh from a resume position.
 */
export async function textSource(files: readonly string[], readAll: (from: SourcePosition) => AsyncGenerator<RowChunk>, schema: () => Field[] | undefined, progress: ByteProgress): Promise<Source> {
  const peeked = await peek(readAll({ file: 0, row: 0 }));
  const fields = schema();
  if (fields === undefined) throw noRows(files);
  return {
    files,
    schema: fields,
    totalRows: undefined,
    estimatedRows: estimateRows(files, peeked.first, progress.total),
    chunks: (from) => {
      releaseStreams(files);
      return from && (from.file > 0 || from.row > 0) ? (peeked.discard(), readAll(from)) : peeked.all();
    },
    // A pipe's size is not known (Infinity): no share done, no ETA.
    progress: () => ({ done: progress.done(), total: Number.isFinite(progress.total) ? progress.total : undefined, unit: 'bytes' }),
  };
}

/**
 * Rows an uncompressed text input likely holds: its bytes over the first chunk's bytes a row
 * (at least `typeRows` rows of it), each file's header taken as long as the first's. A short
 * file is read whole in that chunk, so its estimate is its count, give or take a line ending.
 * A compressed file's size says nothing of its rows, and a pipe's is not known: undefined.
 */
function estimateRows(files: readonly string[], first: RowChunk | undefined, bytes: number): number | undefined {
  if (!first?.ends || first.length === 0 || files.some(isGzip) || !Number.isFinite(bytes)) return undefined;
  const { ends } = first;
  const perRow = (ends.bytes[first.length - 1]! - ends.start) / first.length;
  return perRow > 0 ? Math.max(first.length, Math.round((bytes - files.length * ends.start) / perRow)) : undefined;
}

/** Throws COLUMN_MISSING naming the closest existing column when `file` lacks one of `names`. */
export function requireColumns(file: string, present: readonly string[], names: Iterable<string>): void {
  for (const name of names) {
    if (present.includes(name)) continue;
    const closest = closestName(name, present);
    throw new BentoError('COLUMN_MISSING', `Column "${name}" is missing from ${file}${closest ? `; the closest column is "${closest.guess}"` : ''}`, {
      file, column: name,
      hint: closest?.hidden ?? (closest ? `Rename the column in the input, or fix the name in the job or manifest (did you mean "${closest.guess}"?).` : `The file has columns: ${columnList(present)}.`),
    });
  }
}

/**
 * A CSV column's cells as its sniffed type: text with null for the empty cell, or numbers, unboxed
 * (masked where a cell is missing), with `onBad` told of a cell that is not a number, and
 * `onCode` of one that is a code's (codeLike), read as its number all the same.
 */
export function convertColumn(values: string[], type: FieldType, isMissing: (v: string) => boolean, onBad: (index: number, value: string, inexact?: boolean) => void, parse: (text: string) => number | undefined = parseNumber, onCode?: (index: number, value: string) => void): Column {
  if (type === 'int64') {
    return readCells(values, new BigInt64Array(values.length), isMissing, (v, i) => {
      const n = integerText.test(v) ? BigInt(v.trim()) : undefined;
      if (n !== undefined && onCode && codeLike(v)) onCode(i, v);
      if (n !== undefined && n >= int64Min && n <= int64Max) return n;
      onBad(i, v);
      return undefined;
    });
  }
  // In text columns only the empty cell is missing: "NA" may be a real value there.
  if (type !== 'float64') return values.map((v) => (v === '' || v === null ? null : v));
  return readCells(values, new Float64Array(values.length), isMissing, (v, i) => {
    const n = parse(v);
    if (n === undefined) onBad(i, v);
    // A 64-bit id met after the first chunk typed its column: rounded, it would be another id.
    else if (inexactInteger(v, n)) onBad(i, v, true);
    else {
      // A code met after the first chunk typed its column: read as the number, said once (csv.ts).
      if (onCode && codeLike(v)) onCode(i, v);
      return n;
    }
    return undefined;
  });
}

/** Cells read into `out` where `read` gives a value (it reports a bad one itself), masked where a cell is missing or bad. */
function readCells<T extends Float64Array | BigInt64Array>(values: string[], out: T, isMissing: (v: string) => boolean, read: (v: string, i: number) => T[number] | undefined): Column {
  const valid = new Uint8Array(values.length);
  let present = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (isMissing(v)) continue;
    const n = read(v, i);
    if (n === undefined) continue;
    out[i] = n;
    valid[i] = 1;
    present++;
  }
  return present === values.length ? out : new MaskedColumn(out, valid);
}

export type { Field };
