/**
 * @file JSON Lines reader: one object per line, blank lines skipped, a line that is not a JSON
 * object fails naming the file and line. Column types come from the first chunk.
 */
import { createInterface } from 'node:readline';
import { BentoError } from '../errors.js';
import { ColumnBuilder, peek, sniffJsonType } from './chunks.js';
import { openFileStream, streamError, totalSize } from './files.js';
import type { Field, RowChunk, Source } from './types.js';

export interface JsonlSourceOptions {
  readonly columns: readonly string[] | undefined;
  readonly chunkRows: number;
}

/** Opens JSONL files and reads the first chunk to learn the columns; throws INPUT_* errors. */
export async function openJsonl(files: readonly string[], options: JsonlSourceOptions): Promise<Source> {
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
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let names = options.columns ?? schema?.map((f) => f.name);
    let builder = names ? new ColumnBuilder(names, file, options.chunkRows) : undefined;
    // Until the first chunk fixes the columns, rows are kept whole to learn every key.
    let pending: Record<string, unknown>[] = [];
    let line = 0;
    let rows = 0;
    const seen = new Set<string>();
    const flushPending = () => {
      names = [...seen];
      builder = new ColumnBuilder(names, file, options.chunkRows);
      for (const row of pending) builder.push((i) => row[names![i]!] ?? null);
      pending = [];
    };
    try {
      for await (const text of lines) {
        line++;
        if (text.trim() === '') continue;
        let row: unknown;
        try {
          row = JSON.parse(text);
        } catch (error) {
          throw new BentoError('INPUT_FORMAT', `Line ${line} of ${file} is not valid JSON: ${(error as Error).message}`, {
            file, row: rows + 1, hint: 'Each line of a JSONL file must be one JSON object; fix or remove the line.',
          });
        }
        if (row === null || typeof row !== 'object' || Array.isArray(row)) {
          throw new BentoError('INPUT_FORMAT', `Line ${line} of ${file} is not a JSON object (got ${Array.isArray(row) ? 'an array' : typeof row})`, {
            file, row: rows + 1, hint: 'Each line of a JSONL file must be one JSON object such as {"text": "..."}.',
          });
        }
        rows++;
        const record = row as Record<string, unknown>;
        if (builder === undefined) {
          for (const key in record) seen.add(key);
          pending.push(record);
          if (pending.length >= options.chunkRows) flushPending();
        } else {
          builder.push((i) => record[names![i]!] ?? null);
        }
        if (builder && builder.length >= options.chunkRows) yield typed(builder.take()!);
      }
    } catch (error) {
      throw streamError(file, error);
    }
    if (rows === 0) throw new BentoError('INPUT_FORMAT', `Input file ${file} is empty`, { file, hint: 'Remove the file from the input, or check the step that writes it.' });
    if (builder === undefined) flushPending();
    const last = builder!.take();
    if (last) yield typed(last);
  }

  function typed(chunk: RowChunk): RowChunk {
    // A key absent from a line is a null there, as in every JSONL tool; the first chunk fixes the set.
    schema ??= [...chunk.columns].map(([name, values]) => ({ name, type: sniffJsonType(values) }));
    return chunk;
  }

  const peeked = await peek(readAll());
  if (schema === undefined) throw new BentoError('INPUT_FORMAT', `Input ${files[0]} has no rows`, { file: files[0] });
  return {
    files,
    schema,
    totalRows: undefined,
    chunks: peeked.all,
    progress: () => ({ done: bytesDone + currentBytes(), total: totalBytes, unit: 'bytes' }),
  };
}
