/**
 * @file Parquet row groups encoded on threads (sink/encoder-worker.ts), row group g on thread
 * g mod n. Encoding (statistics, dictionaries, compression) costs more than reading and scoring
 * a cheap model; with one thread per row group in flight it runs on every core the reading
 * thread leaves free. Rows are posted while a row group fills, so no thread waits for a whole
 * row group to arrive, and the reading thread never holds one.
 */
import { Worker } from 'node:worker_threads';
import { deserializeError, memoryLimitError } from '../errors.js';
import type { Field } from '../source/types.js';
import type { Compression } from './parquet-flat.js';
import type { EncodedRowGroup, RowGroupEncoding } from './parquet.js';
import { BatchQueue, POST_ROWS, postBatches } from './transfer.js';
import type { EncoderReply, EncoderRequest, EncoderInit } from './encoder-worker.js';
import type { OutputBatch } from './types.js';

export interface EncoderThreadsOptions {
  readonly threads: number;
  /** Heap cap of each thread in MB (V8 old generation), and its young generation. */
  readonly heapMb?: number;
  readonly youngMb?: number;
  /** limits.memory itself, for the message when a cap is reached. */
  readonly memoryMb?: number;
}

/**
 * Encoder threads started before the schema is known, so their start-up (node's bootstrap and
 * our imports, ~100–150 ms) overlaps the model's load; encoderThreads gives them their schema.
 * One not handed on is stopped with `end`.
 */
export function startEncoders(options: EncoderThreadsOptions): StartedEncoder[] {
  return Array.from({ length: Math.max(1, options.threads) }, () => startThread(options));
}

/** Row groups encoded on `threads` (startEncoders), taken in turn. */
export function encoderThreads(schema: readonly Field[], compression: Compression, threads: readonly StartedEncoder[]): RowGroupEncoding {
  for (const thread of threads) thread.start({ schema, compression });
  let group = 0;
  const queue = new BatchQueue(POST_ROWS, (batches) => threads[group % threads.length]!.send(batches));
  return {
    // One row group more than the threads: an encoder runs slower at times (while its code is
    // still being compiled, or off its core), and with one group each the reading thread waited
    // for it. Penguins 3.1M rows Parquet -> Parquet on 2 cores: the reading thread slept
    // 0.13-0.28 s of its run against 0.35-0.45 s (5 interleaved pairs, /proc schedstat), at
    // ~3 MB more peak RSS; two more slept no less.
    ahead: threads.length + 1,
    add(batch) {
      queue.add(batch);
    },
    close() {
      queue.flush();
      return threads[group++ % threads.length]!.close();
    },
    async end() {
      await Promise.all(threads.map((t) => t.end()));
    },
  };
}

export interface StartedEncoder {
  /** Posts the schema: first, before any rows. */
  start(init: EncoderInit): void;
  send(batches: readonly OutputBatch[]): void;
  close(): Promise<EncodedRowGroup>;
  end(): Promise<void>;
}

function startThread(options: EncoderThreadsOptions): StartedEncoder {
  const worker = new Worker(new URL('./encoder-worker.js', import.meta.url), {
    ...(options.heapMb ? { resourceLimits: { maxOldGenerationSizeMb: options.heapMb, ...(options.youngMb ? { maxYoungGenerationSizeMb: options.youngMb } : {}) } } : {}),
  });
  /** Row groups asked for, answered in order. */
  const waiting: { resolve(group: EncodedRowGroup): void; reject(error: Error): void }[] = [];
  let failure: Error | undefined;
  let ended = false;
  const fail = (error: Error) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (reply: EncoderReply) => {
    if (reply.type === 'encoded') waiting.shift()?.resolve({ bytes: reply.bytes, rowGroup: reply.rowGroup });
    else fail(deserializeError(reply.error) as Error);
  });
  // The thread dying at its heap cap is the user's MEMORY_LIMIT; anything else is passed on.
  worker.on('error', (error) => fail(memoryLimitError(error, options.memoryMb ?? options.heapMb ?? 0, 'Parquet encoder thread') as Error));
  worker.on('exit', (code) => fail(new Error(ended ? 'the Parquet encoder thread was stopped' : `the Parquet encoder thread exited (code ${code})`)));
  return {
    start(init) {
      worker.postMessage({ op: 'init', init } satisfies EncoderRequest);
    },
    send(batches) {
      if (failure) return;
      postBatches(worker, batches, (packed) => ({ op: 'rows', batches: packed }) satisfies EncoderRequest);
    },
    close() {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        worker.postMessage({ op: 'close' } satisfies EncoderRequest);
      });
    },
    async end() {
      ended = true;
      await worker.terminate();
    },
  };
}
