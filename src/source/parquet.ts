/**
 * @file Parquet reader over hyparquet (+ hyparquet-compressors for ZSTD, GZIP, Brotli, LZ4):
 * one row group at a time, columnar, handed out in slices of `chunkRows`. The only module
 * that imports the Parquet reader.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetRead, parquetSchema, type RowGroup, type SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
// Page-level pieces of hyparquet (public subpath exports, pinned version): flat columns are
// decoded here without its list assembly, which pushes value by value (17% of a Parquet run's
// scoring thread in a --cpu-prof of penguins 3.1M).
import { parquetHeader } from 'hyparquet/src/column.js';
import { convert, convertWithDictionary, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { isFlatColumn } from 'hyparquet/src/schema.js';
import type { ColumnDecoder, DecodedArray, PageHeader } from 'hyparquet/src/types.js';
import { BentoError, didYouMean } from '../errors.js';
import { requireColumns } from './chunks.js';
import { streamError } from './files.js';
import { CodedColumn, type Column, type Field, type FieldType, MaskedColumn, type NumberArray, type RowChunk, type Source, type SourcePosition } from './types.js';

export interface ParquetSourceOptions {
  readonly columns: readonly string[] | undefined;
  readonly chunkRows: number;
}

interface OpenParquet {
  readonly file: string;
  readonly handle: FileHandle;
  readonly buffer: AsyncBuffer;
  readonly metadata: FileMetaData;
  readonly fields: Field[];
  /** Schema paths of the flat columns (decoded here); others are nested (decoded by parquetRead). */
  readonly flat: ReadonlyMap<string, SchemaTree[]>;
}

/** Opens every file's footer (schema and row counts) up front; throws INPUT_FORMAT on a non-Parquet file. */
export async function openParquet(files: readonly string[], options: ParquetSourceOptions): Promise<Source> {
  // Every footer is read once, here: the schema and row counts, and the row groups chunks() reads.
  const footers: OpenParquet[] = [];
  for (const file of files) {
    const opened = await openFile(file);
    await opened.handle.close();
    footers.push(opened);
  }
  const first = footers[0]!;
  const wanted = options.columns ?? first.fields.map((f) => f.name);
  const names = first.fields.map((f) => f.name).filter((n) => wanted.includes(n));
  for (const [i, footer] of footers.entries()) requireColumns(footer.file, footer.fields.map((f) => f.name), i === 0 ? wanted : names, (n, p) => didYouMean(n, p));
  const schema = names.map((name) => first.fields.find((f) => f.name === name)!);
  const rowCounts = footers.map((f) => Number(f.metadata.num_rows));
  const totalRows = rowCounts.reduce((a, b) => a + b, 0);
  let rowsDone = 0;

  async function* chunks(from: SourcePosition = { file: 0, row: 0 }): AsyncGenerator<RowChunk> {
    for (let index = 0; index < from.file; index++) rowsDone += rowCounts[index]!;
    for (let index = from.file; index < files.length; index++) {
      const file = files[index]!;
      const opened = await openFile(file, footers[index]!.metadata);
      try {
        let groupStart = 0;
        const skip = index === from.file ? from.row : 0;
        rowsDone += skip;
        for (const group of opened.metadata.row_groups) {
          const groupRows = Number(group.num_rows);
          const groupEnd = groupStart + groupRows;
          // A resume reads only the row groups from the one holding its first row.
          if (groupEnd > skip) {
            const first = Math.max(groupStart, skip);
            const columns = await readRows(opened, names, group, groupStart, first);
            for (let start = first; start < groupEnd; start += options.chunkRows) {
              const end = Math.min(groupEnd, start + options.chunkRows);
              const slice = new Map<string, Column>();
              for (const [name, values] of columns) slice.set(name, start === first && end === groupEnd ? values : rowsOf(values, start - first, end - first));
              rowsDone += end - start;
              yield { file, fileIndex: index, fileRow: start, length: end - start, columns: slice };
            }
          }
          groupStart = groupEnd;
        }
      } finally {
        await opened.handle.close();
      }
    }
  }

  return { files, schema, totalRows, chunks, progress: () => ({ done: rowsDone, total: totalRows, unit: 'rows' }) };
}

type Values = unknown[] | NumberArray | MaskedColumn | CodedColumn;

/** Rows `[from, to)` of a decoded column: a view of a typed, masked or coded one, a copy of a plain one. */
function rowsOf(values: Values, from: number, to?: number): Values {
  return Array.isArray(values) ? values.slice(from, to) : values.subarray(from, to ?? values.length);
}

/** Rows `rowStart` to the group's end of row group `group` (starting at file row `groupStart`), column by column. */
async function readRows(opened: OpenParquet, names: readonly string[], group: RowGroup, groupStart: number, rowStart: number): Promise<Map<string, Values>> {
  const rowEnd = groupStart + Number(group.num_rows);
  const flat = names.filter((n) => opened.flat.has(n));
  const nested = names.filter((n) => !opened.flat.has(n));
  const pieces = new Map<string, { start: number; data: ArrayLike<unknown> }[]>(nested.map((n) => [n, []]));
  const out = new Map<string, Values>();
  try {
    for (const name of flat) {
      const values = await readFlatColumn(opened.buffer, group, name, opened.flat.get(name)!);
      out.set(name, rowStart === groupStart ? values : rowsOf(values, rowStart - groupStart));
    }
    if (nested.length > 0) {
      await parquetRead({
        file: opened.buffer, metadata: opened.metadata, columns: nested, rowStart, rowEnd, compressors,
        onChunk: (chunk) => pieces.get(chunk.columnName)?.push({ start: chunk.rowStart, data: chunk.columnData }),
      });
    }
  } catch (error) {
    throw new BentoError('INPUT_FORMAT', `Parquet file ${opened.file} cannot be read (rows ${rowStart + 1}–${rowEnd}): ${(error as Error).message}`, {
      file: opened.file, hint: 'The file may be truncated or corrupt; write it again.', cause: error,
    });
  }
  for (const [name, parts] of pieces) {
    const values = assemble(parts, rowStart, rowEnd);
    // Nested columns mark a null cell as undefined; every Column uses null.
    if (Array.isArray(values)) for (let i = 0; i < values.length; i++) if (values[i] === undefined) values[i] = null;
    out.set(name, values);
  }
  // In the file's column order, as the schema lists them.
  return new Map(names.map((n) => [n, out.get(n)!]));
}

const typedValues = [Float64Array, Float32Array, Int32Array, BigInt64Array] as const;

/** One data page of a flat column: its values (or dictionary indexes), and its definition levels where it has a null. */
interface FlatPage {
  readonly rows: number;
  /** 1 where the row has a value; absent when every row has one. */
  readonly defs: Uint8Array | undefined;
  /** The present values, or indexes into `dictionary`. */
  readonly values: DecodedArray;
  readonly dictionary: DecodedArray | undefined;
}

/**
 * One flat column chunk of a row group, every page decoded. Where its type has a typed array
 * (Float64Array for DOUBLE, …, dictionary-encoded or not) the chunk is one, masked if it has a
 * null, so numbers stay unboxed; text whose every page is dictionary-encoded is coded (the
 * dictionary and the indexes as read); otherwise a plain array whose null cells are null.
 */
async function readFlatColumn(file: AsyncBuffer, group: RowGroup, name: string, schemaPath: SchemaTree[]): Promise<Values> {
  const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === name)?.meta_data;
  if (!chunk) throw new Error(`row group has no column chunk for "${name}"`);
  const element = schemaPath[1]!.element;
  const decoder: ColumnDecoder = { pathInSchema: chunk.path_in_schema, element, schemaPath, type: chunk.type, codec: chunk.codec, parsers: DEFAULT_PARSERS, compressors };
  // Polars leaves dictionary_page_offset out; the chunk then starts at its first page either way.
  const start = Number(chunk.dictionary_page_offset || chunk.data_page_offset);
  const bytes = await file.slice(start, start + Number(chunk.total_compressed_size));
  const view = new DataView(bytes);
  const reader = { view, offset: 0 };
  const rows = Number(group.num_rows);
  const optional = element.repetition_type !== 'REQUIRED';
  const pages: FlatPage[] = [];
  let dictionary: DecodedArray | undefined;
  let count = 0;
  while (count < rows && reader.offset < view.byteLength) {
    const header = parquetHeader(reader);
    const page = new Uint8Array(bytes, reader.offset, header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE') {
      const raw = decompressPage(page, header.uncompressed_page_size, chunk.codec, compressors);
      dictionary = convert(readPlain({ view: new DataView(raw.buffer, raw.byteOffset, raw.byteLength), offset: 0 }, chunk.type, header.dictionary_page_header!.num_values, element.type_length), decoder);
    } else if (header.type === 'DATA_PAGE' || header.type === 'DATA_PAGE_V2') {
      const decoded = flatPage(page, header, decoder, dictionary, optional);
      pages.push(decoded);
      count += decoded.rows;
    }
    // Index pages and unknown page types carry no rows.
  }
  if (count !== rows) throw new Error(`column "${name}" has ${count} values in a row group of ${rows} rows`);
  const typedOf = (p: FlatPage) => (p.dictionary ? p.dictionary : p.values);
  const Typed = typedValues.find((T) => pages.every((p) => typedOf(p) instanceof T));
  if (Typed && pages.some((p) => p.defs)) return maskedColumn(pages, new Typed(rows));
  if (dictionary && Array.isArray(dictionary) && pages.every((p) => p.dictionary === dictionary) && dictionary.every((d) => typeof d === 'string')) return codedColumn(pages, dictionary as string[], rows);
  const out = Typed ? new Typed(rows) : new Array<unknown>(rows);
  let o = 0;
  for (const { rows: n, defs, values, dictionary: d } of pages) {
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

/** Pages of numbers with nulls as one masked column; a null row's value is left 0. */
function maskedColumn(pages: readonly FlatPage[], values: NumberArray): MaskedColumn {
  const out = values as Float64Array;
  const valid = new Uint8Array(values.length);
  let o = 0;
  for (const { rows: n, defs, values: page, dictionary: d } of pages) {
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

/** Dictionary-encoded text pages as one coded column: their indexes, -1 for a null row. */
function codedColumn(pages: readonly FlatPage[], dictionary: readonly string[], rows: number): CodedColumn {
  const codes = new Int32Array(rows);
  let o = 0;
  for (const { rows: n, defs, values } of pages) {
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
 * A data page of a flat column. The common encodings (PLAIN, dictionary) are read here, into
 * typed arrays: hyparquet's page readers fill plain arrays and count nulls with an iterator,
 * which on a 1M-row file allocated ~290 MB of garbage on the scoring thread (bench/alloc-profile.js).
 * Other encodings go through them.
 */
function flatPage(page: Uint8Array, header: PageHeader, decoder: ColumnDecoder, dictionary: DecodedArray | undefined, optional: boolean): FlatPage {
  const v2 = header.type === 'DATA_PAGE_V2';
  const rows = v2 ? header.data_page_header_v2!.num_values : header.data_page_header!.num_values;
  const encoding = v2 ? header.data_page_header_v2!.encoding : header.data_page_header!.encoding;
  const dictionaryEncoded = encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY';
  if (!(encoding === 'PLAIN' || (dictionaryEncoded && dictionary))) {
    const { definitionLevels, dataPage } = v2
      ? readDataPageV2(page, header, decoder)
      : readDataPage(decompressPage(page, header.uncompressed_page_size, decoder.codec, compressors), header.data_page_header!, decoder);
    const defs = optional && definitionLevels && definitionLevels.length > 0 && definitionLevels.some((d) => d !== 1) ? Uint8Array.from(definitionLevels) : undefined;
    return { rows, defs, values: convertWithDictionary(dataPage, dictionary, encoding, decoder), dictionary: undefined };
  }
  // v1: levels and values compressed together; v2: levels first, uncompressed, then the values.
  let defs: Uint8Array | undefined;
  let values: Uint8Array;
  if (v2) {
    const h = header.data_page_header_v2!;
    const levelBytes = h.repetition_levels_byte_length + h.definition_levels_byte_length;
    if (optional) {
      defs = new Uint8Array(rows);
      readRleBitPackedHybrid({ view: new DataView(page.buffer, page.byteOffset + h.repetition_levels_byte_length, h.definition_levels_byte_length), offset: 0 }, 1, defs, h.definition_levels_byte_length);
    }
    values = page.subarray(levelBytes);
    if (h.is_compressed !== false) values = decompressPage(values, header.uncompressed_page_size - levelBytes, decoder.codec, compressors);
  } else {
    values = decompressPage(page, header.uncompressed_page_size, decoder.codec, compressors);
    if (optional) {
      defs = new Uint8Array(rows);
      const reader = { view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0 };
      readRleBitPackedHybrid(reader, 1, defs); // length-prefixed in v1
      values = values.subarray(reader.offset);
    }
  }
  let present = rows;
  if (defs) {
    present = 0;
    for (let i = 0; i < rows; i++) present += defs[i]!;
    if (present === rows) defs = undefined;
  }
  const reader = { view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0 };
  if (!dictionaryEncoded) return { rows, defs, values: convert(readPlain(reader, decoder.type, present, decoder.element.type_length), decoder), dictionary: undefined };
  const bitWidth = reader.view.getUint8(reader.offset++);
  const indexes = new Int32Array(present);
  if (bitWidth) readRleBitPackedHybrid(reader, bitWidth, indexes, values.byteLength - reader.offset);
  return { rows, defs, values: indexes, dictionary };
}

// A column chunk may come in several pieces (pages) and overhang the requested range.
function assemble(parts: { start: number; data: ArrayLike<unknown> }[], rowStart: number, rowEnd: number): Values {
  const only = parts[0];
  if (parts.length === 1 && only!.start === rowStart && only!.data.length === rowEnd - rowStart) return only!.data as Values;
  const out = new Array<unknown>(rowEnd - rowStart).fill(null);
  for (const { start, data } of parts) {
    for (let i = Math.max(0, rowStart - start); i < data.length && start + i < rowEnd; i++) out[start + i - rowStart] = data[i];
  }
  return out;
}

/** Opens `file` and parses its footer, unless `known` is the footer read before. */
async function openFile(file: string, known?: FileMetaData): Promise<OpenParquet> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw streamError(file, error);
  }
  const { size } = await handle.stat();
  const buffer: AsyncBuffer = {
    byteLength: size,
    async slice(start: number, end = size) {
      const bytes = Buffer.allocUnsafeSlow(end - start);
      const { bytesRead } = await handle.read(bytes, 0, end - start, start);
      return bytes.buffer.slice(0, bytesRead);
    },
  };
  try {
    if (size < 12) throw new Error(`file is ${size} bytes, too small for Parquet`);
    const metadata = known ?? (await parquetMetadataAsync(buffer));
    const tree = parquetSchema(metadata);
    const fields = tree.children.map(fieldOf);
    const flat = new Map(tree.children.filter((c) => isFlatColumn([tree, c]) && c.element.logical_type?.type !== 'VARIANT').map((c) => [c.element.name, [tree, c]]));
    return { file, handle, buffer, metadata, fields, flat };
  } catch (error) {
    await handle.close();
    throw new BentoError('INPUT_FORMAT', `Input file ${file} is not a readable Parquet file: ${(error as Error).message}`, {
      file, cause: error, hint: 'Check that the file is Parquet (not CSV or JSON renamed), complete, and not still being written; or set input.format.',
    });
  }
}

function fieldOf(node: SchemaTree): Field {
  const e = node.element;
  const name = e.name;
  if (node.children.length > 0) {
    // LIST → repeated group → element: a list column when its element is a scalar.
    const leaf = e.logical_type?.type === 'LIST' || e.converted_type === 'LIST' ? node.children[0]?.children[0] ?? node.children[0] : undefined;
    if (leaf && leaf.children.length === 0) return { name, type: 'list', items: fieldOf(leaf).type };
    return { name, type: 'json' };
  }
  const logical = e.logical_type?.type;
  let type: FieldType;
  switch (e.type) {
    case 'BOOLEAN': type = 'bool'; break;
    case 'INT32': type = logical === 'DATE' || e.converted_type === 'DATE' ? 'timestamp' : logical === 'DECIMAL' || e.converted_type === 'DECIMAL' ? 'float64' : 'int32'; break;
    case 'INT64': type = logical === 'TIMESTAMP' || e.converted_type?.startsWith('TIMESTAMP') ? 'timestamp' : logical === 'DECIMAL' || e.converted_type === 'DECIMAL' ? 'float64' : 'int64'; break;
    case 'INT96': type = 'timestamp'; break;
    case 'FLOAT': type = 'float32'; break;
    case 'DOUBLE': type = 'float64'; break;
    case 'FIXED_LEN_BYTE_ARRAY': type = logical === 'FLOAT16' ? 'float32' : logical === 'DECIMAL' || e.converted_type === 'DECIMAL' ? 'float64' : 'string'; break;
    default: type = logical === 'JSON' ? 'json' : 'string';
  }
  return { name, type };
}
