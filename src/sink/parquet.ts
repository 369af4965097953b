/**
 * @file Parquet writer over hyparquet-writer: batches are buffered into row groups of
 * `rowGroupRows` and each row group is encoded and written as it fills. The only module that
 * imports the Parquet writer.
 */
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { RowGroup, SchemaElement } from 'hyparquet';
import type { Field, FieldType } from '../source/types.js';
import { openPartial, type PartialFile } from './atomic.js';
import { type OutputBatch, rowGroupFill, type Sink, type SinkOptions } from './types.js';

export interface ParquetSinkOptions {
  readonly rowGroupRows: number;
  readonly compression: 'snappy' | 'gzip' | 'uncompressed';
}

/** hyparquet-writer's Writer, flushing its buffer to the partial file after each row group. */
class FileByteWriter extends ByteWriter {
  constructor(readonly file: PartialFile) {
    super(1 << 20);
  }
  flush(): Promise<void> {
    const bytes = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    return this.file.write(bytes);
  }
  override finish(): void {}
}

export async function openParquetSink(schema: readonly Field[], options: SinkOptions & ParquetSinkOptions): Promise<Sink> {
  const file = await openPartial(options.partial, options.resume?.bytes);
  const writer = new FileByteWriter(file);
  const parquet = new ParquetWriter({
    writer,
    schema: parquetSchema(schema),
    codec: options.compression === 'gzip' ? 'GZIP' : options.compression === 'uncompressed' ? 'UNCOMPRESSED' : 'SNAPPY',
    compressors: { GZIP: (input: Uint8Array) => gzipSync(input) },
    createdBy: 'bento-batch (hyparquet-writer)',
  });
  if (options.resume) {
    // The constructor wrote the PAR1 magic already in the file; continue after the last committed row group.
    writer.index = 0;
    writer.offset = options.resume.bytes;
    const state = decode(options.resume.parquet ?? '{"rowGroups":[],"numRows":{"$bigint":"0"}}') as { rowGroups: RowGroup[]; numRows: bigint };
    parquet.row_groups = state.rowGroups;
    parquet.num_rows = state.numRows;
  } else {
    await writer.flush();
  }
  // Batches' columns are kept as they come and copied once, converted, when their row group is written.
  let buffered: OutputBatch[] = [];
  let rows = 0;
  const writeGroup = async () => {
    if (rows === 0) return;
    // Offset indexes would be kept in memory until the footer and lost across a resume; the
    // footer's row-group metadata is all a resumed file needs to be byte-identical.
    const columnData = schema.map((f) => ({ name: f.name, data: columnOf(buffered, f, rows), offsetIndex: false, ...(f.continuous ? { encoding: 'PLAIN' as const } : {}) }));
    buffered = [];
    rows = 0;
    await parquet.write({ columnData: columnData as never, rowGroupSize: Number.MAX_SAFE_INTEGER });
  };
  return {
    schema,
    get committable() {
      return rows === 0;
    },
    commitAtEveryPoint: true,
    async write(batch: OutputBatch) {
      buffered.push(batch);
      const closes = rowGroupFill(rows, batch.length, options.rowGroupRows) === 0;
      rows += batch.length;
      if (closes) await writeGroup();
    },
    async commit() {
      // Taken before the fsync: rows written while it runs belong to the next commit.
      const position = { bytes: file.length, parquet: encode({ rowGroups: parquet.row_groups, numRows: parquet.num_rows }) };
      await file.sync();
      return position;
    },
    async seal() {
      await writeGroup();
      parquet.finish();
      await writer.flush();
      await file.seal();
    },
    close: () => file.close(),
    discard: () => file.discard(),
  };
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
