/**
 * @file The shared body of the line-oriented writers (CSV, JSONL): encode a batch to text,
 * append it; any batch boundary is a commit point.
 */
import type { Field } from '../source/types.js';
import { openPartial } from './atomic.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';

/**
 * Bytes gathered before a write to the file. A write per batch was a file system call and a
 * trip through libuv's thread pool each: per batch of one row, most of the writer's time.
 * Gathered as each batch's bytes, not as one string: a string this long is a large object to
 * V8, which only a full collection frees (the CSV writer's CPU rose by a fifth).
 */
const WRITE_BYTES = 256 * 1024;

/**
 * A sink that writes `header` once (not again on resume) and `encode(batch)` per batch, in
 * writes of about WRITE_BYTES, one after another. A commit takes what is gathered when it is
 * called and where the file will end with it, so writes made while its fsync runs (the run goes
 * on scoring) are not counted in it; `close` and `discard` drop what is gathered (rows after the
 * last commit are redone by a resume anyway).
 */
export async function openTextSink(schema: readonly Field[], options: SinkOptions, header: string, encode: (batch: OutputBatch) => string): Promise<Sink> {
  const file = await openPartial(options.partial, options.resume?.bytes);
  let gathered: Buffer[] = [];
  let bytes = 0;
  /** The file's length once the writes queued so far are done. */
  let end = file.length;
  /** The last write queued; a failed one fails every later one, and so the next call that waits. */
  let writing: Promise<void> = Promise.resolve();
  const gather = (text: string) => {
    if (text === '') return;
    const piece = Buffer.from(text);
    gathered.push(piece);
    bytes += piece.length;
  };
  /** Queues a write of what is gathered; resolves when it (and every write before it) is done. */
  const flush = (): Promise<void> => {
    if (bytes > 0) {
      const piece = gathered.length === 1 ? gathered[0]! : Buffer.concat(gathered, bytes);
      gathered = [];
      end += bytes;
      bytes = 0;
      writing = writing.then(() => file.write(piece));
    }
    return writing;
  };
  if (!options.resume) gather(header);
  return {
    schema,
    committable: true,
    async write(batch) {
      gather(encode(batch));
      if (bytes >= WRITE_BYTES) await flush();
    },
    async commit() {
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
