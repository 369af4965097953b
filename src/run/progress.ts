/**
 * @file What a run tells the person or the scheduler watching it: a progress bar on a
 * terminal, JSON-lines events otherwise, and the final summary.
 */
import type { RunStats, RunSummary } from './pipeline.js';
import { thousands } from '../errors.js';

export type LogFormat = 'text' | 'json';

/** Writes one log event: a JSON object per line, or a plain line for people. */
/**
 * Input files a log line names at most (then their count, as input_files): a folder of 30,000
 * part files named whole made a 1.5 MB line, past what log shippers take (CloudWatch: 256 KB).
 */
const loggedFiles = 100;

/** `files` for a log line's field `key`: the first 100, and their count as input_files where there are more. */
export function loggedInput<K extends string>(key: K, files: readonly string[]): { [k in K]: readonly string[] } & { input_files?: number } {
  return { [key]: files.slice(0, loggedFiles), ...(files.length > loggedFiles ? { input_files: files.length } : {}) } as { [k in K]: readonly string[] } & { input_files?: number };
}

export class Logger {
  /**
   * The job the process runs, once its file is read: every JSON line names it (the error line
   * too, cli/main.ts), so a log stream shared by many jobs can be filtered by it.
   */
  static job: string | undefined;
  /** --debug: `debug` events are printed for people too (JSON lines carry them always). */
  static verbose = false;
  /** The progress bar's line while it is drawn: a message goes above it, and it is drawn again below. */
  #status: string | undefined;

  constructor(readonly format: LogFormat, readonly stream: NodeJS.WritableStream = process.stderr) {}

  event(level: 'debug' | 'info' | 'warn' | 'error', event: string, text: string, fields: Record<string, unknown> = {}): void {
    if (this.format === 'json') {
      this.stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...(Logger.job !== undefined ? { job: Logger.job } : {}), message: text, ...fields })}\n`);
      return;
    }
    if (level === 'debug' && !Logger.verbose) return;
    const line = `${level === 'info' || level === 'debug' ? '' : `${level}: `}${text}\n`;
    this.stream.write(this.#status === undefined ? line : `\r\x1b[K${line}${this.#status}`);
  }

  /** Draws `line` in place of the last status line (undefined: leaves the line as it is, and ends it). */
  status(line: string | undefined): void {
    if (line === undefined) {
      if (this.#status !== undefined) this.stream.write('\n');
    } else this.stream.write(`\r${line}\x1b[K`);
    this.#status = line;
  }
}

export interface ProgressOptions {
  readonly job: string;
  /** `bar` redraws one terminal line; `log` writes an event every `intervalMs`. */
  readonly mode: 'bar' | 'log' | 'none';
  readonly logger: Logger;
  readonly intervalMs?: number;
  /** Milliseconds (tests). */
  readonly now?: () => number;
}

export interface Progress {
  /** Reports now, as the timer does every interval. */
  report(): void;
  /** A stop was asked for: the bar says so in place of its ETA. */
  stopping(): void;
  stop(): void;
}

/** How far back the rate and the ETA look: a run's speed now, not since it started. */
const windowMs = 15_000;

/** Starts reporting `stats` until the returned stop() is called. Never keeps the process alive. */
export function startProgress(stats: RunStats, options: ProgressOptions): Progress {
  if (options.mode === 'none') return { report() {}, stopping() {}, stop() {} };
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? (options.mode === 'bar' ? 200 : 10_000);
  const stream = options.logger.stream as NodeJS.WriteStream;
  const started = now();
  const rowsBefore = () => stats.rowsWrittenBefore ?? 0;
  /** Where the run stands now: rows done, fraction of the input. */
  const position = () => {
    const rows = stats.rowsDone ?? stats.rowsWritten;
    const p = stats.sourceProgress?.();
    // Bytes are read a block ahead of the rows scored: scaled by the rows scored of those read, the
    // fraction moves with the rows, not in steps of the reader's blocks.
    const fraction = !p?.total ? undefined
      : Math.min(1, p.unit === 'rows' ? rows / p.total : (p.done / p.total) * (stats.rowsRead > 0 ? Math.min(1, rows / stats.rowsRead) : 0));
    return { rows, fraction };
  };
  const initial = position();
  /**
   * Recent ticks: time, rows done, fraction of the input; from the start, so the first of a log's
   * ticks (10 s in) has a pace. A fresh run starts at none of its input, whether or not the reader
   * has said so yet.
   */
  let samples: { t: number; rows: number; fraction: number | undefined }[] = [{ t: started, rows: initial.rows, fraction: initial.fraction ?? (stats.rowsWrittenBefore ? undefined : 0) }];
  let stopping = false;
  /** The rows a resumed run found committed, as the samples knew them: the counts of a scoring thread arrive after the bar starts. */
  let before = rowsBefore();
  /**
   * The clock is looked at every `step` (a second at most, whatever the interval between lines):
   * a look that comes seconds late finds the process was stopped (Ctrl-Z, SIGSTOP, a laptop
   * asleep), and that time is left out of the pace. With only a log's lines ten seconds apart, a
   * pause of twenty seconds looked like a slow run.
   */
  const step = Math.min(interval, 1_000);
  let seen = started;
  let paused = 0;
  let printed = started;
  const look = () => {
    const t = now();
    if (t - seen > step + 2_000) {
      paused += t - seen - step;
      samples = [];
    }
    // A resumed run's committed rows, once known, start the pace from here (at a look, not at the
    // next line: a log's first line, ten seconds in, would have one sample and no ETA).
    if (rowsBefore() !== before) {
      before = rowsBefore();
      const { rows, fraction } = position();
      samples = [{ t, rows, fraction }];
    }
    seen = t;
    return t;
  };
  const tick = (t = now()) => {
    printed = t;
    // A gap many lines long is a pause too, where the looks above were not made (a report() alone).
    // Rows found committed are not this run's pace either: measured from when they are known.
    if ((samples.length > 0 && t - samples.at(-1)!.t > Math.max(2_000, 5 * interval)) || rowsBefore() !== before) samples = [];
    before = rowsBefore();
    const { rows, fraction } = position();
    samples.push({ t, rows, fraction });
    while (samples.length > 2 && t - samples[1]!.t >= windowMs) samples.shift();
    const first = samples[0]!;
    const span = (t - first.t) / 1000;
    // Until a second of the window has passed, the run's own average (this run's rows only).
    const rate = span >= 1 ? (rows - first.rows) / span : Math.max(0, stats.rowsWritten - rowsBefore()) / Math.max((t - started - paused) / 1000, 1e-9);
    // An ETA from the fraction's own pace, once two seconds show it.
    const eta = fraction === undefined || first.fraction === undefined || span < 2 || fraction <= first.fraction ? undefined
      : ((1 - fraction) * span) / (fraction - first.fraction);
    const etaText = stopping ? 'stopping' : eta === undefined ? undefined : `ETA ${clock(eta)}`;
    if (options.mode === 'bar') {
      // A pty made without a window size reports 0 columns.
      options.logger.status(barLine(options.job, fraction, stats.rowsWritten, rate, etaText, (stream.columns || 120) - 1));
    } else {
      const percent = fraction === undefined ? undefined : Math.round(fraction * 1000) / 10;
      options.logger.event('info', 'progress', `${thousands(stats.rowsWritten)} rows written${percent === undefined ? '' : ` (${percent}%)`}, ${thousands(Math.round(rate))} rows/s${etaText ? `, ${etaText}` : ''}`, {
        job: options.job, rows_read: stats.rowsRead, rows_written: stats.rowsWritten, rows_per_second: Math.round(rate),
        ...(percent === undefined ? {} : { percent }), ...(eta === undefined ? {} : { eta_seconds: Math.round(eta) }),
      });
    }
  };
  const timer = setInterval(() => {
    const t = look();
    if (t - printed >= interval - step / 2) tick(t);
  }, step);
  timer.unref();
  return {
    report: () => tick(),
    stopping() {
      stopping = true;
    },
    stop() {
      clearInterval(timer);
      if (options.mode === 'bar') {
        tick();
        options.logger.status(undefined);
      }
    },
  };
}

/**
 * The bar's line in `columns`: the numbers are kept and the bar shrinks to fit them, then goes;
 * then the rate goes, or the job's name, then both, then the rows; what still does not fit is cut.
 */
export function barLine(job: string, fraction: number | undefined, rows: number, rate: number, eta: string | undefined, columns: number): string {
  const percent = fraction === undefined ? undefined : `${(fraction * 100).toFixed(0).padStart(3)}%`;
  const rowsText = `${thousands(rows)} rows`;
  const rateText = `${thousands(Math.round(rate))} rows/s`;
  const tail = (withRate: boolean) => [percent, rowsText, withRate ? rateText : undefined, eta].filter((x) => x !== undefined).join('  ');
  const full = tail(true);
  // Room kept for a tail as long as a run's usually gets, so the bar does not narrow when the ETA appears or the counts grow.
  const room = columns - displayWidth(job) - 1 - Math.max(full.length, 48) - 3;
  if (fraction !== undefined && room >= 8) {
    const width = Math.min(24, room);
    return `${job} [${'#'.repeat(Math.round(fraction * width)).padEnd(width, '-')}] ${full}`;
  }
  const short = [percent, eta].filter((x) => x !== undefined).join('  ') || rowsText;
  for (const line of [`${job} ${full}`, `${job} ${tail(false)}`, full, tail(false), short]) if (displayWidth(line) <= columns) return line;
  return short.slice(0, Math.max(0, columns)).trimEnd();
}

/**
 * Columns `text` takes on a terminal: two for East Asian wide and full-width characters (a job
 * named in Chinese or Japanese) and for emoji past the basic plane, one for the rest. A line
 * counted by its length wrapped, and every redraw of the bar left a line behind.
 */
function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]|[\u{1F300}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u.test(char) ? 2 : 1;
  return width;
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
