/**
 * @file Parquet reader over hyparquet (+ hyparquet-compressors for ZSTD, GZIP, Brotli, LZ4;
 * Snappy is snappy.ts's):
 * columnar, in chunks of `chunkRows` (fewer where lists are long) that never cross a row group;
 * every column is decoded a chunk at a time, whatever the file's row-group and page sizes: flat
 * ones here, struct, list and map ones in parquet-nested.ts. With it and parquet-pages.ts, the
 * only modules that import the Parquet reader.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetSchema, type RowGroup, type SchemaTree } from 'hyparquet';
// Page-level pieces of hyparquet (public subpath exports, pinned version): flat columns are
// decoded here without its list assembly, which pushes value by value (17% of a Parquet run's
// scoring thread in a --cpu-prof of penguins 3.1M).
import { convert, convertWithDictionary, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { getTreePath, isFlatColumn, isListLike, isMapLike } from 'hyparquet/src/schema.js';
import type { ColumnDecoder, DecodedArray, PageHeader } from 'hyparquet/src/types.js';
import { BentoError } from '../errors.js';
import { scoringShare } from '../run/memory.js';
import { base64, dayText, timestampText } from '../sink/values.js';
import { blockArray } from './blocks.js';
import { type ChunkOptions, chunkEnd, requireColumns } from './chunks.js';
import { parseExact } from './json.js';
import { HybridReader } from './parquet-hybrid.js';
import { NestedColumnReader } from './parquet-nested.js';
import { ChunkBytes, decompressors, deltaIntegers, dictionaryPage, pageSections, pageValues } from './parquet-pages.js';
import { FilesAhead, smallFiles, statFiles } from './ahead.js';
import { streamError } from './files.js';
import { CodedColumn, type Field, type FieldType, infinityStamp, MaskedColumn, maxSafeBig, type NumberArray, type RowChunk, type Source, type SourcePosition, type TimeUnit } from './types.js';

export interface ParquetSourceOptions extends ChunkOptions {
  readonly columns: readonly string[] | undefined;
  /** Columns never read where `columns` is unset: partition keys, whose folder value stands for them (source/partitions.ts). */
  readonly exclude?: ReadonlySet<string>;
  /** `limits.memory` (MB): a row group whose nested columns would not fit the reading thread's share a chunk at a time once decoded is refused (nestedFits). */
  readonly memoryMb?: number;
  /** List columns only the model reads, whose rows may come as Float32Array or Float64Array views (NestedDecoding's typedRows). */
  readonly typedLists?: ReadonlySet<string>;
}

interface OpenParquet {
  readonly file: string;
  /** Closes the file; nothing to do where its bytes were read whole. */
  close(): Promise<void>;
  readonly buffer: AsyncBuffer;
  readonly metadata: FileMetaData;
  readonly fields: Field[];
  /** The schema. */
  readonly tree: SchemaTree;
  /** Schema paths of the flat columns (FlatColumnReader); others are nested (NestedColumnReader). */
  readonly flat: ReadonlyMap<string, SchemaTree[]>;
  /** Nested columns with decimals inside, and what corrects their values (exactDecimals). */
  readonly decimals: ReadonlyMap<string, (value: unknown) => unknown>;
  /** Struct and list columns: read with timestamps as integers in their unit (unitParsers), bytes as bytes. */
  readonly typed: ReadonlySet<string>;
  /** Struct and list columns holding ENUM text, by their fields (enumText). */
  readonly enums: ReadonlyMap<string, Field>;
  /** JSON columns (maps, lists of lists or of structs) holding bytes and no ENUM: read with their bytes as bytes, written as base64. */
  readonly jsonBytes: ReadonlySet<string>;
}

/** A column's type in words, as a message names it: `float64`, `list<int32>`, `int64 (unsigned 64-bit)`, `timestamp (ns, wall-clock)`. */
function typeName(f: Field): string {
  const detail = [
    ...(f.integer ? [`${f.integer.signed ? '' : 'unsigned '}${f.integer.bits}-bit`] : []),
    ...(f.unit ? [f.unit] : []), ...(f.naive ? ['wall-clock'] : []), ...(f.uuid ? ['uuid'] : []),
    ...(f.fields ? [`{${f.fields.map((m) => `${m.name}: ${typeName(m)}`).join(', ')}}`] : []),
  ];
  return `${f.type}${f.items ? `<${f.items}>` : ''}${detail.length ? ` (${detail.join(', ')})` : ''}`;
}

/**
 * Every file of an input must hold each column read in the first file's type (Spark and Hive
 * folders whose schema changed over time do not): rows are written with the first file's
 * schema, which a later file's values would not fit.
 */
function sameTypes(firstFile: string, schema: readonly Field[], file: string, fields: readonly Field[]): void {
  const differ = schema.flatMap((f, i) => {
    const [was, is] = [typeName(f), typeName(fields[i]!)];
    return was === is ? [] : [{ name: f.name, text: `"${f.name}" is ${was} in ${firstFile}, ${is} here` }];
  });
  if (differ.length === 0) return;
  throw new BentoError('INPUT_FORMAT', `Input file ${file} holds ${differ.length === 1 ? 'a column' : `${differ.length} columns`} in another type than the first file: ${differ.map((d) => d.text).join('; ')}`, {
    file, column: differ[0]!.name,
    hint: 'Every file of an input must have the same column types: rewrite the odd files with the first one\'s types (a CAST in Spark, DuckDB or Polars), score them in a job of their own, or leave the column out with input.columns and output.keep.',
  });
}

/**
 * Refuses a file with two columns of a name read: columns are read by name, and the second would
 * be read as the first (pyarrow writes such tables; pandas, Polars and Spark refuse to).
 */
function readOnce(footer: OpenParquet, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const { name } of footer.fields) {
    if (seen.has(name) && names.includes(name)) {
      throw new BentoError('INPUT_FORMAT', `Parquet file ${footer.file} has ${footer.fields.filter((f) => f.name === name).length} columns named "${name}", and columns are read by name`, {
        file: footer.file, column: name,
        hint: `Give them names of their own where the file is written (pyarrow: table.rename_columns), or leave "${name}" out of the columns read: list the others in output.keep (all columns are kept where it is not set).`,
      });
    }
    seen.add(name);
  }
}

/** Opens every file's footer (schema and row counts) up front; throws INPUT_FORMAT on a non-Parquet file. */
export async function openParquet(files: readonly string[], options: ParquetSourceOptions): Promise<Source> {
  // Every footer is read here for the schema and row counts, and checked against the first; only
  // the first is kept (chunks() reads it first): 30,000 part files' footers kept for the run took
  // more than limits.memory, each file's is read again when reached.
  const stats = await statFiles(files);
  const first = await openFile(files[0]!);
  await first.close();
  const wanted = options.columns ?? first.fields.map((f) => f.name).filter((n) => !options.exclude?.has(n));
  const names = first.fields.map((f) => f.name).filter((n) => wanted.includes(n));
  requireColumns(first.file, first.fields.map((f) => f.name), wanted);
  readOnce(first, names);
  const schema = names.map((name) => first.fields.find((f) => f.name === name)!);
  // Every row group's nested columns against the memory they will take, here, so that validate and
  // a dry run find what the run would stop at, and a run stops before it writes a row.
  const fits = (footer: OpenParquet) => {
    if (options.memoryMb) footer.metadata.row_groups.forEach((group, index) => nestedFits(footer, names, group, { ...options, memoryMb: options.memoryMb! }, index));
  };
  fits(first);
  /** Whether a later file holds the columns read, in the first one's types (again when read: it may have been replaced since). */
  const holdsColumns = (footer: OpenParquet) => {
    requireColumns(footer.file, footer.fields.map((f) => f.name), names);
    readOnce(footer, names);
    sameTypes(first.file, schema, footer.file, names.map((name) => footer.fields.find((f) => f.name === name)!));
  };
  const rowCounts = [Number(first.metadata.num_rows)];
  // Small files (Spark's part files) are read whole, a few ahead, for their footers: one at a time,
  // a promise for each open, stat, read and close, 30,000 of them took 8 s.
  const footers = new FilesAhead(files, stats, smallFiles);
  for (let index = 1; index < files.length; index++) {
    const file = files[index]!;
    const footer = await openFile(file, undefined, await footers.read(index));
    await footer.close();
    holdsColumns(footer);
    fits(footer);
    rowCounts.push(Number(footer.metadata.num_rows));
  }
  const totalRows = rowCounts.reduce((a, b) => a + b, 0);
  let rowsDone = 0;

  async function* chunks(from: SourcePosition = { file: 0, row: 0 }): AsyncGenerator<RowChunk> {
    for (let index = 0; index < from.file; index++) rowsDone += rowCounts[index]!;
    const ahead = new FilesAhead(files, stats, smallFiles);
    for (let index = from.file; index < files.length; index++) {
      const file = files[index]!;
      const opened = await openFile(file, index === 0 ? first.metadata : undefined, await ahead.read(index));
      try {
        if (index > 0) holdsColumns(opened);
        let groupStart = 0;
        const skip = index === from.file ? from.row : 0;
        rowsDone += skip;
        for (const group of opened.metadata.row_groups) {
          const groupRows = Number(group.num_rows);
          const groupEnd = groupStart + groupRows;
          // A resume reads only the row groups from the one holding its first row.
          if (groupEnd > skip) {
            const first = Math.max(groupStart, skip);
            const reader = await readGroup(opened, names, group, groupStart, first, options.typedLists);
            const step = groupChunkRows(options, nestedWidth(opened, names, group).weighed);
            for (let start = first; start < groupEnd; start += step) {
              const end = Math.min(groupEnd, start + step);
              const columns = await reader.take(end - start);
              rowsDone += end - start;
              yield { file, fileIndex: index, fileRow: start, length: end - start, columns };
            }
          }
          groupStart = groupEnd;
        }
      } finally {
        await opened.close();
      }
    }
  }

  return { files, schema, totalRows, estimatedRows: totalRows, chunks, progress: () => ({ done: rowsDone, total: totalRows, unit: 'rows' }) };
}

type Values = unknown[] | NumberArray | MaskedColumn | CodedColumn;

/** A failure to decode one column, so the error can name it. */
class ColumnError extends Error {
  constructor(readonly column: string, cause: unknown) {
    super((cause as Error).message, { cause });
  }
}

/** A row group being read: `take` hands out its next rows, column by column. */
interface GroupReader {
  take(rows: number): Promise<Map<string, Values>>;
}

/**
 * About the bytes a nested column's value takes while it is decoded and assembled: the number, its
 * levels, and the arrays pushed to. Lists of ints and floats decoded a row group at a time ran out
 * of memory at ~37–45 bytes a value of the reading thread's heap (a helper's measurements on
 * DuckDB files); a chunk is now decoded at a time, so this is a ceiling.
 */
const decodedBytes = 48;

/**
 * A struct member's value counted as this many of a list's: each is a key of an object of its own
 * (cellBytes counts 40 bytes a key beside a number's 8). 102,600 rows of a struct of 200 doubles,
 * kept, ran the reading thread out of memory at the default limits.memory in chunks of 2,048 rows
 * and ran in chunks of 512.
 */
const memberWeight = 6;

/**
 * The values a row of a row group holds in its struct and list columns (their leaves' entries), on
 * average, and the same with struct members weighed (memberWeight) for sizing chunks; 0 without such columns.
 */
function nestedWidth(opened: OpenParquet, names: readonly string[], group: RowGroup): { values: number; weighed: number } {
  let values = 0;
  let weighed = 0;
  for (const chunk of group.columns) {
    const path = chunk.meta_data?.path_in_schema;
    const top = path?.[0];
    if (top === undefined || opened.flat.has(top) || !names.includes(top)) continue;
    const count = Number(chunk.meta_data?.num_values ?? 0);
    values += count;
    weighed += inStruct(getTreePath(opened.tree, path!)) ? count * memberWeight : count;
  }
  const rows = Math.max(1, Number(group.num_rows));
  return { values: values / rows, weighed: weighed / rows };
}

/** Whether a leaf (its schema path from the root) is a member of a struct, at any depth: a group that is no list, map or their repeated level. */
function inStruct(path: readonly SchemaTree[]): boolean {
  for (let d = 1; d < path.length - 1; d++) {
    const parent = path[d - 1]!;
    const node = path[d]!;
    if (!isListLike(node) && !isMapLike(node) && !(d > 1 && (isListLike(parent) || isMapLike(parent)))) return true;
  }
  return false;
}

/**
 * Rows a chunk of this row group holds: fewer where its nested columns hold many values a row, so
 * that a chunk decodes about chunkCells of them (682 rows of embeddings of 768 floats), as a CSV
 * chunk of wide rows holds fewer rows; `input.chunk_rows` as set.
 */
function groupChunkRows(options: ChunkOptions, weighed: number): number {
  return weighed === 0 ? options.chunkRows : chunkEnd(options, true, Math.ceil(weighed));
}

/**
 * Refuses a row group whose struct and list columns would not fit the reading thread's heap a
 * chunk at a time once decoded, when the source opens (every file's footer is read then), so that
 * validate and a dry run find it: a worker near its heap cap pushing into one large array aborts
 * the whole process (exit 134, nodejs/node#47224) rather than stopping with MEMORY_LIMIT.
 */
function nestedFits(opened: OpenParquet, names: readonly string[], group: RowGroup, options: ParquetSourceOptions & { memoryMb: number }, index: number): void {
  const { values: width, weighed } = nestedWidth(opened, names, group);
  if (width === 0) return;
  const rows = Math.min(Number(group.num_rows), groupChunkRows(options, weighed));
  const needMb = Math.ceil((width * rows * decodedBytes) / 2 ** 20);
  const heapMb = Math.round(options.memoryMb * scoringShare);
  if (needMb <= heapMb) return;
  const nested = names.filter((n) => !opened.flat.has(n));
  const fewer = Math.floor((heapMb * 2 ** 20) / (width * decodedBytes));
  throw new BentoError('MEMORY_LIMIT', `Row group ${index + 1} of ${opened.file} holds ~${Math.round(width).toLocaleString('en-US')} values a row in its struct and list columns (${nested.join(', ')}): a chunk of ${rows.toLocaleString('en-US')} rows is ~${needMb} MB once decoded, more than the ${heapMb} MB of limits.memory ${options.memoryMb} MB the reading thread has`, {
    file: opened.file,
    hint: `Raise limits.memory (e.g. --set limits.memory=${Math.ceil((needMb / scoringShare) * 1.25 / 256) * 256}MB)${fewer >= 1 ? `, read fewer rows a chunk (--set input.chunk_rows=${fewer})` : ''}, or leave such columns out of output.keep where the model does not read them.`,
  });
}

/**
 * Row group `group` (file rows from `groupStart`), from file row `rowStart` on. Flat columns are
 * read a chunk at a time (FlatColumnReader), and so are nested ones (NestedColumnReader).
 */
async function readGroup(opened: OpenParquet, names: readonly string[], group: RowGroup, groupStart: number, rowStart: number, typedLists?: ReadonlySet<string>): Promise<GroupReader> {
  const groupEnd = groupStart + Number(group.num_rows);
  const readers = new Map<string, FlatColumnReader>();
  const nested = new Map<string, NestedColumnReader>();
  const failed = (error: unknown, from: number, to: number) => {
    const column = error instanceof ColumnError ? error.column : undefined;
    // hyparquet's words for a type or encoding it does not decode (BSON, …), not for damage.
    const unsupported = column !== undefined && /not supported|unsupported/.test((error as Error).message);
    return new BentoError('INPUT_FORMAT', `Parquet file ${opened.file} cannot be read (rows ${from + 1}–${to}${column ? `, column "${column}"` : ''}): ${(error as Error).message}`, {
      file: opened.file, ...(column ? { column } : {}), cause: error,
      hint: unsupported
        ? `bento-batch cannot decode column "${column}". If the model does not need it, leave it out of output.keep (or list the columns to read in input.columns).`
        : 'The file may be truncated or corrupt; write it again.',
    });
  };
  try {
    for (const name of names.filter((n) => opened.flat.has(n))) {
      const reader = new FlatColumnReader(opened.buffer, group, name, opened.flat.get(name)!);
      await reader.skip(rowStart - groupStart);
      readers.set(name, reader);
    }
    // Structs and lists get their timestamps as integers in their unit (fieldOf gives them one),
    // as flat columns do: hyparquet's Dates hold milliseconds. JSON columns (maps, …) keep Dates,
    // which they write as ISO 8601 text. Bytes in a struct or list stay bytes (utf8: false), read as
    // top-level ones are; text is decoded all the same, an ENUM's below (enumText). A JSON column's
    // bytes become base64 (base64Within).
    for (const name of names.filter((n) => !opened.flat.has(n))) {
      const naive = opened.fields.find((f) => f.name === name)?.naive === true;
      const decoding = opened.typed.has(name) ? { parsers: unitParsers, utf8: false, typedRows: typedLists?.has(name) === true }
        : { parsers: jsonParsersBy[naive ? 'naive' : 'utc'], ...(opened.jsonBytes.has(name) ? { utf8: false } : {}) };
      const reader = new NestedColumnReader(opened.buffer, group, opened.tree, opened.tree.children.find((c) => c.element.name === name)!, decoding);
      await reader.skip(rowStart - groupStart).catch((error: unknown) => {
        throw new ColumnError(name, error);
      });
      nested.set(name, reader);
    }
  } catch (error) {
    throw failed(error, rowStart, groupEnd);
  }
  let at = rowStart;
  return {
    async take(rows) {
      const from = at;
      at += rows;
      const out = new Map<string, Values>();
      try {
        // In the file's column order, as the schema lists them.
        for (const name of names) {
          const reader = readers.get(name);
          out.set(name, reader ? await reader.take(rows) : nestedValues(opened, name, await nested.get(name)!.take(rows).catch((error: unknown) => {
            throw new ColumnError(name, error);
          })));
        }
      } catch (error) {
        throw failed(error, from, at);
      }
      return out;
    },
  };
}

/** A chunk of a nested column's cells as every Column holds them: null for a missing cell (hyparquet's undefined), decimals exact, ENUM text as text, bytes in JSON as base64. */
function nestedValues(opened: OpenParquet, name: string, values: unknown[]): unknown[] {
  const exact = opened.decimals.get(name);
  const enums = opened.enums.get(name);
  const bytes = opened.jsonBytes.has(name);
  for (let i = 0; i < values.length; i++) {
    let value = values[i] === undefined ? null : values[i];
    if (exact) value = exact(value);
    if (enums) value = enumText(value, enums);
    if (bytes) value = base64Within(value);
    values[i] = value;
  }
  return values;
}

const typedValues = [Float64Array, Float32Array, Int32Array, BigInt64Array] as const;

/** Rows of one data page of a flat column: their values (or dictionary indexes), and their definition levels where one is null. */
interface FlatPiece {
  readonly rows: number;
  /** 1 where the row has a value; absent when every row has one. */
  readonly defs: Uint8Array | undefined;
  /** The present values, or indexes into `dictionary`. */
  readonly values: DecodedArray;
  readonly dictionary: DecodedArray | undefined;
}

/** A data page being read: each `take` decodes its next rows, each `skip` passes over them. */
interface OpenPage {
  take(rows: number): FlatPiece;
  skip(rows: number): void;
}

/**
 * One flat column chunk of a row group, read a chunk of rows at a time: its bytes a window at a
 * time, each page decompressed when reached, and its definition levels and dictionary indexes
 * decoded only as far as rows are taken (parquet-hybrid.ts says why). On penguins 3.1M in row
 * groups of 1M rows, a job's peak RSS fell from 379–385 MB (pages decoded whole) to 241 MB.
 */
class FlatColumnReader {
  readonly #name: string;
  readonly #bytes: ChunkBytes;
  readonly #decoder: ColumnDecoder;
  readonly #optional: boolean;
  readonly #rows: number;
  #dictionary: DecodedArray | undefined;
  /** The dictionary, when it is text: such pages make coded columns. */
  #textDictionary: string[] | undefined;
  #page: OpenPage | undefined;
  /** Rows not yet taken from #page, and rows in the pages met so far. */
  #left = 0;
  #met = 0;

  constructor(file: AsyncBuffer, group: RowGroup, name: string, schemaPath: SchemaTree[]) {
    const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === name)?.meta_data;
    if (!chunk) throw new Error(`row group has no column chunk for "${name}"`);
    const element = schemaPath[1]!.element;
    this.#name = name;
    this.#decoder = { pathInSchema: chunk.path_in_schema, element, schemaPath, type: chunk.type, codec: chunk.codec, parsers: exactParsers, compressors: decompressors };
    // Polars leaves dictionary_page_offset out; the chunk then starts at its first page either way.
    const start = Number(chunk.dictionary_page_offset || chunk.data_page_offset);
    this.#bytes = new ChunkBytes(file, start, start + Number(chunk.total_compressed_size));
    this.#optional = element.repetition_type !== 'REQUIRED';
    this.#rows = Number(group.num_rows);
  }

  /**
   * The next `count` rows. Where the type has a typed array (Float64Array for DOUBLE, …,
   * dictionary-encoded or not) they are one, masked if a row is null, so numbers stay unboxed;
   * text from dictionary pages is coded; anything else is a plain array whose null cells are null.
   */
  async take(count: number): Promise<Values> {
    const pieces: FlatPiece[] = [];
    try {
      await this.#advance(count, false, (page, rows) => pieces.push(page.take(rows)));
      return this.#assemble(pieces, count);
    } catch (error) {
      throw new ColumnError(this.#name, error);
    }
  }

  /** Skips `count` rows (a resume inside the row group); pages skipped whole are not decompressed. */
  async skip(count: number): Promise<void> {
    try {
      await this.#advance(count, true, (page, rows) => page.skip(rows));
    } catch (error) {
      throw new ColumnError(this.#name, error);
    }
  }

  /** Moves `count` rows on, page by page, handing `each` a page and its share of the rows. */
  async #advance(count: number, skipping: boolean, each: (page: OpenPage, rows: number) => void): Promise<void> {
    for (let need = count; need > 0;) {
      if (this.#left === 0) {
        const passed = await this.#nextPage(skipping ? need : 0);
        need -= passed;
        if (passed > 0) continue;
      }
      const rows = Math.min(need, this.#left);
      each(this.#page!, rows);
      this.#left -= rows;
      need -= rows;
    }
  }

  /** Opens the next data page, reading a dictionary page on the way; a page of at most `skippable` rows is passed over and its row count returned. */
  async #nextPage(skippable: number): Promise<number> {
    // The page done with goes before the next is read and decompressed: DuckDB's pages reach
    // ~100 MB, and holding it made three of them at once.
    this.#page = undefined;
    for (;;) {
      if (this.#bytes.done) throw new Error(`column "${this.#name}" has ${this.#met} values in a row group of ${this.#rows} rows`);
      const { header, bytes } = await this.#bytes.page();
      const decoder = this.#decoder;
      if (header.type === 'DICTIONARY_PAGE') {
        this.#dictionary = toValues(dictionaryPage(bytes, header, decoder), decoder);
        this.#textDictionary = Array.isArray(this.#dictionary) && this.#dictionary.every((d) => typeof d === 'string') ? this.#dictionary as string[] : undefined;
      } else if (header.type === 'DATA_PAGE' || header.type === 'DATA_PAGE_V2') {
        const rows = pageValues(header);
        this.#met += rows;
        if (this.#met > this.#rows) throw new Error(`column "${this.#name}" has more values than its row group's ${this.#rows} rows`);
        if (rows <= skippable) return rows;
        this.#page = openPage(bytes, header, decoder, this.#dictionary, this.#optional);
        this.#left = rows;
        return 0;
      }
      // Index pages and unknown page types carry no rows.
    }
  }

  #assemble(pieces: readonly FlatPiece[], rows: number): Values {
    const only = pieces.length === 1 ? pieces[0] : undefined;
    const typedOf = (p: FlatPiece) => (p.dictionary ? p.dictionary : p.values);
    // A piece with no value (all its rows null) fits any typed array.
    const valued = pieces.filter((p) => p.values.length > 0);
    const Typed = valued.length > 0 ? typedValues.find((T) => valued.every((p) => typedOf(p) instanceof T)) : undefined;
    if (Typed && only && !only.defs && !only.dictionary) return only.values as NumberArray;
    if (Typed && pieces.some((p) => p.defs)) return maskedColumn(pieces, blockArray<NumberArray>(Typed, rows));
    const text = this.#textDictionary;
    if (text && pieces.every((p) => p.dictionary === text)) return only && !only.defs ? new CodedColumn(only.values as Int32Array, text) : codedColumn(pieces, text, rows);
    const out = Typed ? blockArray<NumberArray>(Typed, rows) : new Array<unknown>(rows);
    let o = 0;
    for (const { rows: n, defs, values, dictionary: d } of pieces) {
      if (!defs && !d && Typed) {
        (out as Float64Array).set(values as Float64Array, o);
        o += n;
      } else if (!defs) {
        if (d) for (let i = 0; i < n; i++) out[o++] = d[values[i] as number] as never;
        else for (let i = 0; i < n; i++) out[o++] = values[i] as never;
      } else {
        let v = 0;
        if (d) for (let i = 0; i < n; i++) out[o++] = defs[i] ? d[values[v++] as number] : null as never;
        else for (let i = 0; i < n; i++) out[o++] = defs[i] ? values[v++] : null as never;
      }
    }
    return out;
  }
}

/** Pieces of numbers with nulls as one masked column; a null row's value is left 0. */
function maskedColumn(pieces: readonly FlatPiece[], values: NumberArray): MaskedColumn {
  const out = values as Float64Array;
  const valid = blockArray(Uint8Array, values.length);
  let o = 0;
  for (const { rows: n, defs, values: page, dictionary: d } of pieces) {
    if (defs) valid.set(defs, o);
    else valid.fill(1, o, o + n);
    let v = 0;
    if (d) {
      const dictionary = d as Float64Array;
      for (let i = 0; i < n; i++, o++) if (!defs || defs[i]) out[o] = dictionary[page[v++] as number]!;
    } else if (!defs) {
      out.set(page as Float64Array, o);
      o += n;
    } else {
      const present = page as Float64Array;
      for (let i = 0; i < n; i++, o++) if (defs[i]) out[o] = present[v++]!;
    }
  }
  return new MaskedColumn(values, valid);
}

/** Dictionary-encoded text pieces as one coded column: their indexes, -1 for a null row. */
function codedColumn(pieces: readonly FlatPiece[], dictionary: readonly string[], rows: number): CodedColumn {
  const codes = blockArray(Int32Array, rows);
  let o = 0;
  for (const { rows: n, defs, values } of pieces) {
    const indexes = values as Int32Array;
    if (!defs) {
      codes.set(indexes, o);
      o += n;
      continue;
    }
    let v = 0;
    for (let i = 0; i < n; i++, o++) codes[o] = defs[i] ? indexes[v++]! : -1;
  }
  return new CodedColumn(codes, dictionary);
}

/**
 * A page's (or a dictionary's) values as hyparquet converts them, except where that loses or
 * hides what the file holds:
 * - DECIMAL: hyparquet multiplies the unscaled integer by 10^-scale, which is not the nearest
 *   double (3 × 0.1 is 0.30000000000000004, DECIMAL(38,10) 17.4 came out as 17.400000000000002).
 *   Dividing by 10^scale is, while both are exact doubles (the integer within 2^53, the scale at
 *   most 22) as a division rounds once; past that the decimal's text is parsed, which rounds once too.
 * - INT96 and INT64 timestamps finer than milliseconds stay integers (fineTimestamp): a Date
 *   would drop the rest.
 * - INTERVAL and TIME become text (isoDuration, timeOfDay): hyparquet reads no INTERVAL and
 *   hands on TIME as a bare count.
 * fieldOf gives each of these columns its type from the same tests.
 */
function toValues(data: DecodedArray, decoder: ColumnDecoder): DecodedArray {
  const { element } = decoder;
  if (element.converted_type === 'INTERVAL') return Array.from(data as ArrayLike<Uint8Array>, isoDuration);
  // Copies: the values are views into the page, which a short value would otherwise keep alive.
  if (isBinary(element)) return Array.from(data as ArrayLike<Uint8Array>, (bytes) => bytes.slice());
  if (element.type === 'INT96') return BigInt64Array.from(data as ArrayLike<bigint>, int96Micros);
  if (fineTimestamp(element)) return data;
  const perSecond = timeUnit(element);
  if (perSecond) {
    const digits = String(perSecond).length - 1;
    return Array.from(data as ArrayLike<number | bigint>, (v) => timeOfDay(v, perSecond, digits));
  }
  if (!isDecimal(element)) return convert(data, decoder);
  const scale = element.scale ?? (element.logical_type?.type === 'DECIMAL' ? element.logical_type.scale : 0) ?? 0;
  const divisor = 10 ** scale;
  const divides = scale <= 22;
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number | bigint | Uint8Array;
    const unscaled = v instanceof Uint8Array ? smallBigEndian(v) ?? signedBigEndian(v) : v;
    const exact = typeof unscaled === 'number' ? Math.abs(unscaled) <= Number.MAX_SAFE_INTEGER : unscaled <= maxSafeBig && unscaled >= -maxSafeBig;
    out[i] = divides && exact ? Number(unscaled) / divisor : Number(`${unscaled}e-${scale}`);
  }
  return out;
}

/**
 * Whether a column holds raw bytes: a BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY that is not annotated as
 * text (STRING, ENUM), JSON, a DECIMAL, a UUID, a FLOAT16 or an INTERVAL. DuckDB's BLOB, Arrow's
 * and Polars' binary, Spark's BinaryType, BSON, WKB geometries: every one of those tools reads such
 * a column as bytes, and hyparquet's default, text, replaced each byte that is not UTF-8 with U+FFFD.
 */
function isBinary(element: ColumnDecoder['element']): boolean {
  if (element.type !== 'BYTE_ARRAY' && element.type !== 'FIXED_LEN_BYTE_ARRAY') return false;
  const converted = element.converted_type;
  const logical = element.logical_type?.type;
  if (converted === 'UTF8' || converted === 'ENUM' || converted === 'JSON' || converted === 'INTERVAL' || isDecimal(element)) return false;
  return logical !== 'STRING' && logical !== 'ENUM' && logical !== 'JSON' && logical !== 'UUID' && logical !== 'FLOAT16';
}

/**
 * For a struct or list column with DECIMAL values inside, what turns its cells' decimals into the
 * double nearest their digits, as flat columns read them (toValues): hyparquet's nested reader
 * multiplies the unscaled integer by 10^-scale (a DECIMAL(38,10) 17.4 came back
 * 17.400000000000002). Within 1 ulp of the decimal, and with the unscaled integer under 2^51 (an
 * ulp under half a unit in its last digit), rounding to `scale` places gives its digits back;
 * larger ones are left as read. Undefined when there is no decimal inside. Cells are changed in place.
 */
function exactDecimals(node: SchemaTree): ((value: unknown) => unknown) | undefined {
  const e = node.element;
  if (node.children.length === 0) {
    const scale = e.scale ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : 0) ?? 0;
    // toFixed takes at most 100 places.
    if (!isDecimal(e) || scale > 100) return undefined;
    const bound = 2 ** 51 / 10 ** scale;
    return (v) => (typeof v === 'number' && Math.abs(v) < bound ? Number(v.toFixed(scale)) : v);
  }
  const item = listItem(node);
  if (item) {
    const exact = exactDecimals(item);
    return exact && ((v) => {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) v[i] = exact(v[i]);
      return v;
    });
  }
  const members = node.children.flatMap((child) => {
    const exact = exactDecimals(child);
    return exact ? [[child.element.name, exact] as const] : [];
  });
  return members.length === 0 ? undefined : (v) => {
    if (v !== null && typeof v === 'object') for (const [name, exact] of members) (v as Record<string, unknown>)[name] = exact((v as Record<string, unknown>)[name]);
    return v;
  };
}

/** A LIST group's item (LIST → repeated group → element, or a two-level list's repeated child); undefined for any other node. */
function listItem(node: SchemaTree): SchemaTree | undefined {
  const e = node.element;
  return e.logical_type?.type === 'LIST' || e.converted_type === 'LIST' ? node.children[0]?.children[0] ?? node.children[0] : undefined;
}

/** A leading U+FEFF is the value's own (a BOM pasted into a name, text from a file read with its mark): TextDecoder drops it unless told not to. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const jsonText = new TextDecoder('utf-8');

/**
 * JSON cells read as JSON Lines are (parseExact): a whole number past 2^53 in them (an order or
 * event id) a bigint, every digit kept, where JSON.parse would round it to another id.
 */
const exactParsers = {
  ...DEFAULT_PARSERS,
  stringFromBytes: (bytes: Uint8Array | undefined) => bytes && utf8.decode(bytes),
  // A JSON text may start with a byte-order mark, which JSON.parse refuses: that one is dropped.
  jsonFromBytes: (bytes: Uint8Array | undefined) => bytes && parseExact(jsonText.decode(bytes)),
  // A Date holds ±100,000,000 days (±275,760 years); DuckDB's DATE 'infinity' is 2^31 - 1 days, and
  // a Date of it is Invalid Date, whose value is lost. Such a date is kept as its days (the sinks
  // write a date column's numbers as days), a millisecond time as a bigint of its milliseconds.
  dateFromDays: (days: number) => (withinDate(days * 86_400_000) ? new Date(days * 86_400_000) : days),
  timestampFromMilliseconds: (millis: bigint | number) => (withinDate(Number(millis)) ? new Date(Number(millis)) : BigInt(millis)),
};

/** Whether a Date holds these milliseconds: ±100,000,000 days. */
const withinDate = (millis: number) => Math.abs(millis) <= 8.64e15;

/**
 * Dates and times inside JSON columns (maps, lists of structs), which are written as JSON text: a
 * DATE as its day (`2024-02-29`, not midnight's instant), and a time past what a Date holds
 * (DuckDB's infinity) as its text, which a Date would make null.
 */
function jsonParsers(naive: boolean) {
  return {
    ...exactParsers,
    dateFromDays: (days: number) => dayText(days),
    timestampFromMilliseconds: (millis: bigint | number) => (withinDate(Number(millis)) ? new Date(Number(millis)) : timestampText(BigInt(millis), 'ms', naive)),
    // As hyparquet's own: the milliseconds toward zero.
    timestampFromMicroseconds: (micros: bigint | number) => {
      const millis = Number(BigInt(micros) / 1000n);
      return withinDate(millis) ? new Date(millis) : timestampText(BigInt(micros), 'us', naive);
    },
    // Nanoseconds stay within a Date's years, but for DuckDB's infinity (the INT64 ends).
    timestampFromNanoseconds: (nanos: bigint | number) => {
      const n = BigInt(nanos);
      return n === infinityStamp || n === -infinityStamp ? timestampText(n, 'ns') : new Date(Number(n / 1_000_000n));
    },
  };
}

/** By whether the column's times are wall-clock ones (a far one is written without the Z then, as a Date of a near one is). */
const jsonParsersBy = { utc: jsonParsers(false), naive: jsonParsers(true) };

/** Timestamps inside structs and lists as integers in their unit since the epoch (an INT96 in nanoseconds); their JSON cells as flat ones. */
const unitParsers = {
  timestampFromMicroseconds: (micros: bigint | number) => BigInt(micros),
  timestampFromNanoseconds: (nanos: bigint | number) => BigInt(nanos),
  stringFromBytes: exactParsers.stringFromBytes,
  jsonFromBytes: exactParsers.jsonFromBytes,
  dateFromDays: exactParsers.dateFromDays,
  timestampFromMilliseconds: exactParsers.timestampFromMilliseconds,
};

/** Whether a group holds a wall-clock timestamp (Parquet isAdjustedToUTC false) anywhere below it. */
function naiveTimestamps(node: SchemaTree): boolean {
  return anyLeaf(node, (e) => e.logical_type?.type === 'TIMESTAMP' && e.logical_type.isAdjustedToUTC === false);
}

/** Whether a node, or any leaf below it, is one `test` holds for. */
function anyLeaf(node: SchemaTree, test: (element: SchemaTree['element']) => boolean): boolean {
  return node.children.length === 0 ? test(node.element) : node.children.some((child) => anyLeaf(child, test));
}

/** Whether a group and the groups in it are structs and lists whose members read as their fields say (fieldOf). */
function isStruct(node: SchemaTree): boolean {
  const e = node.element;
  const annotation = e.logical_type?.type ?? e.converted_type;
  if (annotation === 'MAP' || annotation === 'MAP_KEY_VALUE' || annotation === 'VARIANT') return false;
  return node.children.every((child) => {
    if (child.children.length > 0) {
      const item = listItem(child);
      return item ? item.children.length === 0 && readsAsTyped(item.element) : isStruct(child);
    }
    return readsAsTyped(child.element) && child.element.repetition_type !== 'REPEATED';
  });
}

/** Whether hyparquet's nested reader gives a leaf's values in the form its field type says. */
function readsAsTyped(element: ColumnDecoder['element']): boolean {
  return !timeUnit(element) && element.converted_type !== 'INTERVAL';
}

/** Whether a node holds an ENUM leaf, which the nested reader gives as bytes when told not to decode unannotated ones (utf8: false). */
function holdsEnum(node: SchemaTree): boolean {
  return anyLeaf(node, (e) => e.converted_type === 'ENUM' || e.logical_type?.type === 'ENUM');
}

/** Whether a node holds bytes (a BLOB leaf) anywhere below it. */
function holdsBinary(node: SchemaTree): boolean {
  return anyLeaf(node, isBinary);
}

/** A JSON value with the bytes in it as base64 text, as a BLOB column's are written in CSV and JSON Lines. */
function base64Within(value: unknown): unknown {
  if (value instanceof Uint8Array) return base64(value);
  if (Array.isArray(value)) return value.map(base64Within);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const members = value as Record<string, unknown>;
    for (const key of Object.keys(members)) members[key] = base64Within(members[key]);
  }
  return value;
}

/** A struct's or list's value with its text members (an ENUM's bytes) decoded, by its field. */
function enumText(value: unknown, field: Omit<Field, 'name'>): unknown {
  if (value === null || value === undefined) return value;
  if (field.type === 'string') return value instanceof Uint8Array ? utf8.decode(value) : value;
  if (field.type === 'list' && field.items === 'string' && Array.isArray(value)) return value.map((v) => (v instanceof Uint8Array ? utf8.decode(v) : v));
  if (field.type === 'struct' && typeof value === 'object') {
    const members = value as Record<string, unknown>;
    for (const f of field.fields ?? []) if (f.name in members) members[f.name] = enumText(members[f.name], f);
  }
  return value;
}

/** Whether a column holds DECIMAL values (any physical type): read as float64, the double nearest its digits. */
function isDecimal(element: ColumnDecoder['element']): boolean {
  return element.converted_type === 'DECIMAL' || element.logical_type?.type === 'DECIMAL';
}

/**
 * A Parquet INTERVAL (three little-endian uint32: months, days, milliseconds; DuckDB writes one,
 * hyparquet reads none) as an ISO 8601 duration, which pandas, DuckDB and most languages parse:
 * P1M3DT1H30M, P3D, PT0.25S; PT0S for zero.
 */
function isoDuration(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 12);
  const months = view.getUint32(0, true);
  const days = view.getUint32(4, true);
  const ms = view.getUint32(8, true);
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  const date = `${months ? `${months}M` : ''}${days ? `${days}D` : ''}`;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  return date || time ? `P${date}${time ? `T${time}` : ''}` : 'PT0S';
}

/**
 * The width and sign an INT32 or INT64 column declares (INT_8 … UINT_64, or the INTEGER logical
 * type) where they are not its physical type's (a signed INT_32 in INT32 is plain INT32).
 */
function integerOf(element: ColumnDecoder['element']): Field['integer'] {
  const logical = element.logical_type;
  const declared = /^(U?)INT_(8|16|32|64)$/.exec(element.converted_type ?? '');
  const integer = logical?.type === 'INTEGER' ? { bits: logical.bitWidth as 8 | 16 | 32 | 64, signed: logical.isSigned }
    : declared ? { bits: Number(declared[2]) as 8 | 16 | 32 | 64, signed: declared[1] === '' } : undefined;
  return integer && (!integer.signed || integer.bits !== (element.type === 'INT32' ? 32 : 64)) ? integer : undefined;
}

/** Units a second of a TIME column, or undefined for another column. */
function timeUnit(element: ColumnDecoder['element']): bigint | undefined {
  const logical = element.logical_type;
  const unit = logical?.type === 'TIME' ? logical.unit : element.converted_type === 'TIME_MILLIS' ? 'MILLIS' : element.converted_type === 'TIME_MICROS' ? 'MICROS' : undefined;
  return unit === 'MILLIS' ? 1000n : unit === 'MICROS' ? 1_000_000n : unit === 'NANOS' ? 1_000_000_000n : undefined;
}

/**
 * A TIME value (units since midnight; `digits` of a second's fraction) as the time of day,
 * `13:45:01` or `00:00:00.5`, as DuckDB and pandas show it.
 */
function timeOfDay(value: number | bigint, perSecond: bigint, digits: number): string {
  const units = BigInt(value);
  const seconds = units / perSecond;
  const fraction = units % perSecond;
  return `${twoDigits(seconds / 3600n)}:${twoDigits((seconds / 60n) % 60n)}:${twoDigits(seconds % 60n)}${fraction ? `.${String(fraction).padStart(digits, '0').replace(/0+$/, '')}` : ''}`;
}

const twoDigits = (n: bigint) => String(n).padStart(2, '0');

/**
 * The unit of a TIMESTAMP finer than milliseconds; undefined for any other column. INT96 (Spark's
 * default, Impala's) counts nanoseconds, but Spark's timestamps hold microseconds and Spark before
 * 3.2 cannot read a NANOS column, so it is read, and written on, in microseconds.
 */
function fineTimestamp(element: ColumnDecoder['element']): TimeUnit | undefined {
  if (element.type === 'INT96') return 'us';
  if (element.type !== 'INT64') return undefined;
  const logical = element.logical_type;
  const unit = logical?.type === 'TIMESTAMP' ? logical.unit : element.converted_type === 'TIMESTAMP_MICROS' ? 'MICROS' : undefined;
  return unit === 'MICROS' ? 'us' : unit === 'NANOS' ? 'ns' : undefined;
}

/** An INT96 timestamp (as hyparquet reads one: Julian day in the high 32 bits, nanoseconds of the day below) in microseconds since the epoch, rounded down. */
function int96Micros(value: bigint): bigint {
  const nanos = ((value >> 64n) - 2_440_588n) * 86_400_000_000_000n + (value & 0xffff_ffff_ffff_ffffn);
  const micros = nanos / 1000n;
  return nanos < 0n && micros * 1000n !== nanos ? micros - 1n : micros;
}

/**
 * PLAIN INT96 values (Spark's timestamps: nanoseconds of the day, then the Julian day) read from
 * the page as microseconds since the epoch, rounded down as int96Micros rounds them, written as
 * their two 32-bit words: hyparquet's reader made a bigint of each value and int96Micros six more.
 * The nanoseconds of a day are under 2^47, and microseconds within ±2^53 (±285 years) are exact
 * as doubles; a value past them takes the bigint way.
 */
function plainInt96Micros(reader: { view: DataView; offset: number }, count: number): BigInt64Array {
  const out = new BigInt64Array(count);
  const words = new Uint32Array(out.buffer);
  const { view } = reader;
  for (let k = 0; k < count; k++) {
    const at = reader.offset + k * 12;
    const nanos = view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
    const micros = (view.getInt32(at + 8, true) - 2_440_588) * 86_400_000_000 + Math.floor(nanos / 1000);
    if (nanos < 86_400_000_000_000 && Math.abs(micros) <= Number.MAX_SAFE_INTEGER) {
      const high = Math.floor(micros / 2 ** 32);
      words[2 * k] = micros - high * 2 ** 32;
      words[2 * k + 1] = high;
    // As hyparquet reads one (its low word signed), so a PLAIN page and a dictionary agree on a malformed value too.
    } else out[k] = int96Micros((BigInt(view.getInt32(at + 8, true)) << 64n) | view.getBigInt64(at, true));
  }
  reader.offset += count * 12;
  return out;
}

/**
 * A big-endian two's-complement integer of up to 48 significant bits as a number, or undefined for
 * a larger one. Spark writes DECIMAL(38, s) as 16 bytes whatever the value: a bigint built a byte
 * at a time cost ~0.3 µs a cell, most of a decimal column's reading.
 */
function smallBigEndian(bytes: Uint8Array): number | undefined {
  const n = bytes.length;
  if (n === 0) return undefined;
  const negative = bytes[0]! >= 0x80;
  const fill = negative ? 0xff : 0;
  // Every byte above the last six only repeats the sign.
  for (let k = 0; k < n - 6; k++) if (bytes[k] !== fill) return undefined;
  let v = 0;
  for (let k = Math.max(0, n - 6); k < n; k++) v = v * 256 + bytes[k]!;
  return negative ? v - 2 ** (8 * Math.min(n, 6)) : v;
}

/** A two's-complement big-endian integer (DECIMAL in FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY). */
function signedBigEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return bytes.length > 0 && bytes[0]! >= 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value;
}

/**
 * A data page of a flat column, opened for reading. The common encodings (PLAIN, dictionary) are
 * read here as rows are taken, into typed arrays: hyparquet's page readers fill plain arrays and
 * count nulls with an iterator, which on a 1M-row file allocated ~290 MB of garbage on the scoring
 * thread (bench/alloc-profile.js). Other encodings go through them, the page at once.
 */
function openPage(page: Uint8Array, header: PageHeader, decoder: ColumnDecoder, dictionary: DecodedArray | undefined, optional: boolean): OpenPage {
  const v2 = header.type === 'DATA_PAGE_V2';
  const encoding = v2 ? header.data_page_header_v2!.encoding : header.data_page_header!.encoding;
  const dictionaryEncoded = encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY';
  // DuckDB writes INTEGER and UINTEGER columns of its PARQUET_VERSION V2 files so.
  const delta32 = encoding === 'DELTA_BINARY_PACKED' && decoder.type === 'INT32';
  // PLAIN booleans are bit-packed, so a read cannot stop between two of them in a byte.
  if (!((encoding === 'PLAIN' && decoder.type !== 'BOOLEAN') || (dictionaryEncoded && dictionary) || delta32)) {
    const { definitionLevels, dataPage } = v2
      ? readDataPageV2(page, header, decoder)
      : readDataPage(decompressPage(page, header.uncompressed_page_size, decoder.codec, decompressors), header.data_page_header!, decoder);
    const defs = optional && definitionLevels && definitionLevels.length > 0 ? Uint8Array.from(definitionLevels) : undefined;
    // Values made as rows are taken: a V2 page of a million rows (DuckDB's delta encodings) made a
    // Date or a copy of bytes for each at once, past the thread's heap cap where V1 pages ran.
    return dictionary && dictionaryEncoded ? decodedPage(defs, convertWithDictionary(dataPage, dictionary, encoding, decoder)) : decodedPage(defs, dataPage, (raw) => toValues(raw, decoder));
  }
  const { defs: levels, values } = pageSections(page, header, decoder, 0, optional ? 1 : 0);
  const indexes = dictionaryEncoded ? new HybridReader(values.subarray(1), values[0] ?? 0) : undefined;
  const reader = { view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0 };
  const nextLevels = (rows: number) => {
    if (!levels) return { defs: undefined, present: rows };
    const defs = blockArray(Uint8Array, rows);
    levels.read(defs, 0, rows);
    return presentRows(defs);
  };
  const plainValues = (present: number) => readPlain(reader, decoder.type, present, decoder.element.type_length);
  const deltas = delta32 ? deltaIntegers(values, 'INT32') : undefined;
  let delta = 0;
  return {
    take(rows) {
      const { defs, present } = nextLevels(rows);
      if (deltas) {
        delta += present;
        return { rows, defs, values: toValues(deltas.subarray(delta - present, delta), decoder), dictionary: undefined };
      }
      if (indexes) {
        const read = blockArray(Int32Array, present);
        indexes.read(read, 0, present);
        return { rows, defs, values: read, dictionary };
      }
      if (decoder.type === 'INT96') return { rows, defs, values: plainInt96Micros(reader, present), dictionary: undefined };
      return { rows, defs, values: toValues(plainValues(present), decoder), dictionary: undefined };
    },
    skip(rows) {
      const { present } = nextLevels(rows);
      if (deltas) delta += present;
      else if (indexes) indexes.skip(present);
      else plainValues(present);
    },
  };
}

/** How many of a piece's rows have a value, and its definition levels only where one is null. */
function presentRows(defs: Uint8Array): { defs: Uint8Array | undefined; present: number } {
  let present = 0;
  for (let i = 0; i < defs.length; i++) present += defs[i]!;
  return { defs: present === defs.length ? undefined : defs, present };
}

/** A page decoded whole, handed out in pieces. */
function decodedPage(defs: Uint8Array | undefined, values: DecodedArray, convert: (raw: DecodedArray) => DecodedArray = (raw) => raw): OpenPage {
  let row = 0;
  let value = 0;
  const next = (rows: number) => {
    const piece = defs ? presentRows(defs.subarray(row, row + rows)) : { defs: undefined, present: rows };
    row += rows;
    value += piece.present;
    return piece;
  };
  return {
    take(rows) {
      const { defs: levels, present } = next(rows);
      const taken = Array.isArray(values) ? values.slice(value - present, value) : (values as NumberArray).subarray(value - present, value);
      return { rows, defs: levels, values: convert(taken as DecodedArray), dictionary: undefined };
    },
    skip(rows) {
      next(rows);
    },
  };
}

/**
 * Opens `file` and parses its footer, unless `known` is the footer read before. `whole`: the file's
 * bytes, read already (FilesAhead), which its reads are then cut from.
 */
async function openFile(file: string, known?: FileMetaData, whole?: Buffer): Promise<OpenParquet> {
  let handle: FileHandle | undefined;
  let size: number;
  let buffer: AsyncBuffer;
  if (whole) {
    size = whole.length;
    // A copy a read, as from the file: a read's buffer is handed on whole (and may be moved to a thread).
    buffer = {
      byteLength: size,
      slice(start: number, end = size) {
        // As a read from the file fails on them: ArrayBuffer.slice takes NaN (a damaged header's offset) as 0, and an empty read looped.
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw new RangeError(`a read of bytes ${start} to ${end} of the file (a damaged page header or footer)`);
        return (whole.buffer as ArrayBuffer).slice(whole.byteOffset + start, whole.byteOffset + Math.min(end, size));
      },
    };
  } else {
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw streamError(file, error);
    }
    const opened = handle;
    size = (await opened.stat()).size;
    buffer = {
      byteLength: size,
      async slice(start: number, end = size) {
        // A buffer of its own (not from node's pool), handed on whole when the read filled it, as
        // nearly every read does: slicing it copied every window of every column chunk once more.
        const bytes = Buffer.allocUnsafeSlow(end - start);
        const { bytesRead } = await opened.read(bytes, 0, end - start, start);
        return bytesRead === bytes.buffer.byteLength ? bytes.buffer : bytes.buffer.slice(0, bytesRead);
      },
    };
  }
  const close = async () => {
    await handle?.close();
  };
  try {
    if (size < 12) throw new Error(`file is ${size} bytes, too small for Parquet`);
    const metadata = known ?? (await parquetMetadataAsync(buffer));
    const tree = parquetSchema(metadata);
    // A damaged footer's column without a name was taken for one and failed later, an internal error.
    if (tree.children.some((c) => typeof c.element.name !== 'string')) throw new Error('a column of its schema has no name');
    const fields = tree.children.map((child) => fieldOf(child));
    const flat = new Map(tree.children.filter((c) => isFlatColumn([tree, c]) && c.element.logical_type?.type !== 'VARIANT').map((c) => [c.element.name, [tree, c]]));
    const typed = new Set(fields.filter((f) => f.type === 'struct' || f.type === 'list').map((f) => f.name));
    const decimals = new Map(tree.children.flatMap((c) => {
      const exact = typed.has(c.element.name) ? exactDecimals(c) : undefined;
      return exact ? [[c.element.name, exact] as const] : [];
    }));
    const enums = new Map(tree.children.filter((c) => typed.has(c.element.name) && holdsEnum(c)).map((c) => [c.element.name, fields.find((f) => f.name === c.element.name)!]));
    const jsonBytes = new Set(tree.children.filter((c) => !flat.has(c.element.name) && !typed.has(c.element.name) && holdsBinary(c) && !holdsEnum(c)).map((c) => c.element.name));
    return { file, close, buffer, metadata, tree, fields, flat, decimals, typed, enums, jsonBytes };
  } catch (error) {
    await close();
    throw new BentoError('INPUT_FORMAT', `Input file ${file} is not a readable Parquet file: ${(error as Error).message}`, {
      file, cause: error, hint: 'Check that the file is Parquet (not CSV or JSON renamed), complete, and not still being written; or set input.format.',
    });
  }
}

/**
 * A column's field from its schema node; `nested` for a struct's member or a list's item, which
 * hyparquet's nested reader decodes (unitParsers): an INT96 there is in nanoseconds.
 */
function fieldOf(node: SchemaTree, nested = false): Field {
  const e = node.element;
  const name = e.name;
  if (node.children.length > 0) {
    // A list column when its element is a scalar.
    const leaf = listItem(node);
    if (leaf && leaf.children.length === 0) {
      // A list of timestamps says their unit and zone on the list's field, a list of UUIDs so, a list of integers their width and sign.
      const item = fieldOf(leaf, true);
      return { name, type: 'list', items: item.type, ...(item.unit ? { unit: item.unit } : {}), ...(item.naive ? { naive: true } : {}), ...(item.uuid ? { uuid: true } : {}), ...(item.integer ? { integer: item.integer } : {}) };
    }
    // A plain group is a struct (Spark's StructType, DuckDB's STRUCT, a Polars struct), written as
    // one again; a MAP, or members the nested reader gives in another form than their type says
    // (TIME as a bare count), stay JSON.
    if (!leaf && isStruct(node)) return { name, type: 'struct', fields: node.children.map((child) => fieldOf(child, true)) };
    // A map of wall-clock timestamps says so on its field, so they are written without a Z.
    return { name, type: 'json', ...(naiveTimestamps(node) ? { naive: true } : {}) };
  }
  const logical = e.logical_type?.type;
  if (isBinary(e)) return { name, type: 'binary' };
  if (logical === 'UUID') return { name, type: 'string', uuid: true };
  let type: FieldType;
  switch (e.type) {
    case 'BOOLEAN': type = 'bool'; break;
    case 'INT32': type = logical === 'DATE' || e.converted_type === 'DATE' ? 'date' : isDecimal(e) ? 'float64' : timeUnit(e) ? 'string' : 'int32'; break;
    case 'INT64': type = logical === 'TIMESTAMP' || e.converted_type?.startsWith('TIMESTAMP') ? 'timestamp' : isDecimal(e) ? 'float64' : timeUnit(e) ? 'string' : 'int64'; break;
    case 'INT96': type = 'timestamp'; break;
    case 'FLOAT': type = 'float32'; break;
    case 'DOUBLE': type = 'float64'; break;
    case 'FIXED_LEN_BYTE_ARRAY': type = logical === 'FLOAT16' ? 'float32' : isDecimal(e) ? 'float64' : 'string'; break;
    // hyparquet-writer, older parquet-mr and Arrow mark JSON with the legacy converted type alone.
    default: type = logical === 'JSON' || e.converted_type === 'JSON' ? 'json' : 'string';
  }
  if (type === 'int32' || type === 'int64') {
    const integer = integerOf(e);
    return integer ? { name, type, integer } : { name, type };
  }
  if (type !== 'timestamp') return { name, type };
  const unit = nested && e.type === 'INT96' ? 'ns' : fineTimestamp(e);
  const naive = e.logical_type?.type === 'TIMESTAMP' && e.logical_type.isAdjustedToUTC === false;
  return { name, type, ...(unit ? { unit } : {}), ...(naive ? { naive } : {}) };
}
