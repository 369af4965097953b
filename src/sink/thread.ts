/**
 * @file A Sink whose encoding runs off the calling thread. Parquet: row groups are encoded on
 * encoder threads (sink/encoders.ts) and appended here. CSV and JSONL: the writer runs on its
 * own thread (sink/writer-worker.ts); `write` returns as soon as the batch is queued (batches are
 * posted a few thousand rows, or a few dozen batches, at a time: BatchQueue), up to `depthRows`
 * rows ahead of the writer; a failed write surfaces at the next call. `commit` and `seal` post
 * what is queued and resolve when the writer has done them, in order; `close` and `discard`
 * drop what is queued (rows after the last commit are redone by a resume anyway).
 */
import { Worker } from 'node:worker_threads';
import { usableCores } from '../cores.js';
import { deserializeError, memoryLimitError } from '../errors.js';
import type { OutputSpec } from '../job/spec.js';
import { isGzip } from '../source/files.js';
import type { Field, Source } from '../source/types.js';
import type { SinkReply, SinkRequest, SinkWorkerInit } from './writer-worker.js';
import { encoderThreads, type EncoderThreadsOptions, type StartedEncoder, startEncoders } from './encoders.js';
import { openParquetSink, parquetOptions } from './parquet.js';
import { BatchQueue, batchBytes, POST_BYTES, POST_ROWS, postBatches, sliceOutput } from './transfer.js';
import { type OutputBatch, type Sink, type SinkOptions, type SinkPosition } from './types.js';

export interface SinkThreadOptions {
  /** CSV/JSONL: rows posted but not yet written before `write` waits (default 16,384). */
  readonly depthRows?: number;
  /** Heap cap in MB (V8 old generation) of the writer thread, or of all encoder threads together: their share of `limits.memory`. */
  readonly heapMb?: number;
  /** Its young generation in MB. */
  readonly youngMb?: number;
  /** limits.memory itself, for the message when the cap is reached. */
  readonly memoryMb?: number;
}

/** Each Parquet encoder thread's least heap: a row group being gathered and one being encoded. */
const ENCODER_MIN_MB = 48;

/** Parquet encoder threads and their heaps, from the writer's share of `limits.memory`. */
function encoderOptions(thread: SinkThreadOptions): EncoderThreadsOptions {
  // The reading and scoring thread keeps a core busy; encoders get the others (measured on 2
  // cores: a second encoder there gained nothing and cost ~15 MB), each with enough heap.
  const threads = Math.max(1, Math.min(4, usableCores().cores - 1, thread.heapMb ? Math.floor(thread.heapMb / ENCODER_MIN_MB) : 4));
  return {
    threads, ...(thread.heapMb ? { heapMb: Math.floor(thread.heapMb / threads) } : {}), ...(thread.youngMb ? { youngMb: Math.max(8, Math.floor(thread.youngMb / threads)) } : {}), ...(thread.memoryMb ? { memoryMb: thread.memoryMb } : {}),
  };
}

/**
 * Whether an input is small enough that `output.writer: auto` writes its output on the scoring
 * thread, starting no writer or encoder thread: at most 100,000 rows (Parquet) or 4 MB of CSV or
 * JSONL (512 KB gzipped; CSV compresses ~5×). A thread's start-up and the posting of rows to it
 * cost more than it overlaps until well past that: penguins CSV → CSV on 2 cores, three or four
 * interleaved pairs, on the scoring thread against on a writer thread: 10,320 rows 0.61–0.70 s
 * against 0.75–0.83 s, 30,000 rows 0.74–0.82 against 0.85–0.95 s, 100,000 rows (4.3 MB)
 * 1.02–1.21 against 1.14–1.30 s, 310,000 rows 1.85–2.27 against 1.81–2.10 s, 1M rows 3.42–4.19
 * against 3.31–4.07 s; and ~50 MB less peak RSS from 100,000 rows on.
 */
export function smallInput(source: Pick<Source, 'files' | 'totalRows' | 'progress'>): boolean {
  if (source.totalRows !== undefined) return source.totalRows <= 100_000;
  // Text sources count their progress in bytes on disk (compressed ones, compressed).
  const bytes = source.progress().total;
  return bytes !== undefined && bytes <= (source.files.some(isGzip) ? 512 : 4096) * 1024;
}

/** Threads started for a sink before its schema is known (startSinkThreads). */
export type StartedSinkThreads = { readonly encoders: StartedEncoder[] } | { readonly writer: StartedWriter };

/** A writer thread waiting for its output; `take` hands it on, with the error that ended it meanwhile, if one did. */
interface StartedWriter {
  take(): { worker: Worker; early: Error | undefined };
  end(): Promise<void>;
}

/**
 * The threads a sink on `output` will write on, started before the output's schema is known (it
 * waits for the model's signature), so their start-up overlaps the model's load: Parquet's
 * encoder threads, or the CSV and JSONL writer thread; openSinkThread gives them their work.
 */
export function startSinkThreads(output: OutputSpec, thread: SinkThreadOptions = {}): StartedSinkThreads {
  return output.format === 'parquet' ? { encoders: startEncoders(encoderOptions(thread)) } : { writer: startWriter(thread) };
}

/** Stops threads from startSinkThreads that no sink took (the run failed before its output opened). */
export async function stopSinkThreads(started: StartedSinkThreads): Promise<void> {
  if ('writer' in started) await started.writer.end();
  else await Promise.all(started.encoders.map((encoder) => encoder.end()));
}

function startWriter(thread: SinkThreadOptions): StartedWriter {
  const worker = new Worker(new URL('./writer-worker.js', import.meta.url), {
    ...(thread.heapMb ? { resourceLimits: { maxOldGenerationSizeMb: thread.heapMb, ...(thread.youngMb ? { maxYoungGenerationSizeMb: thread.youngMb } : {}) } } : {}),
  });
  // Until the sink takes it, an error or exit is kept for it (an 'error' with no listener would throw here).
  let early: Error | undefined;
  const onError = (error: Error) => (early ??= error);
  const onExit = (code: number) => (early ??= new Error(`the writer thread exited (code ${code}) before it was given its output`));
  worker.on('error', onError);
  worker.on('exit', onExit);
  return {
    take() {
      worker.off('error', onError);
      worker.off('exit', onExit);
      return { worker, early };
    },
    async end() {
      await worker.terminate();
    },
  };
}

/** A sink on `output`, written on `started` (startSinkThreads for the same output and options; started now when not given). */
export async function openSinkThread(output: OutputSpec, schema: readonly Field[], options: SinkOptions, thread: SinkThreadOptions = {}, started: StartedSinkThreads = startSinkThreads(output, thread)): Promise<Sink> {
  if ('encoders' in started) {
    const parquet = parquetOptions(output);
    const encoding = encoderThreads(schema, parquet.compression, started.encoders);
    return openParquetSink(schema, { ...options, ...parquet, encoding });
  }
  const { worker, early } = started.writer.take();
  /** The thread dying at its heap cap is the user's MEMORY_LIMIT; anything else is passed on. */
  const threadError = (error: Error) => memoryLimitError(error, thread.memoryMb ?? thread.heapMb ?? 0, 'writer thread') as Error;
  if (early) {
    await worker.terminate();
    throw threadError(early);
  }
  const init: SinkWorkerInit = { output, schema, options };
  worker.postMessage({ op: 'init', init } satisfies SinkRequest);
  // Posted messages are deserialized as they arrive, so rows posted ahead live through the
  // writer's young-generation collections: at 65,536 they were promoted (118 MB over 3.1M rows,
  // against 4 MB at 8,192) and its old generation was marked every ~100 ms.
  const depthRows = thread.depthRows ?? 16384;
  // And as many bytes as an eighth of the writer's heap: 16,384 rows of 10,000 columns would not fit it.
  const depthBytes = Math.max(4, (thread.heapMb ?? 102) / 8) * 1024 * 1024;
  let failure: Error | undefined;
  /** Rows (and bytes, batchBytes) posted and not yet acknowledged, and each post's in order. */
  let outstanding = 0;
  let outstandingBytes = 0;
  const postedRows: number[] = [];
  const postedBytes: number[] = [];
  let wakeWriter: (() => void) | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const fail = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    wakeWriter?.();
  };

  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the writer thread exited (code ${code}) while opening ${options.partial}`));
    const onError = (error: Error) => reject(threadError(error));
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (reply: SinkReply) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (reply.type === 'ready') resolve();
      else reject(reply.type === 'open-error' ? deserializeError(reply.error) : new Error(`unexpected reply from the writer thread: ${reply.type}`));
    });
  });
  worker.on('message', (reply: SinkReply) => {
    if (reply.type === 'written' || (reply.type === 'failed' && reply.id === undefined)) {
      outstanding -= postedRows.shift() ?? 0;
      outstandingBytes -= postedBytes.shift() ?? 0;
      wakeWriter?.();
    }
    if (reply.type === 'failed') {
      const error = deserializeError(reply.error);
      if (reply.id === undefined) fail(error);
      else {
        failure ??= error;
        pending.get(reply.id)?.reject(error);
        pending.delete(reply.id);
      }
    } else if (reply.type === 'done') {
      pending.get(reply.id)?.resolve(reply.value);
      pending.delete(reply.id);
    }
  });
  worker.on('error', (error) => fail(threadError(error)));
  let exited = false;
  worker.on('exit', (code) => {
    exited = true;
    fail(new Error(`the writer thread exited (code ${code})`));
  });

  const call = <T>(op: 'commit' | 'seal' | 'close' | 'discard'): Promise<T> => {
    if (exited) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ op, id } satisfies SinkRequest);
    });
  };
  // close/discard also run after a failure (the partial file must be kept or removed); once the thread is gone there is nothing to ask.
  const finish = async (op: 'close' | 'discard') => {
    await call<void>(op).catch(() => undefined);
    await worker.terminate();
  };

  // Small batches are posted to the thread together: a message costs a fixed amount besides its values.
  const queue = new BatchQueue(Math.min(POST_ROWS, depthRows), (batches, rows, bytes) => {
    outstanding += rows;
    outstandingBytes += bytes;
    postedRows.push(rows);
    postedBytes.push(bytes);
    postBatches(worker, batches, (packed) => ({ op: 'write', batches: packed }) satisfies SinkRequest);
  });

  const write = async (batch: OutputBatch): Promise<void> => {
    const bytes = batchBytes(batch);
    // A batch of very wide rows goes in pieces, each waiting for room as rows of any width do: 256
    // rows of 5,000 short strings were posted whole, and ran the writer out of memory. Not for a
    // gzipped output, whose members end at a write (sink/text.ts): its bytes would not be the
    // inline writer's.
    if (bytes > POST_BYTES && batch.length > 1 && !output.gzip) {
      const half = batch.length >> 1;
      await write(sliceOutput(batch, 0, half));
      return write(sliceOutput(batch, half, batch.length));
    }
    while (!failure && outstanding > 0 && (outstanding + queue.rows + batch.length > depthRows || outstandingBytes + queue.bytes + bytes > depthBytes)) await new Promise<void>((resolve) => (wakeWriter = resolve));
    if (failure) throw failure;
    queue.add(batch, bytes);
  };

  return {
    schema,
    committable: true,
    write,
    async commit() {
      if (failure) throw failure;
      queue.flush();
      return call<SinkPosition>('commit');
    },
    async seal() {
      if (failure) throw failure;
      queue.flush();
      await call<void>('seal');
      await worker.terminate();
    },
    close: () => finish('close'),
    discard: () => finish('discard'),
  };
}
