/**
 * @file Rows that cannot be scored: written to the errors file (JSON lines, checkpointed with
 * the output so each bad row appears exactly once), counted, and held against the job's
 * thresholds.
 */
import { BentoError, thousands } from '../errors.js';
import type { ErrorsSpec } from '../job/spec.js';
import { openPartial, type PartialFile } from '../sink/atomic.js';
import { base64, jsonText } from '../sink/values.js';

/**
 * Rows read before `max_rate` is checked while a run goes on: the rate of its first handful of
 * rows says little of the rest. At the end the rate is over every row, and is checked however few.
 */
export const minRowsForRate = 1000;

export class ErrorLog {
  readonly #file: PartialFile;
  readonly #spec: ErrorsSpec;
  #failed: number;
  /** The first bad row this process recorded: its hint is the likeliest fix when every row fails. */
  #first: BentoError | undefined;

  private constructor(file: PartialFile, spec: ErrorsSpec, failed: number) {
    this.#file = file;
    this.#spec = spec;
    this.#failed = failed;
  }

  /** Opens the errors file's partial copy, fresh or truncated back to a commit. */
  static async open(partial: string, spec: ErrorsSpec, resume?: { bytes: number; failed: number }): Promise<ErrorLog> {
    return new ErrorLog(await openPartial(partial, resume?.bytes), spec, resume?.failed ?? 0);
  }

  get failed(): number {
    return this.#failed;
  }

  get bytes(): number {
    return this.#file.length;
  }

  /** Appends one line per bad row of `batch`, in row order. */
  async record(errors: ReadonlyMap<number, BentoError>): Promise<void> {
    if (errors.size === 0) return;
    let text = '';
    for (const i of [...errors.keys()].sort((a, b) => a - b)) {
      const e = errors.get(i)!;
      text += `${JSON.stringify({
        file: e.file, row: e.row, ...(e.byte !== undefined ? { byte: e.byte } : {}), ...(e.column ? { column: e.column } : {}),
        ...(e.value !== undefined ? { value: clip(e.value) } : {}), code: e.code, reason: e.message, ...(e.hint ? { hint: e.hint } : {}),
      })}\n`;
    }
    await this.#file.write(text);
    this.#failed += errors.size;
    this.#first ??= errors.get(Math.min(...errors.keys()));
  }

  /**
   * Throws TOO_MANY_ERRORS when the failed rows pass `max_count`, or `max_rate` of `rowsIn`
   * (`end`: every row of the input). With neither set, when every row has failed, once
   * minRowsForRate rows are in or at the end: a run that scores nothing has failed, whatever
   * it wrote, and a scheduler must see so; the cause is nearly always one setting (a decimal
   * comma, a misnamed column's fill), so the run stops early and says which. `valued`: some row
   * scored had a value in a column the model reads; at the end, rows scored from the manifest's
   * fills alone do not count as scored (a file whose every other row failed scored nothing of its
   * own); mid-run they do, as valued rows may follow.
   */
  check(rowsIn: number, path: string, end = false, valued = true): void {
    const { maxCount, maxRate } = this.#spec;
    const overCount = maxCount !== undefined && this.#failed > maxCount;
    const overRate = maxRate !== undefined && rowsIn > 0 && (end || rowsIn >= minRowsForRate) && this.#failed / rowsIn > maxRate;
    const allFailed = maxCount === undefined && maxRate === undefined && rowsIn > 0 && (this.#failed >= rowsIn || (end && !valued && this.#failed > 0)) && (end || rowsIn >= minRowsForRate);
    if (allFailed) {
      const first = this.#first;
      const filled = rowsIn - this.#failed;
      const rows = filled > 0 ? `${thousands(this.#failed)} of ${thousands(rowsIn)} rows${end ? '' : ' read so far'} could not be scored, and the other ${thousands(filled)} have no value in any column the model reads (scored from the manifest's fills alone)` : `All ${thousands(rowsIn)} rows${end ? '' : ' read so far'} could not be scored`;
      throw new BentoError('TOO_MANY_ERRORS', `${rows}; stopped. The bad rows are listed in ${path}${first ? `; the first: ${first.message}` : ''}`, {
        file: path, hint: `${first?.hint ? `${first.hint} ` : ''}A run with no errors.max_count or errors.max_rate stops when every row fails (rows without a value the model reads aside); set either to choose how many bad rows a run may have.`,
      });
    }
    if (!overCount && !overRate) return;
    const limit = overCount ? `errors.max_count is ${maxCount}` : `errors.max_rate is ${maxRate} (${(this.#failed / rowsIn * 100).toFixed(2)}% failed)`;
    throw new BentoError('TOO_MANY_ERRORS', `${thousands(this.#failed)} of ${thousands(rowsIn)} rows could not be scored and ${limit}; stopped. The bad rows are listed in ${path}`, {
      file: path, hint: 'Fix the input (each line of the errors file names the file, row, column and reason), or raise the limit in the job file.',
    });
  }

  sync(): Promise<void> {
    return this.#file.sync();
  }

  seal(): Promise<void> {
    return this.#file.seal();
  }

  close(): Promise<void> {
    return this.#file.close();
  }

  discard(): Promise<void> {
    return this.#file.discard();
  }
}

function clip(value: unknown): unknown {
  // A missing cell is null, not the text "null" a cell may hold.
  if (value === null) return null;
  // As the CSV and JSON Lines writers give a cell: bytes (a Parquet BLOB) as base64, a struct's
  // 64-bit integers as numbers (JSON.stringify refuses them).
  const text = typeof value === 'string' ? value : value instanceof Uint8Array ? base64(value) : jsonText(value, 'json');
  return text.length > 200 ? `${text.slice(0, 200)}…` : typeof value === 'string' ? value : text;
}
