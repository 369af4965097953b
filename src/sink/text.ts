/**
 * @file The shared body of the line-oriented writers (CSV, JSONL): encode a batch to text,
 * append it; any batch boundary is a commit point.
 */
import type { Field } from '../source/types.js';
import { openPartial } from './atomic.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';

/** A sink that writes `header` once (not again on resume) and `encode(batch)` per batch. */
export async function openTextSink(schema: readonly Field[], options: SinkOptions, header: string, encode: (batch: OutputBatch) => string): Promise<Sink> {
  const file = await openPartial(options.partial, options.resume?.bytes);
  if (!options.resume && header) await file.write(header);
  return {
    schema,
    committable: true,
    async write(batch) {
      const text = encode(batch);
      if (text) await file.write(text);
    },
    async commit() {
      const bytes = file.length;
      await file.sync();
      return { bytes };
    },
    seal: () => file.seal(),
    close: () => file.close(),
    discard: () => file.discard(),
  };
}
