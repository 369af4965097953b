/**
 * @file The checkpoint: state.json in the checkpoint directory says what the job was (its
 * fingerprint) and how far its output is durable. It is replaced atomically (temp file, fsync,
 * rename, fsync of the directory), so a crash between any two system calls leaves either the
 * old or the new state, never a torn one.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants, createReadStream, readFileSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { BentoError, fsReason } from '../errors.js';
import { type JobSpec, writtenByRuns } from '../job/spec.js';
import type { Bundle } from '../model/bundle.js';
import { LocationScanner } from '../model/external.js';
import { outputError, syncDir } from '../sink/atomic.js';
import type { SinkPosition } from '../sink/types.js';
import type { Field, SourcePosition } from '../source/types.js';
import { mapLimited, readRanges, statFiles } from '../source/ahead.js';
import { chunkEnd, chunkOptions } from '../source/chunks.js';
import { failpoint } from './failpoint.js';

/** What makes two runs the same job: the output-affecting job keys, the input files, the model. */
export interface Fingerprint {
  readonly job: string;
  /** `stream`: a pipe or standard input, known by its path alone (a resume checks its bytes as it reads them, source/stream.ts). */
  readonly inputs: readonly { readonly path: string; readonly size: number; readonly mtimeMs: number; readonly sample: string; readonly stream?: true }[];
  readonly model: {
    readonly name: string; readonly version: string; readonly sha256: string;
    /** The bundle's other files (bento.yaml, a tokenizer), which map columns to tensors and outputs to columns. Absent in checkpoints of earlier versions. */
    readonly bundle?: string;
    /** The files a run reads from the bundle's subfolders (weights/w.bin, a tokenizer there): nestedFiles. Absent where none, and in checkpoints of earlier versions. */
    readonly nested?: string;
  };
  /** The columns read from key=value folder names (source/partitions.ts); absent where none, and in checkpoints of earlier versions. */
  readonly partitions?: readonly string[];
  /** What `job` and `rows` hash, for a refused resume to name what changed. Absent in checkpoints of earlier versions. */
  readonly settings?: { readonly job: unknown; readonly rows: unknown };
  /** Settings beside the job hash that change output bytes: errors.emit, input.chunk_rows (the first chunk types the columns). Absent in checkpoints of earlier versions. */
  readonly rows?: string;
  /**
   * Rows of a wide CSV or JSONL file's first chunk, which types its columns, where fewer than
   * max(chunk_rows, 8192) (source/chunks.ts, typeCells); absent otherwise, as in earlier versions.
   */
  readonly typeRows?: number;
  /**
   * The input's columns and their types, as the first chunk typed them (a hash): another version
   * may type them otherwise (a CSV code as text), and a Parquet output resumed so would hold one
   * column in two types. Absent in checkpoints of earlier versions, and where status looks
   * without opening the input: not compared then.
   */
  readonly columns?: string;
}

export interface Commit {
  /** Global rows [0, rows) are durable in the partial output. */
  readonly rows: number;
  readonly batches: number;
  /** Where the source resumes. */
  readonly source: SourcePosition;
  /** Where the partial output is truncated back to. */
  readonly sink: SinkPosition;
  /** The errors file's committed length and the failed rows up to here. */
  readonly errors: { readonly bytes: number; readonly failed: number };
  readonly at: string;
  /** The warnings the reader gave so far (a key past the columns, a late code), which a resume, reading on from here, says again. Absent where none. */
  readonly notes?: readonly string[];
}

/** Written when the output is complete: the run's manifest. */
export interface Finished {
  readonly output: string;
  readonly rows: number;
  readonly failed: number;
  /** Absent in checkpoints of earlier versions. */
  readonly batches?: number;
  readonly started: string;
  readonly finished: string;
  readonly seconds: number;
  /** The sealed output's bytes in the checkpoint, before it is moved: a run that finds it there moves only this file. Absent in checkpoints of earlier versions. */
  readonly bytes?: number;
  /** Where the model ran (its summary's `model.providers` and `placement`), for a rerun's summary. Absent in checkpoints of earlier versions. */
  readonly providers?: readonly string[];
  readonly placement?: 'workers' | 'inline';
}

export interface CheckpointState {
  readonly version: 1;
  readonly status: 'running' | 'finished';
  readonly fingerprint: Fingerprint;
  readonly total_rows: number | undefined;
  readonly committed: Commit | undefined;
  readonly finished?: Finished;
}

export const stateFile = (dir: string) => join(dir, 'state.json');
export const partialFile = (dir: string, format: string) => join(dir, `partial.${format}`);
export const partialErrorsFile = (dir: string) => join(dir, 'errors.partial.jsonl');
/**
 * Made before a takeover parts from the partial files (detachPartials) and removed once it has:
 * a takeover cut short (a full disk mid-copy) leaves it, and the next run, which sees no other
 * host's lock to take over, parts from them first all the same.
 */
export const detachMarker = (dir: string) => join(dir, 'detach.pending');

/**
 * Every name a run writes into its checkpoint directory: state.json, the partial output (a
 * Parquet one with its row groups' metadata), the partial errors file, and their temporary
 * files (`.tmp`, or `.<pid>[-<n>].tmp` of one process).
 */
const partialNames = 'partial\\.(?:csv|jsonl|parquet)(?:\\.rowgroups)?|errors\\.partial\\.jsonl';
const checkpointEntry = new RegExp(`^(?:state\\.json|detach\\.pending|${partialNames})(?:\\.\\d+(?:-\\d+)?)?(?:\\.tmp)?$`);
/** The partial files of a checkpoint (output, its row-group metadata, errors), without temporary ones. */
const partialEntry = new RegExp(`^(?:${partialNames})$`);

/**
 * Refuses a `checkpoint.path` that is a file, or a directory holding anything a run does not
 * write there (`checkpoint.path: .`, a shared folder): a restart or a new run empties the
 * checkpoint, and would take the rest with it.
 */
export async function checkCheckpointDir(dir: string, jobFile: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return;
  const own = `${jobFile.replace(/\.[^./\\]*$/, '')}.bento-batch`;
  const hint = `Set checkpoint.path to a directory of its own (it is created), e.g. ${own}, or leave it out to use <output.path>.bento-batch.`;
  if (!info.isDirectory()) {
    throw new BentoError('JOB_INVALID', `Job file ${jobFile}: checkpoint.path ${dir} is a file, not a checkpoint directory`, { file: jobFile, hint });
  }
  const others = (await readdir(dir).catch(() => [])).filter((name) => !checkpointEntry.test(name)).sort();
  if (others.length > 0) {
    const shown = others.slice(0, 3).map((name) => JSON.stringify(name)).join(', ') + (others.length > 3 ? ` and ${others.length - 3} more` : '');
    throw new BentoError('JOB_INVALID', `Job file ${jobFile}: checkpoint.path ${dir} is a directory holding other files (${shown}); a run empties its checkpoint directory when it starts over or finishes with new inputs`, { file: jobFile, hint });
  }
  // A state.json of another tool's is refused before --restart could remove it.
  await readState(dir).catch((error: unknown) => {
    if (error instanceof BentoError && error.message.includes('is not a bento-batch checkpoint')) throw error;
  });
}

/**
 * Puts a copy of each partial file in the checkpoint in its place (a reflink where the file system
 * has them), or with `unlinkOnly` (a run starting afresh) removes it, so a process that still has
 * one open (a paused run that lost the job to this one) writes into a file no one reads rather
 * than into this run's output.
 */
export async function detachPartials(dir: string, unlinkOnly = false): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => partialEntry.test(name));
  } catch (error) {
    // No checkpoint folder (the dead run made no commit): nothing of its to part from.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw outputError(dir, error);
  }
  try {
    await writeFile(detachMarker(dir), '');
    await syncDir(dir);
  } catch (error) {
    throw outputError(dir, error);
  }
  for (const name of names) {
    const path = join(dir, name);
    const copy = `${path}.${process.pid}.tmp`;
    try {
      if (unlinkOnly) {
        await rm(path, { force: true });
        continue;
      }
      await copyFile(path, copy, constants.COPYFILE_FICLONE);
      await rename(copy, path);
    } catch (error) {
      await rm(copy, { force: true }).catch(() => undefined);
      throw outputError(path, error);
    }
  }
  await syncDir(dir).catch((error: unknown) => {
    throw outputError(dir, error);
  });
  await rm(detachMarker(dir), { force: true });
}

/** Removes a checkpoint: the files a run writes there, then the directory if nothing else is in it. */
export async function removeCheckpoint(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw outputError(dir, error);
  }
  try {
    await Promise.all(names.filter((name) => checkpointEntry.test(name)).map((name) => rm(join(dir, name), { force: true })));
    // A checkpoint.path that is a link to a folder (ENOTDIR): its files are removed, the link stays.
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT' && error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST' && error.code !== 'ENOTDIR') throw error;
    });
  } catch (error) {
    throw outputError(dir, error);
  }
}

/**
 * Removes what runs killed while writing left in the checkpoint: their temporary files
 * (`state.json.<pid>-<n>.tmp`, …). Called by the run that holds the job's lock, so none is a live
 * run's; left, they would outlast the job's end in its finished checkpoint.
 */
export async function removeStrayTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((name) => name.endsWith('.tmp') && checkpointEntry.test(name)).map((name) => rm(join(dir, name), { force: true }).catch(() => undefined)));
}

/** The rows the checkpoint in `dir` has committed, 0 where none can be read: read at once, also from a signal's handler. */
export function committedRows(dir: string): number {
  try {
    return (JSON.parse(readFileSync(stateFile(dir), 'utf8')) as Partial<CheckpointState> | null)?.committed?.rows ?? 0;
  } catch {
    return 0;
  }
}

/** Reads state.json; undefined when there is no checkpoint yet. */
export async function readState(dir: string): Promise<CheckpointState | undefined> {
  let text: string;
  try {
    text = await readFile(stateFile(dir), 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return undefined;
    // Read, not written (`status` only reads): said so.
    throw new BentoError('OUTPUT_WRITE', `Cannot read the checkpoint ${stateFile(dir)}: ${fsReason(e) ?? e.message}`, {
      file: stateFile(dir), cause: error, hint: 'Run as the user that runs the job, or give this one read access to the checkpoint folder.',
    });
  }
  try {
    const state = JSON.parse(text) as CheckpointState;
    const print = (state as Partial<CheckpointState> | null)?.fingerprint;
    // Another tool's state.json in a folder named as checkpoint.path is not ours to discard.
    if (state === null || typeof state !== 'object' || typeof print !== 'object' || print === null || typeof print.job !== 'string' || !Array.isArray(print.inputs) || (state.status !== 'running' && state.status !== 'finished')) {
      throw new BentoError('JOB_INVALID', `Checkpoint ${stateFile(dir)} is not a bento-batch checkpoint (it names no job fingerprint and status)`, {
        file: stateFile(dir), hint: 'Set checkpoint.path to a folder of its own; that file belongs to something else.',
      });
    }
    if (state.version !== 1) throw new Error(`unknown checkpoint version ${String(state.version)}`);
    return state;
  } catch (error) {
    if (error instanceof BentoError) throw error;
    throw new BentoError('JOB_INVALID', `Checkpoint ${stateFile(dir)} cannot be read: ${(error as Error).message}`, {
      file: stateFile(dir), hint: 'Run again with --restart to discard it and start over.',
    });
  }
}

/** Writes so far, each through a temporary file of its own. */
let writes = 0;

/**
 * Replaces state.json atomically and durably. `fence` throws when the run no longer holds the
 * job (checkpoint/lock.ts): looked at before anything is written and again just before the
 * rename, so a run that has lost the job to another does not replace that run's record.
 */
export async function writeState(dir: string, state: CheckpointState, fence?: () => Promise<void>): Promise<void> {
  await fence?.();
  // Of its own: a paused run that lost its lock may write beside the run that took it over.
  const temp = `${stateFile(dir)}.${process.pid}-${++writes}.tmp`;
  try {
    // Made by a run's first record only: gone later, it took the partial output with it (rm -rf
    // mid-run), and a record made anew would point at files that are not there.
    if (state.status === 'running' && state.committed === undefined) await mkdir(dir, { recursive: true });
    else if (!(await stat(dir).catch(() => undefined))) {
      throw new BentoError('OUTPUT_WRITE', `Cannot record a checkpoint in ${dir}: the folder was removed while the run wrote there, and its partial output with it`, {
        file: dir, hint: 'Run the same command again: with the checkpoint gone it starts over. Leave the checkpoint folder in place while a run writes there.',
      });
    }
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    failpoint('state-written');
    await fence?.();
    await rename(temp, stateFile(dir));
    failpoint('state-renamed');
    await syncDir(dir);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw outputError(dir, error);
  }
}

/**
 * The fingerprint of a job as it stands now. Reads 64 KiB from each end of each input file (not
 * of a pipe).
 * `width`: the columns a CSV or JSONL input's rows are read with (its first chunk's rows depend on it);
 * `columns`: the input's schema, where it is open.
 */
export async function fingerprint(spec: JobSpec, files: readonly string[], bundle: Bundle, width?: number, partitions?: readonly string[], columns?: readonly Field[]): Promise<Fingerprint> {
  // Keys that cannot change a single output byte are left out: a resume may change them.
  const job = {
    input: { path: spec.input.path, format: spec.input.format, columns: spec.input.columns, csv: spec.input.csv },
    batch: { size: spec.batch.size },
    model: { graphOptimization: spec.model.graphOptimization, providers: spec.model.providers },
    output: { path: spec.output.path, format: spec.output.format, keep: spec.output.keep, csv: spec.output.csv, parquet: spec.output.parquet, ...(spec.output.compressionLevel !== undefined ? { compressionLevel: spec.output.compressionLevel } : {}) },
  };
  const model = await modelHash(bundle.modelFile);
  // A few files open at a time: Spark writes thousands of part files, past a shell's `ulimit -n` of 1,024.
  const stats = await statFiles(files);
  const inputs = await mapLimited(files, 16, async (path, i) => {
    const { size, mtimeMs, regular } = stats[i]!;
    // A pipe read here would lose its bytes to the run.
    if (!regular) return { path, size: 0, mtimeMs: 0, sample: '', stream: true as const };
    return { path, size, mtimeMs, sample: await sample(path, size) };
  });
  const rows = { emit: spec.errors.emit, chunkRows: spec.input.chunkRows };
  const nested = nestedFiles(bundle, model.external);
  return {
    job: sha256(JSON.stringify(job)),
    settings: { job, rows },
    inputs,
    model: {
      name: bundle.manifest.name, version: bundle.manifest.version, sha256: model.sha256, bundle: await bundleHash(bundle, spec),
      ...(nested.length > 0 ? { nested: await filesHash(bundle.dir, nested) } : {}),
    },
    rows: sha256(JSON.stringify(rows)),
    ...typeRowsOf(spec, width),
    ...(partitions && partitions.length > 0 ? { partitions } : {}),
    ...(columns ? { columns: sha256(JSON.stringify(columns)) } : {}),
  };
}

function typeRowsOf(spec: JobSpec, width: number | undefined): { typeRows?: number } {
  if (width === undefined) return {};
  const options = chunkOptions(spec.input);
  const rows = chunkEnd(options, false, width);
  return rows < chunkEnd(options, false) ? { typeRows: rows } : {};
}

/**
 * sha256 over the names and bytes of a bundle's files other than the model, sorted (the manifest,
 * a tokenizer). Links are followed: a Kubernetes ConfigMap or Secret volume, a DVC or git-annex
 * checkout, holds its files as links. A file this user cannot read is not one the run reads (the
 * manifest and tokenizer are read before this), so it counts by its name alone; a folder that
 * cannot be listed is hashed by the files the run reads.
 */
async function bundleHash(bundle: Bundle, spec: JobSpec): Promise<string> {
  const text = bundle.manifest.text;
  const listed = await readdir(bundle.dir).catch(() => ['bento.yaml', ...(text ? [text.tokenizer, 'tokenizer_config.json'] : [])]);
  // What runs write, where a job keeps its output beside the model (`model: .`): not the bundle's.
  const ours = writtenByRuns(spec);
  const names: string[] = [];
  for (const name of listed.sort()) {
    const path = join(bundle.dir, name);
    if (path !== bundle.modelFile && !ours(path) && (await stat(path).catch(() => undefined))?.isFile()) names.push(name);
  }
  return filesHash(bundle.dir, names);
}

/**
 * The files a run reads from subfolders of the bundle, which the bundle hash's listing of its top
 * folder does not reach: the graph's external data (`weights/w.bin`), a tokenizer (`tok/tokenizer.json`).
 * Relative to the bundle, sorted; none for a bundle of one folder, which hashes as before.
 */
function nestedFiles(bundle: Bundle, external: readonly string[]): string[] {
  const files = [...external.map((f) => join(dirname(bundle.modelFile), f)), ...(bundle.manifest.text ? [join(bundle.dir, bundle.manifest.text.tokenizer)] : [])];
  return [...new Set(files.map((f) => relative(bundle.dir, f)).filter((f) => f.includes(sep)))].sort();
}

/** sha256 over the names and bytes of `names` (relative to `dir`). */
async function filesHash(dir: string, names: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const name of names) {
    hash.update(`${name}\0`);
    await hashFile(hash, join(dir, name));
  }
  return hash.digest('hex');
}

/**
 * `path`'s bytes into `hash`, then a mark of whether it could be read. Streamed: beside the model
 * may lie its external weights (model.onnx.data), gigabytes.
 */
async function hashFile(hash: Hash, path: string): Promise<void> {
  const read = await new Promise<boolean>((resolve) => {
    createReadStream(path).on('data', (d) => hash.update(d)).on('error', () => resolve(false)).on('end', () => resolve(true));
  });
  hash.update(read ? '\0' : '\0\u0001unreadable\0');
}

/**
 * The keys whose values differ between two settings objects, as the job file names them
 * (`batch.size 8 → 16`), at most three; undefined when either is unknown (an earlier checkpoint).
 */
function changedKeys(then: unknown, now: unknown, names: Readonly<Record<string, string>> = {}): string | undefined {
  if (then === undefined || now === undefined) return undefined;
  const flat = (value: unknown, path: string, out: Map<string, string>): Map<string, string> => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) flat(v, path ? `${path}.${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}` : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), out);
    } else if (value !== undefined) out.set(path, JSON.stringify(value));
    return out;
  };
  const a = flat(then, '', new Map());
  const b = flat(now, '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
  if (keys.length === 0) return undefined;
  const shown = keys.slice(0, 3).map((k) => `${names[k] ?? k} ${a.get(k) ?? '(not set)'} → ${b.get(k) ?? '(not set)'}`);
  return `${shown.join(', ')}${keys.length > 3 ? ` and ${keys.length - 3} more` : ''}`;
}

/** What differs between the checkpoint's fingerprint and now, in words; empty when none. */
export function differences(then: Fingerprint, now: Fingerprint, options: { readonly typeRowsUnknown?: boolean; readonly partitionsUnknown?: boolean; readonly finishedEarlier?: boolean } = {}): string[] {
  const out: string[] = [];
  if (then.job !== now.job) out.push(`the job file changed (${changedKeys(then.settings?.job, now.settings?.job) ?? 'input, batch.size, model options or output settings'})`);
  // Earlier versions (no `settings`) read an unquoted `version: 2.0` as the number 2.
  const earlier = then.settings === undefined;
  const sameVersion = then.model.version === now.model.version || (earlier && now.model.version.trim() !== '' && String(Number(now.model.version)) === then.model.version);
  if (then.model.name !== now.model.name || !sameVersion) out.push(`the model changed from ${then.model.name}:${then.model.version} to ${now.model.name}:${now.model.version}`);
  else if (then.model.sha256 !== now.model.sha256) out.push(`the model file of ${now.model.name}:${now.model.version} changed`);
  else if (then.model.bundle !== undefined && then.model.bundle !== now.model.bundle) out.push(`the bundle of ${now.model.name}:${now.model.version} changed (bento.yaml or the files beside it)`);
  // Earlier versions did not look into the bundle's subfolders: nothing to compare with.
  else if (!earlier && then.model.nested !== now.model.nested) out.push(`the bundle of ${now.model.name}:${now.model.version} changed (the weights or tokenizer in its subfolders)`);
  const keys = (print: Fingerprint) => (print.partitions ?? []).join(', ') || 'none';
  // A run an earlier version finished, over folders it did not read as columns, stays finished: its output is complete as it was (--restart adds them).
  const finishedBefore = earlier && options.finishedEarlier && then.partitions === undefined;
  if (!options.partitionsUnknown && !finishedBefore && keys(then) !== keys(now)) {
    out.push(`the columns read from key=value folder names changed (${keys(then)} → ${keys(now)}${earlier ? '; the checkpoint was made by a version that did not read them, and input.partitioning: none resumes it as it was' : ''})`);
  }
  // Checkpoints written before these were kept say nothing of them: not a change.
  if (then.rows !== undefined && then.rows !== now.rows) {
    const keys = changedKeys(then.settings?.rows, now.settings?.rows, { emit: 'errors.emit', chunk_rows: 'input.chunk_rows' });
    out.push(`${keys ? `a setting that decides which rows and columns are written changed (${keys})` : 'errors.emit or input.chunk_rows changed (they change which rows and columns are written)'}`);
  }
  // Unknown (no `width`) only where status looks without opening the input.
  else if (then.typeRows !== now.typeRows && !(options.typeRowsUnknown && now.typeRows === undefined)) out.push(`the first chunk, whose rows type the columns, holds ${now.typeRows ?? 'max(input.chunk_rows, 8,192)'} rows now and ${then.typeRows ?? 'max(input.chunk_rows, 8,192)'} rows then (a wide file, read by another version; set input.chunk_rows to the value the checkpoint was made with, 2048 where it was not set, to resume it)`);
  // Earlier versions did not record them: a Parquet output resumed over other types is refused by its sink (parquet.ts).
  // Columns asked for otherwise (output.keep, input.columns) are other columns read: the job's change says so already.
  const asked = (print: Fingerprint) => {
    const job = print.settings?.job as { input?: { columns?: unknown }; output?: { keep?: unknown } } | undefined;
    return JSON.stringify([job?.input?.columns, job?.output?.keep]);
  };
  const askedOtherwise = then.settings !== undefined && asked(then) !== asked(now);
  if (then.columns !== undefined && now.columns !== undefined && then.columns !== now.columns && !askedOtherwise) out.push('the input\'s columns or their types, as its first rows give them, changed');
  const before = new Map(then.inputs.map((i) => [i.path, i]));
  const inputs: string[] = [];
  for (const input of now.inputs) {
    const old = before.get(input.path);
    if (!old) inputs.push(`input ${input.path} is new`);
    else if (old.stream !== input.stream) inputs.push(`input ${input.path} was ${old.stream ? 'a pipe' : 'a file'} then and is ${input.stream ? 'a pipe' : 'a file'} now`);
    else if (old.size !== input.size) inputs.push(`input ${input.path} changed size (${old.size} → ${input.size} bytes)`);
    else if (old.sample !== input.sample) inputs.push(`input ${input.path} changed content`);
    else if (old.mtimeMs !== input.mtimeMs) inputs.push(`input ${input.path} was modified (${new Date(old.mtimeMs).toISOString()} → ${new Date(input.mtimeMs).toISOString()})`);
    before.delete(input.path);
  }
  for (const gone of before.keys()) inputs.push(`input ${gone} is gone`);
  // A dataset rewritten (Spark's part files renamed) changes thousands: a few say what happened.
  const shown = inputs.length > 6 ? [...inputs.slice(0, 5), `${inputs.length - 5} more input files changed, are new or are gone`] : inputs;
  return [...out, ...shown];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function sample(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const span = 64 * 1024;
  // A small file is hashed whole; a large one by its first and last 64 KiB.
  for (const bytes of await readRanges(path, size > 2 * span ? [[0, span], [size - span, span]] : [[0, size]])) hash.update(bytes);
  return hash.digest('hex');
}

/** The model file's sha256, and the external data files its graph names (relative to it). */
function modelHash(path: string): Promise<{ sha256: string; external: string[] }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const scanner = new LocationScanner();
    createReadStream(path).on('data', (d) => {
      hash.update(d);
      scanner.push(d as Buffer);
    }).on('error', reject).on('end', () => resolve({ sha256: hash.digest('hex'), external: [...scanner.found] }));
  });
}
