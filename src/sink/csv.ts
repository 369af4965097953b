/**
 * @file CSV writer: RFC 4180 quoting, a header row, one write per batch. Lists and objects
 * are written as JSON text in their cell, bytes (a Parquet BLOB) as base64.
 */
import { cell, type Field, lineColumn } from '../source/types.js';
import { BatchText, openTextSink, pieceChars } from './text.js';
import type { OutputBatch, Sink, SinkOptions } from './types.js';
import { base64, dateText, dayText, jsonText, numberText, timestampText } from './values.js';


export function openCsvSink(schema: readonly Field[], options: SinkOptions & { delimiter: string; gzip?: boolean; level?: number }): Promise<Sink> {
  const d = options.delimiter;
  const needsQuotes = new RegExp(`[${d === ']' ? '\\]' : d.replace(/[\\^-]/g, '\\$&')}"\\r\\n]|^\\s|\\s$`);
  const quote = (text: string) => (needsQuotes.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const format = (value: unknown, field: Field): string => {
    if (value === null || value === undefined) return '';
    switch (typeof value) {
      case 'string': return quote(value);
      // Dates and millisecond times past what a Date holds come as days and a bigint of milliseconds.
      case 'number': return field.type === 'date' ? dayText(value) : numberText(value, field.type);
      case 'bigint': return field.unit || field.type === 'timestamp' ? timestampText(value, field.unit ?? 'ms', field.naive) : value.toString();
      case 'boolean': return value ? 'true' : 'false';
      default:
        if (value instanceof Date) return dateText(value, field.type, field.naive);
        return field.type === 'binary' && value instanceof Uint8Array ? base64(value) : quote(jsonText(value, field.type, field.items, field));
    }
  };
  /** A long text cell as pieces of about pieceChars, quoted as `quote` would quote it whole; a surrogate pair is never cut. */
  function* quotedPieces(text: string): Generator<string> {
    const quoted = needsQuotes.test(text);
    for (let at = 0; at < text.length;) {
      let end = Math.min(text.length, at + pieceChars);
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      const piece = quoted ? text.slice(at, end).replace(/"/g, '""') : text.slice(at, end);
      yield `${quoted && at === 0 ? '"' : ''}${piece}${quoted && end === text.length ? '"' : ''}`;
      at = end;
    }
  }
  return openTextSink(schema, options, `${schema.map((f) => quote(f.name)).join(d)}\n`, (batch: OutputBatch) => {
    // Records read from CSV with this delimiter stand for the leading fields they hold.
    const lines = batch.columns.get(lineColumn) as ArrayLike<string | null> | undefined;
    const first = lines ? schema.findIndex((f) => batch.columns.has(f.name)) : 0;
    const covered = first === -1 ? schema.length : first;
    const columns = schema.slice(covered).map((f) => batch.columns.get(f.name)!);
    const fields = schema.slice(covered);
    const empty = d.repeat(Math.max(0, covered - 1));
    const text = new BatchText();
    for (let r = 0; r < batch.length; r++) {
      let line = lines ? (lines[r] ?? empty) : '';
      for (let c = 0; c < columns.length; c++) {
        const value = cell(columns[c]!, r);
        if (typeof value === 'string' && value.length > pieceChars) {
          // A document of millions of characters goes on in pieces of its own, quoted a piece at a
          // time: quoted whole, it and its doubled quotes were copies of it as large again.
          text.piece(line + (c || lines ? d : ''));
          line = '';
          for (const piece of quotedPieces(value)) text.piece(piece);
          continue;
        }
        line += (c || lines ? d : '') + format(value, fields[c]!);
      }
      text.add(`${line}\n`);
    }
    return text.done();
  });
}
