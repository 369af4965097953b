/**
 * @file Job file → JobSpec: read YAML, interpolate `${VAR}`, apply `--set` overrides, validate
 * against the schema, normalize paths and defaults. Every problem is reported at once.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { parse as parseYamlScalar } from 'yaml';
import * as z from 'zod';
import { configError, expect, nonEmptyString, positiveInt, Quoted, readYaml, stringList, validate } from '../config.js';
import { BentoError, type Environment, quote } from '../errors.js';
import { defaultMemoryMb } from '../run/memory.js';
import { declaredType } from '../source/csvtypes.js';
import { type CsvOptions, type DataFormat, dataFormats, formatFromPath, type JobSpec, sameFile, stdinPath } from './spec.js';

/** Execution providers onnxruntime-node has builds of (CPU in every one; the others where their package or platform has them). */
const executionProviders = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu', 'qnn'];
const memoryExpected = 'a size in MB such as 256, or a string such as 512MB or 1GB';
/** `limits.memory` and `output.parquet.row_group_memory`: MB, or a string with its unit (megabytes). */
const memorySize = () => z.union([positiveInt(), z.string().refine((v) => /^\s*\d+(\.\d+)?\s*(MB|MiB|GB|GiB)\s*$/i.test(v) && megabytes(v) >= 1, expect(memoryExpected))], expect(memoryExpected));

/**
 * Rows a chunk holds by default (a Parquet chunk never crosses a row group).
 * Smaller chunks keep fewer strings alive across V8's young-generation collections: on the 3.1M-row
 * penguins CSV → CSV job, 2,048 used ~10% less CPU than 8,192 (7.7–8.1 against 8.5–8.9 user CPU-s,
 * interleaved runs), and the column types still come from the first 8,192 rows (source/chunks.ts).
 */
export const defaultChunkRows = 2048;

const format = z.enum(['csv', 'jsonl', 'parquet'], expect(`one of [${dataFormats.join(', ')}]`));
// A tab typed as \t on the command line or in single quotes arrives as two characters: say how to write one.
const oneChar = z.string(expect('a single character')).refine((c) => c.length === 1, {
  error: (issue) => (issue.input === '\\t' ? 'a single character (a tab is written "\\t", in double quotes: --set \'input.csv.delimiter="\\t"\')' : 'a single character'),
});

const modelObject = z.strictObject({
  path: nonEmptyString('a bundle directory'),
  threads: z.strictObject({ intra_op: positiveInt().optional(), inter_op: positiveInt().optional(), allow_spinning: z.boolean(expect('true or false')).optional() }, expect('a mapping')).optional(),
  graph_optimization: z.enum(['disabled', 'basic', 'extended', 'all'], expect('one of [disabled, basic, extended, all]')).optional(),
  // The providers onnxruntime-node can be built with: a typo must not quietly become a CPU run.
  providers: z.array(z.string().refine((p) => executionProviders.includes(p.toLowerCase()), expect(`an execution provider: one of [${executionProviders.join(', ')}]`)), expect('a list of execution providers, e.g. [cuda, cpu]')).optional(),
  placement: z.enum(['auto', 'workers', 'inline'], expect('one of [auto, workers, inline]')).optional(),
}, expect('a mapping'));

/**
 * Encoding labels other than UTF-8's, and what they are read as: as the WHATWG Encoding standard
 * (and so browsers) maps them, with Python's and pandas' spellings (`latin-1`, `utf-16-le`).
 * Matched in any case, `_` as `-` (normalizeEncoding), as both match them.
 */
const encodingLabels = {
  'windows-1252': 'windows-1252', cp1252: 'windows-1252', 'x-cp1252': 'windows-1252', latin1: 'windows-1252', 'latin-1': 'windows-1252', l1: 'windows-1252',
  'iso-8859-1': 'windows-1252', 'iso8859-1': 'windows-1252', iso88591: 'windows-1252', cp819: 'windows-1252', ascii: 'windows-1252', 'us-ascii': 'windows-1252',
  'utf-16': 'utf-16le', 'utf-16le': 'utf-16le', 'utf-16-le': 'utf-16le', 'ucs-2': 'utf-16le', unicode: 'utf-16le', 'utf-16be': 'utf-16be', 'utf-16-be': 'utf-16be',
} as const;
type EncodingLabel = keyof typeof encodingLabels;
/** UTF-8's labels; `utf-8-sig` (Python's name for UTF-8 with a byte-order mark) too, since a mark is skipped anyway. */
const utf8Labels = ['utf-8', 'utf8', 'utf-8-sig', 'unicode-1-1-utf-8'] as const;
const normalizeEncoding = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase().replaceAll('_', '-') : v);

const typesExpected = 'one of [text, double, bigint, boolean, date, timestamp, timestamp_ns] (DuckDB\'s names; string, float64, int64 and bool too)';

/** The job file as written, before normalization. Keys are the user-facing contract. */
export const jobSchema = z.strictObject({
  name: nonEmptyString().optional(),
  input: z.strictObject({
    path: nonEmptyString('a file, glob or directory'),
    format: format.optional(),
    columns: stringList().optional(),
    csv: z.strictObject({
      delimiter: oneChar.optional(),
      header: z.boolean(expect('true or false')).optional(),
      quote: oneChar.optional(),
      decimal: z.enum(['.', ','], expect('"." or ","')).optional(),
      thousands: oneChar.optional(),
      encoding: z.preprocess(normalizeEncoding, z.enum([...utf8Labels, ...Object.keys(encodingLabels) as EncodingLabel[]], expect('utf-8, windows-1252 (latin1), utf-16le or utf-16be'))).optional(),
      names: stringList('a list of column names').optional(),
      text: stringList('a list of column names').optional(),
      types: z.record(z.string(), z.string(expect(typesExpected)).refine((t) => declaredType(t) !== undefined, expect(typesExpected)), expect('a mapping of column names to types')).optional(),
    }, expect('a mapping')).optional(),
    chunk_rows: positiveInt().optional(),
    partitioning: z.enum(['auto', 'hive', 'none'], expect('one of [auto, hive, none]')).optional(),
  }, expect('a mapping with at least `path`')),
  model: z.union([nonEmptyString('a bundle directory'), modelObject], expect('a bundle directory, or a mapping with `path`')),
  batch: z.strictObject({
    size: positiveInt().optional(),
    concurrency: positiveInt().optional(),
  }, expect('a mapping')).optional(),
  output: z.strictObject({
    path: nonEmptyString('an output file path'),
    format: format.optional(),
    keep: stringList('a list of input column names ([] for none)').refine((k) => new Set(k).size === k.length, expect('a list of input column names, each once')).optional(),
    // Numbers, dates and timestamps are written unquoted: a delimiter must be a character none of them holds.
    csv: z.strictObject({ delimiter: oneChar.refine((d) => !/[\p{L}\p{N}."+\-:\s]/u.test(d) || d === '\t', expect('one character that no number, date or timestamp holds, e.g. "," ";" "|" or a tab')).optional() }, expect('a mapping')).optional(),
    parquet: z.strictObject({
      row_group_rows: positiveInt().optional(),
      row_group_memory: memorySize().optional(),
      compression: z.enum(['snappy', 'gzip', 'zstd', 'uncompressed'], expect('one of [snappy, gzip, zstd, uncompressed]')).optional(),
    }, expect('a mapping')).optional(),
    compression_level: z.number(expect('a whole number')).int(expect('a whole number')).optional(),
    writer: z.enum(['auto', 'thread', 'inline'], expect('one of [auto, thread, inline]')).optional(),
  }, expect('a mapping with at least `path`')),
  errors: z.strictObject({
    path: nonEmptyString('a file path').optional(),
    max_count: z.number(expect('a whole number ≥ 0')).int(expect('a whole number ≥ 0')).min(0, expect('a whole number ≥ 0')).optional(),
    max_rate: z.number(expect('a fraction between 0 and 1')).min(0, expect('a fraction between 0 and 1')).max(1, expect('a fraction between 0 and 1')).optional(),
    emit: z.enum(['skip', 'null-row'], expect('one of [skip, null-row]')).optional(),
  }, expect('a mapping')).optional(),
  checkpoint: z.union([
    z.literal(false),
    z.strictObject({
      path: nonEmptyString('a directory path').optional(),
      every: z.union([positiveInt(), z.string().regex(/^\d+(\.\d+)?\s*(s|m|h)$/, expect('a row count such as 10000, or a duration such as 30s, 5m, 1h'))], expect('a row count such as 10000, or a duration such as 30s, 5m, 1h')).optional(),
    }, expect('a mapping, or false')),
  ], expect('a mapping with path and every, or false')).optional(),
  limits: z.strictObject({
    memory: memorySize().optional(),
  }, expect('a mapping')).optional(),
}, expect('a mapping'));

export type RawJob = z.infer<typeof jobSchema>;

/**
 * input.csv as the readers take it, defaults filled in. decimal, encoding, names, text and types are there only
 * when they change how a file is read, so a job without them keeps its checkpoint fingerprint.
 */
function csvOptions(csv: RawJob['input']['csv']): CsvOptions {
  return {
    delimiter: csv?.delimiter, header: csv?.header ?? true, quote: csv?.quote ?? '"',
    ...(csv?.decimal !== undefined ? { decimal: csv.decimal } : {}),
    ...(csv?.thousands !== undefined ? { thousands: csv.thousands } : {}),
    ...(csv?.encoding !== undefined && csv.encoding in encodingLabels ? { encoding: encodingLabels[csv.encoding as EncodingLabel] } : {}),
    ...(csv?.names ? { names: csv.names } : {}),
    ...(csv?.text ? { text: csv.text } : {}),
    ...(csv?.types ? { types: Object.fromEntries(Object.entries(csv.types).map(([column, type]) => [column, declaredType(type)!])) } : {}),
  };
}

export interface LoadOptions {
  /** `--set key.path=value` pairs, applied after interpolation. */
  readonly overrides?: readonly string[];
  readonly env?: Environment;
  /** Where relative paths given with `--set` resolve (the user's shell). */
  readonly cwd?: string;
}

/** Reads, interpolates, overrides, validates and normalizes a job file; throws JOB_INVALID with every problem. */
export async function loadJob(jobFile: string, options: LoadOptions = {}): Promise<JobSpec> {
  const file = resolve(options.cwd ?? process.cwd(), jobFile);
  const what = 'Job file';
  const raw = await readYaml(file, 'JOB_INVALID', what, [], true);
  const problems: string[] = [];
  const quoted = new Map<string, string>();
  const interpolated = interpolate(raw, options.env ?? process.env, [], problems, quoted);
  const overridden = new Set<string>();
  // A file that is no mapping is said as such below (the schema's top level), not blamed on --set.
  const mapping = interpolated !== null && typeof interpolated === 'object' && !Array.isArray(interpolated);
  for (const assignment of mapping ? options.overrides ?? [] : []) {
    const problem = applyOverride(interpolated, assignment);
    if (problem) problems.push(problem);
    else overridden.add(assignment.slice(0, assignment.indexOf('=')).trim());
  }
  // A key --set replaces does not need the environment variable the file used there.
  const under = (path: string) => [...overridden].some((key) => path === key || path.startsWith(`${key}.`));
  const kept = problems.filter((p) => !under(p.slice(0, p.indexOf(':'))));
  if (kept.length > 0) {
    const error = configError('JOB_INVALID', file, what, kept);
    // Problems of the command line alone are fixed there, not in the file.
    if (kept.every((p) => p.startsWith('--set'))) throw new BentoError(error.code, error.message, { file, hint: `Fix the --set value${kept.length === 1 ? '' : 's'} (--set key.path=value) and run again.` });
    throw error;
  }
  // A quoted ${VAR} whose value reads as a number or a boolean, where the key takes text (name: "${RUN_DATE}", 20261206): the text.
  if (quoted.size > 0) {
    const tried = jobSchema.safeParse(interpolated);
    for (const issue of tried.success ? [] : tried.error.issues) {
      // (A key --set gave its value has no quoted variable any more.)
      if (under(issue.path.join('.'))) continue;
      const text = quoted.get(issue.path.join('.'));
      if (text !== undefined && issue.code === 'invalid_type' && issue.expected === 'string') setAt(interpolated, issue.path, text);
    }
  }
  let job: RawJob;
  try {
    job = validate(jobSchema, interpolated, 'JOB_INVALID', file, what);
  } catch (error) {
    throw overridden.size > 0 && error instanceof BentoError ? fromSet(error, overridden) : error;
  }
  return normalize(job, file, overridden, options.cwd ?? process.cwd());
}

/** A problem in a value given with --set is named as one, not as the job file's. */
function fromSet(error: BentoError, overridden: ReadonlySet<string>): BentoError {
  let message = error.message;
  let set = 0;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const key of overridden) {
    const at = new RegExp(`(^Job file .*?: |^  - )${escape(key)}(?=[.:])`, 'm');
    while (at.test(message)) {
      message = message.replace(at, `$1--set ${key}`);
      set++;
    }
    // A misspelt section (--set bacth.size=32) is an unknown key at its first part: the --set's too.
    const parts = key.split('.');
    for (let n = parts.length - 1; n > 0; n--) {
      const prefix = new RegExp(`(^Job file [^\\n]*?: |^  - )(${escape(parts.slice(0, n).join('.'))}: unknown key)`, 'gm');
      message = message.replace(prefix, (_match, head: string, rest: string) => {
        set++;
        return `${head}--set ${key}: ${rest}`;
      });
    }
  }
  if (set === 0) return error;
  const all = set === (message.match(/^  - /gm)?.length ?? 1);
  return new BentoError(error.code, message, { file: error.file, hint: all ? `Fix the --set value${set === 1 ? '' : 's'} and run again.` : 'Fix the job file and the --set values and run again.' });
}

function normalize(job: RawJob, file: string, overridden: Set<string>, cwd: string): JobSpec {
  const jobDir = dirname(file);
  // A path typed on the command line means what it means in the user's shell.
  // Given with --set itself or inside a mapping given with it (--set 'input={path: data.csv}').
  const fromCli = (key: string) => [...overridden].some((k) => key === k || key.startsWith(`${k}.`));
  const at = (key: string, path: string) => resolve(fromCli(key) ? cwd : jobDir, path);
  const model = typeof job.model === 'string' ? { path: job.model } : job.model;
  const outputPath = at('output.path', job.output.path);
  const problems: string[] = [];
  const outputFormat: DataFormat | undefined = job.output.format ?? formatFromPath(outputPath);
  if (outputFormat === undefined && existsSync(outputPath) && statSync(outputPath).isDirectory()) {
    problems.push(`output.path: ${outputPath} is an existing directory; output.path names the file to write, e.g. ${join(outputPath, 'scored.csv')}`);
  } else if (outputFormat === undefined) {
    problems.push(`output.format: cannot be inferred from the extension ${quote(extname(outputPath) || '(none)')}; expected one of [${dataFormats.join(', ')}] (set output.format, or name the file .csv, .jsonl or .parquet)`);
  }
  const gzip = /\.gz$/i.test(outputPath);
  const level = job.output.compression_level;
  if (level !== undefined) {
    const codec = outputFormat === 'parquet' ? job.output.parquet?.compression ?? 'snappy' : gzip ? 'gzip' : undefined;
    const range = codec === 'gzip' ? [1, 9] : codec === 'zstd' ? [1, 22] : undefined;
    if (codec === undefined) problems.push(`output.compression_level: the output is not compressed; name it ${quote(`${outputPath}.gz`)} to gzip it, or leave the level out`);
    else if (range === undefined) problems.push(`output.compression_level: ${codec} has no levels; set output.parquet.compression to zstd or gzip, or leave the level out`);
    else if (level < range[0]! || level > range[1]!) problems.push(`output.compression_level: ${codec} levels are ${range[0]} to ${range[1]}, got ${level}`);
  }
  if (gzip && outputFormat === 'parquet') problems.push('output.path: a Parquet file compresses its own pages and is not gzipped; remove the .gz extension and set output.parquet.compression (snappy, gzip, zstd or uncompressed)');
  const repeated = job.input.csv?.names?.find((name, i, all) => all.indexOf(name) !== i);
  if (repeated !== undefined) problems.push(`input.csv.names: ${quote(repeated)} is named twice; give each column its own name`);
  if (job.input.csv?.thousands !== undefined && job.input.csv.thousands === (job.input.csv.decimal ?? '.')) {
    problems.push(`input.csv.thousands: ${quote(job.input.csv.thousands)} is also the decimal mark; the separator between groups of digits is the other one (Excel in Germany writes 1.234,5: thousands ".", decimal ",")`);
  }
  const retyped = job.input.csv?.text?.find((name) => job.input.csv?.types?.[name] !== undefined && declaredType(job.input.csv.types[name]!) !== 'string');
  if (retyped !== undefined) problems.push(`input.csv.types: ${quote(retyped)} is also listed in input.csv.text, which reads it as text; name it in one of the two`);
  for (const key of ['delimiter', 'quote'] as const) {
    const c = job.input.csv?.[key];
    if (c === '\n' || c === '\r') problems.push(`input.csv.${key}: a line break ends a record and cannot also be the ${key === 'delimiter' ? 'delimiter between fields' : 'quote character'}; ${key === 'delimiter' ? 'use "," ";" "|" or a tab ("\\t")' : 'leave it out (it is \'"\')'}`);
  }
  const csvQuote = job.input.csv?.quote;
  const csvDelimiter = job.input.csv?.delimiter;
  if (csvQuote !== undefined && csvQuote === (csvDelimiter ?? ',')) {
    problems.push(`input.csv.quote: ${quote(csvQuote)} is also the delimiter between fields${csvDelimiter === undefined ? ' (a comma, unless another is sniffed)' : ''}; set another quote character, or leave it out (it is '"')`);
  } else if (csvQuote === undefined && csvDelimiter === '"') {
    problems.push('input.csv.delimiter: \'"\' is the quote character; set input.csv.quote to another character, or choose another delimiter');
  }
  if (job.input.csv?.decimal === ',' && job.input.csv.delimiter === ',') problems.push('input.csv.decimal: a decimal comma needs another delimiter between fields; set input.csv.delimiter (Excel writes ";" with a decimal comma) or leave it out to have it sniffed');
  // `-` as in cat, jq and DuckDB: standard input, through the path that opens it.
  const inputPath = job.input.path === '-' ? stdinPath : at('input.path', job.input.path);
  const errorsPath = job.errors?.path ? at('errors.path', job.errors.path) : `${outputPath}.errors.jsonl`;
  // The run would replace the file it reads, and a rerun would score its own predictions.
  const also = (path: string) => (path === inputPath ? 'is also input.path' : `is input.path ${quote(inputPath)} through a link`);
  if (sameFile(inputPath, outputPath)) problems.push(`output.path: ${quote(outputPath)} ${also(outputPath)}; the output would replace the input it is read from. Write it to another file, e.g. ${quote(scoredName(outputPath))}`);
  else if (sameFile(inputPath, errorsPath)) problems.push(`errors.path: ${quote(errorsPath)} ${also(errorsPath)}; set errors.path to another file`);
  // Each file a run writes is its own: the errors file published over the output (or removed, when no row failed) took the predictions with it.
  if (sameFile(errorsPath, outputPath)) problems.push(`errors.path: ${quote(errorsPath)} is also output.path; the errors file would replace the output. Leave errors.path out (it is ${quote(`${outputPath}.errors.jsonl`)}) or name another file`);
  const checkpointPath = job.checkpoint === false ? undefined : job.checkpoint?.path ? at('checkpoint.path', job.checkpoint.path) : `${outputPath}.bento-batch`;
  if (checkpointPath !== undefined) {
    const within = (path: string, dir: string) => sameFile(path, dir) || path.startsWith(dir + sep);
    if (within(checkpointPath, outputPath)) problems.push(`checkpoint.path: ${quote(checkpointPath)} is output.path${checkpointPath === outputPath ? '' : ', or a folder under it'}; the finished output could not be moved there. Leave checkpoint.path out (it is ${quote(`${outputPath}.bento-batch`)}) or name a folder of its own`);
    // An existing folder is judged by what it holds (state.ts, checkCheckpointDir), which names the files.
    else if (within(outputPath, checkpointPath) && !existsSync(checkpointPath)) problems.push(`output.path: ${quote(outputPath)} is inside checkpoint.path ${quote(checkpointPath)}, a folder that holds a run's own files only; write the output elsewhere`);
    if (within(errorsPath, checkpointPath) && !existsSync(checkpointPath)) problems.push(`errors.path: ${quote(errorsPath)} is ${errorsPath === checkpointPath ? '' : 'inside '}checkpoint.path ${quote(checkpointPath)}, a folder that holds a run's own files only; name a file outside it`);
  }
  if (problems.length > 0) throw configError('JOB_INVALID', file, 'Job file', problems);
  return {
    name: job.name ?? basename(file).replace(/\.ya?ml$/i, ''),
    jobFile: file,
    input: {
      path: inputPath,
      format: job.input.format,
      columns: job.input.columns,
      csv: csvOptions(job.input.csv),
      chunkRows: job.input.chunk_rows ?? defaultChunkRows,
      ...(job.input.chunk_rows !== undefined ? { chunkRowsSet: true } : {}),
      ...(job.input.partitioning !== undefined ? { partitioning: job.input.partitioning } : {}),
    },
    model: {
      ref: model.path,
      baseDir: fromCli(typeof job.model === 'string' ? 'model' : 'model.path') ? cwd : jobDir,
      path: at(typeof job.model === 'string' ? 'model' : 'model.path', model.path),
      threads: { intraOp: model.threads?.intra_op, interOp: model.threads?.inter_op, ...(model.threads?.allow_spinning !== undefined ? { allowSpinning: model.threads.allow_spinning } : {}) },
      graphOptimization: model.graph_optimization ?? 'all',
      providers: model.providers ?? ['cpu'],
      placement: model.placement ?? 'auto',
    },
    batch: { size: job.batch?.size, concurrency: job.batch?.concurrency ?? 2 },
    errors: {
      path: errorsPath,
      maxCount: job.errors?.max_count,
      maxRate: job.errors?.max_rate,
      emit: job.errors?.emit ?? 'skip',
    },
    checkpoint: job.checkpoint === false ? undefined : {
      path: checkpointPath!,
      ...every(job.checkpoint?.every ?? defaultEvery),
    },
    limits: { memoryMb: job.limits?.memory === undefined ? defaultMemoryMb : megabytes(job.limits.memory) },
    output: {
      path: outputPath,
      format: outputFormat!,
      keep: job.output.keep,
      // A .tsv output is tab-separated, as a .tsv input is read.
      csv: { delimiter: job.output.csv?.delimiter ?? (/\.tsv(\.gz)?$/i.test(outputPath) ? '\t' : ',') },
      gzip,
      parquet: {
        rowGroupRows: job.output.parquet?.row_group_rows ?? 65536,
        // Left out when unset, so the checkpoints of runs that could not set it still match.
        ...(job.output.parquet?.row_group_memory !== undefined ? { rowGroupMemoryMb: megabytes(job.output.parquet.row_group_memory) } : {}),
        compression: job.output.parquet?.compression ?? 'snappy',
      },
      ...(job.output.compression_level !== undefined ? { compressionLevel: job.output.compression_level } : {}),
      writer: job.output.writer ?? 'auto',
    },
  };
}

/** `data/x.csv` → `data/x.scored.csv` (before the format's extension and any `.gz`). */
function scoredName(path: string): string {
  const m = /^(.*?)((?:\.[A-Za-z0-9]+)?(?:\.gz)?)$/.exec(path)!;
  return `${m[1]}.scored${m[2]}`;
}

/**
 * Time, not rows: a resume repeats at most this much work whatever the model's speed, and a
 * fast job is not slowed by an fsync every few milliseconds (bench: every 10,000 rows cost 15%).
 */
export const defaultEvery = '5s';

/** MB as V8 counts them (2^20 bytes); GB = 1024 MB. */
function megabytes(value: number | string): number {
  if (typeof value === 'number') return value;
  const amount = Number.parseFloat(value);
  return Math.round(/g/i.test(value) ? amount * 1024 : amount);
}

function every(value: number | string): { everyRows: number | undefined; everySeconds: number | undefined } {
  if (typeof value === 'number') return { everyRows: value, everySeconds: undefined };
  const unit = value.trim().slice(-1);
  return { everyRows: undefined, everySeconds: Number.parseFloat(value) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1) };
}

/**
 * A command-line or environment value as the job file would mean it: numbers, booleans, null
 * and flow lists/maps are parsed as YAML; anything else (`|`, `#`, `-`, paths) stays text.
 */
export function scalar(text: string): unknown {
  const t = text.trim();
  if (/^[[{"']/.test(t) || /^(true|false|null|~)$/.test(t) || /^[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    try {
      return parseYamlScalar(t);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string; `$${VAR}` stays literal `${VAR}`. A
 * default may hold variables itself, to any depth, as in a shell (`${OUT:-${DIR:-out}/x.csv}`),
 * and braces of its own (`${IN:-data/*.{csv,tsv}}`). A `${` of another form (`${A-b}`, one not
 * closed) is a problem, not text: left as it stands it named a folder `${OUT:-out` with exit 0.
 */
export function interpolate(node: unknown, env: Environment, path: string[], problems: string[], quoted?: Map<string, string>): unknown {
  if (node instanceof Quoted || typeof node === 'string') {
    // `size: ${BATCH_SIZE:-64}` means a number, as if the value had been written there. Quoted, it
    // still may (size: "${SIZE:-64}"), but where the key takes text it is the text (`quoted`, loadJob).
    const written = node instanceof Quoted ? node.text : node;
    const { text, whole } = expand(written, env, path, problems);
    const value = whole && text !== written ? scalar(text) : text;
    if (node instanceof Quoted && typeof value !== 'string') quoted?.set(path.join('.'), text);
    return value;
  }
  if (Array.isArray(node)) return node.map((item, i) => interpolate(item, env, [...path, String(i)], problems, quoted));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolate(value, env, [...path, key], problems, quoted)]));
  }
  return node;
}

/** `text` with its variables replaced, and whether it is one variable whole. */
function expand(text: string, env: Environment, path: string[], problems: string[]): { text: string; whole: boolean } {
  const where = path.join('.') || '(top level)';
  let out = '';
  let whole = false;
  for (let i = 0; i < text.length;) {
    const at = text.indexOf('$', i);
    if (at === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, at);
    const escaped = text.startsWith('$${', at);
    if (!escaped && !text.startsWith('${', at)) {
      out += '$';
      i = at + 1;
      continue;
    }
    const open = escaped ? at + 2 : at + 1;
    const end = closingBrace(text, open);
    if (escaped) {
      out += end === -1 ? text.slice(at + 1) : text.slice(at + 1, end + 1);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(open + 1))?.[0];
    const after = name === undefined ? -1 : open + 1 + name.length;
    if (end === -1 || name === undefined || (after !== end && !text.startsWith(':-', after))) {
      const form = end === -1 ? text.slice(at) : text.slice(at, end + 1);
      problems.push(`${where}: ${JSON.stringify(form)} is ${end === -1 ? 'a ${ never closed' : 'no variable this file can use'}; write \${NAME} or \${NAME:-default} (and $\${NAME} for the text \${NAME})`);
      out += form;
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    const value = env[name];
    if (value !== undefined && value !== '') out += value;
    else if (after !== end) out += expand(text.slice(after + 2, end), env, path, problems).text;
    else {
      problems.push(`${where}: environment variable ${name} is not set (used as \${${name}}); set it, or give a default with \${${name}:-value}`);
      out += text.slice(at, end + 1);
    }
    whole = at === 0 && end === text.length - 1;
    i = end + 1;
  }
  return { text: out, whole };
}

/**
 * Where the `${` whose brace is at `open` closes: the first `}` not closing a `${` within, as a
 * shell reads it (`${U:-a{b}` is `a{b`; `${IN:-data/*.{csv,tsv}}` the glob, its last brace after
 * the variable); -1 where it does not close.
 */
function closingBrace(text: string, open: number): number {
  let depth = 1;
  for (let k = open + 1; k < text.length; k++) {
    if (text[k] === '$' && text[k + 1] === '{') {
      depth++;
      k++;
    } else if (text[k] === '}' && --depth === 0) return k;
  }
  return -1;
}

/** Applies one `a.b.c=value` (value parsed as a YAML scalar or flow list); returns a problem or undefined. */
export function applyOverride(root: unknown, assignment: string): string | undefined {
  const eq = assignment.indexOf('=');
  if (eq <= 0) return `--set ${quote(assignment)}: expected key.path=value`;
  const keys = assignment.slice(0, eq).trim().split('.');
  const text = assignment.slice(eq + 1);
  const value = scalar(text);
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return '--set: the job file is not a mapping';
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'string' && key === 'model') node[key] = { path: next };
    else if (next === undefined) node[key] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) return `--set ${keys.join('.')}: ${key} is not a mapping`;
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
  return undefined;
}

/** Sets the value at `path` of a parsed job file (mappings and lists). */
function setAt(root: unknown, path: readonly PropertyKey[], value: unknown): void {
  let node = root as Record<PropertyKey, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<PropertyKey, unknown>;
  node[path.at(-1)!] = value;
}
