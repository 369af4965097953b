/**
 * @file Input that can be read only once: standard input (`input.path: -`), a named pipe, a
 * socket. The readers look at the start of a file before they read its rows (the dialect, the
 * encoding, the first chunk that types the columns), so what comes from the pipe is kept until
 * the run starts and replayed to the reader of the rows, which lets it go as it passes it. Its
 * content (gunzipped where it starts as gzip) is hashed as it comes, so that a resume can check
 * it is fed the same bytes again up to where the interrupted run stopped.
 */
import { createHash } from 'node:crypto';
import { createReadStream, read } from 'node:fs';
import { Readable } from 'node:stream';
import { isatty } from 'node:tty';
import { createGunzip } from 'node:zlib';
import { BentoError } from '../errors.js';
import { stdinPath } from '../job/spec.js';
import type { SourcePosition, StreamPrefix } from './types.js';

/** Marks a resume can check up to: every 4 KB of the first 64 KB (a small input), then every 64 KB. */
function nextMark(bytes: number): number {
  const step = bytes < 64 * 1024 ? 4 * 1024 : 64 * 1024;
  return (Math.floor(bytes / step) + 1) * step;
}

/**
 * Marks kept (at least): a commit names one behind the reader by what the queues between them hold
 * (tens of MB), far fewer than 16,384 marks (1 GB); a run without checkpoints asks for none.
 */
const keptMarks = 16 * 1024;

class StreamInput {
  /** Content from byte #base: all of it until the run starts, then what the rows' reader has not passed. */
  #pieces: Buffer[] = [];
  #base = 0;
  /** Content bytes come from the pipe so far. */
  #end = 0;
  /** The run reads its rows (release): the readers have looked at the start. */
  #started = false;
  #content: AsyncIterator<Buffer> | undefined;
  #pulling: Promise<Buffer | undefined> = Promise.resolve(undefined);
  #ended = false;
  readonly #hash = createHash('sha256');
  #next = nextMark(0);
  readonly #marks: { bytes: number; sha256: string }[] = [];
  /** The prefix a resume expects, checked when the content reaches its mark. */
  #expected: StreamPrefix | undefined;

  constructor(readonly file: string) {}

  /**
   * The content from byte `start`. `rows`: this is the stream the rows are read from; once the
   * run has started (release), it lets go of what it passes. `expected`: the prefix the bytes
   * must have (a resume's), or the stream fails with RESUME_REFUSED.
   */
  open(start: number, rows: boolean, expected?: StreamPrefix): { stream: Readable; bytes: () => number } {
    if (expected) this.#expect(expected);
    let at = start;
    const input = this;
    async function* read(): AsyncGenerator<Buffer> {
      for (;;) {
        if (at < input.#base) {
          throw new BentoError('INPUT_FORMAT', `Input ${input.file} is a stream (a pipe or standard input) and cannot be read again from its start`, {
            file: input.file, hint: 'Write the data to a file and point input.path at it.',
          });
        }
        let from = input.#base;
        for (const piece of input.#pieces) {
          const to = from + piece.length;
          if (to > at) {
            const part = at > from ? piece.subarray(at - from) : piece;
            at = to;
            yield part;
          }
          from = to;
        }
        if (at < input.#end) continue;
        // Past all it holds: what no reader will look at again is let go of.
        if (rows && input.#started) {
          input.#pieces = [];
          input.#base = input.#end;
        }
        // At the end, unless a look at the start (one let go of while it waited) took the last pieces.
        if ((await input.#pull()) === undefined && at >= input.#end) break;
      }
      if (input.#end < start) {
        throw new BentoError('RESUME_REFUSED', `Cannot resume: input ${input.file} ended after ${input.#end.toLocaleString('en-US')} bytes, before byte ${start.toLocaleString('en-US')} where the interrupted run stopped reading: it is not the input that run read`, {
          file: input.file, hint: 'Feed it the same data again to resume, or run with --restart to score this input from the start.',
        });
      }
    }
    return { stream: Readable.from(read(), { objectMode: false }), bytes: () => at };
  }

  /** The run reads its rows now: the rows' reader lets go of what it passes. */
  release(): void {
    this.#started = true;
  }

  /** The last mark at or before content byte `bytes`, for a commit to record; undefined before the first. */
  prefix(bytes: number): StreamPrefix | undefined {
    const marks = this.#marks;
    let lo = 0;
    let hi = marks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.bytes <= bytes) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return undefined;
    const found = marks[lo - 1]!;
    // Commits come in order: the marks before this one are not asked for again.
    marks.splice(0, lo - 1);
    return found;
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
      // Kept also once the run has started: a look at the start may have asked for it before, and
      // the rows' reader lets it go once it has passed it.
      this.#pieces.push(step.value);
      return step.value;
    });
    this.#pulling = next.catch(() => undefined);
    return next;
  }

  /** Hashes `piece`, marking each boundary it crosses. */
  #take(piece: Buffer): void {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(this.#next - this.#end, piece.length - offset);
      this.#hash.update(piece.subarray(offset, offset + take));
      offset += take;
      this.#end += take;
      if (this.#end === this.#next) {
        this.#mark();
        this.#next = nextMark(this.#end);
        this.#check();
      }
    }
  }

  #mark(): void {
    this.#marks.push({ bytes: this.#end, sha256: this.#hash.copy().digest('hex') });
    // In bulk: one mark at a time would move them all every 64 KB.
    if (this.#marks.length > 2 * keptMarks) this.#marks.splice(0, this.#marks.length - keptMarks);
  }

  /** Checks `expected` against its mark, now where the content has passed it, else when it does (#check). */
  #expect(expected: StreamPrefix): void {
    if (expected.bytes > this.#end) {
      this.#expected = expected;
      return;
    }
    // Marks are kept for the first GB (a first chunk is far less), and a commit names only marks.
    const mark = this.#marks.find((m) => m.bytes === expected.bytes);
    if (mark === undefined) throw new Error(`no mark at byte ${expected.bytes} of ${this.file}`);
    this.#differs(expected, mark.sha256);
  }

  #check(): void {
    const expected = this.#expected;
    const mark = this.#marks.at(-1);
    if (!expected || mark?.bytes !== expected.bytes) return;
    this.#expected = undefined;
    this.#differs(expected, mark.sha256);
  }

  #differs(expected: StreamPrefix, sha256: string): void {
    if (sha256 === expected.sha256) return;
    throw new BentoError('RESUME_REFUSED', `Cannot resume: input ${this.file} is not the input the interrupted run read: its first ${expected.bytes.toLocaleString('en-US')} bytes differ`, {
      file: this.file, hint: 'Feed it the same data again to resume (the same command, the same file), or run with --restart to score this input from the start.',
    });
  }
}

/** The pipe's bytes, gunzipped where they start with gzip's two bytes (1f 8b), as `zcat` would pass them on. */
async function* content(file: string): AsyncGenerator<Buffer> {
  const pieces = (file === stdinPath ? descriptor(0) : createReadStream(file, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]()) as AsyncIterator<Buffer>;
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
    throw unreadable(file, error);
  }
  const first = Buffer.concat(head);
  if (!(first[0] === 0x1f && first[1] === 0x8b)) {
    if (first.length > 0) yield first;
    try {
      for (let step = await pieces.next(); !step.done; step = await pieces.next()) yield step.value;
    } catch (error) {
      throw unreadable(file, error);
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
    throw unreadable(file, error);
  }
}

/**
 * What descriptor `fd` holds, read to its end. Standard input is read so: opening /dev/stdin fails
 * (ENXIO) where it is a socket, as Node gives its child processes, and `process.stdin` is not the
 * process's on the scoring thread. A descriptor another process left non-blocking is waited on.
 */
async function* descriptor(fd: number): AsyncGenerator<Buffer> {
  let buffer = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => {
      const attempt = () => read(fd, buffer, 0, buffer.length, null, (error, bytes) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'EAGAIN') setTimeout(attempt, 5);
        else if (error) reject(error);
        else resolve(bytes);
      });
      attempt();
    });
    if (n === 0) return;
    // A pipe gives 64 KB a read: copied out, the buffer is read into again.
    if (n < buffer.length / 2) yield Buffer.from(buffer.subarray(0, n));
    else {
      yield buffer.subarray(0, n);
      buffer = Buffer.allocUnsafe(1 << 20);
    }
  }
}

function unreadable(file: string, error: unknown): BentoError {
  if (error instanceof BentoError) return error;
  return new BentoError('INPUT_FORMAT', `Input ${file} cannot be read: ${(error as Error).message}`, { file, cause: error });
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
  const prefix = stream && at.byte !== undefined ? stream.prefix(at.byte) : undefined;
  return prefix ? { ...at, prefix } : at;
}

/** The run reads its rows now: the streams among `files` let go of their starts as the reader passes them. */
export function releaseStreams(files: readonly string[]): void {
  for (const file of files) streams.get(file)?.release();
}
