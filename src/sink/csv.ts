/**
 * @file CSV writer: RFC 4180 quoting, a header row, one write per batch. Lists and objects
 * are written as JSON text in their cell.
 */
import type { Field } from '../source/types.js';
import { openTextSink } from './text.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';
import { dateText, jsonText, numberText } from './values.js';

export function openCsvSink(schema: readonly Field[], options: SinkOptions & { delimiter: string }): Promise<Sink> {
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
  return openTextSink(schema, options, `${schema.map((f) => quote(f.name)).join(d)}\n`, (batch: OutputBatch) => {
    const columns = schema.map((f) => batch.columns.get(f.name)!);
    let text = '';
    for (let r = 0; r < batch.length; r++) {
      let line = '';
      for (let c = 0; c < columns.length; c++) line += (c ? d : '') + cell(columns[c]![r], schema[c]!);
      text += `${line}\n`;
    }
    return text;
  });
}
