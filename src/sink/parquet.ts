/**
 * @file Parquet writer over hyparquet-writer: batches are gathered into row groups of
 * `rowGroupRows` (or fewer, once their values take `rowGroupMemoryMb`); each row group is encoded on its own (at offset 0, by a RowGroupEncoder, here
 * or on encoder threads: sink/encoders.ts) and appended to the file in order, its column
 * offsets moved to where it lands. Page headers hold no file offsets, so the bytes are those of
 * a writer that wrote the whole file in one go. With sink/parquet-flat.ts, the only modules that
 * import the Parquet writer.
 */
import { readFile, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ColumnChunk, RowGroup, SchemaElement } from 'hyparquet';
import { BentoError } from '../errors.js';
import type { OutputSpec } from '../job/spec.js';
import { cell, cellBytes, CodedColumn, type Column, type Field, MaskedColumn } from '../source/types.js';
import { openPartial, outputError, type PartialFile } from './atomic.js';
import { BoolColumn, codecs, type Compression, Int64Column, ListNumberColumn, NumberColumn, TextColumn } from './parquet-flat.js';
import { loadZstd, zstdCompress } from './zstd.js';
import { jsonText } from './values.js';
import { type PackedBatches, type PackedColumn, unpackColumn } from './transfer.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';

export interface ParquetSinkOptions {
  readonly rowGroupRows: number;
  /** The values (valueBytes) a row group may gather before it closes, in MB; defaultRowGroupMemoryMb where undefined. */
  readonly rowGroupMemoryMb?: number;
  readonly compression: Compression;
}

/**
 * A row group also ends once its values take this much (valueBytes): 65,536 rows of 2.5 KB text
 * are 164 MB, which an encoder thread holds (as strings, then pages) in a heap of 102 MB at the
 * default limits.memory, or 48 MB with four encoders: such a run stopped with MEMORY_LIMIT. On
 * that input an encoder's heap of 48 MB took row groups of 32 MB and not 48; text outside
 * Latin-1 takes two bytes a character there. Penguins-like rows (~60 bytes) never reach it.
 */
export const defaultRowGroupMemoryMb = 16;

/** The Parquet sink's options an output asks for: its row groups' size, and its pages' codec and level. */
export function parquetOptions(output: OutputSpec): ParquetSinkOptions {
  const { rowGroupRows, rowGroupMemoryMb, compression: codec } = output.parquet;
  return { rowGroupRows, ...(rowGroupMemoryMb !== undefined ? { rowGroupMemoryMb } : {}), compression: { codec, ...(output.compressionLevel !== undefined ? { level: output.compressionLevel } : {}) } };
}

/**
 * About the bytes a batch's values take, uncompressed: a text's characters, a number its
 * column type's width, nested values summed, a null nothing. Counted from the values and the
 * schema alone, never from how a column happens to be held (typed, masked, coded or plain: a
 * Parquet input's chunk of nulls is a plain array, the next chunk's a masked one, and a resumed
 * reader's chunks start elsewhere), so row groups, and the file a resumed run writes, are the
 * same on every run of the same input.
 */
export function valueBytes(batch: OutputBatch, widths: ReadonlyMap<string, number>, nested: ReadonlySet<string>): number {
  let bytes = 0;
  for (const [name, column] of batch.columns) {
    const width = widths.get(name) ?? 8;
    const weight = nested.has(name) ? nestedWriterBytes : 1;
    if (column instanceof MaskedColumn) {
      let valid = 0;
      for (let i = 0; i < batch.length; i++) valid += column.valid[i]!;
      bytes += width * valid;
    } else if (column instanceof CodedColumn) {
      const lengths = lengthsOf(column.dictionary);
      for (let i = 0; i < batch.length; i++) {
        const code = column.codes[i]!;
        if (code >= 0) bytes += lengths[code]!;
      }
    } else if (ArrayBuffer.isView(column)) bytes += width * batch.length;
    else {
      for (let i = 0; i < batch.length; i++) {
        const v: unknown = column[i];
        bytes += v === null || v === undefined ? 0 : typeof v === 'object' && !(v instanceof Date) ? weight * cellBytes(v) : typeof v === 'string' ? v.length : width;
      }
    }
  }
  return bytes;
}

/**
 * How many times a list or struct column's cell bytes (cellBytes) hyparquet-writer holds while it
 * gathers and encodes the group: its values, repetition and definition levels in arrays of their
 * own (values boxed where a null is among them), and the page's bytes. Rows of 768 floats kept
 * from Parquet (16 MB groups of ~2,700 rows) ran the writer out of memory at the default
 * limits.memory with nulls among them or dictionary pages, and ran at a quarter of that.
 */
const nestedWriterBytes = 4;

/** A dictionary's text lengths, once a dictionary: a Parquet column's is shared by all its batches, and may hold 100,000 texts. */
const dictionaryLengths = new WeakMap<readonly string[], Int32Array>();
function lengthsOf(dictionary: readonly string[]): Int32Array {
  let lengths = dictionaryLengths.get(dictionary);
  if (lengths?.length !== dictionary.length) dictionaryLengths.set(dictionary, (lengths = Int32Array.from(dictionary, (s) => s.length)));
  return lengths;
}

/** A number's bytes in a column of each type, for valueBytes (text and nested columns count their values). */
const typeWidth = (field: Field) => (field.type === 'float32' || field.type === 'int32' || field.type === 'date' ? 4 : field.type === 'bool' ? 1 : 8);

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

/**
 * Encodes one row group at a time into bytes, as hyparquet-writer writes them, starting at
 * offset 0. Rows are added as they come; number and text columns are gathered into typed
 * arrays (sink/parquet-flat.ts), other types as the batches hold them.
 */
export class RowGroupEncoder {
  readonly #writer = new ByteWriter(1 << 20);
  readonly #parquet: ParquetWriter;
  readonly #columns: readonly GatheredColumn[];
  #rows = 0;

  constructor(schema: readonly Field[], compression: Compression) {
    this.#parquet = new ParquetWriter({
      writer: this.#writer,
      schema: parquetSchema(schema),
      codec: codecs[compression.codec],
      compressors: { GZIP: (input: Uint8Array) => gzipSync(input, { level: compression.level }), ZSTD: (input: Uint8Array) => zstdCompress(input, compression.level) },
    });
    this.#columns = schema.map((field) => gatheredColumn(field, compression, this.#parquet));
  }

  add(batch: OutputBatch): void {
    for (let j = 0; j < this.#columns.length; j++) this.#columns[j]!.add(batch.columns.get(this.#columns[j]!.name)!, batch.length);
    this.#rows += batch.length;
  }

  /** Adds batches as they were posted to an encoder thread (sink/transfer.ts), without unpacking what need not be. */
  addPacked(packed: PackedBatches): void {
    const byName = new Map(packed.columns);
    for (const column of this.#columns) column.addPacked(byName.get(column.name)!, packed.lengths);
    this.#rows += packed.lengths.reduce((a, b) => a + b, 0);
  }

  /** Encodes the rows added since the last call as one row group. */
  encode(): EncodedRowGroup {
    const writer = this.#writer;
    writer.index = 0;
    writer.offset = 0;
    const rows = this.#rows;
    this.#rows = 0;
    try {
      const columns = this.#columns.flatMap((c) => c.write(writer));
      const bytes = new Uint8Array(writer.buffer.slice(0, writer.index));
      const rowGroup: RowGroup = {
        columns,
        total_byte_size: columns.reduce((n, c) => n + (c.meta_data?.total_uncompressed_size ?? 0n), 0n),
        num_rows: BigInt(rows),
        total_compressed_size: BigInt(bytes.length),
      };
      return { bytes, rowGroup };
    } catch (error) {
      for (const c of this.#columns) c.clear();
      throw error;
    }
  }
}

/** One column of the row group being gathered. */
interface GatheredColumn {
  readonly name: string;
  add(column: Column, length: number): void;
  addPacked(column: PackedColumn, lengths: readonly number[]): void;
  /** Writes the column's chunks (one per leaf: a struct has several) at the writer's offset, and empties the column. */
  write(writer: ByteWriter): ColumnChunk | ColumnChunk[];
  /** Drops what was gathered (after a failure). */
  clear(): void;
}

/** What a column of our own writer (sink/parquet-flat.ts) is given rows by. */
interface FlatTarget {
  add(column: Column, length: number): void;
  clear(): void;
}

/** A column's rows posted as one typed array. */
type PackedTyped = Extract<PackedColumn, { typed: unknown }>['typed'];

function gatheredColumn(field: Field, compression: Compression, parquet: ParquetWriter): GatheredColumn {
  const unpacked = (target: { add(column: Column, length: number): void }, column: PackedColumn, lengths: readonly number[]) =>
    unpackColumn(column, lengths).forEach((part, b) => target.add(part, lengths[b]!));
  /**
   * A column our own writer gathers: rows posted as one typed array (that `takes`) go to it as
   * they came, others unpacked, unless `packed` has taken them in their packed form.
   */
  const flat = (target: FlatTarget, write: (writer: ByteWriter) => ColumnChunk, takes: (typed: PackedTyped) => boolean = () => true, packed?: (column: PackedColumn) => boolean): GatheredColumn => ({
    name: field.name,
    add: (column, length) => target.add(column, length),
    addPacked(column, lengths) {
      if (packed?.(column)) return;
      if ('typed' in column && takes(column.typed)) target.add(column.valid ? new MaskedColumn(column.typed, column.valid) : column.typed, column.typed.length);
      else unpacked(target, column, lengths);
    },
    write,
    clear: () => target.clear(),
  });
  // INT32 too (not an unsigned one's, past 2^31), and a DATE's days, held as doubles.
  if (field.type === 'float32' || field.type === 'float64' || field.type === 'date' || (field.type === 'int32' && (!field.integer || field.integer.signed))) {
    const numbers = new NumberColumn(field.type === 'float32', field.type === 'int32' || field.type === 'date');
    // Model scores are nearly all distinct: a dictionary is never tried for them.
    return flat(numbers, (writer) => numbers.write(writer, field.name, compression, field.continuous === true), undefined,
      (column) => {
        if (!('numbers' in column)) return false;
        numbers.addPacked(column.numbers, column.marks);
        return true;
      });
  }
  // 64-bit integers (not UBIGINT's, past 2^63) and timestamps counted in a unit: as their words, never a bigint each.
  if ((field.type === 'int64' && !(field.integer && !field.integer.signed && field.integer.bits === 64)) || (field.type === 'timestamp' && field.unit)) {
    const integers = new Int64Column(field.unit === 'us' ? 1000n : field.unit === 'ns' ? 1_000_000n : 1n);
    return flat(integers, (writer) => integers.write(writer, field.name, compression), (typed) => typed instanceof BigInt64Array);
  }
  if (field.type === 'bool') {
    const flags = new BoolColumn();
    return flat(flags, (writer) => flags.write(writer, field.name, compression));
  }
  // JSON cells as our own JSON text, in a text column the footer declares JSON: hyparquet-writer's
  // encoding turns a 64-bit integer into the nearest double and drops a `__proto__` key.
  if (field.type === 'json') {
    const texts = new TextColumn();
    const asText = (column: Column, length: number) => Array.from({ length }, (_, r) => {
      const v = cell(column, r);
      return v === null || v === undefined ? null : jsonText(v, 'json', undefined, field);
    });
    return {
      name: field.name,
      add: (column, length) => texts.add(asText(column, length), length),
      addPacked: (column, lengths) => unpackColumn(column, lengths).forEach((part, b) => texts.add(asText(part, lengths[b]!), lengths[b]!)),
      write: (writer) => texts.write(writer, field.name, compression),
      clear: () => texts.clear(),
    };
  }
  // A UUID goes to hyparquet-writer, which turns its text back into 16 bytes.
  if (field.type === 'string' && !field.uuid) {
    const texts = new TextColumn();
    return flat(texts, (writer) => texts.write(writer, field.name, compression), () => false,
      (column) => {
        if (!('codes' in column)) return false;
        texts.addPacked(column.strings, column.codes);
        return true;
      });
  }
  // A list of floats or doubles (an embedding kept), as flat columns are: by our own writer.
  if (field.type === 'list' && (field.items === 'float32' || field.items === 'float64')) {
    const lists = new ListNumberColumn(field.items === 'float32');
    return flat(lists, (writer) => lists.write(writer, field.name, compression), () => false);
  }
  let parts: Column[] = [];
  let lengths: number[] = [];
  // The writer as for a file of this one field: each write resolves its column against a schema
  // tree built from the writer's schema, and the whole schema's made a row group of 10,000 integer
  // columns take ~85 s (its cost grew with the square of the columns). The chunk's path, types and
  // bytes are the same; the ByteWriter is the shared one.
  const own: ParquetWriter = Object.assign(Object.create(parquet) as ParquetWriter, { schema: [{ name: 'root', num_children: 1 }, ...element(field)], row_groups: [] as ParquetWriter['row_groups'], pendingIndexes: [] as ParquetWriter['pendingIndexes'] });
  const gathered: GatheredColumn = {
    name: field.name,
    add(column, length) {
      parts.push(column);
      lengths.push(length);
    },
    addPacked: (column, batchLengths) => unpacked(gathered, column, batchLengths),
    write() {
      const values: unknown[] = [];
      parts.forEach((part, b) => {
        for (let r = 0; r < lengths[b]!; r++) values.push(cell(part, r));
      });
      gathered.clear();
      own.row_groups = [];
      own.pendingIndexes = [];
      // Offset indexes would be kept in memory until the footer and lost across a resume; the
      // footer's row-group metadata is all a resumed file needs to be byte-identical.
      void own.write({ columnData: [{ name: field.name, data: convert(values, field), offsetIndex: false }] as never, rowGroupSize: Number.MAX_SAFE_INTEGER });
      const columns = own.row_groups[0]!.columns;
      // A chunk holding NaN (a struct's or a list's doubles) has no minimum or maximum, as in our own writer's columns (numberStatistics).
      for (const chunk of columns) {
        const statistics = chunk.meta_data?.statistics as { min_value?: unknown; max_value?: unknown; nan_count?: bigint } | undefined;
        if (statistics && (statistics.nan_count ?? 0n) > 0n) {
          statistics.min_value = undefined;
          statistics.max_value = undefined;
        }
      }
      return columns;
    },
    clear() {
      parts = [];
      lengths = [];
    },
  };
  return gathered;
}

/** Row groups encoded on the calling thread, when closed. */
export function inlineEncoding(schema: readonly Field[], compression: Compression): RowGroupEncoding {
  const encoder = new RowGroupEncoder(schema, compression);
  return {
    ahead: 0,
    add(batch) {
      encoder.add(batch);
    },
    async close() {
      return encoder.encode();
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
  if (options.compression.codec === 'zstd' && !options.encoding) await loadZstd();
  const encoding = options.encoding ?? inlineEncoding(schema, options.compression);
  let state: { rowGroups: RowGroup[]; numRows: bigint };
  /** Row groups whose metadata is in the metadata file, and its committed length (undefined: start it anew). */
  let metaGroups = 0;
  let metaBytes: number | undefined;
  // The checkpoint is checked before the partial file is opened: a refused resume leaves it as it was.
  try {
    const saved = decode(options.resume?.parquet ?? '{"groups":0,"numRows":{"$bigint":"0"}}') as SavedRowGroups;
    if (saved.rowGroups) state = { rowGroups: saved.rowGroups, numRows: saved.numRows }; // a checkpoint from before the metadata file
    else {
      state = { rowGroups: saved.groups > 0 ? await readMetadata(options.partial, saved) : [], numRows: saved.numRows };
      metaGroups = saved.groups;
      metaBytes = saved.groups > 0 ? saved.metadataBytes : undefined;
    }
    sameTypes(schema, state.rowGroups, options.partial);
  } catch (error) {
    await encoding.end();
    throw error;
  }
  let file: PartialFile;
  try {
    file = await openPartial(options.partial, options.resume?.bytes);
  } catch (error) {
    await encoding.end();
    throw error;
  }
  let meta: PartialFile | undefined;
  if (!options.resume) await file.write(MAGIC);
  /** Where the file stands after an append: a commit position, once fsync'd. */
  type Appended = { readonly groups: number; readonly numRows: bigint; readonly bytes: number };
  const groupBytes = (options.rowGroupMemoryMb ?? defaultRowGroupMemoryMb) * 2 ** 20;
  const widths = new Map(schema.map((f) => [f.name, typeWidth(f)]));
  // Written as Parquet lists and structs (values and levels); bytes and JSON text are written whole.
  const nested = new Set(schema.filter((f) => f.type === 'list' || f.type === 'struct').map((f) => f.name));
  let rows = 0;
  let bytes = 0;
  let failure: unknown;
  let last: Promise<Appended> = Promise.resolve({ groups: state.rowGroups.length, numRows: state.numRows, bytes: options.resume?.bytes ?? MAGIC.length });
  /** Appends not yet waited for by `write`, oldest first. */
  const pending: Promise<Appended>[] = [];
  const closeGroup = () => {
    if (rows === 0) return;
    rows = 0;
    bytes = 0;
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
    async write(batch: OutputBatch) {
      // A new row group waits while as many as the encoding allows are still being encoded.
      if (rows === 0) while (!failure && pending.length > encoding.ahead) await pending.shift()!.catch(() => undefined);
      if (failure) throw failure;
      encoding.add(batch);
      // A row group ends at the first batch boundary at or past rowGroupRows or its memory, so row
      // groups (and resumed files) are deterministic.
      bytes += valueBytes(batch, widths, nested);
      const closes = rows + batch.length >= options.rowGroupRows || bytes >= groupBytes;
      rows += batch.length;
      if (closes) closeGroup();
    },
    async commit() {
      // The position is that of the row groups closed when called; later ones may be appended meanwhile.
      const at = await last;
      meta ??= await openPartial(metadataFile(options.partial), metaBytes);
      if (at.groups > metaGroups) {
        await meta.write(state.rowGroups.slice(metaGroups, at.groups).map((g) => `${encode(g)}\n`).join(''));
        metaGroups = at.groups;
      }
      await Promise.all([file.sync(), meta.sync()]);
      return { bytes: at.bytes, parquet: encode({ groups: at.groups, numRows: at.numRows, metadataBytes: meta.length } satisfies SavedRowGroups) };
    },
    async seal() {
      closeGroup();
      await last;
      await encoding.end();
      await file.write(footer(schema, state.rowGroups, state.numRows));
      await file.seal();
      // The metadata file stays until the run has recorded that it finished (removeMetadata): a
      // crash before that resumes from the last commit, which needs it.
      await meta?.close();
    },
    async close() {
      await encoding.end();
      await last.catch(() => undefined);
      await file.close();
      await meta?.close();
    },
    async discard() {
      await encoding.end();
      await last.catch(() => undefined);
      await file.discard();
      await discardMetadata();
    },
  };
  async function discardMetadata() {
    await meta?.close();
    await removeMetadata(options.partial);
  }
}

/** Removes the row-group metadata file kept beside a partial output, once it is no longer needed. */
export async function removeMetadata(partial: string): Promise<void> {
  await rm(metadataFile(partial), { force: true });
}

/**
 * What a commit position says of the footer's row groups: how many, and how many bytes of the
 * metadata file beside the partial output (a JSON line per row group, appended at commits) hold
 * them. Kept in state.json itself they were rewritten whole at every commit, a cost that grows
 * with the square of the output (~4 KB a row group: 6 MB a commit at 100M rows).
 */
interface SavedRowGroups {
  readonly groups: number;
  readonly numRows: bigint;
  readonly metadataBytes?: number;
  /** Checkpoints written before the metadata file held the row groups themselves. */
  readonly rowGroups?: RowGroup[];
}

const metadataFile = (partial: string) => `${partial}.rowgroups`;

async function readMetadata(partial: string, saved: SavedRowGroups): Promise<RowGroup[]> {
  const path = metadataFile(partial);
  const refuse = (why: string) => new BentoError('RESUME_REFUSED', `Cannot resume: the checkpoint's row-group metadata ${path} ${why}`, {
    file: path, hint: 'The checkpoint directory was changed by hand or by another program. Run with --restart to discard the checkpoint and start over.',
  });
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw refuse('is missing');
    throw outputError(path, error);
  }
  const committed = saved.metadataBytes ?? 0;
  if (bytes.length < committed) throw refuse(`is ${bytes.length} bytes, shorter than the ${committed} committed`);
  const lines = bytes.subarray(0, committed).toString('utf8').split('\n').filter((line) => line !== '');
  if (lines.length !== saved.groups) throw refuse(`holds ${lines.length} row groups, not the ${saved.groups} committed`);
  return lines.map((line) => decode(line) as RowGroup);
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

/**
 * JSON that keeps bigints, byte arrays and the doubles JSON has no text for, -0, ±Infinity and
 * NaN (Parquet statistics hold all of them: a resumed file's footer must be the same bytes).
 */
function encode(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $number: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  });
}

function decode(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && '$bigint' in v) return BigInt((v as { $bigint: string }).$bigint);
    if (v !== null && typeof v === 'object' && '$bytes' in v) return new Uint8Array(Buffer.from((v as { $bytes: string }).$bytes, 'base64'));
    if (v !== null && typeof v === 'object' && '$number' in v) return Number((v as { $number: string }).$number);
    return v;
  });
}

/** A list's item as a field of its own: its type, its members if structs, its unit and zone if timestamps, whether UUIDs. */
function itemField({ items, fields, unit, naive, uuid, integer }: Omit<Field, 'name'>): Omit<Field, 'name'> {
  return { type: items ?? 'json', ...(fields ? { fields } : {}), ...(unit ? { unit } : {}), ...(naive ? { naive } : {}), ...(uuid ? { uuid } : {}), ...((items === 'int32' || items === 'int64') && integer ? { integer } : {}) };
}

/** Values as hyparquet-writer takes them for `field`'s column (its type, and for a timestamp its unit and UTC flag). */
function convert(values: unknown[], field: Omit<Field, 'name'>): unknown[] {
  const { type, fields } = field;
  switch (type) {
    case 'float32': case 'float64':
      return values.map((v) => (v === null || v === undefined ? null : Number(v)));
    case 'int32':
      return values.map((v) => (v === null || v === undefined ? null : Number(v)));
    case 'int64':
      return values.map((v) => (v === null || v === undefined ? null : BigInt(v as number | bigint)));
    case 'bool':
      return values.map((v) => (v === null || v === undefined ? null : Boolean(v)));
    case 'timestamp': case 'date':
      // Integers in the column's unit: a fine timestamp's as they are, Dates (milliseconds) scaled.
      // hyparquet-writer converts Dates only for columns it also gives the legacy converted type,
      // which a wall-clock (naive) timestamp must not have.
      if (type === 'timestamp' && (field.unit || field.naive)) {
        const scale = field.unit === 'us' ? 1000n : field.unit === 'ns' ? 1_000_000n : 1n;
        return values.map((v) => (typeof v === 'bigint' ? v : v === null || v === undefined ? null : BigInt((v instanceof Date ? v : new Date(v as string)).getTime()) * scale));
      }
      // A date or millisecond time past what a Date holds is read as its days or milliseconds, which hyparquet-writer takes as they are.
      return values.map((v) => (v instanceof Date || typeof v === 'number' || typeof v === 'bigint' ? v : v === null || v === undefined ? null : new Date(v as string)));
    case 'list':
      return values.map((v) => (v === null || v === undefined ? null : convert(Array.from(v as ArrayLike<unknown>), itemField(field))));
    case 'struct':
      return values.map((v) => (v === null || v === undefined ? null : Object.fromEntries((fields ?? []).map((f) => [f.name, convert([(v as Record<string, unknown>)[f.name]], f)[0]]))));
    case 'string':
      return values.map((v) => (v === null || v === undefined ? null : String(v)));
    case 'binary':
      return values.map((v) => (v === undefined ? null : v));
    case 'json':
      // hyparquet-writer JSON-encodes JSON columns itself; it cannot encode bigints, so they become decimal text.
      return values.map((v) => (v === null || v === undefined ? null : typeof v === 'bigint' ? v.toString() : v));
  }
}

/** The schema element of a scalar field: its type, and the unit, UTC flag or integer width and sign its input declared. */
function leaf(field: Field, repetition: 'OPTIONAL' | 'REQUIRED'): SchemaElement {
  const { name, type } = field;
  if (type === 'timestamp') {
    // The input's unit and UTC flag; the legacy converted types exist for UTC instants in millis and micros only.
    const unit = field.unit === 'us' ? 'MICROS' : field.unit === 'ns' ? 'NANOS' : 'MILLIS';
    const converted = !field.naive && unit !== 'NANOS' ? { converted_type: unit === 'MICROS' ? 'TIMESTAMP_MICROS' as const : 'TIMESTAMP_MILLIS' as const } : {};
    return { name, type: 'INT64', repetition_type: repetition, ...converted, logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: !field.naive, unit } };
  }
  if (type === 'string' && field.uuid) return { name, type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, repetition_type: repetition, logical_type: { type: 'UUID' } };
  if ((type === 'int32' || type === 'int64') && field.integer) {
    // The input's width and sign: an unsigned 64-bit value past 2^63 is written only under UINT_64.
    // The converted type alone, as DuckDB writes it: hyparquet-writer's INTEGER logical type
    // gives its bit width a Thrift type that DuckDB rejects (TProtocolException: Invalid data).
    const { bits, signed } = field.integer;
    return { name, type: type === 'int32' ? 'INT32' : 'INT64', repetition_type: repetition, converted_type: `${signed ? '' : 'U'}INT_${bits}` as SchemaElement['converted_type'] };
  }
  switch (type) {
    case 'float32': return { name, type: 'FLOAT', repetition_type: repetition };
    case 'float64': return { name, type: 'DOUBLE', repetition_type: repetition };
    case 'int32': return { name, type: 'INT32', repetition_type: repetition };
    case 'int64': return { name, type: 'INT64', repetition_type: repetition };
    case 'bool': return { name, type: 'BOOLEAN', repetition_type: repetition };
    case 'date': return { name, type: 'INT32', repetition_type: repetition, converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'json': return { name, type: 'BYTE_ARRAY', repetition_type: repetition, converted_type: 'JSON', logical_type: { type: 'JSON' } };
    // No annotation: bytes, as DuckDB, Arrow, Polars and Spark write and read a BLOB or binary column.
    case 'binary': return { name, type: 'BYTE_ARRAY', repetition_type: repetition };
    default: return { name, type: 'BYTE_ARRAY', repetition_type: repetition, converted_type: 'UTF8', logical_type: { type: 'STRING' } };
  }
}

function parquetSchema(fields: readonly Field[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: 'root', num_children: fields.length }];
  for (const f of fields) out.push(...element(f));
  return out;
}

/**
 * Refuses a resume whose committed row groups hold a top-level column in another physical type
 * than this run would write it (another version typed the input otherwise: a CSV code as text
 * where it was a number): the footer would declare one type over pages of two, a file no reader
 * can read.
 */
function sameTypes(schema: readonly Field[], groups: readonly RowGroup[], partial: string): void {
  if (groups.length === 0) return;
  const now = new Map(schema.filter((f) => f.type !== 'list' && f.type !== 'struct').map((f) => [f.name, leaf(f, 'OPTIONAL').type]));
  for (const chunk of groups[0]!.columns) {
    const path = chunk.meta_data?.path_in_schema;
    const type = path?.length === 1 ? now.get(path[0]!) : undefined;
    if (type === undefined || type === chunk.meta_data!.type) continue;
    throw new BentoError('RESUME_REFUSED', `Cannot resume: the partial output ${partial} holds column "${path![0]}" as ${chunk.meta_data!.type}, and this run would write it as ${type} (the checkpoint was made by another version of bento-batch, which typed the input otherwise)`, {
      file: partial, column: path![0],
      hint: 'Run again with --restart to start over.',
    });
  }
}

/** Schema elements for one field, depth first: a leaf, a struct group, or the three-level LIST layout every reader (Arrow, Spark, DuckDB) expects. */
function element(field: Field): SchemaElement[] {
  const { name, type, fields } = field;
  if (type === 'list') {
    return [
      { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      ...element({ name: 'element', ...itemField(field) }),
    ];
  }
  if (type === 'struct') {
    return [{ name, repetition_type: 'OPTIONAL', num_children: fields?.length ?? 0 }, ...(fields ?? []).flatMap(element)];
  }
  return [leaf(field, 'OPTIONAL')];
}
