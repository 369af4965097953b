/**
 * @file What every writer accepts: batches of columns in a fixed schema, written in row order.
 */
import type { Column, Field } from '../source/types.js';

export interface OutputBatch {
  readonly length: number;
  /** One column per schema field, each `length` long. */
  readonly columns: ReadonlyMap<string, Column>;
}

/** A writer into a temporary file that appears at its final path only on `close()`. */
export interface Sink {
  readonly schema: readonly Field[];
  /** Appends rows; resolves once they are handed to the OS (or buffered toward a row group). */
  write(batch: OutputBatch): Promise<void>;
  /** Flushes, fsyncs and atomically renames the file into place. */
  close(): Promise<void>;
  /** Removes the temporary file; nothing appears at the output path. */
  abort(): Promise<void>;
}
