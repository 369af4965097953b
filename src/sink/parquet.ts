/**
 * @file Parquet writer over hyparquet-writer: batches are gathered into row groups of
 * `rowGroupRows`; each row group is encoded on its own (at offset 0, by a RowGroupEncoder, here
 * or on encoder threads: sink/encoders.ts) and appended to the file in order, its column
 * offsets moved to where it lands. Page headers hold no file offsets, so the bytes are those of
 * a writer that wrote the whole file in one go. The only module that imports the Parquet writer.
 */
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ColumnMetaData, RowGroup, SchemaElement, Statistics } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import type { Field, FieldType } from '../source/types.js';
import { openPartial, type PartialFile } from './atomic.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';

export interface ParquetSinkOptions {
  readonly rowGroupRows: number;
  readonly compression: 'snappy' | 'gzip' | 'uncompressed';
}

/** One encoded row group: its bytes, and its metadata with offsets counted from its first byte. */
export interface EncodedRowGroup {
  readonly bytes: Uint8Array;
  readonly rowGroup: RowGroup;
}

/**
 * Where row groups are encoded. Rows are handed over as they come; `close` ends the current
 * row group and resolves with its bytes. Results may be computed concurrently but are asked
 * for in order.
 */
export interface RowGroupEncoding {
  add(batch: OutputBatch): void;
  close(): Promise<EncodedRowGroup>;
  /** Row groups closed and not yet returned that the sink lets run ahead before `write` waits. */
  readonly ahead: number;
  /** Stops (threads are ended); closes not yet answered reject. */
  end(): Promise<void>;
}

/** Encodes one row group at a time into bytes, as hyparquet-writer writes them, starting at offset 0. */
export class RowGroupEncoder {
  readonly #writer = new ByteWriter(1 << 20);
  readonly #parquet: ParquetWriter;
  readonly #schema: readonly Field[];

  constructor(schema: readonly Field[], compression: ParquetSinkOptions['compression']) {
    this.#schema = schema;
    this.#parquet = new ParquetWriter({
      writer: this.#writer,
      schema: parquetSchema(schema),
      codec: compression === 'gzip' ? 'GZIP' : compression === 'uncompressed' ? 'UNCOMPRESSED' : 'SNAPPY',
      compressors: { GZIP: (input: Uint8Array) => gzipSync(input) },
    });
  }

  encode(batches: readonly OutputBatch[]): EncodedRowGroup {
    const rows = batches.reduce((n, b) => n + b.length, 0);
    const writer = this.#writer;
    writer.index = 0;
    writer.offset = 0;
    this.#parquet.row_groups = [];
    this.#parquet.pendingIndexes = [];
    // Offset indexes would be kept in memory until the footer and lost across a resume; the
    // footer's row-group metadata is all a resumed file needs to be byte-identical.
    const columns = this.#schema.map((f) => {
      const data = columnOf(batches, f, rows);
      return { field: f, data, statistics: statisticsOf(f, data) };
    });
    // Statistics we computed are left out of hyparquet-writer's work (its generic per-value
    // comparison was 13% of an encoder thread's time) and set in the metadata after.
    const columnData = columns.map(({ field, data, statistics }) => ({
      name: field.name, data, offsetIndex: false, ...(field.continuous ? { encoding: 'PLAIN' as const } : {}), ...(statistics ? { statistics: false } : {}),
    }));
    void this.#parquet.write({ columnData: columnData as never, rowGroupSize: Number.MAX_SAFE_INTEGER });
    const bytes = new Uint8Array(writer.buffer.slice(0, writer.index));
    const rowGroup = this.#parquet.row_groups[0]!;
    columns.forEach(({ statistics }, j) => {
      const meta = rowGroup.columns[j]?.meta_data;
      if (statistics && meta) Object.assign(meta, { statistics, encoding_stats: encodingStats(meta, bytes) });
    });
    return { bytes, rowGroup };
  }
}

/** Row groups encoded on the calling thread, when closed. */
export function inlineEncoding(schema: readonly Field[], compression: ParquetSinkOptions['compression']): RowGroupEncoding {
  const encoder = new RowGroupEncoder(schema, compression);
  let batches: OutputBatch[] = [];
  return {
    ahead: 0,
    add(batch) {
      batches.push(batch);
    },
    async close() {
      const group = batches;
      batches = [];
      return encoder.encode(group);
    },
    async end() {},
  };
}

/** The row group's column offsets moved by `base`, the file offset its first byte lands at. */
function relocate(group: RowGroup, base: number): RowGroup {
  const by = BigInt(base);
  // Page indexes and bloom filters are not written (they would need moving too); a bug guard.
  const unmoved = group.columns.find((c) => c.column_index_offset !== undefined || c.offset_index_offset !== undefined || c.meta_data?.bloom_filter_offset !== undefined || c.meta_data?.index_page_offset !== undefined);
  if (unmoved) throw new Error(`row group column ${unmoved.meta_data?.path_in_schema.join('.')} has offsets the sink does not move`);
  return {
    ...group,
    columns: group.columns.map((c) => ({
      ...c,
      file_offset: c.file_offset + by,
      meta_data: c.meta_data && {
        ...c.meta_data,
        data_page_offset: c.meta_data.data_page_offset + by,
        ...(c.meta_data.dictionary_page_offset !== undefined ? { dictionary_page_offset: c.meta_data.dictionary_page_offset + by } : {}),
      },
    })),
  };
}

export async function openParquetSink(schema: readonly Field[], options: SinkOptions & ParquetSinkOptions & { readonly encoding?: RowGroupEncoding }): Promise<Sink> {
  const encoding = options.encoding ?? inlineEncoding(schema, options.compression);
  let file: PartialFile;
  try {
    file = await openPartial(options.partial, options.resume?.bytes);
  } catch (error) {
    await encoding.end();
    throw error;
  }
  const state = options.resume
    ? decode(options.resume.parquet ?? '{"rowGroups":[],"numRows":{"$bigint":"0"}}') as { rowGroups: RowGroup[]; numRows: bigint }
    : { rowGroups: [] as RowGroup[], numRows: 0n };
  if (!options.resume) await file.write(MAGIC);
  /** Where the file stands after an append: a commit position, once fsync'd. */
  type Appended = { readonly groups: number; readonly numRows: bigint; readonly bytes: number };
  let rows = 0;
  let failure: unknown;
  let last: Promise<Appended> = Promise.resolve({ groups: state.rowGroups.length, numRows: state.numRows, bytes: options.resume?.bytes ?? MAGIC.length });
  /** Appends not yet waited for by `write`, oldest first. */
  const pending: Promise<Appended>[] = [];
  const closeGroup = () => {
    if (rows === 0) return;
    rows = 0;
    const encoded = encoding.close();
    encoded.catch(() => undefined); // surfaced through the append below
    last = last.then(async () => {
      const { bytes, rowGroup } = await encoded;
      state.rowGroups.push(relocate(rowGroup, file.length));
      state.numRows += rowGroup.num_rows;
      await file.write(bytes);
      return { groups: state.rowGroups.length, numRows: state.numRows, bytes: file.length };
    });
    last.catch((error: unknown) => (failure ??= error));
    pending.push(last);
  };
  return {
    schema,
    get committable() {
      return rows === 0;
    },
    commitAtEveryPoint: true,
    async write(batch: OutputBatch) {
      // A new row group waits while as many as the encoding allows are still being encoded.
      if (rows === 0) while (!failure && pending.length > encoding.ahead) await pending.shift()!.catch(() => undefined);
      if (failure) throw failure;
      encoding.add(batch);
      // A row group ends at the first batch boundary at or past rowGroupRows, so row groups (and
      // resumed files) are deterministic.
      const closes = rows + batch.length >= options.rowGroupRows;
      rows += batch.length;
      if (closes) closeGroup();
    },
    async commit() {
      // The position is that of the row groups closed when called; later ones may be appended meanwhile.
      const at = await last;
      const position = { bytes: at.bytes, parquet: encode({ rowGroups: state.rowGroups.slice(0, at.groups), numRows: at.numRows }) };
      await file.sync();
      return position;
    },
    async seal() {
      closeGroup();
      await last;
      await encoding.end();
      await file.write(footer(schema, state.rowGroups, state.numRows));
      await file.seal();
    },
    async close() {
      await encoding.end();
      await last.catch(() => undefined);
      await file.close();
    },
    async discard() {
      await encoding.end();
      await last.catch(() => undefined);
      await file.discard();
    },
  };
}

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // PAR1

/** The file's footer (metadata and the closing magic) for these row groups. */
function footer(schema: readonly Field[], rowGroups: RowGroup[], numRows: bigint): Uint8Array {
  const writer = new ByteWriter(1 << 16);
  const parquet = new ParquetWriter({ writer, schema: parquetSchema(schema), createdBy: 'bento-batch (hyparquet-writer)' });
  writer.index = 0; // drop the magic the constructor wrote: the file begins with it already
  parquet.row_groups = rowGroups;
  parquet.num_rows = numRows;
  void parquet.finish();
  return new Uint8Array(writer.buffer.slice(0, writer.index));
}

/** JSON that keeps bigints and byte arrays (Parquet statistics hold both). */
function encode(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
    return v;
  });
}

function decode(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && '$bigint' in v) return BigInt((v as { $bigint: string }).$bigint);
    if (v !== null && typeof v === 'object' && '$bytes' in v) return new Uint8Array(Buffer.from((v as { $bytes: string }).$bytes, 'base64'));
    return v;
  });
}

/** One field's values across the buffered batches, as one array of what the Parquet writer takes. */
function columnOf(batches: readonly OutputBatch[], field: Field, rows: number): unknown[] | Float32Array | Float64Array {
  switch (field.type) {
    case 'float32': case 'float64':
      return gatherFloats(batches, field, rows) ?? gather(batches, field.name, rows, (v) => (typeof v === 'number' ? v : v === null || v === undefined ? null : Number(v)));
    case 'string':
      return gather(batches, field.name, rows, (v) => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v)));
    default:
      return convert(gather(batches, field.name, rows, (v) => v), field.type, field.items, field.fields);
  }
}

function gather(batches: readonly OutputBatch[], name: string, rows: number, as: (value: unknown) => unknown): unknown[] {
  const out = new Array<unknown>(rows);
  let o = 0;
  for (const batch of batches) {
    const column = batch.columns.get(name)!;
    for (let r = 0; r < batch.length; r++) out[o++] = as(column[r]);
  }
  return out;
}

/**
 * A float column without nulls as one typed array (the writer encodes it without boxing a
 * value); undefined when a null turns up, and the column goes the general way.
 */
function gatherFloats(batches: readonly OutputBatch[], field: Field, rows: number): Float32Array | Float64Array | undefined {
  const out = field.type === 'float32' ? new Float32Array(rows) : new Float64Array(rows);
  let o = 0;
  for (const batch of batches) {
    const column = batch.columns.get(field.name)!;
    if (column instanceof Float64Array || column instanceof Float32Array) {
      out.set(column.subarray(0, batch.length), o);
      o += batch.length;
      continue;
    }
    for (let r = 0; r < batch.length; r++) {
      const v = column[r];
      if (v === null || v === undefined) return undefined;
      out[o++] = Number(v);
    }
  }
  return out;
}

/**
 * Column statistics as hyparquet-writer computes them (nulls counted; NaN skipped and counted for
 * floats; min −0 and max +0 for zeros; strings in UTF-8 byte order), for number and string
 * columns; undefined for other types, which the writer handles.
 */
function statisticsOf(field: Field, data: ArrayLike<unknown>): (Statistics & { nan_count?: bigint }) | undefined {
  const float = field.type === 'float32' || field.type === 'float64';
  if (!float && field.type !== 'int32' && field.type !== 'string') return undefined;
  let min: number | string | undefined;
  let max: number | string | undefined;
  let nulls = 0;
  let nans = 0;
  if (field.type === 'string') {
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as string | null | undefined;
      if (v === null || v === undefined) nulls++;
      else if (v === min || v === max) continue;
      else if (min === undefined) min = max = v;
      else if (utf8Compare(v, min as string) < 0) min = v;
      else if (utf8Compare(v, max as string) > 0) max = v;
    }
  } else {
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number | null | undefined;
      if (v === null || v === undefined) nulls++;
      else if (v !== v) nans++;
      else if (min === undefined) min = max = v;
      else if (v < (min as number)) min = v;
      else if (v > (max as number)) max = v;
    }
    if (min === 0) min = -0;
    if (max === 0) max = 0;
  }
  return { min_value: min, max_value: max, null_count: BigInt(nulls), nan_count: float ? BigInt(nans) : undefined };
}

/** Strings in UTF-8 byte order, which is code point order (lone surrogates as U+FFFD, as the writer encodes them). */
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

/** The page encodings of a column chunk as hyparquet-writer records them with its statistics: its data pages counted from their headers. */
function encodingStats(meta: ColumnMetaData, bytes: Uint8Array): ColumnMetaData['encoding_stats'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
  const end = start + Number(meta.total_compressed_size);
  const reader = { view, offset: Number(meta.data_page_offset) };
  let pages = 0;
  while (reader.offset < end) {
    const header = parquetHeader(reader);
    reader.offset += header.compressed_page_size;
    pages++;
  }
  return [
    ...(meta.dictionary_page_offset !== undefined ? [{ page_type: 'DICTIONARY_PAGE' as const, encoding: 'PLAIN' as const, count: 1 }] : []),
    { page_type: 'DATA_PAGE_V2' as const, encoding: meta.encodings.at(-1)!, count: pages },
  ];
}

function convert(values: unknown[], type: FieldType, items?: FieldType, fields?: readonly Field[]): unknown[] {
  switch (type) {
    case 'float32': case 'float64':
      return values.map((v) => (v === null || v === undefined ? null : Number(v)));
    case 'int32':
      return values.map((v) => (v === null || v === undefined ? null : Number(v)));
    case 'int64':
      return values.map((v) => (v === null || v === undefined ? null : BigInt(v as number | bigint)));
    case 'bool':
      return values.map((v) => (v === null || v === undefined ? null : Boolean(v)));
    case 'timestamp':
      return values.map((v) => (v instanceof Date ? v : v === null || v === undefined ? null : new Date(v as string)));
    case 'list':
      return values.map((v) => (v === null || v === undefined ? null : convert(Array.from(v as ArrayLike<unknown>), items ?? 'json', undefined, fields)));
    case 'struct':
      return values.map((v) => (v === null || v === undefined ? null : Object.fromEntries((fields ?? []).map((f) => [f.name, convert([(v as Record<string, unknown>)[f.name]], f.type, f.items, f.fields)[0]]))));
    case 'string':
      return values.map((v) => (v === null || v === undefined ? null : String(v)));
    case 'json':
      // hyparquet-writer JSON-encodes JSON columns itself; it cannot encode bigints, so they become decimal text.
      return values.map((v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? v.toString() : v));
  }
}

function leaf(name: string, type: FieldType, repetition: 'OPTIONAL' | 'REQUIRED'): SchemaElement {
  switch (type) {
    case 'float32': return { name, type: 'FLOAT', repetition_type: repetition };
    case 'float64': return { name, type: 'DOUBLE', repetition_type: repetition };
    case 'int32': return { name, type: 'INT32', repetition_type: repetition };
    case 'int64': return { name, type: 'INT64', repetition_type: repetition };
    case 'bool': return { name, type: 'BOOLEAN', repetition_type: repetition };
    case 'timestamp': return { name, type: 'INT64', repetition_type: repetition, converted_type: 'TIMESTAMP_MILLIS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' } };
    case 'json': return { name, type: 'BYTE_ARRAY', repetition_type: repetition, converted_type: 'JSON', logical_type: { type: 'JSON' } };
    default: return { name, type: 'BYTE_ARRAY', repetition_type: repetition, converted_type: 'UTF8', logical_type: { type: 'STRING' } };
  }
}

function parquetSchema(fields: readonly Field[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'root', num_children: fields.length }];
  for (const f of fields) out.push(...element(f.name, f.type, f.items, f.fields));
  return out;
}

/** Schema elements for one field, depth first: a leaf, a struct group, or the three-level LIST layout every reader (Arrow, Spark, DuckDB) expects. */
function element(name: string, type: FieldType, items?: FieldType, fields?: readonly Field[]): SchemaElement[] {
  if (type === 'list') {
    return [
      { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      ...element('element', items ?? 'json', undefined, fields),
    ];
  }
  if (type === 'struct') {
    return [{ name, repetition_type: 'OPTIONAL', num_children: fields?.length ?? 0 }, ...(fields ?? []).flatMap((f) => element(f.name, f.type, f.items, f.fields))];
  }
  return [leaf(name, type, 'OPTIONAL')];
}
