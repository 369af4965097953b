/**
 * @file The writer thread: one sink (any format) opened here, fed batches by sink/thread.ts.
 * Encoding (CSV number formatting, Parquet pages, compression) is a large share of a cheap
 * model's run; here it runs on its own core while the main thread reads and scores.
 */
import { parentPort } from 'node:worker_threads';
import type { OutputSpec } from '../job/spec.js';
import type { Field } from '../source/types.js';
import { openSink } from './index.js';
import { type PackedBatches, transferList, unpackBatches } from './transfer.js';
import type { Sink, SinkOptions } from './types.js';
import { type SerializedError, serializeError } from '../errors.js';

export interface SinkWorkerInit {
  readonly output: OutputSpec;
  readonly schema: readonly Field[];
  readonly options: SinkOptions;
}

export type SinkRequest =
  /** First, once: the thread is started before the output's schema is known (sink/thread.ts). */
  | { readonly op: 'init'; readonly init: SinkWorkerInit }
  | { readonly op: 'write'; readonly batches: PackedBatches }
  | { readonly op: 'commit' | 'seal' | 'close' | 'discard'; readonly id: number };

export type SinkReply =
  | { readonly type: 'ready' }
  | { readonly type: 'open-error'; readonly error: SerializedError }
  | { readonly type: 'written' }
  | { readonly type: 'done'; readonly id: number; readonly value?: unknown }
  | { readonly type: 'failed'; readonly id: number | undefined; readonly error: SerializedError };

const port = parentPort!;
const { init } = await new Promise<Extract<SinkRequest, { op: 'init' }>>((resolve) => port.once('message', resolve));

let sink: Sink;
try {
  sink = await openSink(init.output, init.schema, init.options);
  port.postMessage({ type: 'ready' } satisfies SinkReply);
} catch (error) {
  port.postMessage({ type: 'open-error', error: serializeError(error) } satisfies SinkReply);
  port.close();
}

// Requests run one after another in arrival order; after a failed write or commit nothing more
// is written (what the file holds past the last commit is unknown), only close/discard run.
let chain: Promise<void> = Promise.resolve();
const keepsNothing = init.output.format === 'csv' || init.output.format === 'jsonl';
let failure: SerializedError | undefined;
port.on('message', (request: Exclude<SinkRequest, { op: 'init' }>) => {
  chain = chain.then(async () => {
    const id = request.op === 'write' ? undefined : request.id;
    if (failure && (request.op === 'write' || request.op === 'commit' || request.op === 'seal')) {
      if (id !== undefined) port.postMessage({ type: 'failed', id, error: failure } satisfies SinkReply);
      return;
    }
    try {
      switch (request.op) {
        case 'write':
          for (const batch of unpackBatches(request.batches)) await sink.write(batch);
          // The CSV and JSONL writers keep nothing of a batch once written. Its buffers, moved
          // back, are freed at once instead of outliving this heap's young-generation collections
          // and waiting, outside the heap, for a full one (CSV → JSONL, 1M rows: ~20 MB of peak RSS).
          port.postMessage({ type: 'written' } satisfies SinkReply, keepsNothing ? transferList(request.batches) : []);
          return;
        case 'commit': {
          // The position is taken now; the fsync may overlap the writes that follow.
          const committed = sink.commit();
          void committed.then(
            (value) => port.postMessage({ type: 'done', id: request.id, value } satisfies SinkReply),
            (error: unknown) => {
              failure ??= serializeError(error);
              port.postMessage({ type: 'failed', id: request.id, error: failure } satisfies SinkReply);
            },
          );
          return;
        }
        case 'seal': await sink.seal(); break;
        case 'close': await sink.close(); break;
        case 'discard': await sink.discard(); break;
      }
      port.postMessage({ type: 'done', id: request.id } satisfies SinkReply);
      port.close();
    } catch (error) {
      failure ??= serializeError(error);
      port.postMessage({ type: 'failed', id, error: serializeError(error) } satisfies SinkReply);
    }
  });
});
