/**
 * @file The batcher: regroups source chunks into model batches of exactly `size` rows (the
 * last one smaller), never empty, each knowing its global row range and where its rows came from.
 */
import type { BentoError } from '../errors.js';
import { cell, CodedColumn, type Column, MaskedColumn, type NumberArray, type RowChunk, sliceColumn, type SourcePosition } from '../source/types.js';

/** Rows `[start, end)` of one file that sit at `offset` in a batch. */
export interface Segment {
  readonly file: string;
  /** 0-based row within the file of the segment's first row. */
  readonly fileRow: number;
  readonly offset: number;
  readonly length: number;
}

export interface Batch {
  /** 0-based sequence number of the batch. */
  readonly index: number;
  /** Global 0-based row range `[start, end)` over all input files. */
  readonly start: number;
  readonly length: number;
  readonly columns: ReadonlyMap<string, Column>;
  readonly segments: readonly Segment[];
  /** Where the source stands after the batch's last row: a resume reads on from here. */
  readonly end: SourcePosition;
  /** Rows the source could not read, by index in the batch. */
  readonly errors?: ReadonlyMap<number, BentoError>;
  /** Text formats: the byte offset where each row starts in its file. */
  readonly starts?: Float64Array;
}

/** Where row `i` of a batch came from: its file, 1-based row as a person counts, and byte offset where known. */
export function locate(batch: Batch, i: number): { file: string; row: number; byte?: number } {
  for (const s of batch.segments) {
    if (i < s.offset + s.length) return { file: s.file, row: s.fileRow + (i - s.offset) + 1, ...(batch.starts ? { byte: batch.starts[i]! } : {}) };
  }
  throw new RangeError(`row ${i} is outside batch ${batch.index}`);
}

/**
 * Regroups `chunks` into batches of `size` rows; the last partial batch is always flushed.
 * A resumed run passes the global row and batch index it starts at, so numbering continues.
 */
export async function* batches(chunks: AsyncIterable<RowChunk>, size: number, resume: { row: number; index: number } = { row: 0, index: 0 }): AsyncGenerator<Batch> {
  let parts: { chunk: RowChunk; from: number; to: number }[] = [];
  let pending = 0;
  let start = resume.row;
  let index = resume.index;
  const flush = (): Batch => {
    const batch = build(parts, index++, start, pending);
    start += pending;
    parts = [];
    pending = 0;
    return batch;
  };
  for await (const chunk of chunks) {
    let from = 0;
    while (from < chunk.length) {
      const take = Math.min(size - pending, chunk.length - from);
      parts.push({ chunk, from, to: from + take });
      pending += take;
      from += take;
      if (pending === size) yield flush();
    }
  }
  if (pending > 0) yield flush();
}

function build(parts: { chunk: RowChunk; from: number; to: number }[], index: number, start: number, length: number): Batch {
  const segments: Segment[] = [];
  const errors = new Map<number, BentoError>();
  const starts = parts.every((p) => p.chunk.ends) ? new Float64Array(length) : undefined;
  let offset = 0;
  for (const { chunk, from, to } of parts) {
    if (starts) for (let i = from; i < to; i++) starts[offset + i - from] = i > 0 ? chunk.ends!.bytes[i - 1]! : chunk.ends!.start;
    for (const [i, error] of chunk.errors ?? []) if (i >= from && i < to) errors.set(offset + i - from, error);
    const last = segments.at(-1);
    // Consecutive slices of one file form one segment.
    if (last && last.file === chunk.file && last.fileRow + last.length === chunk.fileRow + from) {
      segments[segments.length - 1] = { ...last, length: last.length + to - from };
    } else segments.push({ file: chunk.file, fileRow: chunk.fileRow + from, offset, length: to - from });
    offset += to - from;
  }
  const columns = new Map<string, Column>();
  for (const name of parts[0]!.chunk.columns.keys()) {
    columns.set(name, concat(parts.map(({ chunk, from, to }) => sliceColumn(chunk.columns.get(name)!, from, to)), length));
  }
  const last = parts.at(-1)!;
  const ends = last.chunk.ends;
  const end: SourcePosition = {
    file: last.chunk.fileIndex, row: last.chunk.fileRow + last.to,
    ...(ends ? { byte: ends.bytes[last.to - 1]!, line: ends.lines[last.to - 1]! } : {}),
  };
  return { index, start, length, columns, segments, end, ...(errors.size > 0 ? { errors } : {}), ...(starts ? { starts } : {}) };
}


/**
 * The pieces of a batch from consecutive chunks as one column. Number pieces of one array type
 * stay unboxed, masked if any of them is (a file's row groups differ in whether they have a null);
 * coded pieces stay coded.
 */
function concat(pieces: Column[], length: number): Column {
  if (pieces.length === 1) return pieces[0]!;
  if (pieces.every((p) => p instanceof CodedColumn)) return concatCoded(pieces as CodedColumn[], length);
  const numbers = pieces.map((p) => (p instanceof MaskedColumn ? p.values : p));
  const first = numbers[0]!;
  if (ArrayBuffer.isView(first) && numbers.every((p) => p.constructor === first.constructor)) {
    const Ctor = first.constructor as new (n: number) => NumberArray;
    const values = new Ctor(length);
    const valid = pieces.some((p) => p instanceof MaskedColumn) ? new Uint8Array(length) : undefined;
    let o = 0;
    for (const [k, p] of pieces.entries()) {
      values.set(numbers[k] as never, o);
      if (valid) {
        if (p instanceof MaskedColumn) valid.set(p.valid, o);
        else valid.fill(1, o, o + p.length);
      }
      o += p.length;
    }
    return valid ? new MaskedColumn(values, valid) : values;
  }
  const out = new Array<unknown>(length);
  let o = 0;
  for (const p of pieces) for (let i = 0; i < p.length; i++) out[o++] = cell(p, i);
  return out;
}

/** Coded pieces over one dictionary (one row group's), or over one merged from theirs. */
function concatCoded(pieces: readonly CodedColumn[], length: number): CodedColumn {
  const codes = new Int32Array(length);
  const first = pieces[0]!.dictionary;
  if (pieces.every((p) => p.dictionary === first)) {
    let o = 0;
    for (const p of pieces) {
      codes.set(p.codes, o);
      o += p.length;
    }
    return new CodedColumn(codes, first);
  }
  // Only the entries the rows use are looked up, each once a piece.
  const dictionary: string[] = [];
  const index = new Map<string, number>();
  let o = 0;
  for (const p of pieces) {
    const remap = new Int32Array(p.dictionary.length).fill(-1);
    for (let i = 0; i < p.length; i++, o++) {
      const c = p.codes[i]!;
      if (c < 0) codes[o] = -1;
      else {
        let m = remap[c]!;
        if (m < 0) {
          const text = p.dictionary[c]!;
          m = index.get(text) ?? dictionary.push(text) - 1;
          index.set(text, m);
          remap[c] = m;
        }
        codes[o] = m;
      }
    }
  }
  return new CodedColumn(codes, dictionary);
}

/** Rows `[from, to)` of a batch as a batch of their own (for isolating rows that make a model call fail). */
export function sliceBatch(batch: Batch, from: number, to: number): Batch {
  const columns = new Map<string, Column>();
  for (const [name, column] of batch.columns) columns.set(name, sliceColumn(column, from, to));
  const segments: Segment[] = [];
  for (const s of batch.segments) {
    const a = Math.max(from, s.offset);
    const b = Math.min(to, s.offset + s.length);
    if (a < b) segments.push({ file: s.file, fileRow: s.fileRow + (a - s.offset), offset: a - from, length: b - a });
  }
  const errors = new Map<number, BentoError>();
  for (const [i, e] of batch.errors ?? []) if (i >= from && i < to) errors.set(i - from, e);
  return {
    index: batch.index, start: batch.start + from, length: to - from, columns, segments, end: batch.end,
    ...(errors.size > 0 ? { errors } : {}), ...(batch.starts ? { starts: batch.starts.subarray(from, to) } : {}),
  };
}
