/**
 * @file When and how a run commits: after `checkpoint.every` rows or seconds, at the next point
 * where the output may end (any batch for CSV and JSONL, a row group's end for Parquet), the
 * partial output and the errors file are fsync'd, then state.json is replaced to point at them.
 * A commit's fsyncs run while the next batches are scored; the next commit waits for it.
 */
import { failpoint } from '../checkpoint/failpoint.js';
import { type Fingerprint, writeState } from '../checkpoint/state.js';
import type { CheckpointSpec } from '../job/spec.js';
import type { Sink } from '../sink/index.js';
import type { SourcePosition } from '../source/types.js';
import type { ErrorLog } from './rowerrors.js';

/** Where the run is when a batch has been written. */
export interface Progress {
  /** Input rows whose batches are written. */
  readonly rows: number;
  readonly batches: number;
  /** Where the source resumes after them. */
  readonly source: SourcePosition;
}

export class Commits {
  #committing: Promise<void> = Promise.resolve();
  #issuedRows: number;
  #committedAt = performance.now();
  #committedRows: number;

  constructor(
    private readonly ckpt: CheckpointSpec,
    private readonly sink: Sink,
    private readonly errorLog: ErrorLog,
    private readonly record: { readonly fingerprint: Fingerprint; readonly totalRows: number | undefined; readonly fence?: () => Promise<void>; readonly notes?: () => readonly string[]; readonly position?: (at: SourcePosition) => SourcePosition },
    /** Rows already committed (a resume's starting point). */
    committedRows: number,
  ) {
    this.#issuedRows = this.#committedRows = committedRows;
  }

  /** Rows durable in the checkpoint: what a resume starts from. */
  get committedRows(): number {
    return this.#committedRows;
  }

  /**
   * Commits if one is due and the output is at a commit point. Returns once the commit is
   * under way; with `force`, once it is durable.
   */
  async maybe(at: Progress, force = false): Promise<void> {
    if (!this.sink.committable) return;
    const { everyRows, everySeconds } = this.ckpt;
    const due = force
      || (everyRows !== undefined && at.rows - this.#issuedRows >= everyRows)
      || (everySeconds !== undefined && performance.now() - this.#committedAt >= everySeconds * 1000);
    if (!due || at.rows === this.#issuedRows) return;
    await this.#committing;
    const errors = { bytes: this.errorLog.bytes, failed: this.errorLog.failed };
    const notes = [...this.record.notes?.() ?? []];
    const source = this.record.position?.(at.source) ?? at.source;
    this.#issuedRows = at.rows;
    this.#committedAt = performance.now();
    // Data first, then the record that points at it.
    const written = Promise.all([this.sink.commit(), this.errorLog.sync()]);
    this.#committing = written.then(async ([sink]) => {
      failpoint('sink-committed');
      await writeState(this.ckpt.path, {
        version: 1, status: 'running', fingerprint: this.record.fingerprint, total_rows: this.record.totalRows,
        committed: { rows: at.rows, batches: at.batches, source, sink, errors, at: new Date().toISOString(), ...(notes.length > 0 ? { notes } : {}) },
      }, this.record.fence);
      this.#committedRows = at.rows;
    });
    this.#committing.catch(() => undefined); // surfaced by the next await of it
    if (force) await this.#committing;
  }

  /** Resolves when the last commit is durable; rejects if it failed. */
  settled(): Promise<void> {
    return this.#committing;
  }
}
