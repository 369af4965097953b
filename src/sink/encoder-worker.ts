/**
 * @file A Parquet encoder thread (see sink/encoders.ts): gathers the rows of its current row
 * group as they are posted and, when told the row group is closed, encodes it and sends back its bytes.
 */
import type { RowGroup } from 'hyparquet';
import { parentPort } from 'node:worker_threads';
import { type SerializedError, serializeError } from '../errors.js';
import type { Field } from '../source/types.js';
import type { Compression } from './parquet-flat.js';
import { RowGroupEncoder } from './parquet.js';
import type { PackedBatches } from './transfer.js';
import { loadZstd } from './zstd.js';

export interface EncoderInit {
  readonly schema: readonly Field[];
  readonly compression: Compression;
}

export type EncoderRequest =
  /** First, once: the thread is started before the schema is known (sink/thread.ts). */
  | { readonly op: 'init'; readonly init: EncoderInit }
  | { readonly op: 'rows'; readonly batches: PackedBatches }
  | { readonly op: 'close' };

export type EncoderReply =
  | { readonly type: 'encoded'; readonly bytes: Uint8Array; readonly rowGroup: RowGroup }
  | { readonly type: 'failed'; readonly error: SerializedError };

const port = parentPort!;
let encoder!: RowGroupEncoder;
/**
 * While the ZSTD compressor loads (asynchronously, after `init`), the requests that come in
 * meanwhile, in order; undefined once it has loaded, or where it is not needed.
 */
let queue: Promise<void> | undefined;

port.on('message', (request: EncoderRequest) => {
  if (!queue) return handle(request);
  // A throw fails the thread as it would outside the queue (an uncaught exception), not as an unhandled rejection.
  enqueue(queue.then(() => handle(request)).catch((error: unknown) => queueMicrotask(() => {
    throw error;
  })));
});

/** `step` as the queue's last, the queue gone once it is done and nothing came after it. */
function enqueue(step: Promise<void>): void {
  queue = step;
  void step.finally(() => {
    if (queue === step) queue = undefined;
  });
}

function handle(request: EncoderRequest): void {
  if (request.op === 'init') {
    encoder = new RowGroupEncoder(request.init.schema, request.init.compression);
    if (request.init.compression.codec === 'zstd') {
      // A failed load fails the row group's encoding (zstdCompress throws why), which is reported.
      enqueue(loadZstd().catch(() => {}));
    }
    return;
  }
  if (request.op === 'rows') {
    encoder.addPacked(request.batches);
    return;
  }
  try {
    const encoded = encoder.encode();
    port.postMessage({ type: 'encoded', ...encoded } satisfies EncoderReply, [encoded.bytes.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ type: 'failed', error: serializeError(error) } satisfies EncoderReply);
  }
}
