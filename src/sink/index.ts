/**
 * @file Sinks: the output file of a job, written through a temporary file and renamed into
 * place when complete.
 */
import type { OutputSpec } from '../job/spec.js';
import type { Field } from '../source/types.js';
import { openCsvSink } from './csv.js';
import { openJsonlSink } from './jsonl.js';
import { openParquetSink } from './parquet.js';
import type { Sink } from './types.js';

export type { OutputBatch, Sink } from './types.js';

/** Opens the writer for `output.format` with the given column schema. */
export function openSink(output: OutputSpec, schema: readonly Field[]): Promise<Sink> {
  switch (output.format) {
    case 'csv': return openCsvSink(output.path, schema, output.csv);
    case 'jsonl': return openJsonlSink(output.path, schema);
    case 'parquet': return openParquetSink(output.path, schema, output.parquet);
  }
}
