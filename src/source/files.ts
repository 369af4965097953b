/**
 * @file Turns `input.path` (a file, a directory, or a glob) into the sorted list of files to
 * read, and opens one file as a byte stream, gunzipping `.gz` on the fly.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BentoError, unreachable } from '../errors.js';
import { formatFromPath, type InputSpec } from '../job/spec.js';
import { streamOf } from './stream.js';
import type { StreamPrefix } from './types.js';

/** The files and broken links a glob matches. */
async function globFiles(parts: readonly string[]): Promise<{ files: string[]; broken: string[] }> {
  const firstMagic = parts.findIndex(hasMagic);
  const base = parts.slice(0, firstMagic).join(sep) || sep;
  const pattern = globToRegExp(parts.slice(firstMagic).join('/'));
  const matches = (file: string) => pattern.test(relative(base, file).split(sep).join('/'));
  const broken: string[] = [];
  // A base folder that does not exist matches nothing; one that cannot be read says so (walk).
  const files = (await walk(base, broken).catch((error: unknown) => {
    if (error instanceof BentoError) throw error;
    return [] as string[];
  })).filter(matches);
  return { files, broken: broken.filter(matches) };
}

/** Whether a path segment holds a glob's wildcard. */
export const hasMagic = (part: string) => /[*?[\]{}]/.test(part);

/**
 * Files matched by `path`, sorted by full path; throws INPUT_NOT_FOUND when none match. A folder
 * or glob leaves out the files `skip` names (a run's own output: job/spec.ts, writtenByRuns),
 * each passed to `skipped`; a file named on its own is read whatever it is.
 */
export async function resolveInputFiles(path: string, isWanted: (file: string) => boolean, skip?: { readonly test: (file: string) => boolean; readonly skipped?: (file: string) => void }, orElse?: (file: string) => boolean): Promise<string[]> {
  const parts = path.split(sep);
  // A glob that matches nothing, where a file or folder of that very name exists (`data [2024].csv`,
  // saved so on Windows), is that file, as a shell passes such a word on as written.
  const globbed = parts.some(hasMagic) ? await globFiles(parts) : undefined;
  const literal = globbed !== undefined && globbed.files.length === 0 && globbed.broken.length === 0 && (await stat(path).catch(() => undefined)) !== undefined;
  const firstMagic = literal ? -1 : parts.findIndex(hasMagic);
  let files: string[];
  let broken: string[] = [];
  /** `path` is one file, named on its own. */
  let named = false;
  if (firstMagic === -1) {
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => unreachable(error, 'INPUT_NOT_FOUND', 'Input file', path));
    if (info === undefined) {
      const to = await readlink(path).catch(() => undefined);
      if (to !== undefined) broken.push(path);
      else throw new BentoError('INPUT_NOT_FOUND', `Input file ${path} does not exist`, { file: path, hint: 'Check input.path; relative paths resolve against the job file\'s directory (given with --set, against the current one).' });
    }
    named = !info?.isDirectory();
    const all = named ? [path] : await walk(path, broken);
    // A folder of none of the wanted files is read by `orElse` (Spark's JSON output, part-*.json).
    // (The job's own output, a CSV written into the folder, does not count as another data file.)
    const data = (file: string) => isWanted(file) && !skip?.test(file);
    const wanted = named || orElse === undefined || all.some(data) || broken.some(data) ? isWanted : orElse;
    files = named ? all : all.filter(wanted);
    broken = named ? broken : broken.filter(wanted);
  } else {
    ({ files, broken } = globbed!);
  }
  if (broken.length > 0) {
    const link = broken.sort()[0]!;
    const to = await readlink(link).catch(() => '?');
    throw new BentoError('INPUT_NOT_FOUND', `Input file ${link} is a symbolic link to ${to}, which does not exist${broken.length > 1 ? ` (and ${broken.length - 1} more such link${broken.length > 2 ? 's' : ''})` : ''}`, {
      file: link, hint: 'Restore the file it points to (e.g. `dvc checkout`, or remount the volume), or remove the link to read the input without it.',
    });
  }
  if (skip && !named) {
    files = files.filter((file) => {
      if (!skip.test(file)) return true;
      skip.skipped?.(file);
      return false;
    });
  }
  if (files.length === 0) {
    throw new BentoError('INPUT_NOT_FOUND', `Input ${path} matches no ${firstMagic === -1 ? 'data file (.csv, .tsv, .jsonl, .ndjson, .json, .parquet, optionally .gz)' : 'file'}`, { file: path, hint: 'Check input.path and the files present.' });
  }
  return files.sort();
}

/**
 * A job's input files, as a run reads them and `status` fingerprints them: in a folder, the data
 * files by extension (any file when input.format is set); never what the job writes (`own`).
 */
export function jobInputFiles(input: Pick<InputSpec, 'path' | 'format'>, own: (file: string) => boolean, skipped?: (file: string) => void): Promise<string[]> {
  return resolveInputFiles(input.path, (file) => (input.format ? true : formatFromPath(file) !== undefined), { test: own, ...(skipped ? { skipped } : {}) }, (file) => jsonFile.test(file));
}

/**
 * JSON Lines as Spark's `write.json`, pandas' `to_json(lines=True)` and BigQuery's export name
 * it: read as such when named on its own, by a glob, or in a folder that holds no other data file
 * (a .json beside CSV files is a sidecar, not data). A JSON document is refused by the reader.
 */
export const jsonFile = /\.json(\.gz)?$/i;

/**
 * The files under `dir`, symbolic links followed: Kubernetes volumes, DVC checkouts and shards
 * linked into a folder by hand are links, and reading what they point to is what `cat` and
 * pandas do. A folder reached twice (a link back up the tree) is walked once. A link to nothing
 * is kept in `broken`, so that resolveInputFiles can name it if it would have been read.
 */
async function walk(dir: string, broken: string[] = [], seen = new Set<string>()): Promise<string[]> {
  const real = await realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const out: string[] = [];
  // In name order, so that of two ways to one folder the same is always kept.
  const entries = (await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    // A folder this user may not list is named, not passed over: its files would be missing from the output.
    if (error.code === 'EACCES' || error.code === 'EPERM') {
      throw new BentoError('INPUT_NOT_FOUND', `Input folder ${dir} cannot be read: permission denied`, { file: dir, hint: 'Give this user read access to the folder (and its subfolders), or point input.path at what it may read.' });
    }
    throw error;
  })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    // Hidden files and our own temporary outputs; `_` marks what Spark and Hadoop write beside
    // the data (_SUCCESS, _committed_…, _temporary/), which pyarrow's datasets skip too, but not a
    // partition folder whose key starts with one (_shard=0/, as DuckDB and Spark read it).
    if (entry.name.startsWith('.') || (entry.name.startsWith('_') && !(entry.name.includes('=') && entry.isDirectory()))) continue;
    const full = join(dir, entry.name);
    const target = entry.isSymbolicLink() ? await stat(full).catch(() => undefined) : entry;
    if (target === undefined) broken.push(full);
    else if (target.isDirectory()) out.push(...(await walk(full, broken, seen)));
    else if (target.isFile()) out.push(full);
  }
  return out;
}

/** `*` and `?` stay within a path segment, `**` crosses segments, `{a,b}` and `[abc]` as in shells. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globBody(glob)}$`);
}

function globBody(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) re += escape(glob[++i]!); // as in a shell: the next character as it is
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end === -1) re += '\\{';
      else {
        // Each alternative is a glob of its own: {*.csv,*.tsv}.
        re += `(?:${glob.slice(i + 1, end).split(',').map(globBody).join('|')})`;
        i = end;
      }
    } else re += escape(c);
  }
  return re;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A counted byte stream over `file`: `bytes()` is how much of the file on disk has been read. */
export interface OpenedFile {
  readonly stream: Readable;
  bytes(): number;
}

/**
 * Where `text`, decoded from `bytes` as UTF-8, has the first U+FFFD that stands for bytes that are
 * not UTF-8; -1 when the bytes are UTF-8. Such bytes would be read (and written) mangled, and
 * U+FFFD has three bytes where they had one. The scan for U+FFFD is the cheap test; the bytes are
 * checked only when one is there.
 */
export function notUtf8At(text: string, bytes: Uint8Array): number {
  const replaced = text.indexOf('\uFFFD');
  return replaced >= 0 && !isUtf8(bytes) ? replaced : -1;
}

/** What is left of `file` (of `size` bytes on disk) from content byte `byte`: Infinity where it is gzipped or a pipe (its content's size is not known). */
export function bytesLeft(file: string, size: number, byte: number): number {
  return isGzip(file) ? Infinity : size - byte;
}

/** Whether `file` is read through gunzip: by its name, as every reader decides. */
export function isGzip(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

/**
 * Opens `file` for streaming from byte `start` of its content. Plain files seek; `.gz` files are
 * decompressed from the beginning and the first `start` bytes of the content dropped. `whole`: the
 * file's bytes, read already (FilesAhead), streamed from memory. A stream (source/stream.ts) is
 * replayed from what it kept; `rows`: this is the stream the rows are read from, and where a
 * resume starts it, the prefix the stream must have.
 */
export function openFileStream(file: string, start = 0, highWaterMark = 1 << 20, whole?: Buffer, rows?: { readonly prefix?: StreamPrefix | undefined }): OpenedFile {
  const stream = streamOf(file);
  if (stream) return stream.open(start, rows?.prefix);
  const gz = isGzip(file);
  // A read buffer no larger than what is left of the file: a folder of 4,000 files of 20 rows
  // allocated 1 MB for each, and collecting them took most of the run (6.0–7.2 user CPU-s
  // against 2.7 with buffers of the files' size).
  const left = () => (statSync(file, { throwIfNoEntry: false })?.size ?? highWaterMark) - (gz ? 0 : start);
  const raw: Readable = whole ? Readable.from([gz ? whole : whole.subarray(start)], { objectMode: false })
    : createReadStream(file, { highWaterMark: Math.max(64 * 1024, Math.min(highWaterMark, left() + 1)), start: gz ? 0 : start });
  let read = gz ? 0 : start;
  raw.on('data', (chunk: Buffer | string) => {
    read += chunk.length;
  });
  if (!gz) return { stream: raw, bytes: () => read };
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  let skip = start;
  const dropped = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        done();
      } else {
        const rest = chunk.subarray(skip);
        skip = 0;
        done(null, rest);
      }
    },
  });
  gunzip.on('error', (error) => dropped.destroy(error));
  return { stream: raw.pipe(gunzip).pipe(dropped), bytes: () => read };
}

/** The first `most` bytes of `file`'s content (decompressed), and whether that is all of it; a stream keeps them for its readers. */
export async function readStart(file: string, most: number): Promise<{ readonly bytes: Buffer; readonly whole: boolean }> {
  const { stream } = openFileStream(file);
  const pieces: Buffer[] = [];
  let length = 0;
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      pieces.push(piece);
      length += piece.length;
      if (length >= most) return { bytes: Buffer.concat(pieces).subarray(0, most), whole: false };
    }
  } catch (error) {
    throw streamError(file, error);
  } finally {
    stream.destroy();
  }
  return { bytes: Buffer.concat(pieces), whole: true };
}

/** The encoding a byte-order mark at the start of `bytes` says, and the mark's length. */
export function byteOrderMark(bytes: Uint8Array): { encoding: 'utf-8' | 'utf-16le' | 'utf-16be'; length: number } | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return undefined;
}

/** Rewrites Node's stream errors (ENOENT, zlib) as user-facing INPUT errors naming the file. */
export function streamError(file: string, error: unknown): BentoError {
  if (error instanceof BentoError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new BentoError('INPUT_NOT_FOUND', `Input file ${file} does not exist`, { file, cause: error });
  if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || e.code === 'Z_STREAM_END') {
    if (!startsAsGzip(file)) {
      return new BentoError('INPUT_FORMAT', `Input file ${file} is named .gz but is not gzip: it does not start with gzip's two bytes (1f 8b)`, {
        file, cause: error, hint: 'If it is plain text (a file renamed, or a download already unpacked), rename it without .gz; else gzip it again.',
      });
    }
    return new BentoError('INPUT_FORMAT', `Input file ${file} is not a complete gzip file: ${e.message}`, { file, cause: error, hint: 'The file is truncated or corrupt; copy it again.' });
  }
  if (e.code === 'EISDIR' || e.code === 'EACCES') return new BentoError('INPUT_NOT_FOUND', `Input file ${file} cannot be read: ${e.message}`, { file, cause: error });
  return new BentoError('INPUT_FORMAT', `Input file ${file} cannot be read: ${e.message}`, { file, cause: error });
}

/** Whether a file's first bytes are gzip's magic number (read on an error's path only). */
function startsAsGzip(file: string): boolean {
  const head = Buffer.alloc(2);
  try {
    const fd = openSync(file, 'r');
    try {
      readSync(fd, head, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return true;
  }
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** Progress in bytes over several files read in order: files before the current one count whole. */
export class ByteProgress {
  /** Bytes of the files before each one (a sum each time a file is entered cost 50,000 small files ~6.6 s). */
  readonly #before: Float64Array;
  readonly total: number;
  #done = 0;
  #current: () => number = () => 0;

  constructor(sizes: readonly number[]) {
    this.#before = new Float64Array(sizes.length + 1);
    sizes.forEach((size, i) => (this.#before[i + 1] = this.#before[i]! + size));
    this.total = this.#before[sizes.length]!;
  }

  /** Reading moves to file `index`, whose bytes read so far `current()` reports. */
  enter(index: number, current: () => number): void {
    this.#done = this.#before[index]!;
    this.#current = current;
  }

  done(): number {
    return this.#done + this.#current();
  }
}
