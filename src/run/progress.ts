/**
 * @file What a run tells the person or the scheduler watching it: a progress bar on a
 * terminal, JSON-lines events otherwise, and the final summary.
 */
import type { RunStats, RunSummary } from './pipeline.js';
import { thousands } from '../errors.js';

export type LogFormat = 'text' | 'json';

/** Writes one log event: a JSON object per line, or a plain line for people. */
export class Logger {
  /**
   * The job the process runs, once its file is read: every JSON line names it (the error line
   * too, cli/main.ts), so a log stream shared by many jobs can be filtered by it.
   */
  static job: string | undefined;

  constructor(readonly format: LogFormat, readonly stream: NodeJS.WritableStream = process.stderr) {}

  event(level: 'info' | 'warn' | 'error', event: string, text: string, fields: Record<string, unknown> = {}): void {
    if (this.format === 'json') {
      this.stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...(Logger.job !== undefined ? { job: Logger.job } : {}), message: text, ...fields })}\n`);
    } else {
      this.stream.write(`${level === 'info' ? '' : `${level}: `}${text}\n`);
    }
  }
}

export interface ProgressOptions {
  readonly job: string;
  /** `bar` redraws one terminal line; `log` writes an event every `intervalMs`. */
  readonly mode: 'bar' | 'log' | 'none';
  readonly logger: Logger;
  readonly intervalMs?: number;
}

/** Starts reporting `stats` until the returned stop() is called. Never keeps the process alive. */
export function startProgress(stats: RunStats, options: ProgressOptions): { stop(): void } {
  if (options.mode === 'none') return { stop() {} };
  const started = performance.now();
  const stream = options.logger.stream as NodeJS.WriteStream;
  // A resumed run starts part of the way: its rate and ETA count from where it is first seen.
  let base: { seconds: number; fraction: number } | undefined;
  const tick = () => {
    const seconds = (performance.now() - started) / 1000;
    const rate = (stats.rowsWritten - (stats.rowsWrittenBefore ?? 0)) / Math.max(seconds, 1e-9);
    const p = stats.sourceProgress?.();
    const fraction = p?.total ? Math.min(1, p.done / p.total) : undefined;
    if (fraction !== undefined && stats.rowsWrittenBefore && !base) base = { seconds, fraction };
    // Rows written lag rows read by the batches in flight; the ETA follows the reader.
    const eta = fraction === undefined || fraction <= 0 ? undefined
      : !base ? seconds * (1 / fraction - 1)
        : fraction > base.fraction ? ((seconds - base.seconds) / (fraction - base.fraction)) * (1 - fraction) : undefined;
    if (options.mode === 'bar') {
      const width = 24;
      const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '-')}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
      const line = `${options.job} ${bar}${thousands(stats.rowsWritten)} rows  ${thousands(Math.round(rate))} rows/s${eta === undefined ? '' : `  ETA ${clock(eta)}`}`;
      // A pty made without a window size reports 0 columns.
      stream.write(`\r${line.slice(0, (stream.columns || 120) - 1)}\x1b[K`);
    } else {
      options.logger.event('info', 'progress', `${stats.rowsWritten} rows written, ${Math.round(rate)} rows/s`, {
        job: options.job, rows_read: stats.rowsRead, rows_written: stats.rowsWritten, rows_per_second: Math.round(rate),
        ...(fraction === undefined ? {} : { percent: Math.round(fraction * 1000) / 10 }), ...(eta === undefined ? {} : { eta_seconds: Math.round(eta) }),
      });
    }
  };
  const timer = setInterval(tick, options.intervalMs ?? (options.mode === 'bar' ? 200 : 10_000));
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (options.mode === 'bar') {
        tick();
        stream.write('\n');
      }
    },
  };
}

/** The end-of-run report: one line for people, one `summary` event for machines. */
export function reportSummary(summary: RunSummary, logger: Logger): void {
  if (summary.rows_failed > 0) {
    logger.event('warn', 'rows-failed', `${thousands(summary.rows_failed)} of ${thousands(summary.input.rows)} rows could not be scored; they are listed in ${summary.errors}`, { rows_failed: summary.rows_failed, errors: summary.errors });
  }
  logger.event('info', 'summary',
    `${summary.job}: ${thousands(summary.input.rows)} rows read, ${thousands(summary.output.rows)} written to ${summary.output.path}${summary.rows_failed ? `, ${thousands(summary.rows_failed)} failed` : ''} in ${summary.seconds.toFixed(1)}s (${thousands(summary.rows_per_second)} rows/s)`,
    { summary });
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
