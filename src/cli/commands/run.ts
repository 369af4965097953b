/**
 * @file `bento-batch run job.yaml`: load and check the job, run it with progress and signal
 * handling, report the summary. `--dry-run` stops after the checks.
 */
import { constants, existsSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, type Stats, statSync, writeFileSync, writeSync } from 'node:fs';
import { access, mkdir, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { BentoError, errorFields, exitCodeFor, fsReason, thousands } from '../../errors.js';
import { loadJob } from '../../job/load.js';
import { type JobSpec, sameFile } from '../../job/spec.js';
import { resolveBundle } from '../../model/bundle.js';
import type { RunStats, RunSummary } from '../../run/pipeline.js';
import { discard, runJobThread, type ScoringThread } from '../../run/thread.js';
import { Logger, type LogFormat, loggedInput, type Progress, reportSummary, startProgress } from '../../run/progress.js';
import { notStarted, releaseSignals, trapSignals } from '../../run/signals.js';
import { committedRows } from '../../checkpoint/state.js';
import { besideTemp, removeDeadTemps } from '../../sink/atomic.js';

export interface RunOptions {
  readonly job: string;
  readonly set: readonly string[];
  readonly summaryJson: string | undefined;
  readonly progress: 'auto' | 'bar' | 'log' | 'none';
  readonly logFormat: LogFormat;
  readonly dryRun: boolean;
  /** Discard any checkpoint (and a finished run's record) and start over. */
  readonly restart: boolean;
  /** A scoring thread started while this module loaded (startScoringThread); used if the job's limits.memory fits it. */
  readonly scoringThread?: ScoringThread;
}

/** Runs the job; resolves with the summary, throws BentoError for anything the user can fix. */
export async function run(options: RunOptions): Promise<RunSummary | undefined> {
  try {
    return await runJob(options);
  } finally {
    await discard(options.scoringThread);
  }
}

async function runJob(options: RunOptions): Promise<RunSummary | undefined> {
  const logger = new Logger(options.logFormat);
  const target = options.summaryJson === undefined ? undefined : await summaryTarget(resolve(options.summaryJson));
  // Another run's summary left there would tell a scheduler how this one went, whatever happens
  // next; only a summary is removed (a mistyped path may name the job file, an input, an output).
  if (target && !target.inPlace && (await isSummary(target.path))) await rm(target.path, { force: true }).catch(() => undefined);
  if (target && !target.inPlace) await removeDeadTemps(target.path);
  let spec: JobSpec | undefined;
  const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0 };
  /** The summary file is one to write: checked against the job's files (summaryWritable). */
  let summaryChecked = false;
  // A scheduler reading the summary learns how a failed or stopped run ended, and how far it got.
  // Where it was not checked (the job file could not be read), only where nothing is: an earlier summary was removed at the start.
  // Where nothing is, or a pipe or device (written through, nothing replaced).
  /** The job, and the summary file checked against it: found now, not once the whole run is done (a run that succeeded must not then fail on its summary). */
  const load = async () => {
    const loaded = await loadJob(options.job, { overrides: options.set });
    if (target) {
      await summaryWritable(target, loaded);
      summaryChecked = true;
    }
    return loaded;
  };
  const summarizeFailure = async (error: unknown) => {
    const writable = summaryChecked || (spec === undefined && target !== undefined && (target.inPlace || !(await stat(target.path).catch(() => undefined))?.isFile()));
    if (target && writable) {
      try {
        writeSummary(target, failedSummary(options.job, spec, stats, error));
      } catch {
        // The error the run ended with is what the user hears of, not its summary's.
      }
    }
  };
  if (options.dryRun) {
    releaseSignals();
    try {
      spec = await load();
      Logger.job = spec.name;
      // Loaded only here: it brings the whole pipeline, which a run loads on its own thread.
      const { checkJob } = await import('./validate.js');
      const { job, ...checked } = await checkJob(spec, logger, { restart: options.restart });
      // What a run would read and write; nothing else is written.
      if (target) summarize(target, { job, status: 'dry-run', exit_code: 0, ...checked });
    } catch (error) {
      await summarizeFailure(error);
      throw error;
    }
    return undefined;
  }
  let progress: Progress | undefined;
  // Signals are trapped from the start: a stop asked for while the job and model load is honoured before the run.
  const signals = trapSignals((name) => {
    progress?.stopping();
    progress?.stop();
    const what = spec ? `after the batches in flight${spec.output.format === 'parquet' ? ' and the rest of their Parquet row group' : ''}` : 'before the run starts';
    logger.event('warn', 'stopping', `${name} received: stopping ${what} (send it again to stop at once)`, { signal: name });
  }, (name) => {
    // Said, and summed up, before the process ends: nothing else is written after a second signal.
    const message = `${name} again: stopped at once${spec?.checkpoint ? '; run the same command to resume from the last checkpoint' : ''}`;
    logger.event('error', 'stopped', message, { signal: name });
    if (!target || !summaryChecked) return;
    try {
      writeSummary(target, failedSummary(options.job, spec, stats, new BentoError('INTERRUPTED', message, { signal: name })));
    } catch {
      // No summary rather than no stop.
    }
  });
  let summary: RunSummary;
  try {
    spec = await load();
    Logger.job = spec.name;
    // JSON logs are one object a line: a bar's redraws would break them, so it reports as `log` does.
    const mode = options.progress === 'auto' || (options.progress === 'bar' && options.logFormat === 'json') ? (process.stderr.isTTY && options.logFormat === 'text' && process.env.TERM !== 'dumb' ? 'bar' : 'log') : options.progress;
    const bundle = await resolveBundle(spec.model.ref, spec.model.baseDir);
    if (signals.signal.aborted) throw notStarted(signals.signal.reason);
    summary = await runJobThread({ spec, bundle, restart: options.restart }, {
      signal: signals.signal, now: signals.now, stats,
      started: (job) => {
        logger.event('info', 'start', `${job.name}: scoring ${job.files.length === 1 ? job.files[0] : `${job.files.length} files`} with ${job.model}`, {
          job: job.name, ...loggedInput('input', job.files), model: job.model, output: job.output,
        });
        if (!signals.signal.aborted) progress = startProgress(stats, { job: job.name, mode, logger });
      },
      // Where the model runs is for tuning (README, Performance), not news to a person watching.
      warn: (m) => logger.event('warn', 'warning', m), info: (m, event) => logger.event(event === 'placement' ? 'debug' : 'info', event, m),
    }, options.scoringThread);
  } catch (error) {
    await summarizeFailure(error);
    throw error;
  } finally {
    // A signal now (the run has ended) must not kill the process with a status that contradicts
    // the summary: the handlers stay, and take a first signal as said (signals.ts).
    signals.settle();
    progress?.stop();
  }
  if (summary.status === 'already-finished') {
    logger.event('info', 'already-finished', `${spec.name}: already finished at ${summary.finished_at} (${thousands(summary.output.rows)} rows in ${summary.output.path}); nothing to do. Use --restart to run it again.`, { summary });
  } else reportSummary(summary, logger);
  if (target) summarize(target, summary);
  return summary;
}

/**
 * The summary of a run that ended with `error`: its status, the error as the log gives it, the
 * rows it got through, and of those the rows committed in the checkpoint (what a rerun resumes
 * from; the rest it does again). Without a job (it could not be read), the job file and the error.
 */
function failedSummary(jobFile: string, spec: JobSpec | undefined, stats: RunStats, error: unknown): Record<string, unknown> {
  const e = error instanceof BentoError ? error : undefined;
  const outcome = {
    status: e?.code === 'INTERRUPTED' ? 'interrupted' : 'failed',
    exit_code: exitCodeFor(error),
    error: e ? errorFields(e) : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) },
  };
  if (!spec) return { job: null, job_file: resolve(jobFile), ...outcome };
  return {
    job: spec.name,
    ...outcome,
    input: { rows: stats.rowsDone ?? stats.rowsRead },
    output: { path: spec.output.path, format: spec.output.format, rows: stats.rowsWritten },
    // A checkpoint the run refused (the input changed since) is no place a rerun resumes from: only --restart, which discards it, goes on.
    rows_committed: spec.checkpoint && e?.code !== 'RESUME_REFUSED' ? committedRows(spec.checkpoint.path) : 0,
    rows_failed: stats.rowsFailed ?? 0,
    // Too many bad rows: the errors file is written for the user to see them; otherwise none is.
    errors: e?.code === 'TOO_MANY_ERRORS' ? spec.errors.path : null,
  };
}

/** Whether `file` holds a run's summary (a JSON object with its job and status), as this command writes one. */
async function isSummary(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || info.size > 1 << 20) return false;
  // Empty: made to be written (mktemp, Kubernetes' /dev/termination-log).
  if (info.size === 0) return true;
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> | null;
    return json !== null && typeof json === 'object' && 'job' in json && typeof json.status === 'string';
  } catch {
    return false;
  }
}

/** Where --summary-json is written, and how. */
interface SummaryTarget {
  readonly path: string;
  /** Written through, never removed or renamed over: a pipe, a device, or this process's own descriptor. */
  readonly inPlace: boolean;
  /** /dev/stdout, /dev/stderr, /dev/fd/N: this process's own descriptor, written as it is (a `>>` log is appended to, not emptied). */
  readonly fd?: number;
}

/**
 * Follows `file`'s links: /dev/stdout (a link to /proc/self/fd/1, which names the file a shell
 * redirected to) and the like are this process's descriptors, written in place; a link to a
 * file is replaced at its target, the link kept. Replacing /dev/stdout by a file would send every
 * later process's output there.
 */
async function summaryTarget(file: string): Promise<SummaryTarget> {
  const descriptor = (path: string) => {
    const match = /^\/(?:dev\/(stdout|stderr)|dev\/fd\/(\d+)|proc\/self\/fd\/(\d+))$/.exec(path);
    return !match ? undefined : match[1] === 'stdout' ? 1 : match[1] === 'stderr' ? 2 : Number(match[2] ?? match[3]);
  };
  let path = file;
  for (let hop = 0; hop < 32; hop++) {
    const fd = descriptor(path);
    const problem = fd === undefined || fd === 1 || fd === 2 ? undefined : descriptorProblem(fd);
    if (problem) throw new BentoError('USAGE', `--summary-json ${file}: ${problem}`, { hint: 'Give --summary-json a file, /dev/stdout, or a descriptor the shell opened for writing (9>summary.json, >(jq .)).' });
    if (fd !== undefined) return { path: file, inPlace: true, fd };
    const link = await readlink(path).catch(() => undefined);
    if (link === undefined) break;
    path = resolve(dirname(path), link);
  }
  const real = await realpath(path).catch(() => path);
  const info = await stat(real).catch(() => undefined);
  return { path: real, inPlace: info !== undefined && !info.isFile() };
}

/**
 * Why descriptor `fd` (/dev/fd/N) is not one to write a summary to, on Linux: not open, open for
 * reading, or one of node's own (libuv's epoll and event descriptors, its self-pipes: writing
 * there crashed the process), where the shell's `9>file` or `>(jq .)` is none of those.
 */
function descriptorProblem(fd: number): string | undefined {
  const link = (n: number | string) => {
    try {
      return readlinkSync(`/proc/self/fd/${n}`);
    } catch {
      return undefined;
    }
  };
  if (!existsSync('/proc/self/fd')) return undefined;
  const target = link(fd);
  const flags = target === undefined ? undefined : /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
  if (target === undefined || flags === undefined) return `descriptor ${fd} is not open (a shell opens one with ${fd}>FILE)`;
  if ((parseInt(flags, 8) & 3) === 0) return `descriptor ${fd} is open for reading only`;
  const own = `descriptor ${fd} is one of bento-batch's own (${target}), not one the shell opened for it`;
  if (target.startsWith('anon_inode:')) return own;
  // A pipe both of whose ends this process holds is a self-pipe; the shell's >(…) hands over the writing end alone.
  if (target.startsWith('pipe:') && readdirSync('/proc/self/fd').some((other) => other !== String(fd) && link(other) === target)) return own;
  return undefined;
}

/**
 * The --summary-json file can be written: its folder is made, it is not a folder itself, it is
 * not a file the job reads or writes, and a file there already is a summary (it is replaced).
 */
async function summaryWritable(target: SummaryTarget, spec: JobSpec): Promise<void> {
  const file = target.path;
  if (target.fd !== undefined) return;
  const named = [['the job file', spec.jobFile], ['output.path', spec.output.path], ['errors.path', spec.errors.path], ...(spec.checkpoint ? [['checkpoint.path', spec.checkpoint.path]] : [])] as const;
  for (const [what, path] of named) {
    if (await sameFile(file, path)) throw new BentoError('USAGE', `--summary-json ${file} is ${what}: the summary would replace it`, { file, hint: 'Give --summary-json a file of its own, e.g. summary.json.' });
  }
  if (!target.inPlace && (await stat(file).catch(() => undefined))?.isFile() && !(await isSummary(file))) {
    throw new BentoError('USAGE', `--summary-json ${file} exists and is not a summary: the summary would replace it`, { file, hint: 'Give --summary-json a file of its own, e.g. summary.json, or remove that file if it is not needed.' });
  }
  try {
    await mkdir(dirname(file), { recursive: true });
    const info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    // A pipe or device is written through (writeSummary): its folder need not be writable.
    if (target.inPlace) await access(file, constants.W_OK).catch((error: NodeJS.ErrnoException) => { if (error.code !== 'ENOENT') throw error; });
    else if (!info || info.isFile()) await access(dirname(file), constants.W_OK);
  } catch (error) {
    throw summaryError(file, error);
  }
}

/** writeSummary for a run that ended well: a summary that cannot be written is the command's error. */
function summarize(target: SummaryTarget, summary: unknown): void {
  try {
    writeSummary(target, summary);
  } catch (error) {
    throw summaryError(target.path, error);
  }
}

function summaryError(file: string, error: unknown): BentoError {
  const e = error as NodeJS.ErrnoException;
  const why = fsReason(e) ?? e.message;
  return new BentoError('OUTPUT_WRITE', `Cannot write the summary ${file} (--summary-json): ${why}`, {
    file, cause: error, hint: e.code === 'ENOSPC' ? 'Free some space; the job itself finished (its output is in place), so a rerun says so and writes the summary.' : 'Give --summary-json a file in a writable folder.',
  });
}

/**
 * Writes the summary beside `file` and renames it there: a scheduler reading it never finds half a
 * summary, or an empty file on a full disk. A pipe or device (`--summary-json >(jq …)`, a FIFO,
 * /dev/stdout) is written through, as it is read, not replaced by a file. Done at once: also
 * from a second signal's handler, just before the process ends.
 */
function writeSummary(target: SummaryTarget, summary: unknown): void {
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  const file = target.path;
  if (target.fd !== undefined) {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length;) at += writeSync(target.fd, bytes, at);
    return;
  }
  const info = statOrNone(file);
  if (target.inPlace || (info && !info.isFile())) {
    writeFileSync(file, text);
    return;
  }
  // Hidden and named as removeDeadTemps finds a dead process's: a kill between write and rename left `FILE.PID.tmp` for good.
  const temp = besideTemp(file);
  try {
    writeFileSync(temp, text);
    try {
      renameSync(temp, file);
    } catch (error) {
      // A file mounted in place (Kubernetes' /dev/termination-log, docker -v summary.json:…) cannot be renamed over: written in place.
      if (!['EBUSY', 'EXDEV', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      writeFileSync(file, text);
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

function statOrNone(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}
