/**
 * @file CSV writer: RFC 4180 quoting, a header row, one write per batch. Lists and objects
 * are written as JSON text in their cell.
 */
import type { Field } from '../source/types.js';
import { createAtomic } from './atomic.js';
import type { OutputBatch, Sink } from './types.js';
import { dateText, jsonText, numberText } from './values.js';

export async function openCsvSink(path: string, schema: readonly Field[], options: { delimiter: string }): Promise<Sink> {
  const file = await createAtomic(path);
  const d = options.delimiter;
  const needsQuotes = new RegExp(`[${d === ']' ? '\\]' : d.replace(/[\\^-]/g, '\\$&')}"\\r\\n]|^\\s|\\s$`);
  const quote = (text: string) => (needsQuotes.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const cell = (value: unknown, field: Field): string => {
    if (value === null || value === undefined) return '';
    switch (typeof value) {
      case 'string': return quote(value);
      case 'number': return numberText(value, field.type);
      case 'bigint': return value.toString();
      case 'boolean': return value ? 'true' : 'false';
      default: return value instanceof Date ? dateText(value) : quote(jsonText(value, field.type, field.items));
    }
  };
  await file.write(`${schema.map((f) => quote(f.name)).join(d)}\n`);
  return {
    schema,
    async write(batch: OutputBatch) {
      const columns = schema.map((f) => batch.columns.get(f.name)!);
      const lines = new Array<string>(batch.length);
      for (let r = 0; r < batch.length; r++) {
        let line = '';
        for (let c = 0; c < columns.length; c++) line += (c ? d : '') + cell(columns[c]![r], schema[c]!);
        lines[r] = line;
      }
      if (lines.length > 0) await file.write(`${lines.join('\n')}\n`);
    },
    close: () => file.commit(),
    abort: () => file.discard(),
  };
}
