/**
 * @file JSON Lines writer: one object per row, keys in schema order, one write per batch.
 */
import type { Field } from '../source/types.js';
import { createAtomic } from './atomic.js';
import type { OutputBatch, Sink } from './types.js';
import { jsonText } from './values.js';

export async function openJsonlSink(path: string, schema: readonly Field[]): Promise<Sink> {
  const file = await createAtomic(path);
  const keys = schema.map((f, i) => `${i ? ',' : '{'}${JSON.stringify(f.name)}:`);
  return {
    schema,
    async write(batch: OutputBatch) {
      const columns = schema.map((f) => batch.columns.get(f.name)!);
      let text = '';
      for (let r = 0; r < batch.length; r++) {
        let line = '';
        for (let c = 0; c < columns.length; c++) line += keys[c] + jsonText(columns[c]![r], schema[c]!.type, schema[c]!.items);
        text += `${line || '{'}}\n`;
      }
      if (text) await file.write(text);
    },
    close: () => file.commit(),
    abort: () => file.discard(),
  };
}
