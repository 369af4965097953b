/**
 * @file CSV/TSV reader over csv-parse: header, delimiter, quotes, CRLF and BOM handled by the
 * parser; numeric columns are sniffed from the first chunk and converted as rows stream by.
 */
import { parse, CsvError } from 'csv-parse';
import { BentoError, didYouMean } from '../errors.js';
import { ColumnBuilder, convertColumn, peek, requireColumns, sniffCsvType } from './chunks.js';
import { openFileStream, streamError, totalSize } from './files.js';
import { type Field, missingTokens, type RowChunk, type Source } from './types.js';

export interface CsvSourceOptions {
  readonly delimiter: string | undefined;
  readonly header: boolean;
  readonly quote: string;
  /** Read only these columns; undefined reads all. */
  readonly columns: readonly string[] | undefined;
  readonly chunkRows: number;
}

const isMissing = (v: string) => missingTokens.has(v.trim());

/** Opens CSV files and reads the first chunk to fix the column types; throws INPUT_* errors. */
export async function openCsv(files: readonly string[], options: CsvSourceOptions): Promise<Source> {
  let schema: Field[] | undefined;
  let bytesDone = 0;
  let currentBytes = () => 0;
  const totalBytes = await totalSize(files);

  async function* readAll(): AsyncGenerator<RowChunk> {
    for (const file of files) {
      const opened = openFileStream(file);
      currentBytes = opened.bytes;
      yield* readFile(file, opened.stream);
      bytesDone += opened.bytes();
      currentBytes = () => 0;
    }
  }

  async function* readFile(file: string, stream: NodeJS.ReadableStream): AsyncGenerator<RowChunk> {
    const delimiter = options.delimiter ?? (/\.tsv(\.gz)?$/i.test(file) ? '\t' : ',');
    const parser = parse({ delimiter, quote: options.quote, bom: true, skip_empty_lines: true, relax_column_count: true });
    stream.on('error', (error) => parser.destroy(error as Error));
    stream.pipe(parser);
    let header: string[] | undefined;
    let picks: number[] = [];
    let builder: ColumnBuilder | undefined;
    let rows = 0;
    try {
      for await (const record of parser as AsyncIterable<string[]>) {
        if (header === undefined) {
          header = options.header ? record.map((name) => name.trim()) : record.map((_, i) => `column${i}`);
          const wanted = options.columns ?? schema?.map((f) => f.name) ?? header;
          requireColumns(file, header, wanted, (name, present) => didYouMean(name, present));
          // Columns keep the file's order whatever order they were asked for in.
          const names = schema?.map((f) => f.name) ?? header.filter((h) => wanted.includes(h));
          picks = names.map((name) => header!.indexOf(name));
          builder = new ColumnBuilder(names, file, options.chunkRows);
          if (options.header) continue;
        }
        if (record.length !== header.length) {
          throw new BentoError('INPUT_FORMAT', `Row ${rows + 1} of ${file} has ${record.length} fields, expected ${header.length} (as in the header)`, {
            file, row: rows + 1, hint: 'Check the delimiter (input.csv.delimiter) and that quoted fields are closed.',
          });
        }
        rows++;
        builder!.push((i) => record[picks[i]!]);
        if (builder!.length >= options.chunkRows) yield typed(builder!.take()!);
      }
    } catch (error) {
      if (error instanceof CsvError) {
        throw new BentoError('INPUT_FORMAT', `${file} is not valid CSV at line ${(error as CsvError & { lines?: number }).lines ?? '?'}: ${error.message}`, {
          file, hint: 'Check the delimiter and quoting (input.csv), or that the file really is CSV.',
        });
      }
      throw streamError(file, error);
    }
    if (header === undefined) {
      throw new BentoError('INPUT_FORMAT', `Input file ${file} is empty`, { file, hint: 'Remove the file from the input, or check the step that writes it.' });
    }
    if (rows === 0 && options.header) {
      throw new BentoError('INPUT_FORMAT', `Input file ${file} has a header but no rows`, { file, hint: 'Remove the file from the input, or check the step that writes it.' });
    }
    const last = builder!.take();
    if (last) yield typed(last);
  }

  // The first chunk fixes each column's type; later chunks are converted to it.
  function typed(chunk: RowChunk): RowChunk {
    schema ??= [...chunk.columns].map(([name, values]) => ({ name, type: sniffCsvType(values, isMissing) }));
    const columns = new Map(schema.map((field) => {
      const values = chunk.columns.get(field.name) as string[];
      return [field.name, convertColumn(values, field.type, isMissing, (i, value) => {
        throw new BentoError('INVALID_VALUE', `Invalid value: column "${field.name}" holds numbers in its first rows, got "${value.slice(0, 40)}" at ${chunk.file} row ${chunk.fileRow + i + 1}`, {
          file: chunk.file, row: chunk.fileRow + i + 1, column: field.name, hint: 'Fix or remove the value, or raise input.chunk_rows so the column is seen as text.',
        });
      })];
    }));
    return { ...chunk, columns };
  }

  const peeked = await peek(readAll());
  if (schema === undefined) throw new BentoError('INPUT_FORMAT', `Input ${files[0]} has no rows`, { file: files[0] });
  const fixed = schema;
  return {
    files,
    schema: fixed,
    totalRows: undefined,
    chunks: peeked.all,
    progress: () => ({ done: bytesDone + currentBytes(), total: totalBytes, unit: 'bytes' }),
  };
}

