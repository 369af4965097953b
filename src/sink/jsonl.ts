/**
 * @file JSON Lines writer: one object per row, keys in schema order, one write per batch. Lines
 * read from JSON Lines (`lineColumn`) stand for the input's keys: each is written as read, with
 * the other columns (predictions) added before its closing brace.
 */
import { cell, type Field, lineColumn } from '../source/types.js';
import { BatchText, openTextSink } from './text.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';
import { jsonText } from './values.js';

export function openJsonlSink(schema: readonly Field[], options: SinkOptions & { gzip?: boolean; level?: number }): Promise<Sink> {
  return openTextSink(schema, options, '', (batch: OutputBatch) => {
    const lines = batch.columns.get(lineColumn) as ArrayLike<string | null> | undefined;
    // With lines, the input's own columns are in them: the fields left are those the batch carries.
    const fields = lines ? schema.filter((f) => batch.columns.has(f.name)) : schema;
    const keys = fields.map((f) => `${JSON.stringify(f.name)}:`);
    const columns = fields.map((f) => batch.columns.get(f.name)!);
    const text = new BatchText();
    for (let r = 0; r < batch.length; r++) {
      let line = '{';
      let first = true;
      const read = lines?.[r];
      if (read) {
        // The line up to its closing brace (a line JSON.parse read as an object ends in one, maybe before spaces).
        const close = read.lastIndexOf('}');
        line = read.slice(0, close);
        first = /^\s*\{\s*$/.test(line);
      }
      for (let c = 0; c < columns.length; c++) {
        line += (first ? '' : ',') + keys[c] + jsonText(cell(columns[c]!, r), fields[c]!.type, fields[c]!.items, fields[c]);
        first = false;
      }
      text.add(`${line}}\n`);
    }
    return text.done();
  });
}
