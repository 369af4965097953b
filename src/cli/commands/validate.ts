/**
 * @file `bento-batch validate job.yaml` (and `run --dry-run`): check the job file, the bundle,
 * the input's columns and types, and run the model on the first rows. Writes nothing.
 */
import { relative } from 'node:path';
import { batches } from '../../batch/batcher.js';
import { lockHolder } from '../../checkpoint/lock.js';
import { resumeRefusal } from '../../checkpoint/resume.js';
import type { BentoError } from '../../errors.js';
import { loadJob } from '../../job/load.js';
import { type JobSpec, stdinPath } from '../../job/spec.js';
import { ModelPool } from '../../model/pool.js';
import { postprocess, predictionFields } from '../../model/postprocess.js';
import { Preprocessor } from '../../model/preprocess.js';
import { validateSignature } from '../../model/validate.js';
import { checkOutputColumns, prepareJob } from '../../run/pipeline.js';
import { Scorer } from '../../run/scorer.js';
import { noRows } from '../../source/chunks.js';
import { Logger, type LogFormat, loggedInput } from '../../run/progress.js';

export interface ValidateOptions {
  readonly job: string;
  readonly set: readonly string[];
  readonly logFormat: LogFormat;
}

/** How many rows the check feeds through the model. */
const sampleRows = 8;
/** Rows read on for one that scores when the first sample's are all bad. */
const moreRows = 1024;

export async function validate(options: ValidateOptions): Promise<void> {
  const spec = await loadJob(options.job, { overrides: options.set });
  // Its JSON lines, the error's too, name the job, as a run's do.
  Logger.job = spec.name;
  await checkJob(spec, new Logger(options.logFormat));
}

/** What the check found: the job, the files it reads, the model, and what a run would write. */
export interface Checked {
  readonly job: string;
  readonly input: { readonly files: readonly string[]; readonly format: string; readonly columns: readonly string[] };
  readonly model: string;
  readonly batch_size: number;
  readonly output: { readonly path: string; readonly format: string; readonly columns: readonly string[] };
  /** Rows of the sample the model ran on, and of those the bad ones. */
  readonly checked_rows: number;
  readonly bad_rows: number;
}

/**
 * Every check a run makes before its first batch, plus one small batch through the model.
 * `run`: checked for `run --dry-run`, which fails where the run would (a checkpoint it would refuse
 * to resume, unless `restart`); `validate` warns of it instead, as it checks the job, not its state.
 */
export async function checkJob(spec: JobSpec, logger: Logger, run?: { readonly restart: boolean }): Promise<Checked> {
  const job = await prepareJob(spec);
  if (spec.checkpoint && !run?.restart) {
    const { source } = job;
    const refused = await resumeRefusal(spec, spec.checkpoint, source.files, job.bundle, source.format === 'parquet' ? undefined : source.schema.length, source.partitions.map((f) => f.name), source.schema);
    if (refused && run) throw refused;
    if (refused) logger.event('warn', 'resume-refused', `${refused.message}: a run now would stop there (exit 2). ${refused.hint}`, { file: refused.file, code: refused.code });
    const holder = await lockHolder(spec.checkpoint.path);
    if (holder) logger.event('warn', 'running', `a run of job ${spec.name} is going on now: process ${holder.pid} on ${holder.host}, since ${holder.started}; another started now stops at once (JOB_RUNNING)`, { pid: holder.pid, host: holder.host });
  }
  const m = job.bundle.manifest;
  const pool = await ModelPool.create(job.bundle.modelFile, { size: 1, workers: { intraOp: 1, interOp: 1, graphOptimization: spec.model.graphOptimization, providers: spec.model.providers } });
  try {
    validateSignature(job.bundle, pool.signature);
    for (const note of job.source.notes) logger.event('warn', 'input-note', note);
    const iterator = batches(job.source.chunks(), Math.min(sampleRows, job.batchSize))[Symbol.asyncIterator]();
    // Bad rows as a run sees them (a row the reader or the tensors refuse): a run lists them and
    // goes on, so they are warnings here. A sample of nothing but bad rows reads on, up to
    // `moreRows`, for a row that scores: a file whose first rows are bad runs (exit 0) when later
    // ones are not; only where none of those scores does the check fail, as the run would.
    // Scored as a run scores a batch: a model call that fails is split until the rows it fails on are alone.
    // As if rows had scored before: the scorer would fail a first batch of nothing but bad rows at
    // once, which the loop below does only where none of the rows it reads on to scores either.
    const scorer = new Scorer(job.bundle, await Preprocessor.create(job.bundle, pool.signature, job.source.format === 'csv'), pool, true);
    const errors: BentoError[] = [];
    let checked = 0;
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        const scored = await scorer.score(next.value);
        errors.push(...[...scored.errors.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e));
        for (const part of scored.parts) if (part.outputs) postprocess(m, part.outputs, part.length, job.bundle.modelFile, part.context);
        checked += next.value.length;
        if (errors.length < checked || checked >= moreRows) break;
      }
    } finally {
      await iterator.return?.(undefined);
    }
    if (checked === 0) throw noRows(job.source.files);
    if (errors.length === checked) throw errors[0]!;
    // What to do about them, once for the rows it fits (a decimal comma fails every row alike).
    const hints = new Set<string>();
    for (const error of errors.slice(0, sampleRows)) {
      logger.event('warn', 'bad-row', `${error.message}; a run lists the row in ${spec.errors.path} and scores the others`, { file: error.file, row: error.row, column: error.column, code: error.code, ...(error.hint ? { hint: error.hint } : {}) });
      if (error.hint) hints.add(error.hint);
    }
    if (errors.length > sampleRows) logger.event('warn', 'bad-rows', `… and ${errors.length - sampleRows} more bad rows of the first ${checked}`, { more: errors.length - sampleRows });
    if (logger.format === 'text') for (const hint of hints) logger.stream.write(`hint: ${hint}\n`);
    const at = (p: string) => (p === stdinPath ? '- (standard input)' : relative(process.cwd(), p) || '.');
    const fields = predictionFields(m, pool.signature.outputs);
    checkOutputColumns(job, fields);
    const predictions = fields.map((f) => f.name);
    const lines: [string, string][] = [
      ['job', `${spec.name} (${at(spec.jobFile)})`],
      ['input', `${job.source.format}${job.source.dialect ? ` (${job.source.dialect})` : ''}, ${job.source.files.length} file(s): ${job.source.files.slice(0, 3).map(at).join(', ')}${job.source.files.length > 3 ? ', …' : ''}`],
      ['columns', few(job.source.schema.map((f) => `${f.name}:${f.type}${job.source.partitions.includes(f) ? ' (from folder names)' : ''}`))],
      ['model', `${m.name}:${m.version} (${at(job.bundle.modelFile)}), max batch ${m.batch.max_size}${m.batch.fixed ? ' (fixed)' : ''}`],
      ['batch', `${job.batchSize} rows, ${spec.batch.concurrency} in flight`],
      ['output', `${spec.output.format}: ${at(spec.output.path)}`],
      ['writes', few([...job.keep.map((f) => f.name), ...predictions])],
      ['check', `model ran on the first ${checked} row(s): ok${errors.length > 0 ? ` (${errors.length} bad, see above)` : ''}`],
    ];
    logger.event('info', 'valid', lines.map(([k, v]) => `${k.padEnd(8)} ${v}`).join('\n'), {
      job: spec.name, ...loggedInput('files', job.source.files), model: `${m.name}:${m.version}`, batch_size: job.batchSize, output: spec.output.path,
      columns: [...job.keep.map((f) => f.name), ...predictions],
    });
    return {
      job: spec.name,
      input: { files: job.source.files, format: job.source.format, columns: job.source.schema.map((f) => f.name) },
      model: `${m.name}:${m.version}`,
      batch_size: job.batchSize,
      output: { path: spec.output.path, format: spec.output.format, columns: [...job.keep.map((f) => f.name), ...predictions] },
      checked_rows: checked,
      bad_rows: errors.length,
    };
  } finally {
    await pool.dispose();
  }
}

/** A list for a person to read: a file of 300 columns is not one line of 8,000 characters (the JSON event has them all). */
function few(items: readonly string[], shown = 12): string {
  return items.length <= shown + 2 ? items.join(', ') : `${items.slice(0, shown).join(', ')}, … (${items.length} in all)`;
}
