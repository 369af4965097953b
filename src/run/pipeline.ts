/**
 * @file The main job: source → batcher → preprocess → model workers → postprocess → sink.
 * Up to `batch.concurrency` batches are in the model at once; results are written strictly in
 * input order.
 */
import { batches, type Batch } from '../batch/batcher.js';
import { BentoError, didYouMean } from '../errors.js';
import type { JobSpec } from '../job/spec.js';
import { type Bundle, openBundle } from '../model/bundle.js';
import type { Manifest } from '../model/manifest.js';
import { ModelPool } from '../model/pool.js';
import { postprocess, predictionFields } from '../model/postprocess.js';
import { preprocess } from '../model/preprocess.js';
import type { TensorData } from '../model/session.js';
import { validateSignature } from '../model/validate.js';
import { openSink, type Sink } from '../sink/index.js';
import { openSource, type Column, type Field, type Source } from '../source/index.js';
import { availableParallelism } from 'node:os';

/** Live counters the progress reporter reads. */
export interface RunStats {
  rowsRead: number;
  rowsWritten: number;
  batches: number;
  /** Source progress (bytes or rows) for the ETA. */
  source?: Source;
}

export interface RunSummary {
  readonly job: string;
  readonly status: 'completed' | 'interrupted';
  readonly input: { readonly files: number; readonly format: string; readonly rows: number };
  readonly output: { readonly path: string; readonly format: string; readonly rows: number; readonly columns: readonly string[] };
  readonly model: { readonly name: string; readonly version: string; readonly providers: readonly string[] };
  readonly batch: { readonly size: number; readonly concurrency: number; readonly count: number };
  readonly seconds: number;
  readonly rows_per_second: number;
}

export interface RunHooks {
  readonly signal?: AbortSignal;
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
  const bundle = await openBundle(spec.model.path);
  const m = bundle.manifest;
  const batchSize = spec.batch.size ?? Math.min(256, m.batch.max_size);
  if (batchSize > m.batch.max_size) {
    throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: batch.size: expected at most ${m.batch.max_size} (the largest batch model ${m.name}:${m.version} accepts), got \`${batchSize}\` (number)`, {
      file: spec.jobFile, hint: `Set batch.size to ${m.batch.max_size} or less, or leave it out to use ${Math.min(256, m.batch.max_size)}.`,
    });
  }
  const modelColumns = [...new Set(m.inputs.flatMap((i) => i.columns))];
  const wanted = spec.input.columns ?? (spec.output.keep ? [...new Set([...modelColumns, ...spec.output.keep])] : undefined);
  if (spec.input.columns) {
    const dropped = modelColumns.filter((c) => !spec.input.columns!.includes(c));
    if (dropped.length > 0) {
      throw new BentoError('JOB_INVALID', `Job file ${spec.jobFile}: input.columns leaves out ${dropped.map((c) => `"${c}"`).join(', ')}, which model ${m.name} needs`, { file: spec.jobFile, hint: `Add ${dropped.join(', ')} to input.columns.` });
    }
  }
  const source = await openSource({ ...spec.input, columns: wanted });
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
  const { spec, bundle, batchSize, source } = job;
  const m = bundle.manifest;
  const stats = hooks.stats ?? { rowsRead: 0, rowsWritten: 0, batches: 0 };
  stats.source = source;
  const concurrency = spec.batch.concurrency;
  const threads = spec.model.threads.intraOp ?? Math.max(1, Math.floor(availableParallelism() / concurrency));
  const pool = await ModelPool.create(bundle.modelFile, { ...spec.model.threads, intraOp: threads, graphOptimization: spec.model.graphOptimization, providers: spec.model.providers }, concurrency);
  let sink: Sink | undefined;
  let completed = false;
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
    sink = await openSink(spec.output, [...job.keep, ...predictions]);
    const fetch = m.outputs.map((o) => o.tensor);
    const rows = m.batch.fixed ? m.batch.max_size : undefined;
    type Result = { batch: Batch; outputs: Record<string, TensorData> };
    const inFlight: Promise<Result>[] = [];
    const commit = async (result: Result) => {
      const columns = new Map<string, Column>();
      for (const field of job.keep) columns.set(field.name, result.batch.columns.get(field.name)!);
      for (const [name, column] of postprocess(m, result.outputs, result.batch.length, bundle.modelFile)) columns.set(name, column);
      await sink!.write({ length: result.batch.length, columns });
      stats.rowsWritten += result.batch.length;
      stats.batches++;
    };
    for await (const batch of batches(source.chunks(), batchSize)) {
      if (hooks.signal?.aborted) break;
      stats.rowsRead += batch.length;
      const feeds = preprocess(batch, m, rows ?? batch.length);
      const run = pool.run(feeds, fetch).then((outputs) => ({ batch, outputs }), (error: unknown) => { throw modelRunError(error, batch, bundle); });
      run.catch(() => undefined); // awaited in order below; this only keeps Node from calling it unhandled meanwhile
      inFlight.push(run);
      // One batch more than the workers can take keeps them busy while the main thread prepares the next.
      while (inFlight.length > concurrency) await commit(await inFlight.shift()!);
    }
    while (inFlight.length > 0 && !hooks.signal?.aborted) await commit(await inFlight.shift()!);
    if (hooks.signal?.aborted) {
      const signal = hooks.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
      throw new BentoError('INTERRUPTED', `Interrupted by ${signal} after ${stats.rowsWritten} rows; no output was written`, { signal, hint: 'Run the same command again to start over.' });
    }
    await sink.close();
    completed = true;
  } finally {
    if (!completed) await sink?.abort();
    await pool.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    job: spec.name,
    status: 'completed',
    input: { files: source.files.length, format: source.format, rows: stats.rowsRead },
    output: { path: spec.output.path, format: spec.output.format, rows: stats.rowsWritten, columns: sink.schema.map((f) => f.name) },
    model: { name: m.name, version: m.version, providers: pool.providers },
    batch: { size: batchSize, concurrency, count: stats.batches },
    seconds: Math.round(seconds * 1000) / 1000,
    rows_per_second: Math.round(stats.rowsWritten / Math.max(seconds, 1e-9)),
  };
}

function modelRunError(error: unknown, batch: Batch, bundle: Bundle): BentoError {
  const first = batch.segments[0]!;
  const message = (error as Error).message.split('\n')[0];
  return new BentoError('MODEL_RUN', `Model ${bundle.manifest.name} failed on batch ${batch.index + 1} (rows ${first.fileRow + 1}–${first.fileRow + batch.length} of ${first.file}): ${message}`, {
    file: bundle.modelFile, row: first.fileRow + 1, cause: error, hint: 'Check the manifest against `bento-batch inspect`; if the input is valid this is a model problem.',
  });
}

export type { Manifest };
