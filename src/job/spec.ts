/**
 * @file The normalized job: every path absolute, every default filled in. Later stages read
 * only this shape, never the raw YAML.
 */
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import type { Placement } from '../model/pool.js';
import type { DeclaredType } from '../source/csvtypes.js';

export type DataFormat = 'csv' | 'jsonl' | 'parquet';
export const dataFormats: readonly DataFormat[] = ['csv', 'jsonl', 'parquet'];

export interface CsvOptions {
  /** One character; `\t` for TSV. Undefined means "," (or tab for .tsv files). */
  readonly delimiter: string | undefined;
  readonly header: boolean;
  readonly quote: string;
  /** The decimal mark as set in the job; absent: sniffed from the first file's head (a point unless its fields are not comma-separated and its numbers have a decimal comma). */
  readonly decimal?: ',' | '.';
  /** The separator between groups of digits in numbers ("1,234.5", "1.234,5"), when they have one. */
  readonly thousands?: string;
  /**
   * Set when the file is not UTF-8 (Excel's plain "CSV" on Windows; UTF-16 without a byte-order
   * mark); absent: UTF-8, or what a byte-order mark says.
   */
  readonly encoding?: 'windows-1252' | 'utf-16le' | 'utf-16be';
  /** The columns' names, for a file without a header or in place of its header's. */
  readonly names?: readonly string[];
  /** Columns read as text whatever their cells look like (codes: zip codes, account numbers), as DuckDB's `types` and pandas' `dtype=str` set. */
  readonly text?: readonly string[];
  /** Columns' types as declared (DuckDB's `types`, Polars' `schema_overrides`), whatever their first cells look like. */
  readonly types?: Readonly<Record<string, DeclaredType>>;
}

/** What `input.path: -` reads: standard input, as a path the readers open and messages name. */
export const stdinPath = '/dev/stdin';

export interface InputSpec {
  /** Absolute file, directory or glob; a pipe (stdinPath for `-`) is read once (source/stream.ts). */
  readonly path: string;
  /** Undefined: inferred per file from its extension. */
  readonly format: DataFormat | undefined;
  /** Read only these columns (the model's columns are always read). */
  readonly columns: readonly string[] | undefined;
  readonly csv: CsvOptions;
  /** Rows per chunk read from the source: bounds memory together with the queue depth. */
  readonly chunkRows: number;
  /** chunk_rows was given in the job: taken as it is, also for a wide file (source/chunks.ts, chunkEnd). */
  readonly chunkRowsSet?: boolean;
  /** Hive-style `key=value` folders read as columns (source/partitions.ts); undefined: auto. */
  readonly partitioning?: 'auto' | 'hive' | 'none';
}

export interface ModelSpec {
  /** The model as the job names it: a bundle directory, an archive, or a store tag. */
  readonly ref: string;
  /** Directory relative references resolve against. */
  readonly baseDir: string;
  /** `ref` resolved against `baseDir` (meaningful when it is a path). */
  readonly path: string;
  /** `allowSpinning`: onnxruntime's session.intra_op.allow_spinning; undefined leaves its default (on). */
  readonly threads: { readonly intraOp: number | undefined; readonly interOp: number | undefined; readonly allowSpinning?: boolean };
  readonly graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime execution providers in order of preference; CPU is always the fallback. */
  readonly providers: readonly string[];
  /** Where batches run: worker threads, the scoring thread, or `auto` (model/pool.ts). */
  readonly placement: Placement;
}

export interface BatchSpec {
  /** Rows per model call; undefined means min(256, the bundle's max). */
  readonly size: number | undefined;
  /** Model calls in flight, each on its own worker thread and session. */
  readonly concurrency: number;
}

export interface OutputSpec {
  readonly path: string;
  readonly format: DataFormat;
  /** Input columns copied beside the predictions; undefined means all. */
  readonly keep: readonly string[] | undefined;
  readonly csv: { readonly delimiter: string };
  /** CSV and JSON Lines written gzipped: the path ends in `.gz` (sink/text.ts). */
  readonly gzip: boolean;
  /** `rowGroupMemoryMb`: undefined for the sink's default (sink/parquet.ts, defaultRowGroupMemoryMb). */
  readonly parquet: { readonly rowGroupRows: number; readonly rowGroupMemoryMb?: number; readonly compression: 'snappy' | 'gzip' | 'zstd' | 'uncompressed' };
  /** The gzip (1–9) or zstd (1–22) level of a gzipped text output or a Parquet one's pages; undefined: the codec's default (6, 3). */
  readonly compressionLevel?: number;
  /** Where the output is formatted and encoded: its own thread(s), the scoring thread, or by the input's size (sink/thread.ts, smallInput). */
  readonly writer: 'auto' | 'thread' | 'inline';
}

export interface CheckpointSpec {
  /** Absolute checkpoint directory: the partial output and state.json live here. */
  readonly path: string;
  /** Commit after at least this many rows… */
  readonly everyRows: number | undefined;
  /** …or this many seconds, whichever the job file says. */
  readonly everySeconds: number | undefined;
}

export interface ErrorsSpec {
  /** The errors file (JSON lines), written beside the output. */
  readonly path: string;
  readonly maxCount: number | undefined;
  readonly maxRate: number | undefined;
  /** skip: bad rows are left out of the output; null-row: kept with null predictions and an `error` column. */
  readonly emit: 'skip' | 'null-row';
}

export interface JobSpec {
  readonly name: string;
  /** Absolute path of the job file the spec came from. */
  readonly jobFile: string;
  readonly input: InputSpec;
  readonly model: ModelSpec;
  readonly batch: BatchSpec;
  readonly output: OutputSpec;
  readonly errors: ErrorsSpec;
  /** Undefined when the job file says `checkpoint: false`. */
  readonly checkpoint: CheckpointSpec | undefined;
  readonly limits: LimitsSpec;
}

export interface LimitsSpec {
  /**
   * Heap budget (MB) of the threads that hold rows: the scoring thread gets 60%, the writer
   * thread 40% (V8 old-generation caps). Memory stays flat because these are caps.
   */
  readonly memoryMb: number;
}

/** Format for a file name by its extension, looking through a trailing `.gz`. */
export function formatFromPath(path: string): DataFormat | undefined {
  const name = path.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.parquet') || name.endsWith('.pq')) return 'parquet';
  return undefined;
}

/**
 * Whether `file` is one that runs of this job write, so an input glob or folder must not read it:
 * the output and errors file (input `data/*.csv` with output `data/scored.csv` would score the
 * last run's predictions again on the next), anything in the checkpoint directory or in another
 * job's (`*.bento-batch`, the default beside an output; with input.format set, a folder's
 * state.json would be read as data too), and our temporary and lock files. Paths are compared as
 * written and with links resolved: the input may reach the output's folder through a link (a
 * Kubernetes volume, `/data/current` → `/data/2026-12-06`) and the output name it directly.
 */
export function writtenByRuns(spec: Pick<JobSpec, 'output' | 'errors' | 'checkpoint'>): (file: string) => boolean {
  const written = new Set([spec.output.path, spec.errors.path].flatMap((p) => [p, realPath(p), identity(p)]).filter((p): p is string => p !== undefined));
  const checkpoints = spec.checkpoint ? [spec.checkpoint.path + sep, realPath(spec.checkpoint.path) + sep] : [];
  // A checkpoint's lock and takeover guard sit beside it, named after it (checkpoint/lock.ts).
  const locks = spec.checkpoint ? [`${spec.checkpoint.path}.lock`, `${spec.checkpoint.path}.takeover.lock`] : [];
  const ours = (file: string) => written.has(file) || checkpoints.some((c) => file.startsWith(c)) || locks.includes(file)
    || file.endsWith('.bento-batch.tmp') || file.endsWith('.bento-batch.lock') || basename(dirname(file)).endsWith('.bento-batch');
  // Asked of every input file (30,000 part files): a folder's real path is looked up once.
  const folders = new Map<string, string>();
  const realFolder = (dir: string) => {
    let real = folders.get(dir);
    if (real === undefined) folders.set(dir, (real = realPath(dir)));
    return real;
  };
  return (file) => {
    if (ours(file)) return true;
    const info = lstatSync(file, { throwIfNoEntry: false });
    // A file that is no link is where its folder really is, and is its own identity.
    const plain = info !== undefined && !info.isSymbolicLink();
    if (ours(plain ? join(realFolder(dirname(file)), basename(file)) : realPath(file))) return true;
    if (written.has((plain ? `${info.dev}:${info.ino}` : identity(file)) ?? '')) return true;
    return anotherRunsOutput(file);
  };
}

/**
 * Whether `file` is the finished output of a run that read its folder, by the checkpoint a run
 * leaves beside it (`<output>.bento-batch/state.json`, the default checkpoint.path): a daily job
 * writing `data/scored-${DAY}.csv` while reading `data/*.csv` would score yesterday's output again.
 */
function anotherRunsOutput(file: string): boolean {
  const path = join(`${file}.bento-batch`, 'state.json');
  // Few input files are outputs: a missing file is cheaper to stat than to fail to read.
  if (statSync(path, { throwIfNoEntry: false }) === undefined) return false;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as { status?: unknown; finished?: { output?: unknown }; fingerprint?: { inputs?: { path?: unknown }[] } } | null;
    if (state?.status !== 'finished' || typeof state.finished?.output !== 'string' || !sameFile(state.finished.output, file)) return false;
    // Only a run that read this folder too (yesterday's run of the job): the output of a job
    // upstream (stage1/part-1.csv, read by stage 2) is this one's input.
    return (state.fingerprint?.inputs ?? []).some((input) => typeof input.path === 'string' && sameFile(dirname(input.path), dirname(file)));
  } catch {
    return false;
  }
}

/**
 * Whether two paths name one file: as written, through links, or as one file on the device (a
 * bind mount, `docker run -v $PWD:/in -v $PWD:/out`, or a hard link). An output not written yet
 * is told by its folder.
 */
export const sameFile = (a: string, b: string) => {
  if (a === b || realPath(a) === realPath(b)) return true;
  const id = identity(a);
  return id !== undefined && id === identity(b);
};

/** A path's device and inode (its folder's, and its name, where it does not exist yet); undefined where neither can be read. */
function identity(path: string): string | undefined {
  const of = (p: string) => {
    try {
      const info = statSync(p);
      return `${info.dev}:${info.ino}`;
    } catch {
      return undefined;
    }
  };
  const own = of(path);
  if (own !== undefined) return own;
  const folder = of(dirname(path));
  return folder === undefined ? undefined : `${folder}/${basename(path)}`;
}

/** `path` with its links resolved, as far as it exists (an output not written yet: its folder's). */
function realPath(path: string): string {
  // The system's realpath(3), at half the cost of Node's own walk: it is asked of every input file.
  try {
    return realpathSync.native(path);
  } catch {
    try {
      return join(realpathSync.native(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }
}
