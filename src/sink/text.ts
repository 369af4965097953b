/**
 * @file The shared body of the line-oriented writers (CSV, JSONL): encode a batch to text,
 * append it; any batch boundary is a commit point.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Field } from '../source/types.js';
import { openPartial } from './atomic.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';

const gzip = promisify(gzipCallback);

/**
 * Bytes gathered before a write to the file. A write per batch was a file system call and a
 * trip through libuv's thread pool each: per batch of one row, most of the writer's time.
 * Gathered as each batch's bytes, not as one string: a string this long is a large object to
 * V8, which only a full collection frees (the CSV writer's CPU rose by a fifth).
 */
const WRITE_BYTES = 256 * 1024;

/** UTF-16 units of a batch's text past which the CSV and JSON Lines writers hand it on in pieces. */
export const pieceChars = 1 << 20;

/**
 * A batch's text as the CSV and JSON Lines writers make it, a line at a time: one string, or pieces
 * of about pieceChars once it is longer. A batch of long cells (documents, HTML) as one string
 * would be flattened in one allocation that can pass the thread's heap cap at once, which aborts
 * the process rather than failing the run.
 */
export class BatchText {
  #text = '';
  #pieces: string[] | undefined;

  add(line: string): void {
    this.#text += line;
    if (this.#text.length > pieceChars) this.piece('');
  }

  /** Ends the text gathered, with `text` after it, as a piece of its own. */
  piece(text: string): void {
    (this.#pieces ??= []).push(this.#text + text);
    this.#text = '';
  }

  done(): string | readonly string[] {
    if (!this.#pieces) return this.#text;
    this.#pieces.push(this.#text);
    return this.#pieces;
  }
}
/**
 * The buffers each batch's text is encoded into, reused once their write is done. A new buffer
 * a batch (`Buffer.from`) is memory outside V8's heap that is freed only with the object that
 * holds it: gathered for a write, most of them outlived a young-generation collection and waited
 * for a full one (CSV → JSONL, 1M rows: ~20 MB of peak RSS, and more once cheaper number
 * printing made full collections rarer).
 */
const BUFFER_BYTES = 4 * WRITE_BYTES;

/**
 * Gzip members being compressed or written while the writer formats more rows: as many as
 * libuv's thread pool runs at once by default, where zlib's work goes.
 */
const MEMBERS_AHEAD = 4;

/**
 * A sink that writes `header` once (not again on resume) and `encode(batch)` per batch (a string,
 * or pieces of one where cells are long), in
 * writes of about WRITE_BYTES, one after another. A commit takes what is gathered when it is
 * called and where the file will end with it, so writes made while its fsync runs (the run goes
 * on scoring) are not counted in it; `close` and `discard` drop what is gathered (rows after the
 * last commit are redone by a resume anyway).
 *
 * With `gzip`, each write is a gzip member of its own (RFC 1952: a file of several members reads
 * as the text of all of them, as gunzip, Python, pandas, DuckDB and Spark read it), compressed on
 * libuv's threads while the next rows are formatted. Members end where writes do, after the batch
 * that brings the text gathered to WRITE_BYTES, never at a commit: a commit keeps the text
 * gathered since the last member in its position (`tail`), and a resume starts from it, so the
 * file's bytes are those of an uninterrupted run however often it was committed or stopped.
 * Deflate looks back 32 KB at most, so members of 256 KB cost little: 0.4% of the size on 32 MB
 * of penguins CSV output, 0.7% on JSON Lines, against one stream.
 */
export async function openTextSink(schema: readonly Field[], options: SinkOptions & { readonly gzip?: boolean; readonly level?: number }, header: string, encode: (batch: OutputBatch) => string | readonly string[]): Promise<Sink> {
  const file = await openPartial(options.partial, options.resume?.bytes);
  const zipped = options.gzip === true;
  /** Buffers whose write is done. A commit's fsync lets writes queue behind it, each with its own. */
  const free: Buffer[] = [];
  let buffer: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let bytes = 0;
  /** The file's length once the writes queued so far are done. */
  let end = file.length;
  /** The last write queued; a failed one fails every later one, and so the next call that waits. */
  let writing: Promise<void> = Promise.resolve();
  const gather = (text: string) => {
    if (text === '') return;
    // UTF-8 takes at most three bytes a UTF-16 unit; past that bound the text is measured, and
    // one too long for what is left moves what is gathered to a buffer of the size needed.
    if (bytes + 3 * text.length > buffer.length) {
      const need = bytes + Buffer.byteLength(text);
      if (need > buffer.length) {
        // Doubled at least: a batch of long cells comes in many pieces, and a buffer of the size needed
        // for each was a copy of all the text before it a piece (~2 GB allocated for 60 MB of text).
        const larger = Buffer.allocUnsafe(Math.max(BUFFER_BYTES, need, 2 * buffer.length));
        buffer.copy(larger, 0, 0, bytes);
        buffer = larger;
      }
    }
    bytes += buffer.write(text, bytes);
  };
  /** Queues a write of what is gathered; resolves when it (and every write before it) is done. */
  const flush = (): Promise<void> => {
    if (bytes > 0) {
      const full = buffer;
      const piece = full.subarray(0, bytes);
      buffer = free.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
      bytes = 0;
      if (zipped) {
        const member = gzip(piece, { level: options.level });
        member.catch(() => undefined); // awaited in turn below
        writing = writing.then(async () => {
          const compressed = await member;
          if (full.length === BUFFER_BYTES) free.push(full);
          await file.write(compressed);
          end += compressed.length;
        });
      } else {
        end += piece.length;
        writing = writing.then(async () => {
          await file.write(piece);
          if (full.length === BUFFER_BYTES) free.push(full);
        });
      }
    }
    return writing;
  };
  /** Gzip: the writes of the members being compressed, oldest first. */
  const ahead: Promise<void>[] = [];
  if (!options.resume) gather(header);
  else if (options.resume.tail !== undefined) gather(options.resume.tail);
  return {
    schema,
    committable: true,
    async write(batch) {
      const text = encode(batch);
      if (typeof text === 'string') gather(text);
      else for (const piece of text) gather(piece);
      if (bytes < WRITE_BYTES) return;
      const written = flush();
      if (!zipped) return written;
      // Members compress side by side on libuv's threads; the rows go on until MEMBERS_AHEAD wait.
      written.catch(() => undefined); // a failure reaches the caller through the oldest, or commit and seal
      ahead.push(written);
      if (ahead.length > MEMBERS_AHEAD) await ahead.shift();
    },
    async commit() {
      if (zipped) {
        // The text since the last member, as it stands now: the commit is of the batches written before it was called.
        const tail = buffer.toString('utf8', 0, bytes);
        await writing;
        const at = end;
        await file.sync();
        return { bytes: at, tail };
      }
      // Both before the first await: this commit is of the batches written before it was called.
      const written = flush();
      const at = end;
      await written;
      await file.sync();
      return { bytes: at };
    },
    async seal() {
      await flush();
      await file.seal();
    },
    async close() {
      await writing.catch(() => undefined);
      await file.close();
    },
    async discard() {
      await writing.catch(() => undefined);
      await file.discard();
    },
  };
}
