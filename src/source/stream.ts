/**
 * @file Input that can be read only once: standard input (`input.path: -`), a named pipe, a
 * socket. The readers look at the start of a file before they read its rows (the dialect, the
 * encoding, the first chunk that types the columns), so what comes from the pipe is kept until
 * the run starts and replayed to the reader of the rows; then it is let go of as the run writes
 * the rows it holds. Its content (gunzipped where it starts as gzip) is hashed as it comes: each
 * commit records the hash of the content up to its byte, so that a resume can check it is fed
 * the same bytes again up to where the interrupted run stopped.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, open, read } from 'node:fs';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { isatty } from 'node:tty';
import { createGunzip } from 'node:zlib';
import { BentoError } from '../errors.js';
import { stdinPath } from '../job/spec.js';
import { streamError } from './files.js';
import type { SourcePosition, StreamPrefix } from './types.js';

/**
 * Where the hash's state is kept, so that a commit's prefix is hashed from the last mark before
 * it: every 64 KB. A run keeps the content from the mark before what it has written on.
 */
const markBytes = 64 * 1024;

class StreamInput {
  /** Content from byte #base: all of it until the run writes, then from the mark before what it has written. */
  #pieces: Buffer[] = [];
  #base = 0;
  /** Content bytes come from the pipe so far. */
  #end = 0;
  /** The run reads its rows (release): the readers have looked at the start. */
  #started = false;
  /** Content is hashed and let go of (verify): no reader will read it. */
  #passing = false;
  #content: AsyncIterator<Buffer> | undefined;
  #pulling: Promise<Buffer | undefined> = Promise.resolve(undefined);
  #ended = false;
  readonly #hash = createHash('sha256');
  /** The hash's state at each mark from the one before what the run has written (0 at first). */
  readonly #marks: { bytes: number; hash: Hash }[] = [{ bytes: 0, hash: createHash('sha256') }];
  /** Content byte no commit will hash before: what the run has written, or where its resume starts. */
  #floor = 0;
  /** The prefix a resume expects, checked when the content reaches its byte. */
  #expected: StreamPrefix | undefined;

  constructor(readonly file: string) {}

  /**
   * The content from byte `start`. `expected`: the prefix the content must have, a resume's from
   * `start`: the rows' reader, which reads from there, and nothing before it again.
   */
  open(start: number, expected?: StreamPrefix): { stream: Readable; bytes: () => number } {
    if (expected) {
      this.#expect(expected);
      if (this.#started) this.written(start);
    }
    let at = start;
    const input = this;
    async function* read(): AsyncGenerator<Buffer> {
      for (;;) {
        if (at < input.#base) throw input.#unkept();
        // The piece holding `at`, found again after every yield: a write meanwhile may have let go of the first ones.
        let from = input.#base;
        let held: Buffer | undefined;
        for (const piece of input.#pieces) {
          if (from + piece.length > at) {
            held = piece;
            break;
          }
          from += piece.length;
        }
        if (held) {
          const part = at > from ? held.subarray(at - from) : held;
          at = from + held.length;
          yield part;
          continue;
        }
        // Passed on unkept (a dry run's check read on): not to be read again.
        if (at < input.#end) throw input.#unkept();
        // At the end, unless a look at the start (one let go of while it waited) took the last pieces.
        if ((await input.#pull()) === undefined && at >= input.#end) break;
      }
      if (input.#end < start) throw input.#endedBefore(start);
    }
    return { stream: Readable.from(read(), { objectMode: false }), bytes: () => at };
  }

  /** The run reads its rows now. */
  release(): void {
    this.#started = true;
  }

  /**
   * The run has written its rows up to content byte `bytes`: a commit's prefix ends there or
   * later, and the content before the mark before it is let go of.
   */
  written(bytes: number): void {
    if (!this.#started || bytes <= this.#floor) return;
    this.#floor = bytes;
    this.#trim();
  }

  /** Lets go of the marks and content before the last mark at or before #floor. */
  #trim(): void {
    const bytes = this.#floor;
    let keep = 0;
    while (keep + 1 < this.#marks.length && this.#marks[keep + 1]!.bytes <= bytes) keep++;
    if (keep > 0) this.#marks.splice(0, keep);
    const from = this.#marks[0]!.bytes;
    let drop = 0;
    let base = this.#base;
    while (drop < this.#pieces.length && base + this.#pieces[drop]!.length <= from) base += this.#pieces[drop++]!.length;
    if (drop > 0) {
      this.#pieces.splice(0, drop);
      this.#base = base;
    }
  }

  /** The sha256 of the content's first `bytes` bytes (read already, at most #end), for a commit to record. */
  prefix(bytes: number): StreamPrefix {
    return { bytes, sha256: this.#digest(bytes) };
  }

  /**
   * For `validate` and a dry run, which read no rows: reads on to `expected`'s end, hashing, and
   * says whether the content has that prefix (a RESUME_REFUSED error where not).
   */
  async verify(expected: StreamPrefix): Promise<BentoError | undefined> {
    this.#passing = true;
    try {
      this.#expect(expected);
      while (this.#expected && (await this.#pull()) !== undefined);
      if (this.#end < expected.bytes) return this.#endedBefore(expected.bytes);
      return undefined;
    } catch (error) {
      if (error instanceof BentoError) return error;
      throw error;
    }
  }

  /** The content's hash over its first `bytes` bytes, from the last mark before them and the content kept since. */
  #digest(bytes: number): string {
    let index = this.#marks.length - 1;
    while (index > 0 && this.#marks[index]!.bytes > bytes) index--;
    const mark = this.#marks[index]!;
    if (mark.bytes > bytes || bytes > this.#end || mark.bytes < this.#base) throw new Error(`the content of ${this.file} before byte ${bytes} is not kept`);
    const hash = mark.hash.copy();
    let from = this.#base;
    for (const piece of this.#pieces) {
      const to = from + piece.length;
      if (to > mark.bytes && from < bytes) hash.update(piece.subarray(Math.max(0, mark.bytes - from), Math.min(piece.length, bytes - from)));
      from = to;
    }
    return hash.digest('hex');
  }

  /** The next piece of content from the pipe, kept for the readers, or undefined at its end. */
  #pull(): Promise<Buffer | undefined> {
    const next = this.#pulling.then(async () => {
      if (this.#ended) return undefined;
      this.#content ??= content(this.file);
      const step = await this.#content.next();
      if (step.done) {
        this.#ended = true;
        return undefined;
      }
      this.#take(step.value);
      // Kept until the run has written past it: a commit hashes it from the mark before.
      if (!this.#passing) this.#pieces.push(step.value);
      // A resume's rows' reader skips to its start: what it skips is let go of as it comes.
      if (this.#floor > this.#base + 2 * markBytes) this.#trim();
      return step.value;
    });
    this.#pulling = next.catch(() => undefined);
    return next;
  }

  /** Hashes `piece`, keeping the hash's state at each mark it crosses, and checking a resume's prefix where it ends in it. */
  #take(piece: Buffer): void {
    let offset = 0;
    while (offset < piece.length) {
      const mark = (Math.floor(this.#end / markBytes) + 1) * markBytes;
      const stop = this.#expected && this.#expected.bytes > this.#end ? Math.min(mark, this.#expected.bytes) : mark;
      const take = Math.min(stop - this.#end, piece.length - offset);
      this.#hash.update(piece.subarray(offset, offset + take));
      offset += take;
      this.#end += take;
      if (this.#end === mark && !this.#passing) this.#marks.push({ bytes: mark, hash: this.#hash.copy() });
      if (this.#end === this.#expected?.bytes) {
        const expected = this.#expected;
        this.#expected = undefined;
        this.#differs(expected, this.#hash.copy().digest('hex'));
      }
    }
  }

  /** Checks `expected` now where the content has passed its end, else when it does (#take). */
  #expect(expected: StreamPrefix): void {
    if (expected.bytes > this.#end) this.#expected = expected;
    else this.#differs(expected, this.#digest(expected.bytes));
  }

  #differs(expected: StreamPrefix, sha256: string): void {
    if (sha256 === expected.sha256) return;
    throw new BentoError('RESUME_REFUSED', `Cannot resume: input ${this.file} is not the input the interrupted run read: its first ${expected.bytes.toLocaleString('en-US')} bytes differ`, {
      file: this.file, hint: 'Feed it the same data again to resume (the same command, the same file), or run with --restart to score this input from the start.',
    });
  }

  #unkept(): BentoError {
    return new BentoError('INPUT_FORMAT', `Input ${this.file} is a stream (a pipe or standard input) and cannot be read again from its start`, {
      file: this.file, hint: 'Write the data to a file and point input.path at it.',
    });
  }

  #endedBefore(bytes: number): BentoError {
    return new BentoError('RESUME_REFUSED', `Cannot resume: input ${this.file} ended after ${this.#end.toLocaleString('en-US')} bytes, before byte ${bytes.toLocaleString('en-US')} where the interrupted run stopped reading: it is not the input that run read`, {
      file: this.file, hint: 'Feed it the same data again to resume, or run with --restart to score this input from the start.',
    });
  }
}

/** The pipe's bytes, gunzipped where they start with gzip's two bytes (1f 8b), as `zcat` would pass them on. */
async function* content(file: string): AsyncGenerator<Buffer> {
  const pieces = bytesOf(file);
  const head: Buffer[] = [];
  let length = 0;
  try {
    while (length < 2) {
      const step = await pieces.next();
      if (step.done) break;
      head.push(step.value);
      length += step.value.length;
    }
  } catch (error) {
    throw streamError(file, error);
  }
  const first = Buffer.concat(head);
  if (!(first[0] === 0x1f && first[1] === 0x8b)) {
    if (first.length > 0) yield first;
    try {
      for (let step = await pieces.next(); !step.done; step = await pieces.next()) yield step.value;
    } catch (error) {
      throw streamError(file, error);
    }
    return;
  }
  const gunzip = createGunzip();
  const compressed = Readable.from((async function* () {
    yield first;
    for (let step = await pieces.next(); !step.done; step = await pieces.next()) yield step.value;
  })(), { objectMode: false });
  compressed.on('error', (error) => gunzip.destroy(error));
  compressed.pipe(gunzip);
  try {
    for await (const piece of gunzip as AsyncIterable<Buffer>) yield piece;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_')) {
      throw new BentoError('INPUT_FORMAT', `Input ${file} starts as gzip but is not a complete gzip stream: ${(error as Error).message}`, {
        file, cause: error, hint: 'The data was cut short or is damaged: check the command that feeds it (in a shell, `set -o pipefail` makes its failure the job\'s).',
      });
    }
    throw streamError(file, error);
  }
}

/**
 * The bytes of `file` as they come, never by a read or an open that waits in the thread pool: one
 * held there on a pipe whose writer stalls (or has not come) held up the process's exit, and a
 * signal could not stop the run. Standard input is read through its descriptor as libuv reads
 * sockets (opening /dev/stdin fails, ENXIO, where it is a socket, as Node gives its child
 * processes, and `process.stdin` is not the process's on the scoring thread). A named pipe is
 * opened without waiting and read without waiting, asked again a few milliseconds later while it
 * has nothing (a socket would close the descriptor behind the thread's back: Node warns, and a
 * thread that exits closes what it opened, by then another file's).
 */
async function* bytesOf(file: string): AsyncGenerator<Buffer> {
  if (file === stdinPath) {
    const info = fstatSync(0);
    if (!(info.isFIFO() || info.isSocket())) {
      // A file given with `<`, a device: read from where it stands.
      yield* reads(0, false);
      return;
    }
    // The socket owns the descriptor from here, and closes it.
    const socket = new Socket({ fd: 0, readable: true, writable: false });
    try {
      for await (const piece of socket as AsyncIterable<Buffer>) yield piece;
    } finally {
      socket.destroy();
    }
    return;
  }
  const fd = await new Promise<number>((resolve, reject) => open(file, constants.O_RDONLY | constants.O_NONBLOCK, (error, opened) => (error ? reject(error) : resolve(opened))));
  try {
    yield* reads(fd, fstatSync(fd).isFIFO());
  } finally {
    closeSync(fd);
  }
}

/**
 * What descriptor `fd` holds from where it stands, read to its end. `pipe`: a named pipe opened
 * without waiting, which reads as ended (0 bytes) until a writer opens it, and as empty for now
 * (EAGAIN) while its writer has written nothing: both are asked again, 1 to 50 ms later.
 */
async function* reads(fd: number, pipe: boolean): AsyncGenerator<Buffer> {
  let written = false;
  let wait = 1;
  let buffer = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
      if (pipe && (error as NodeJS.ErrnoException | null)?.code === 'EAGAIN') resolve(-1);
      else if (error) reject(error);
      else resolve(bytes);
    }));
    if (n > 0) {
      written = true;
      wait = 1;
      // A pipe gives 64 KB a read: copied out, the buffer is read into again.
      if (n < buffer.length / 2) yield Buffer.from(buffer.subarray(0, n));
      else {
        yield buffer.subarray(0, n);
        buffer = Buffer.allocUnsafe(1 << 20);
      }
      continue;
    }
    if (n === 0 && (written || !pipe)) return;
    if (n < 0) written = true;
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(50, wait * 2);
  }
}

const streams = new Map<string, StreamInput>();

/**
 * Registers `file` as a stream: read once, through `openFileStream`. Standard input that is a
 * terminal is refused, as a run would wait for typing.
 */
export function openStream(file: string): void {
  if (streams.has(file)) return;
  if (file === stdinPath && isatty(0)) {
    throw new BentoError('INPUT_NOT_FOUND', 'input.path is - (standard input), which is a terminal here', {
      file, hint: 'Pipe the data in (e.g. `zcat data.csv.gz | bento-batch run job.yaml`), or point input.path at a file.',
    });
  }
  streams.set(file, new StreamInput(file));
}

/** The stream `file` was registered as, or undefined for a file read by position. */
export function streamOf(file: string): StreamInput | undefined {
  return streams.get(file);
}

/** `at`, with the prefix a resume from it checks where it is in a stream (a commit's position). */
export function withPrefix(files: readonly string[], at: SourcePosition): SourcePosition {
  const stream = streams.get(files[at.file] ?? '');
  return stream && at.byte !== undefined ? { ...at, prefix: stream.prefix(at.byte) } : at;
}

/** The run has written its rows up to `at`: a stream among `files` lets go of what no commit will hash again. */
export function streamWritten(files: readonly string[], at: SourcePosition): void {
  if (at.byte !== undefined) streams.get(files[at.file] ?? '')?.written(at.byte);
}

/**
 * For `validate` and a dry run: whether the stream a checkpoint's position `at` lies in has the
 * prefix it records (reading on to its end); undefined where it has, or is not a stream.
 */
export async function verifyStream(files: readonly string[], at: SourcePosition): Promise<BentoError | undefined> {
  const stream = streams.get(files[at.file] ?? '');
  return stream && at.prefix ? stream.verify(at.prefix) : undefined;
}

/** The run reads its rows now: the streams among `files` let go of their starts as the reader passes them. */
export function releaseStreams(files: readonly string[]): void {
  for (const file of files) streams.get(file)?.release();
}
