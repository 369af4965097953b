/**
 * @file A Parquet encoder thread (see sink/encoders.ts): gathers the rows of its current row
 * group as they are posted and, when told the row group is closed, encodes it and sends back its bytes.
 */
import type { RowGroup } from 'hyparquet';
import { parentPort } from 'node:worker_threads';
import { type SerializedError, serializeError } from '../errors.js';
import type { Field } from '../source/types.js';
import { type ParquetSinkOptions, RowGroupEncoder } from './parquet.js';
import type { PackedBatches } from './transfer.js';

export interface EncoderInit {
  readonly schema: readonly Field[];
  readonly compression: ParquetSinkOptions['compression'];
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

port.on('message', (request: EncoderRequest) => {
  if (request.op === 'init') {
    encoder = new RowGroupEncoder(request.init.schema, request.init.compression);
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
});
