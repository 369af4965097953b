/**
 * @file Parquet reader over hyparquet (+ hyparquet-compressors for ZSTD, GZIP, Brotli, LZ4):
 * one row group at a time, columnar, handed out in slices of `chunkRows`. The only module
 * that imports the Parquet reader.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync, parquetRead, parquetSchema, type SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { BentoError, didYouMean } from '../errors.js';
import { requireColumns } from './chunks.js';
import { streamError } from './files.js';
import type { Column, Field, FieldType, RowChunk, Source, SourcePosition } from './types.js';

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
            const columns = await readRows(opened, names, first, groupEnd);
            for (let start = first; start < groupEnd; start += options.chunkRows) {
              const end = Math.min(groupEnd, start + options.chunkRows);
              const slice = new Map<string, Column>();
              for (const [name, values] of columns) slice.set(name, start === first && end === groupEnd ? values : values.slice(start - first, end - first));
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

type Values = unknown[] | Float32Array | Float64Array | Int32Array | BigInt64Array;

async function readRows(opened: OpenParquet, names: readonly string[], rowStart: number, rowEnd: number): Promise<Map<string, Values>> {
  const pieces = new Map<string, { start: number; data: ArrayLike<unknown> }[]>(names.map((n) => [n, []]));
  try {
    await parquetRead({
      file: opened.buffer, metadata: opened.metadata, columns: [...names], rowStart, rowEnd, compressors,
      onChunk: (chunk) => pieces.get(chunk.columnName)?.push({ start: chunk.rowStart, data: chunk.columnData }),
    });
  } catch (error) {
    throw new BentoError('INPUT_FORMAT', `Parquet file ${opened.file} cannot be read (rows ${rowStart + 1}–${rowEnd}): ${(error as Error).message}`, {
      file: opened.file, hint: 'The file may be truncated or corrupt; write it again.', cause: error,
    });
  }
  const out = new Map<string, Values>();
  for (const [name, parts] of pieces) {
    const values = assemble(parts, rowStart, rowEnd);
    // Nested columns mark a null cell as undefined; every Column uses null.
    if (Array.isArray(values)) for (let i = 0; i < values.length; i++) if (values[i] === undefined) values[i] = null;
    out.set(name, values);
  }
  return out;
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
    const fields = parquetSchema(metadata).children.map(fieldOf);
    return { file, handle, buffer, metadata, fields };
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
