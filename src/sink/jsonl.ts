/**
 * @file JSON Lines writer: one object per row, keys in schema order, one write per batch.
 */
import { cell, type Field } from '../source/types.js';
import { openTextSink } from './text.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';
import { jsonText } from './values.js';

export function openJsonlSink(schema: readonly Field[], options: SinkOptions & { gzip?: boolean }): Promise<Sink> {
  const keys = schema.map((f, i) => `${i ? ',' : '{'}${JSON.stringify(f.name)}:`);
  return openTextSink(schema, options, '', (batch: OutputBatch) => {
    const columns = schema.map((f) => batch.columns.get(f.name)!);
    let text = '';
    for (let r = 0; r < batch.length; r++) {
      let line = '';
      for (let c = 0; c < columns.length; c++) line += keys[c] + jsonText(cell(columns[c]!, r), schema[c]!.type, schema[c]!.items, schema[c]);
      text += `${line || '{'}}\n`;
    }
    return text;
  });
}
