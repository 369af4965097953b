/**
 * @file The main job: source → batcher → preprocess → model workers → postprocess → sink.
 * Up to `batch.concurrency` batches are in the model at once; results are written strictly in
 * input order. What a found checkpoint means is checkpoint/resume.ts; a batch through the model
 * and into output rows, run/scorer.ts; when to commit, run/commits.ts. This file wires them up
 * and owns the run's end: publish, or keep (resumable) or discard the partial output.
 */
import { constants } from 'node:fs';
import { access, copyFile, open, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Batch, batches } from '../batch/batcher.js';
import { failpoint } from '../checkpoint/failpoint.js';
import { acquireLock, type Lock, removeDeadLockTemps } from '../checkpoint/lock.js';
import { decideResume } from '../checkpoint/resume.js';
import { type CheckpointState, checkCheckpointDir, detachMarker, detachPartials, partialErrorsFile, partialFile, readState, removeCheckpoint, removeStrayTemps, writeState } from '../checkpoint/state.js';
import { usableCores } from '../cores.js';
import { BentoError, closestName, columnList, fsReason, thousands, yamlList } from '../errors.js';
import { type JobSpec, sameFile, writtenByRuns } from '../job/spec.js';
import type { Bundle } from '../model/bundle.js';
import { weightBytes } from '../model/external.js';
import { fileIdentity, ModelPool } from '../model/pool.js';
import { type Manifest, outputColumns } from '../model/manifest.js';
import { predictionFields } from '../model/postprocess.js';
import { Preprocessor } from '../model/preprocess.js';
import { validateSignature } from '../model/validate.js';
import { besideTemp, outputError, publish, removeDeadTemps } from '../sink/atomic.js';
import { openSink, type Sink, tidyPartial } from '../sink/index.js';
import { openSinkThread, smallInput, startSinkThreads, stopSinkThreads } from '../sink/thread.js';
import { openSource, type Field, type Source } from '../source/index.js';
import { cell, missingTokens, type SourcePosition, type SourceProgress } from '../source/types.js';
import { streamWritten, withPrefix } from '../source/stream.js';
import { notStarted } from './signals.js';
import { Commits } from './commits.js';
import { memoryLimit, memoryLimitWarning, writerShare, writerYoungMb } from './memory.js';
import { ErrorLog } from './rowerrors.js';
import { outputBatch, type Scored, Scorer } from './scorer.js';

/** Live counters the progress reporter reads. */
export interface RunStats {
  /** Input rows read into batches. */
  rowsRead: number;
  /** Input rows whose batches are written (scored or failed): the resume point counts these. */
  rowsDone?: number;
  /** Output rows written. */
  rowsWritten: number;
  /** Of `rowsWritten`, those a resumed run found committed: the rate counts this run's rows only. */
  rowsWrittenBefore?: number;
  rowsFailed?: number;
  batches: number;
  /** Source progress (bytes or rows) for the ETA. */
  sourceProgress?: () => SourceProgress | undefined;
}

export interface RunSummary {
  readonly job: string;
  /** `already-finished`: a rerun of a finished job, which did nothing. */
  readonly status: 'completed' | 'resumed' | 'already-finished';
  /** 0: a scheduler reads every summary, a failed run's too (status failed or interrupted), by the same field. */
  readonly exit_code: 0;
  readonly resumed_at_row?: number;
  readonly finished_at?: string;
  readonly input: { readonly files: number; readonly format: string; readonly rows: number };
  readonly output: { readonly path: string; readonly format: string; readonly rows: number; readonly columns: readonly string[] };
  /** Rows that could not be scored, listed in `errors`; with emit: skip, input.rows = output.rows + rows_failed. */
  readonly rows_failed: number;
  /** The errors file, where one was written (some rows failed); null otherwise. */
  readonly errors: string | null;
  /** `placement`: where the batches ran at the end (auto may move them onto the scoring thread). */
  readonly model: { readonly name: string; readonly version: string; readonly providers: readonly string[]; readonly placement?: 'workers' | 'inline' };
  readonly batch: { readonly size: number; readonly concurrency: number; readonly count: number };
  readonly seconds: number;
  readonly rows_per_second: number;
}

export interface RunHooks {
  readonly signal?: AbortSignal;
  /** Once `signal` has aborted: stop at the next batch even inside a Parquet row group (a second signal to PID 1). */
  readonly stopNow?: () => boolean;
  /** Discard any checkpoint and start over. */
  readonly restart?: boolean;
  /** `event` names the log event (resume, placement, lock-wait). */
  readonly info?: (message: string, event: string) => void;
  readonly stats?: RunStats;
  readonly warn?: (message: string) => void;
  /** The run holds the job (no other run of it is going on) and starts: the CLI's `start` event. */
  readonly started?: () => void;
  /** The model is loaded and the output's threads are started: reading starts. */
  readonly loaded?: () => void;
}

/** A job checked against its bundle and inputs, ready to run or to report on (validate / dry run). */
export interface PreparedJob {
  readonly spec: JobSpec;
  readonly bundle: Bundle;
  readonly batchSize: number;
  readonly source: Source & { format: string; readonly skipped: readonly string[]; readonly partitions: readonly Field[]; readonly notes: readonly string[]; readonly partitionKeys: readonly string[] };
  readonly keep: readonly Field[];
  /** The columns the run writes (predictions, `error`), filled in by runPrepared for a JSON Lines input copied whole (source/jsonl.ts, `written`). */
  readonly written: Set<string>;
}

/** Opens the bundle and the input, and checks every cross-stage rule; reads no more than the first chunk. */
export async function prepareJob(spec: JobSpec, resolved?: Bundle): Promise<PreparedJob> {
  // Loaded only without a bundle: the scoring thread is given one, and starts without the manifest's schema checks.
  const bundle = resolved ?? (await (await import('../model/bundle.js')).resolveBundle(spec.model.ref, spec.model.baseDir));
  const m = bundle.manifest;
  // A fixed batch is padded to its size on every call: fewer rows a call would only pay for more padding.
  const defaultSize = m.batch.fixed ? m.batch.max_size : Math.min(256, m.batch.max_size);
  const batchSize = spec.batch.size ?? defaultSize;
  if (batchSize > m.batch.max_size) {
    throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: batch.size: expected at most ${m.batch.max_size} (the largest batch model ${m.name}:${m.version} accepts), got \`${batchSize}\` (number)`, {
      file: spec.jobFile, hint: `Set batch.size to ${m.batch.max_size} or less, or leave it out to use ${defaultSize}.`,
    });
  }
  // Found now, not when the finished output is moved there after the whole run.
  for (const [key, path] of [['output.path', spec.output.path], ['errors.path', spec.errors.path]] as const) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      throw new BentoError('OUTPUT_WRITE', `Cannot write output ${path}: it is a directory`, {
        file: path, hint: `${key} names the file to write, e.g. ${join(path, key === 'output.path' ? `scored.${spec.output.format}` : 'errors.jsonl')}.`,
      });
    }
    // The output is written beside its path and renamed onto it: /dev/stdout (a link to a pipe,
    // a terminal or a file) would be replaced by a file, for every process after this one too.
    // /dev/shm is a tmpfs like any other (a container's scratch space, Kubernetes' emptyDir medium: Memory).
    if ((info && !info.isFile()) || /^\/(dev\/(?!shm\/)|proc\/|sys\/)/.test(path)) {
      throw new BentoError('OUTPUT_WRITE', `Cannot write output ${path}: it is not a regular file (a device, pipe or stream)`, {
        file: path, hint: `${key} names a file that bento-batch writes whole and moves into place; write a file and read it from there (cat, a pipe) once the run is done.`,
      });
    }
    await folderWritable(key, path);
  }
  // A run replaces an errors file it wrote before (or removes it when no row failed): a file of another kind there is not one to lose.
  if (!(await errorsFileOrNone(spec.errors.path))) {
    throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: errors.path ${spec.errors.path} exists and is not an errors file bento-batch wrote; a run would replace or remove it`, {
      file: spec.jobFile, hint: `Leave errors.path out (it is ${spec.output.path}.errors.jsonl), or name a file of its own.`,
    });
  }
  if (spec.checkpoint) {
    await folderWritable('checkpoint.path', spec.checkpoint.path);
    await checkCheckpointDir(spec.checkpoint.path, spec.jobFile);
  }
  const modelColumns = modelColumnsOf(m);
  // Keys a JSON Lines file must hold: a column with a fill may be absent (Spark leaves out null fields).
  const unfilled = [...new Set([...m.inputs.filter((i) => i.fill === undefined).flatMap((i) => i.columns), ...(m.text && m.text.fill === undefined ? [m.text.column] : [])])];
  const wanted = spec.input.columns ?? (spec.output.keep ? [...new Set([...modelColumns, ...spec.output.keep])] : undefined);
  if (spec.input.columns) {
    const dropped = modelColumns.filter((c) => !spec.input.columns!.includes(c));
    if (dropped.length > 0) {
      throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: input.columns leaves out ${dropped.map((c) => `"${c}"`).join(', ')}, which model ${m.name} needs`, { file: spec.jobFile, hint: `Add ${dropped.join(', ')} to input.columns.` });
    }
  }
  // CSV to CSV keeping every input column: records go to the writer as the text read, whole.
  const csvOut = spec.output.format === 'csv';
  const keepAll = spec.input.columns === undefined && spec.output.keep === undefined;
  const wholeLines = csvOut && keepAll;
  // JSON Lines to JSON Lines keeping every key: lines go to the writer as read, whole, too.
  const jsonLines = keepAll && spec.output.format === 'jsonl';
  const written = new Set<string>();
  // A Parquet output keeps a CSV column's booleans, dates and timestamps typed, as DuckDB reads them;
  // the model's columns are read as text and numbers, as the manifest's tensors take them.
  const temporal = spec.output.format === 'parquet' ? { temporal: { except: modelColumns } } : {};
  // A list column only the model reads may come as typed rows (Parquet: NestedDecoding's typedRows;
  // JSON Lines: Float64Array views from the parsing thread): kept, its cells go on to the writers
  // as the arrays they take.
  const typedLists = spec.output.keep ? new Set(modelColumns.filter((c) => !spec.output.keep!.includes(c))) : undefined;
  const source = await openSource({ ...spec.input, columns: wanted }, { rawText: csvOut, ...temporal, required: unfilled, memoryMb: spec.limits.memoryMb, ...(typedLists?.size ? { typedLists } : {}), ...(wholeLines ? { linesFor: spec.output.csv.delimiter, valuesOf: modelColumns } : {}), ...(jsonLines ? { jsonLines, valuesOf: modelColumns, written } : {}) }, writtenByRuns(spec));
  // A column read as text reaches the model as text, which it reads as a number with a point and no thousands separators.
  const localized = source.format === 'csv' && (spec.input.csv.thousands !== undefined || (source.dialect?.includes('decimal comma') ?? false));
  const asText = [...spec.input.csv.text ?? [], ...Object.entries(spec.input.csv.types ?? {}).filter(([, type]) => type === 'string').map(([name]) => name)];
  const textForModel = localized ? asText.filter((name) => modelColumns.includes(name)) : [];
  if (textForModel.length > 0) {
    const key = spec.input.csv.text?.includes(textForModel[0]!) ? 'text' : 'types';
    throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: input.csv.${key} lists ${textForModel.map((c) => `"${c}"`).join(', ')}, which model ${m.name} reads as numbers; in a file with ${spec.input.csv.thousands !== undefined ? 'thousands separators' : 'a decimal comma'} only a number column is read with them`, {
      file: spec.jobFile, column: textForModel[0], hint: `Leave ${textForModel.length === 1 ? 'it' : 'them'} out of input.csv.${key} (codes in this file are not looked for: its numbers are read as numbers).`,
    });
  }
  // A model reads numbers and text: a day, an instant or a boolean is neither (derive its features
  // before scoring); read as text or numbers instead, the model's columns are the same in every output.
  const typed = source.format === 'csv' ? Object.entries(spec.input.csv.types ?? {}).find(([name, type]) => !['string', 'float64', 'int64'].includes(type) && modelColumns.includes(name)) : undefined;
  if (typed) {
    const [name, type] = typed;
    throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: input.csv.types makes "${name}" ${type === 'bool' ? 'a boolean' : `a ${type.replace('_ns', '')}`}, but model ${m.name} reads it, and a model reads numbers and text`, {
      file: spec.jobFile, column: name, hint: `Leave "${name}" out of input.csv.types, or declare it text, double or bigint.`,
    });
  }
  // An input file named as the output (input `data/` holding `data/b.csv`, output.path `data/b.csv`)
  // is left out of the input as a run's own output, and the run would replace it: it must be one.
  if (spec.checkpoint) {
    const ckpt = spec.checkpoint;
    for (const [key, path] of [['output.path', spec.output.path], ['errors.path', spec.errors.path]] as const) {
      const taken = source.skipped.find((f) => sameFile(f, path));
      if (taken === undefined) continue;
      // The output is this job's where its checkpoint is: finished with it, or a run under way (resumed, or stopped) after one that wrote it.
      const ours = key === 'errors.path' ? await errorsFileOrNone(taken) : await readState(ckpt.path).then((state) => state?.status === 'running' || (state?.finished !== undefined && sameFile(state.finished.output, taken)), () => false);
      if (!ours) {
        throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: ${key} ${path} is one of the input files (input.path ${spec.input.path} matches it), and no finished run of this job wrote it: the run would replace it`, {
          file: spec.jobFile, hint: `Write the ${key === 'output.path' ? 'output' : 'errors file'} outside the input's folder, or point input.path at the input files alone.`,
        });
      }
    }
  }
  const names = source.schema.map((f) => f.name);
  for (const column of [...modelColumns, ...(spec.output.keep ?? [])]) {
    if (names.includes(column)) continue;
    const closest = closestName(column, names);
    const needer = modelColumns.includes(column) ? `model ${m.name} needs column "${column}"` : `output.keep names column "${column}"`;
    throw new BentoError('COLUMN_MISSING', `Column "${column}" is missing: ${needer}, but ${source.files[0]} has no such column${closest ? `; the closest is "${closest.guess}"` : ''}`, {
      file: source.files[0], column, hint: (source.partitionKeys.includes(column) ? `"${column}" is a partition column (the ${column}=… folders): add it to input.columns to read it.` : undefined)
        ?? notRead(source.notes, column) ?? closest?.hidden
        ?? misread(source, names) ?? (closest ? `Did you mean "${closest.guess}"? Rename it in the input, or fix the name in the ${modelColumns.includes(column) ? 'manifest' : 'job file'}.` : `The input has columns: ${columnList(names)}.`),
    });
  }
  // A Parquet DATE or TIMESTAMP fed as numbers would be its count of days or microseconds since
  // 1970 (a TIMESTAMP_NS's nanoseconds), which no model was trained on by accident.
  const dated = source.schema.find((f) => (f.type === 'date' || f.type === 'timestamp') && modelColumns.includes(f.name));
  if (dated) {
    throw new BentoError('INPUT_FORMAT', `Column "${dated.name}" of ${source.files[0]} is a ${dated.type}, but model ${m.name} reads it, and a model reads numbers and text`, {
      file: source.files[0], column: dated.name,
      hint: `Derive the feature the model was trained on when the file is written (DuckDB: epoch(${dated.name}) for seconds, dayofweek(${dated.name}), …), or cast the column to a number or text there.`,
    });
  }
  const keep = spec.output.keep ? spec.output.keep.map((k) => source.schema.find((f) => f.name === k)!) : source.schema;
  return { spec, bundle, batchSize, source, keep, written };
}

/** Where a missing column names key=value folders that `auto` did not read as partitions: why (the source's note). */
function notRead(notes: readonly string[], column: string): string | undefined {
  const note = notes.find((n) => n.includes(`/${column}=`));
  return note && `"${column}" names key=value folders here, but they were not read as partition columns: ${note}.`;
}

/**
 * Where a column is missing because the file was read the wrong way: a CSV header of one column
 * that holds another delimiter (input.csv.delimiter set to the wrong one), or JSON Lines of no
 * keys (a CSV file named .jsonl, or input.format: jsonl on one).
 */
function misread(source: PreparedJob['source'], names: readonly string[]): string | undefined {
  if (source.format === 'csv' && names.length === 1) {
    const other = [',', ';', '\t', '|'].find((d) => names[0]!.includes(d));
    if (other) return `The header is read as one column, "${names[0]!.length > 60 ? `${names[0]!.slice(0, 57)}...` : names[0]}": the file's delimiter looks like ${other === '\t' ? 'a tab' : `"${other}"`}. Set input.csv.delimiter: ${other === '\t' ? '"\\t"' : `"${other}"`}, or leave it out to have it sniffed.`;
  }
  if (source.format === 'jsonl' && names.length === 0) return `No line of ${source.files[0]} read as a JSON object: is it JSON Lines? A CSV file needs input.format: csv (or a .csv name); see the errors of its lines with bento-batch validate.`;
  return undefined;
}

/** Whether `path` does not exist, is empty, or holds a run's errors (its first line a JSON object with the errors file's `code` and `reason`). */
export async function errorsFileOrNone(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return true;
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // Empty: truncated (logrotate's copytruncate, a touch), nothing to lose.
    if (bytesRead === 0) return true;
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const end = text.indexOf('\n');
    // A line longer than what was read (a long record as its value) is told by its start, as run/rowerrors.ts writes it.
    if (end === -1 && bytesRead === buffer.length) return text.startsWith('{"file":');
    const line = JSON.parse(end === -1 ? text : text.slice(0, end)) as Record<string, unknown> | null;
    return line !== null && typeof line === 'object' && typeof line.code === 'string' && 'reason' in line;
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/** The nearest folder above `path` that exists is a folder this process may write in (the rest is made). */
async function folderWritable(key: string, path: string): Promise<void> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (!info && dirname(dir) !== dir) continue;
    const why = !info ? undefined : !info.isDirectory() ? `${dir} is a file, not a folder` : (await access(dir, constants.W_OK).then(() => undefined, () => `${dir} is not writable`));
    if (why) throw new BentoError('OUTPUT_WRITE', `Cannot write output ${path}: ${why}`, { file: path, hint: `Check ${key} and that its directory is writable.` });
    return;
  }
}

/**
 * Refuses kept input columns named as a prediction (or as the `error` column of `errors.emit:
 * null-row`): an input scored before, say. Every such column at once, and a keep list without them.
 */
export function checkOutputColumns(job: PreparedJob, predictions: readonly Field[]): void {
  const { spec } = job;
  const written = new Set([...predictions.map((p) => p.name), ...(spec.errors.emit === 'null-row' ? ['error'] : [])]);
  const clashes = job.keep.filter((k) => written.has(k.name)).map((k) => k.name);
  if (clashes.length === 0) return;
  const listed = clashes.map((c) => `"${c}"`).join(', ');
  throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: output ${clashes.length === 1 ? `column ${listed} is` : `columns ${listed} are`} both ${clashes.length === 1 ? 'an input column' : 'input columns'} and ${clashes.length === 1 ? 'a column' : 'columns'} the run writes (predictions of model ${job.bundle.manifest.name}${spec.errors.emit === 'null-row' ? ', or the error column of errors.emit: null-row' : ''}); an input scored before, perhaps`, {
    file: spec.jobFile, column: clashes[0], hint: `Leave ${clashes.length === 1 ? 'it' : 'them'} out of output.keep: keep: ${yamlList(job.keep.filter((k) => !written.has(k.name)).map((k) => k.name))}.`,
  });
}

/**
 * Runs a prepared job to completion (or until `signal` aborts); the output appears only when
 * complete. With a checkpoint, holding the job's lock (checkpoint/lock.ts): a second run of the
 * job at the same time stops with JOB_RUNNING.
 */
/** Prepared jobs that have run: a second run would find their input read (CSV, JSON Lines) and, with restart, remove the first one's checkpoint first. */
const ran = new WeakSet<PreparedJob>();

export async function runPrepared(job: PreparedJob, hooks: RunHooks = {}): Promise<RunSummary> {
  if (ran.has(job)) throw new BentoError('USAGE', `Job ${job.spec.name} was prepared once and has run: its input has been read`, { hint: 'Call prepareJob again (with a fresh loadJob) for each run.' });
  ran.add(job);
  const lock = job.spec.checkpoint
    ? await acquireLock(job.spec.checkpoint.path, job.spec.name, { signal: hooks.signal, waiting: (message) => hooks.info?.(message, 'lock-wait') })
    : undefined;
  try {
    if (lock) await Promise.all([removeStrayTemps(job.spec.checkpoint!.path), removeDeadLockTemps(job.spec.checkpoint!.path)]);
    return await runLocked(job, hooks, lock);
  } finally {
    // A lock that cannot be removed (a folder made read-only, a failing disk) is a stale lock for
    // the next run to take over: said, but not in place of how this run ended.
    await lock?.release().catch((error: unknown) => hooks.warn?.(`${job.spec.name}: could not remove the lock ${job.spec.checkpoint!.path}.lock (${fsReason(error as NodeJS.ErrnoException) ?? (error as Error).message}); the next run takes it over once it is stale`));
  }
}

async function runLocked(job: PreparedJob, hooks: RunHooks, lock: Lock | undefined): Promise<RunSummary> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const { spec, bundle, batchSize, source } = job;
  const m = bundle.manifest;
  const stats = hooks.stats ?? { rowsRead: 0, rowsWritten: 0, batches: 0 };
  stats.sourceProgress = () => source.progress();
  const concurrency = spec.batch.concurrency;
  const ckpt = spec.checkpoint;

  // Before anything else: a run killed while copying its output across file systems left one there.
  await Promise.all([removeDeadTemps(spec.output.path, lock !== undefined), removeDeadTemps(spec.errors.path, lock !== undefined)]);
  // A CSV or JSONL input's first chunk holds fewer rows for a wide file: part of what types its columns.
  const width = source.format === 'parquet' ? undefined : source.schema.length;
  // Taken before the model is hashed: every session the run loads must come from this file (ModelPool, identity).
  const identity = await fileIdentity(bundle.modelFile);
  const decision = ckpt ? await decideResume(spec, ckpt, source.files, bundle, hooks.restart ?? false, width, source.partitions.map((f) => f.name), source.schema) : undefined;
  failpoint('model-hashed');
  if (decision?.kind === 'finished') {
    if (decision.moved) hooks.info?.(`${spec.name}: the run finished at ${decision.state.finished?.finished ?? '?'} had not yet moved its output into place; moved now to ${spec.output.path}`, 'published');
    return finishedSummary(job, decision.state);
  }
  // Not before: a finished job is not started again, and says only that.
  hooks.started?.();
  const resume = decision?.resume;
  /** Throws once another run holds the job: before each write of state.json and the publish. */
  const fence = lock ? () => lock.check() : undefined;
  // A takeover cut short before it parted from the partial files (detachMarker) is finished first.
  const unfinished = ckpt !== undefined && (await stat(detachMarker(ckpt.path)).catch(() => undefined)) !== undefined;
  if (lock?.tookOver || unfinished) {
    const from = lock?.tookOver ? `took the job over from process ${lock.tookOver.pid} on ${lock.tookOver.host}, whose lock was not renewed` : 'an earlier run took the job over and stopped before it parted from the partial files';
    hooks.info?.(`${spec.name}: ${from}; the partial files are ${resume ? 'copied' : 'unlinked'} first, so that a run that lost the job, if only paused, cannot write into this one's`, 'takeover');
    // A resume continues copies of them; a fresh start makes new files where that run's are unlinked.
    if (resume) await detachPartials(ckpt!.path);
    else await detachPartials(ckpt!.path, true);
  }
  if (resume) {
    stats.rowsRead = stats.rowsDone = resume.rows;
    stats.rowsWritten = stats.rowsWrittenBefore = resume.rows - (spec.errors.emit === 'skip' ? resume.errors.failed : 0);
    stats.rowsFailed = resume.errors.failed;
    stats.batches = resume.batches;
    hooks.info?.(`resuming ${spec.name} at row ${thousands(resume.rows)} (checkpoint of ${resume.at})`, 'resume');
  }

  const session = { ...spec.model.threads, graphOptimization: spec.model.graphOptimization, providers: spec.model.providers };
  // The weights read only under a limit: the graph's file and the external data it names (a model past 2 GB keeps them beside it).
  const limit = memoryLimit();
  const memory = limit === undefined ? undefined : memoryLimitWarning(spec.limits.memoryMb, await weightBytes(bundle.modelFile), concurrency, limit);
  if (memory) hooks.warn?.(`${spec.name}: ${memory}`);
  const { cores, cpus, quota } = usableCores();
  if (quota) hooks.info?.(`${spec.name}: ${cores} of ${cpus} cores, as the cgroup CPU quota in ${quota.file} allows; model threads and encoders are sized to them`, 'cores');
  const sinkThreads = { heapMb: Math.round(spec.limits.memoryMb * writerShare), youngMb: writerYoungMb(spec.limits.memoryMb), memoryMb: spec.limits.memoryMb };
  // The output's threads start now and get its schema once the model has loaded; a small
  // input's output is written here instead (smallInput).
  const writeHere = spec.output.writer === 'inline' || (spec.output.writer === 'auto' && smallInput(source));
  const startedThreads = writeHere ? undefined : startSinkThreads(spec.output, sinkThreads);
  const pool = await ModelPool.create(bundle.modelFile, {
    size: concurrency, batchRows: batchSize, placement: spec.model.placement, identity,
    // Known for Parquet input, estimated for uncompressed text: a short run does not load workers it would end before using.
    ...(source.estimatedRows !== undefined ? { expectedBatches: Math.ceil(Math.max(0, source.estimatedRows - (resume?.rows ?? 0)) / batchSize), expectedEstimated: source.totalRows === undefined } : {}),
    workers: { ...session, intraOp: session.intraOp ?? Math.max(1, Math.floor(cores / concurrency)) },
    // Chosen inline, the model has the cores to itself; moved there by auto, it is too cheap to split.
    inline: { ...session, intraOp: session.intraOp ?? (spec.model.placement === 'inline' ? cores : 1) },
    moved: (to, runMs) => hooks.info?.(to === 'inline'
      ? `model ${m.name} runs on the scoring thread: a batch took ${Math.round(runMs * 1000)} µs on a worker, less than handing it there and back costs (model.placement: workers keeps it there)`
      : `model ${m.name} runs on ${concurrency} worker threads: a batch took ${Math.round(runMs * 1000)} µs on the scoring thread, more than handing it to a worker costs (model.placement: inline keeps it there)`, 'placement'),
    notMoved: (to, error) => hooks.warn?.(`model ${m.name} stays on ${to === 'inline' ? 'the worker threads' : 'the scoring thread'}: it could not be loaded on ${to === 'inline' ? 'the scoring thread' : 'worker threads'} (${error.message.split('\n')[0]}). Set model.placement to ${to === 'inline' ? 'workers' : 'inline'} to keep it there without trying.`),
  }).catch(async (error: unknown) => {
    if (startedThreads) await stopSinkThreads(startedThreads);
    throw error;
  });
  hooks.loaded?.();
  const partial = ckpt ? partialFile(ckpt.path, spec.output.format) : besideTemp(spec.output.path);
  const errorsPartial = ckpt ? partialErrorsFile(ckpt.path) : besideTemp(spec.errors.path);
  let sink: Sink | undefined;
  let errorLog: ErrorLog | undefined;
  let commits: Commits | undefined;
  let sealed = false;
  /**
   * The reader's notes (a key past the columns, a late code), said as they come rather than at
   * the end, so that a run stopped or killed has said them; kept in each commit, so that a resume,
   * which reads on from there, says those of the rows before it again (once each).
   */
  let notesShown = 0;
  const said: string[] = [];
  const sayNotes = () => {
    for (const note of source.notes.slice(notesShown)) {
      if (said.includes(note)) continue;
      said.push(note);
      hooks.warn?.(note);
    }
    notesShown = source.notes.length;
  };
  try {
    if (pool.note) hooks.warn?.(pool.note);
    for (const note of Array.isArray(resume?.notes) ? resume.notes.filter((n) => typeof n === 'string') : []) {
      said.push(note);
      hooks.warn?.(`${note} (said by the run this one resumes)`);
    }
    sayNotes();
    if (source.skipped.length > 0) {
      const [first] = source.skipped;
      hooks.warn?.(`input.path ${spec.input.path} also matches ${source.skipped.length === 1 ? `${first}, which a run writes (this job's files, or another run's finished output): it is` : `${source.skipped.length} files runs write (this job's files, or other runs' finished outputs: ${first}, …): they are`} not read`);
    }
    validateSignature(bundle, pool.signature);
    const predictions = predictionFields(m, pool.signature.outputs);
    checkOutputColumns(job, predictions);
    if (ckpt) await writeState(ckpt.path, { version: 1, status: 'running', fingerprint: decision!.fingerprint, total_rows: source.totalRows, committed: resume }, fence);
    const shape = { keep: job.keep, predictions, nullRows: spec.errors.emit === 'null-row', afterLine: source.partitions };
    const schema = [...job.keep, ...predictions, ...(shape.nullRows ? [{ name: 'error', type: 'string' as const }] : [])];
    for (const field of schema.slice(job.keep.length)) job.written.add(field.name);
    const sinkOptions = { partial, ...(resume ? { resume: resume.sink } : {}) };
    sink = startedThreads ? await openSinkThread(spec.output, schema, sinkOptions, sinkThreads, startedThreads) : await openSink(spec.output, schema, sinkOptions);
    errorLog = await ErrorLog.open(errorsPartial, spec.errors, resume?.errors);
    if (ckpt) commits = new Commits(ckpt, sink, errorLog, { fingerprint: decision!.fingerprint, totalRows: source.totalRows, ...(fence ? { fence } : {}), notes: () => said.slice(0, 100), position: (at) => withPrefix(source.files, at) }, resume?.rows ?? 0);
    stats.rowsDone ??= 0;
    stats.rowsFailed ??= 0;
    const scorer = new Scorer(bundle, await Preprocessor.create(bundle, pool.signature, source.format === 'csv'), pool, (resume?.rows ?? 0) > 0);
    let position: SourcePosition | undefined = resume?.source;

    /** Some row scored had a value the model reads (ErrorLog.check); a resume's committed rows had, or it would have stopped. */
    let valued = (resume?.rows ?? 0) > 0;
    const modelColumns = modelColumnsOf(m);
    const write = async (scored: Scored) => {
      if (lock?.lost) throw lock.lost;
      const { batch, errors } = scored;
      const out = outputBatch(scored, bundle, shape);
      await sink!.write(out);
      await errorLog!.record(errors);
      failpoint('batch-written');
      stats.rowsWritten += out.length;
      stats.rowsDone! += batch.length;
      stats.rowsFailed = errorLog!.failed;
      stats.batches++;
      position = batch.end;
      streamWritten(source.files, position);
      if (source.notes.length > notesShown) sayNotes();
      valued ||= holdsValue(batch, modelColumns, errors);
      errorLog!.check(stats.rowsDone!, spec.errors.path, false, valued);
      await commits?.maybe({ rows: stats.rowsDone!, batches: stats.batches, source: position });
    };

    const inFlight: Promise<Scored>[] = [];
    let stopped = false;
    // Stop where the output can be committed: at once for CSV and JSONL; Parquet finishes its
    // row group (bounded by output.parquet.row_group_rows; a second signal stops at once).
    const stopHere = async () => {
      while (inFlight.length > 0) await write(await inFlight.shift()!);
      return !ckpt || sink!.committable || (hooks.stopNow?.() ?? false);
    };
    const input = batches(source.chunks(resume?.source), batchSize, { row: resume?.rows ?? 0, index: resume?.batches ?? 0 });
    /** A read of the input under way (left waiting where a signal, or a failed write at a stop, ended the loop): the reader cannot be closed before it returns. */
    let waiting = false;
    try {
      for (;;) {
        // A signal stops the run also while the input gives nothing (a pipe whose writer stalls).
        waiting = true;
        const step = await nextOrStop(input.next(), hooks.signal, stopHere);
        waiting = step === undefined;
        if (step === undefined) {
          stopped = true;
          break;
        }
        if (step.done) break;
        const batch = step.value;
        if (hooks.signal?.aborted && (await stopHere())) {
          stopped = true;
          break;
        }
        stats.rowsRead += batch.length;
        const run = scorer.score(batch);
        run.catch(() => undefined); // awaited in order below; this only keeps Node from calling it unhandled meanwhile
        inFlight.push(run);
        // The pool holds a few batches per worker (workerDepth); one more prepared keeps them busy while this thread writes.
        while (inFlight.length > pool.capacity) await write(await inFlight.shift()!);
      }
    } finally {
      // Closes the reader (its files, its parsing thread), as a for-await loop's end does.
      const closed = input.return(undefined);
      if (waiting) closed.catch(() => undefined);
      else await closed;
    }
    // On a signal too: the batches already in the model are finished and kept.
    while (inFlight.length > 0) await write(await inFlight.shift()!);
    await commits?.settled();
    // A Parquet run told to stop reads on to its row group's end; when the input ends first, every
    // row is scored, and the output is finished rather than thrown away with the row group.
    if (hooks.signal?.aborted && !stopped) hooks.info?.(`the input ended before the row group a stop waits for: the output is complete, and is written as a finished run's`, 'stop-at-end');
    if (hooks.signal?.aborted && stopped) {
      if (position) await commits?.maybe({ rows: stats.rowsDone!, batches: stats.batches, source: position }, true);
      const committedRows = commits?.committedRows ?? 0;
      const signal = hooks.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
      throw new BentoError('INTERRUPTED', ckpt && committedRows > 0
        ? `Interrupted by ${signal}: ${thousands(committedRows)} rows are committed in ${ckpt.path}`
        : `Interrupted by ${signal} after ${thousands(stats.rowsDone!)} rows, before ${ckpt ? 'the first checkpoint' : 'the end (checkpointing is off)'}; no output was kept`, {
        signal, hint: ckpt && committedRows > 0 ? 'Run the same command again to resume where it stopped.' : 'Run the same command again to start over.',
      });
    }
    errorLog.check(stats.rowsDone!, spec.errors.path, true, valued);
    sayNotes();
    await sink.seal();
    await errorLog.seal();
    sealed = true;
    failpoint('output-sealed');
    const seconds = (performance.now() - started) / 1000;
    if (ckpt) {
      await writeState(ckpt.path, {
        version: 1, status: 'finished', fingerprint: decision!.fingerprint, total_rows: source.totalRows, committed: undefined,
        finished: { output: spec.output.path, rows: stats.rowsWritten, failed: errorLog.failed, batches: stats.batches, started: startedAt, finished: new Date().toISOString(), seconds: Math.round(seconds * 1000) / 1000, bytes: (await stat(partial).catch((error: unknown) => { throw outputError(partial, error); })).size,
          providers: pool.providers, placement: pool.placement },
      }, fence);
      failpoint('finished-recorded');
    }
    await fence?.();
    // The errors file first (it exists when rows failed; one left by an earlier run of this job
    // would mislead): the output's appearing says the run is done, its errors file with it.
    if (errorLog.failed > 0) await publish(errorsPartial, spec.errors.path);
    else await Promise.all([rm(errorsPartial, { force: true }), rm(spec.errors.path, { force: true })]);
    await publish(partial, spec.output.path).catch(async (error: unknown) => {
      // Gone from under it: the run that took the job over moved it; that is the lost lock's doing.
      await lock?.check();
      throw error;
    });
    await tidyPartial(partial);
  } catch (error) {
    // Too many bad rows: show them where the user will look, though the output does not appear.
    if (error instanceof BentoError && error.code === 'TOO_MANY_ERRORS' && errorLog) {
      await errorLog.sync();
      await copyFile(errorsPartial, spec.errors.path).catch(() => undefined);
    }
    throw error;
  } finally {
    if (lock?.lost) {
      // The checkpoint is another run's now: its files are neither kept nor removed by this one.
      await sink?.close().catch(() => undefined);
      await errorLog?.close().catch(() => undefined);
    } else if (!sealed) {
      await commits?.settled().catch(() => undefined);
      // A checkpoint with committed rows stays for the resume; with none there is nothing to keep.
      if (ckpt && (commits?.committedRows ?? resume?.rows ?? 0) > 0) {
        await sink?.close();
        await errorLog?.close();
      } else {
        await sink?.discard();
        await errorLog?.discard();
        if (ckpt) await removeCheckpoint(ckpt.path);
      }
    }
    // The output's threads, unless a sink took them (one that failed to open has stopped them: stopping again is harmless).
    if (!sink && startedThreads) await stopSinkThreads(startedThreads);
    await pool.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    job: spec.name,
    status: resume ? 'resumed' : 'completed',
    exit_code: 0,
    input: { files: source.files.length, format: source.format, rows: stats.rowsRead },
    output: { path: spec.output.path, format: spec.output.format, rows: stats.rowsWritten, columns: sink.schema.map((f) => f.name) },
    rows_failed: errorLog!.failed,
    errors: errorLog!.failed > 0 ? spec.errors.path : null,
    model: { name: m.name, version: m.version, providers: pool.providers, placement: pool.placement },
    batch: { size: batchSize, concurrency, count: stats.batches },
    ...(resume ? { resumed_at_row: resume.rows } : {}),
    seconds: Math.round(seconds * 1000) / 1000,
    rows_per_second: Math.round((stats.rowsDone! - (resume?.rows ?? 0)) / Math.max(seconds, 1e-9)),
  };
}

function finishedSummary(job: PreparedJob, state: CheckpointState): RunSummary {
  const f = state.finished!;
  const { spec } = job;
  // The finished run's counts: with emit: skip its failed rows were read but not written.
  const columns = [...job.keep.map((k) => k.name), ...job.bundle.manifest.outputs.flatMap(outputColumns), ...(spec.errors.emit === 'null-row' ? ['error'] : [])];
  return {
    job: spec.name,
    status: 'already-finished',
    exit_code: 0,
    input: { files: job.source.files.length, format: job.source.format, rows: f.rows + (spec.errors.emit === 'skip' ? f.failed : 0) },
    output: { path: f.output, format: spec.output.format, rows: f.rows, columns },
    rows_failed: f.failed,
    errors: f.failed > 0 ? spec.errors.path : null,
    // Where the finished run ran it (none is loaded now); unknown ([]) in a checkpoint of an earlier version.
    model: { name: state.fingerprint.model.name, version: state.fingerprint.model.version, providers: f.providers ?? [], ...(f.placement ? { placement: f.placement } : {}) },
    batch: { size: job.batchSize, concurrency: spec.batch.concurrency, count: f.batches ?? 0 },
    finished_at: f.finished,
    seconds: 0,
    rows_per_second: 0,
  };
}

/**
 * `next`, or undefined where `signal` aborts first and `stop` says to stop (asked again every
 * 100 ms while it says not to: a Parquet output reads on to its row group's end).
 */
async function nextOrStop<T>(next: Promise<T>, signal: AbortSignal | undefined, stop: () => Promise<boolean>): Promise<T | undefined> {
  if (!signal) return next;
  next.catch(() => undefined); // a read left waiting when the run stops
  for (;;) {
    let listener: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const woken = new Promise<typeof wake>((resolve) => {
      if (signal.aborted) timer = setTimeout(() => resolve(wake), 100);
      else signal.addEventListener('abort', (listener = () => resolve(wake)), { once: true });
    });
    const first = await Promise.race([next, woken]);
    if (listener) signal.removeEventListener('abort', listener);
    clearTimeout(timer);
    if (first !== wake) return first as T;
    if (await stop()) return undefined;
  }
}

const wake = Symbol('wake');

/** `work`, or signals.ts's notStarted where `signal` aborts first (its input, a pipe, may give nothing for long). */
export function unlessStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(notStarted(signal.reason));
  work.catch(() => undefined); // left behind where the signal comes first
  let listener: () => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => signal.addEventListener('abort', (listener = () => reject(notStarted(signal.reason))), { once: true }));
  return Promise.race([work, stopped]).finally(() => signal.removeEventListener('abort', listener));
}

/** The columns the model reads: its inputs' and its text's. */
const modelColumnsOf = (m: Manifest) => [...new Set([...m.inputs.flatMap((i) => i.columns), ...(m.text ? [m.text.column] : [])])];

/** Whether a row of `batch` that did not fail has a value in one of `columns` (not null, NaN, empty or a missing token). */
function holdsValue(batch: Batch, columns: readonly string[], errors: ReadonlyMap<number, unknown>): boolean {
  for (let i = 0; i < batch.length; i++) {
    if (errors.has(i)) continue;
    for (const name of columns) {
      const column = batch.columns.get(name);
      if (column === undefined) return true; // a column not read from the input (a partition folder's, say): not for this check
      const value = cell(column, i);
      if (!(value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value)) || (typeof value === 'string' && missingTokens.has(value.trim())))) return true;
    }
  }
  return false;
}
