/**
 * @file Sinks: the output file of a job, written as a partial file (committed as it goes,
 * resumable) and renamed into place when complete.
 */
import type { OutputSpec } from '../job/spec.js';
import type { Field } from '../source/types.js';
import { openCsvSink } from './csv.js';
import { openJsonlSink } from './jsonl.js';
import { openParquetSink, parquetOptions, removeMetadata } from './parquet.js';
import type { Sink, SinkOptions } from './types.js';

export type { OutputBatch, Sink, SinkOptions, SinkPosition } from './types.js';

/**
 * Removes what a sink keeps beside its partial file for a resume (Parquet's row-group metadata),
 * once the run is recorded finished; a crash before that needs it.
 */
export function tidyPartial(partial: string): Promise<void> {
  return removeMetadata(partial);
}

/** Opens the writer for `output.format` with the given column schema. */
export function openSink(output: OutputSpec, schema: readonly Field[], options: SinkOptions): Promise<Sink> {
  // A gzipped text output's level (a Parquet output's is its pages', parquetOptions).
  const level = output.compressionLevel !== undefined ? { level: output.compressionLevel } : {};
  switch (output.format) {
    case 'csv': return openCsvSink(schema, { ...options, ...output.csv, gzip: output.gzip, ...level });
    case 'jsonl': return openJsonlSink(schema, { ...options, gzip: output.gzip, ...level });
    case 'parquet': return openParquetSink(schema, { ...options, ...parquetOptions(output) });
  }
}
