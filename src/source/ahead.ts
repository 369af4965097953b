/**
 * @file Small input files read whole. A folder of thousands of small part files (Spark's, a
 * streaming sink's) cost ~0.4 ms a file in one-at-a-time promise reads and stream set-up, most of
 * it waiting on libuv's thread pool: 30,000 files of 20 rows took 14 s against 1.2 s for the same
 * rows in one file.
 */
import { close, closeSync, open, openSync, read, readSync, stat, type Stats } from 'node:fs';
import { stdinPath } from '../job/spec.js';
import { streamError } from './files.js';

/**
 * Files of at most 1 MB are read whole, up to 16 of them and 4 MB ahead of the reader: past 1 MB a
 * file takes milliseconds to parse, beside which its stream's set-up is small.
 */
export const smallFiles = { most: 1 << 20, budget: 4 << 20, ahead: 16 } as const;

/** A file's size (Infinity where not known: a pipe) and whether it is a regular file (a FIFO or device is streamed, never read ahead). */
export interface FileStat {
  readonly size: number;
  readonly regular: boolean;
  readonly mtimeMs: number;
}

/** `stat` of each of `files`, a few at a time, in order; rejects with the first failure, as an INPUT error naming the file. */
export function statFiles(files: readonly string[]): Promise<FileStat[]> {
  return mapLimited(files, 32, (file) => new Promise<FileStat>((resolve, reject) => {
    stat(file, (error, info: Stats) => {
      // Standard input is read as a stream also where it is a file (`< data.csv.gz`): from where it stands, gunzipped by its bytes.
      const regular = info?.isFile() && file !== stdinPath;
      return error ? reject(streamError(file, error)) : resolve({ size: regular ? info.size : Infinity, regular, mtimeMs: info.mtimeMs });
    });
  }));
}

/**
 * The bytes of `file` in each of `ranges` (`[start, length]`; fewer where the file ends first),
 * with one open and one close.
 */
export function readRanges(file: string, ranges: readonly (readonly [number, number])[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    open(file, 'r', (error, fd) => {
      if (error) return reject(error);
      const out: Buffer[] = [];
      const done = (failure: Error | null) => close(fd, () => (failure ? reject(failure) : resolve(out)));
      const next = () => {
        const range = ranges[out.length];
        if (range === undefined) return done(null);
        // Memory of its own, not a slice of Node's shared pool: a Parquet reader hands out views of it.
        const bytes = Buffer.allocUnsafeSlow(range[1]);
        readFully(fd, bytes, range[0], (failure, length) => {
          if (failure) return done(failure);
          out.push(length === bytes.length ? bytes : bytes.subarray(0, length));
          next();
        });
      };
      next();
    });
  });
}

/** Reads into all of `bytes` from `position`, or to the file's end; calls back with the bytes read. */
function readFully(fd: number, bytes: Buffer, position: number, callback: (error: Error | null, length: number) => void, filled = 0): void {
  if (filled === bytes.length) return callback(null, filled);
  read(fd, bytes, filled, bytes.length - filled, position + filled, (error, n) => {
    if (error) return callback(error, filled);
    if (n === 0) return callback(null, filled);
    readFully(fd, bytes, position, callback, filled + n);
  });
}

/**
 * Reads of small files that take longer than this (ms, on average) are not from the page cache or a
 * local disk: the files after them are read ahead, several at a time, to hide the wait (an NFS or
 * FUSE mount, a cold disk).
 */
const SLOW_READ_MS = 2;

/**
 * Reads the files of a run, in order, whole where they are small. `take(i)` is called for each
 * file in turn from the first one read (a resume's, past 0). A small file is read when it is
 * taken, at once and on the calling thread: in the page cache that is ~7 µs a file, against ~30 µs of the thread pool's
 * round trips for an open, a read and a close. Once such reads are slow, reads go to the thread
 * pool instead, ahead of the reader: each take starts reads of the files after it while they are
 * few and their bytes held ahead are within `budget`.
 */
export class FilesAhead {
  readonly #reads = new Map<number, Promise<Buffer | undefined>>();
  readonly #sizes = new Map<number, number>();
  /** The next file not yet asked for or read ahead. */
  #next = 0;
  /** Bytes of the files read (or being read) ahead and not taken. */
  #held = 0;
  /** Whether reads are made when taken, on the calling thread (until they are slow). */
  #now = true;
  /** The time those reads took, in ms, as a moving average. */
  #readMs = 0;

  /**
   * `most`: the largest file read whole; `budget`: bytes held ahead at most; `ahead`: files at most.
   * `head`: each file's first `most` bytes, whatever its size (a header), instead of small files whole.
   * `slowMs`: the average read time past which reads go ahead (a test's -1: from the second file on).
   */
  constructor(
    private readonly files: readonly string[],
    private readonly stats: readonly FileStat[],
    private readonly options: { readonly most: number; readonly budget: number; readonly ahead: number; readonly head?: boolean; readonly slowMs?: number },
  ) {}

  /**
   * File `index`'s bytes (its first `most` with `head`), or undefined where it is to be streamed: too
   * large, not a regular file, or grown since its stat. Rejects with the read's error (ENOENT, EACCES).
   */
  take(index: number): Promise<Buffer | undefined> {
    const read = this.#reads.get(index) ?? (this.#now ? this.#readNow(index) : this.#start(index));
    this.#drop(index);
    if (!this.#now) this.#fill(index + 1);
    return read ?? Promise.resolve(undefined);
  }

  /** `take`, its failure the INPUT error naming the file (streamError), as a reader reports it. */
  async read(index: number): Promise<Buffer | undefined> {
    try {
      return await this.take(index);
    } catch (error) {
      throw streamError(this.files[index]!, error);
    }
  }

  #drop(index: number): void {
    this.#held -= this.#sizes.get(index) ?? 0;
    this.#reads.delete(index);
    this.#sizes.delete(index);
  }

  /** Starts reads after `from` while they fit. */
  #fill(from: number): void {
    this.#next = Math.max(this.#next, from);
    while (this.#next < this.files.length && this.#reads.size < this.options.ahead) {
      const size = this.#bytesOf(this.#next);
      // Streamed when reached; what lies beyond it waits until then, so that memory held ahead stays small.
      if (size === undefined) return;
      if (this.#reads.size > 0 && this.#held + size > this.options.budget) return;
      this.#start(this.#next);
      this.#next++;
    }
  }

  /** The bytes file `index` is read with, or undefined where it is streamed. */
  #bytesOf(index: number): number | undefined {
    const { size, regular } = this.stats[index]!;
    if (!regular) return undefined;
    if (this.options.head) return Math.min(size, this.options.most);
    return size <= this.options.most ? size : undefined;
  }

  /** Whether file `index` is read whole (not a head of it): then one byte more is asked for, to see that it has not grown. */
  #whole(index: number): boolean {
    return !this.options.head || this.stats[index]!.size <= this.options.most;
  }

  #readNow(index: number): Promise<Buffer | undefined> | undefined {
    const size = this.#bytesOf(index);
    if (size === undefined) return undefined;
    const whole = this.#whole(index);
    // Made before the clock starts: a collection it sets off is no slow read.
    const buffer = Buffer.allocUnsafeSlow(whole ? size + 1 : size);
    const started = performance.now();
    try {
      const bytes = readSyncInto(this.files[index]!, buffer);
      return Promise.resolve(whole && bytes.length > size ? undefined : bytes);
    } catch (error) {
      return Promise.reject(error as Error);
    } finally {
      // A moving average over ~16 reads, so that reads held up (a collection, a page fault, a busy
      // machine's scheduler) do not decide: on two cores shared with other jobs (load average 4),
      // an average over ~10 reads past 1 ms sent 10,000 cached files to the thread pool after 256
      // to 2,452 of them, three runs in three.
      this.#readMs = (15 * this.#readMs + (performance.now() - started)) / 16;
      if (this.#readMs > (this.options.slowMs ?? SLOW_READ_MS)) this.#now = false;
    }
  }

  #start(index: number): Promise<Buffer | undefined> | undefined {
    const size = this.#bytesOf(index);
    if (size === undefined) return undefined;
    const whole = this.#whole(index);
    const read = readRanges(this.files[index]!, [[0, whole ? size + 1 : size]]).then(([bytes]) => (whole && bytes!.length > size ? undefined : bytes!));
    // A read ahead that is never taken (the run stopped first) must not be an unhandled rejection.
    read.catch(() => undefined);
    this.#reads.set(index, read);
    this.#sizes.set(index, size);
    this.#held += size;
    return read;
  }
}

/** The start of `file` read now into `bytes`, as much as it holds: a view of what was filled. */
function readSyncInto(file: string, bytes: Buffer): Buffer {
  const length = bytes.length;
  const fd = openSync(file, 'r');
  try {
    let filled = 0;
    while (filled < length) {
      const n = readSync(fd, bytes, filled, length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return filled === length ? bytes : bytes.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** `fn` over `items`, at most `limit` at once, the results in order; rejects with the first failure. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
