/**
 * @file The main job: source → batcher → preprocess → model workers → postprocess → sink.
 * Up to `batch.concurrency` batches are in the model at once; results are written strictly in
 * input order.
 */
import { batches, type Batch, sliceBatch } from '../batch/batcher.js';
import { BentoError, didYouMean } from '../errors.js';
import type { JobSpec } from '../job/spec.js';
import { type Bundle, resolveBundle } from '../model/bundle.js';
import { ModelPool } from '../model/pool.js';
import { postprocess, predictionFields } from '../model/postprocess.js';
import { type PreContext, Preprocessor, type RowErrors } from '../model/preprocess.js';
import type { TensorData } from '../model/session.js';
import { validateSignature } from '../model/validate.js';
import type { Sink } from '../sink/index.js';
import { openSinkThread } from '../sink/thread.js';
import { writerShare, youngMb } from './memory.js';
import { openSource, type Column, type Field, type Source } from '../source/index.js';
import { copyFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type CheckpointState, type Commit, differences, type Fingerprint, fingerprint, partialErrorsFile, partialFile, readState, stateFile, writeState } from '../checkpoint/state.js';
import { failpoint } from '../checkpoint/failpoint.js';
import { publish } from '../sink/atomic.js';
import { ErrorLog } from './rowerrors.js';
import { lineColumn, type SourcePosition, type SourceProgress } from '../source/types.js';

/** Live counters the progress reporter reads. */
export interface RunStats {
  /** Input rows read into batches. */
  rowsRead: number;
  /** Input rows whose batches are written (scored or failed): the resume point counts these. */
  rowsDone?: number;
  /** Output rows written. */
  rowsWritten: number;
  rowsFailed?: number;
  batches: number;
  /** Source progress (bytes or rows) for the ETA. */
  sourceProgress?: () => SourceProgress | undefined;
}

export interface RunSummary {
  readonly job: string;
  /** `already-finished`: a rerun of a finished job, which did nothing. */
  readonly status: 'completed' | 'resumed' | 'already-finished';
  readonly resumed_at_row?: number;
  readonly finished_at?: string;
  readonly input: { readonly files: number; readonly format: string; readonly rows: number };
  readonly output: { readonly path: string; readonly format: string; readonly rows: number; readonly columns: readonly string[] };
  /** Rows that could not be scored, listed in `errors`; with emit: skip, input.rows = output.rows + rows_failed. */
  readonly rows_failed: number;
  readonly errors: string;
  readonly model: { readonly name: string; readonly version: string; readonly providers: readonly string[] };
  readonly batch: { readonly size: number; readonly concurrency: number; readonly count: number };
  readonly seconds: number;
  readonly rows_per_second: number;
}

export interface RunHooks {
  readonly signal?: AbortSignal;
  /** Discard any checkpoint and start over. */
  readonly restart?: boolean;
  readonly info?: (message: string) => void;
  readonly stats?: RunStats;
  readonly warn?: (message: string) => void;
}

/** A job checked against its bundle and inputs, ready to run or to report on (validate / dry run). */
export interface PreparedJob {
  readonly spec: JobSpec;
  readonly bundle: Bundle;
  readonly batchSize: number;
  readonly source: Source & { format: string };
  readonly keep: readonly Field[];
}

/** Opens the bundle and the input, and checks every cross-stage rule; reads no more than the first chunk. */
export async function prepareJob(spec: JobSpec): Promise<PreparedJob> {
  const bundle = await resolveBundle(spec.model.ref, spec.model.baseDir);
  const m = bundle.manifest;
  const batchSize = spec.batch.size ?? Math.min(256, m.batch.max_size);
  if (batchSize > m.batch.max_size) {
    throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: batch.size: expected at most ${m.batch.max_size} (the largest batch model ${m.name}:${m.version} accepts), got \`${batchSize}\` (number)`, {
      file: spec.jobFile, hint: `Set batch.size to ${m.batch.max_size} or less, or leave it out to use ${Math.min(256, m.batch.max_size)}.`,
    });
  }
  const modelColumns = [...new Set([...m.inputs.flatMap((i) => i.columns), ...(m.text ? [m.text.column] : [])])];
  const wanted = spec.input.columns ?? (spec.output.keep ? [...new Set([...modelColumns, ...spec.output.keep])] : undefined);
  if (spec.input.columns) {
    const dropped = modelColumns.filter((c) => !spec.input.columns!.includes(c));
    if (dropped.length > 0) {
      throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: input.columns leaves out ${dropped.map((c) => `"${c}"`).join(', ')}, which model ${m.name} needs`, { file: spec.jobFile, hint: `Add ${dropped.join(', ')} to input.columns.` });
    }
  }
  // CSV to CSV keeping every input column: records go to the writer as the text read, whole.
  const csvOut = spec.output.format === 'csv';
  const wholeLines = csvOut && spec.input.columns === undefined && spec.output.keep === undefined;
  const source = await openSource({ ...spec.input, columns: wanted }, { rawText: csvOut, ...(wholeLines ? { linesFor: spec.output.csv.delimiter, valuesOf: modelColumns } : {}) });
  const names = source.schema.map((f) => f.name);
  for (const column of [...modelColumns, ...(spec.output.keep ?? [])]) {
    if (names.includes(column)) continue;
    const guess = didYouMean(column, names);
    const needer = modelColumns.includes(column) ? `model ${m.name} needs column "${column}"` : `output.keep names column "${column}"`;
    throw new BentoError('COLUMN_MISSING', `Column "${column}" is missing: ${needer}, but ${source.files[0]} has no such column${guess ? `; the closest is "${guess}"` : ''}`, {
      file: source.files[0], column, hint: guess ? `Did you mean "${guess}"? Rename it in the input, or fix the name in the ${modelColumns.includes(column) ? 'manifest' : 'job file'}.` : `The input has columns: ${names.join(', ')}.`,
    });
  }
  const keep = spec.output.keep ? spec.output.keep.map((k) => source.schema.find((f) => f.name === k)!) : source.schema;
  return { spec, bundle, batchSize, source, keep };
}

/** Runs a prepared job to completion (or until `signal` aborts); the output appears only when complete. */
export async function runPrepared(job: PreparedJob, hooks: RunHooks = {}): Promise<RunSummary> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const { spec, bundle, batchSize, source } = job;
  const m = bundle.manifest;
  const stats = hooks.stats ?? { rowsRead: 0, rowsWritten: 0, batches: 0 };
  stats.sourceProgress = () => source.progress();
  const concurrency = spec.batch.concurrency;
  const ckpt = spec.checkpoint;

  let resume: Commit | undefined;
  let print: Fingerprint | undefined;
  if (ckpt) {
    print = await fingerprint(spec, source.files, bundle);
    if (hooks.restart) await rm(ckpt.path, { recursive: true, force: true });
    const state = await readState(ckpt.path);
    const changed = state ? differences(state.fingerprint, print) : [];
    if (state?.status === 'finished' && changed.length === 0) {
      // A crash between recording "finished" and the rename leaves the sealed file in the checkpoint.
      if (!(await exists(spec.output.path)) && (await exists(partialFile(ckpt.path, spec.output.format)))) {
        await publish(partialFile(ckpt.path, spec.output.format), spec.output.path);
        if (await exists(partialErrorsFile(ckpt.path))) await publish(partialErrorsFile(ckpt.path), spec.errors.path);
      }
      if (await exists(spec.output.path)) return finishedSummary(job, state);
    }
    if (state?.status === 'running' && changed.length > 0) {
      throw new BentoError('RESUME_REFUSED', `Cannot resume job ${spec.name}: ${changed.join('; ')} since the checkpoint in ${ckpt.path} (${state.committed?.rows ?? 0} rows committed)`, {
        file: stateFile(ckpt.path), hint: 'Run with --restart to discard the checkpoint and start over, or restore what changed to resume.',
      });
    }
    // Finished with other inputs (the next day's data), or the output was removed: a new run.
    if (state?.status === 'finished') await rm(ckpt.path, { recursive: true, force: true });
    else resume = state?.committed;
  }
  if (resume) {
    stats.rowsRead = stats.rowsDone = resume.rows;
    stats.rowsWritten = resume.rows - (spec.errors.emit === 'skip' ? resume.errors.failed : 0);
    stats.rowsFailed = resume.errors.failed;
    stats.batches = resume.batches;
    hooks.info?.(`resuming ${spec.name} at row ${resume.rows.toLocaleString('en-US')} (checkpoint of ${resume.at})`);
  }

  const threads = spec.model.threads.intraOp ?? Math.max(1, Math.floor(availableParallelism() / concurrency));
  const pool = await ModelPool.create(bundle.modelFile, { ...spec.model.threads, intraOp: threads, graphOptimization: spec.model.graphOptimization, providers: spec.model.providers }, concurrency);
  const partial = ckpt ? partialFile(ckpt.path, spec.output.format) : join(dirname(spec.output.path), `.${basename(spec.output.path)}.${process.pid}.bento-batch.tmp`);
  const errorsPartial = ckpt ? partialErrorsFile(ckpt.path) : join(dirname(spec.errors.path), `.${basename(spec.errors.path)}.${process.pid}.bento-batch.tmp`);
  let sink: Sink | undefined;
  let errorLog: ErrorLog | undefined;
  let sealed = false;
  let committedRows = resume?.rows ?? 0;
  // A commit's fsyncs run while the next batches are scored; the next commit waits for it.
  let committing: Promise<void> = Promise.resolve();
  try {
    if (pool.note) hooks.warn?.(pool.note);
    validateSignature(bundle, pool.signature);
    const predictions = predictionFields(m, pool.signature.outputs);
    const clash = predictions.find((p) => job.keep.some((k) => k.name === p.name));
    if (clash) {
      throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: output column "${clash.name}" is both an input column and a prediction of model ${m.name}`, {
        file: spec.jobFile, hint: `Leave "${clash.name}" out of output.keep, e.g. keep: [${job.keep.filter((k) => k.name !== clash.name).map((k) => k.name).join(', ')}].`,
      });
    }
    if (ckpt) await writeState(ckpt.path, { version: 1, status: 'running', fingerprint: print!, total_rows: source.totalRows, committed: resume });
    const nullRows = spec.errors.emit === 'null-row';
    sink = await openSinkThread(spec.output, [...job.keep, ...predictions, ...(nullRows ? [{ name: 'error', type: 'string' as const }] : [])], { partial, ...(resume ? { resume: resume.sink } : {}) }, {
      heapMb: Math.round(spec.limits.memoryMb * writerShare), youngMb: youngMb(spec.limits.memoryMb), memoryMb: spec.limits.memoryMb,
    });
    errorLog = await ErrorLog.open(errorsPartial, spec.errors, resume?.errors);
    stats.rowsDone ??= 0;
    stats.rowsFailed ??= 0;
    const fetch = [...new Set(m.outputs.map((o) => o.tensor))];
    const rows = m.batch.fixed ? m.batch.max_size : undefined;
    /** A batch's model results: one part normally; several when failing rows had to be isolated. */
    type Part = { offset: number; length: number; outputs: Record<string, TensorData> | undefined; context: PreContext };
    type Result = { batch: Batch; parts: Part[]; errors: RowErrors };
    const pre = await Preprocessor.create(bundle);
    const inFlight: Promise<Result>[] = [];
    const predictionNames = predictions.map((f) => f.name);
    let scoredAny = (resume?.rows ?? 0) > 0;

    /**
     * Runs a batch; a call that fails is retried once, then the batch is split in halves until
     * the rows that make it fail are alone: those go to the errors file with the runtime's
     * message, the others are scored.
     */
    const score = async (batch: Batch, errors: RowErrors): Promise<Result> => {
      const attempt = async (part: Batch, offset: number): Promise<Part[]> => {
        const local: RowErrors = new Map();
        const { feeds, context } = pre.run(part, rows ?? part.length, local);
        for (const [i, e] of local) if (!errors.has(offset + i)) errors.set(offset + i, e);
        try {
          return [{ offset, length: part.length, outputs: await pool.run(feeds, fetch), context }];
        } catch (first) {
          try {
            const again = pre.run(part, rows ?? part.length, new Map());
            return [{ offset, length: part.length, outputs: await pool.run(again.feeds, fetch), context: again.context }];
          } catch (error) {
            if (part.length === 1) {
              if (!errors.has(offset)) errors.set(offset, modelRunError(error ?? first, part, bundle));
              return [{ offset, length: 1, outputs: undefined, context: {} }];
            }
            const half = Math.ceil(part.length / 2);
            return [...(await attempt(sliceBatch(part, 0, half), offset)), ...(await attempt(sliceBatch(part, half, part.length), offset + half))];
          }
        }
      };
      const parts = await attempt(batch, 0);
      // Every row failing before any row ever scored is the model's problem, not the data's.
      if (parts.every((p) => !p.outputs) && !scoredAny) throw errors.get(0) ?? new BentoError('MODEL_RUN', `Model ${m.name} failed on every row of the first batch`, { file: bundle.modelFile });
      scoredAny = true;
      return { batch, parts, errors };
    };
    let position: SourcePosition | undefined = resume?.source;
    let issuedRows = committedRows;
    let committedAt = performance.now();

    const commit = async (force: boolean) => {
      if (!ckpt || !sink!.committable) return;
      const due = force || sink!.commitAtEveryPoint
        || (ckpt.everyRows !== undefined && stats.rowsDone! - issuedRows >= ckpt.everyRows)
        || (ckpt.everySeconds !== undefined && performance.now() - committedAt >= ckpt.everySeconds * 1000);
      if (!due || stats.rowsDone === issuedRows) return;
      await committing;
      const rows = stats.rowsDone!;
      const errors = { bytes: errorLog!.bytes, failed: errorLog!.failed };
      const batchCount = stats.batches;
      const source = position!;
      issuedRows = rows;
      committedAt = performance.now();
      // Data first, then the record that points at it.
      const written = Promise.all([sink!.commit(), errorLog!.sync()]);
      committing = written.then(async ([at]) => {
        failpoint('sink-committed');
        await writeState(ckpt.path, {
          version: 1, status: 'running', fingerprint: print!, total_rows: job.source.totalRows,
          committed: { rows, batches: batchCount, source, sink: at, errors, at: new Date().toISOString() },
        });
        committedRows = rows;
      });
      committing.catch(() => undefined); // surfaced by the next await of `committing`
      if (force) await committing;
    };
    const write = async (result: Result) => {
      const { batch, errors } = result;
      let columns = new Map<string, Column>();
      const lines = batch.columns.get(lineColumn);
      if (lines) columns.set(lineColumn, lines);
      else for (const field of job.keep) columns.set(field.name, batch.columns.get(field.name)!);
      const predicted = joinParts(result.parts.map((p) => p.outputs
        ? postprocess(m, p.outputs, p.length, bundle.modelFile, p.context)
        : new Map(predictionNames.map((name) => [name, new Array(p.length).fill(null)]))), batch.length);
      for (const [name, column] of predicted) columns.set(name, column);
      let length = batch.length;
      if (errors.size > 0 && nullRows) {
        for (const name of predicted.keys()) columns.set(name, Array.from(columns.get(name)!, (v, i) => (errors.has(i) ? null : v)));
        columns.set('error', Array.from({ length }, (_, i) => errors.get(i)?.message ?? null));
      } else if (errors.size > 0) {
        const keep = Array.from({ length }, (_, i) => i).filter((i) => !errors.has(i));
        columns = new Map([...columns].map(([name, column]) => [name, keep.map((i) => column[i])]));
        length = keep.length;
      } else if (nullRows) columns.set('error', new Array(length).fill(null));
      await sink!.write({ length, columns });
      await errorLog!.record(errors);
      failpoint('batch-written');
      stats.rowsWritten += length;
      stats.rowsDone! += batch.length;
      stats.rowsFailed = errorLog!.failed;
      stats.batches++;
      position = batch.end;
      errorLog!.check(stats.rowsDone!, spec.errors.path);
      await commit(false);
    };

    for await (const batch of batches(source.chunks(resume?.source), batchSize, { row: resume?.rows ?? 0, index: resume?.batches ?? 0 })) {
      if (hooks.signal?.aborted) break;
      stats.rowsRead += batch.length;
      const errors: RowErrors = new Map(batch.errors);
      const run = score(batch, errors);
      run.catch(() => undefined); // awaited in order below; this only keeps Node from calling it unhandled meanwhile
      inFlight.push(run);
      // The pool holds two batches per worker; one more prepared keeps them busy while the main thread writes.
      while (inFlight.length > pool.capacity) await write(await inFlight.shift()!);
    }
    // On a signal too: the batches already in the model are finished and kept.
    while (inFlight.length > 0) await write(await inFlight.shift()!);
    await committing;
    if (hooks.signal?.aborted) {
      await commit(true);
      const signal = hooks.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
      throw new BentoError('INTERRUPTED', ckpt && committedRows > 0
        ? `Interrupted by ${signal}: ${committedRows.toLocaleString('en-US')} rows are committed in ${ckpt.path}`
        : `Interrupted by ${signal} after ${stats.rowsDone!.toLocaleString('en-US')} rows, before ${ckpt ? 'the first checkpoint' : 'the end (checkpointing is off)'}; no output was kept`, {
        signal, hint: ckpt && committedRows > 0 ? 'Run the same command again to resume where it stopped.' : 'Run the same command again to start over.',
      });
    }
    await sink.seal();
    await errorLog.seal();
    sealed = true;
    const seconds = (performance.now() - started) / 1000;
    if (ckpt) {
      await writeState(ckpt.path, {
        version: 1, status: 'finished', fingerprint: print!, total_rows: source.totalRows, committed: undefined,
        finished: { output: spec.output.path, rows: stats.rowsWritten, failed: errorLog.failed, started: startedAt, finished: new Date().toISOString(), seconds: Math.round(seconds * 1000) / 1000 },
      });
      failpoint('finished-recorded');
    }
    await publish(partial, spec.output.path);
    // The errors file exists when rows failed; one left by an earlier run of this job would mislead.
    if (errorLog.failed > 0) await publish(errorsPartial, spec.errors.path);
    else await Promise.all([rm(errorsPartial, { force: true }), rm(spec.errors.path, { force: true })]);
  } catch (error) {
    // Too many bad rows: show them where the user will look, though the output does not appear.
    if (error instanceof BentoError && error.code === 'TOO_MANY_ERRORS' && errorLog) {
      await errorLog.sync();
      await copyFile(errorsPartial, spec.errors.path).catch(() => undefined);
    }
    throw error;
  } finally {
    if (!sealed) {
      await committing.catch(() => undefined);
      // A checkpoint with committed rows stays for the resume; with none there is nothing to keep.
      if (ckpt && committedRows > 0) {
        await sink?.close();
        await errorLog?.close();
      } else {
        await sink?.discard();
        await errorLog?.discard();
        if (ckpt) await rm(ckpt.path, { recursive: true, force: true });
      }
    }
    await pool.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    job: spec.name,
    status: resume ? 'resumed' : 'completed',
    input: { files: source.files.length, format: source.format, rows: stats.rowsRead },
    output: { path: spec.output.path, format: spec.output.format, rows: stats.rowsWritten, columns: sink.schema.map((f) => f.name) },
    rows_failed: errorLog!.failed,
    errors: spec.errors.path,
    model: { name: m.name, version: m.version, providers: pool.providers },
    batch: { size: batchSize, concurrency, count: stats.batches },
    ...(resume ? { resumed_at_row: resume.rows } : {}),
    seconds: Math.round(seconds * 1000) / 1000,
    rows_per_second: Math.round((stats.rowsDone! - (resume?.rows ?? 0)) / Math.max(seconds, 1e-9)),
  };
}

function finishedSummary(job: PreparedJob, state: CheckpointState): RunSummary {
  const f = state.finished!;
  return {
    job: job.spec.name,
    status: 'already-finished',
    input: { files: job.source.files.length, format: job.source.format, rows: f.rows },
    output: { path: f.output, format: job.spec.output.format, rows: f.rows, columns: [] },
    rows_failed: f.failed,
    errors: job.spec.errors.path,
    model: { name: state.fingerprint.model.name, version: state.fingerprint.model.version, providers: [] },
    batch: { size: job.batchSize, concurrency: job.spec.batch.concurrency, count: 0 },
    finished_at: f.finished,
    seconds: 0,
    rows_per_second: 0,
  };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** The row a model call failed on, alone: the runtime's own message, where the row is. */
function modelRunError(error: unknown, batch: Batch, bundle: Bundle): BentoError {
  const first = batch.segments[0]!;
  const message = (error as Error).message.split('\n')[0];
  return new BentoError('MODEL_RUN', `Model ${bundle.manifest.name} failed on ${first.file} row ${first.fileRow + 1}: ${message}`, {
    file: first.file, row: first.fileRow + 1, ...(batch.starts ? { byte: batch.starts[0]! } : {}), cause: error,
    hint: 'The model cannot score this row; check its values against what the model was trained on.',
  });
}

/** Prediction columns of consecutive parts of a batch, joined into full-length columns. */
function joinParts(parts: Map<string, Column>[], length: number): Map<string, Column> {
  if (parts.length === 1) return parts[0]!;
  const out = new Map<string, Column>();
  for (const name of parts[0]!.keys()) {
    const column = new Array<unknown>(length);
    let o = 0;
    for (const part of parts) {
      const values = part.get(name)!;
      for (let i = 0; i < values.length; i++) column[o++] = values[i];
    }
    out.set(name, column);
  }
  return out;
}

