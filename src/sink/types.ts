/**
 * @file What every writer accepts: batches of columns in a fixed schema, written in row order
 * into a partial file that can be committed, resumed, and finally renamed into place.
 */
import type { Column, Field } from '../source/types.js';

export interface OutputBatch {
  readonly length: number;
  /** One column per schema field, each `length` long. */
  readonly columns: ReadonlyMap<string, Column>;
}

/** How far a partial output is durable: its byte length, plus the Parquet footer's state so far. */
export interface SinkPosition {
  readonly bytes: number;
  /** Parquet only: row-group metadata written so far (JSON-encoded with bigints and bytes tagged). */
  readonly parquet?: string;
  /** Gzipped CSV and JSON Lines only: the text written since the file's last gzip member, which the next member begins with. */
  readonly tail?: string;
}

export interface SinkOptions {
  /** Where the file is written while incomplete; `publish()` moves it to the output path. */
  readonly partial: string;
  /** Continue a partial file: truncate it back to this committed position and append. */
  readonly resume?: SinkPosition;
}

export interface Sink {
  readonly schema: readonly Field[];
  /** Appends rows in order. */
  write(batch: OutputBatch): Promise<void>;
  /** True when what is written ends where a commit may be taken (Parquet: at a row-group boundary). */
  readonly committable: boolean;
  /**
   * Makes everything written so far durable (fsync) and returns the position a resume truncates
   * back to. The position is taken when called, so writes may go on while the fsync runs.
   */
  commit(): Promise<SinkPosition>;
  /** Writes any trailer (Parquet footer), fsyncs and closes: the partial file is complete. */
  seal(): Promise<void>;
  /** Closes the partial file and keeps it, for a later resume. */
  close(): Promise<void>;
  /** Closes and deletes the partial file. */
  discard(): Promise<void>;
}
