/**
 * Helpers for the source tests: drain a source, concatenate its chunks column by column,
 * and assert a BentoError's code and full message.
 */
import assert from 'node:assert/strict';
import { cell, cells, type RowChunk, type Source } from '../../src/source/types.js';

/** Every chunk a source yields. */
export async function drain(source: Source): Promise<RowChunk[]> {
  const out: RowChunk[] = [];
  for await (const chunk of source.chunks()) out.push(chunk);
  return out;
}

/** The chunks' columns concatenated into plain arrays. */
export function concatColumns(chunks: readonly RowChunk[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const chunk of chunks) {
    for (const [name, values] of chunk.columns) {
      assert.equal(values.length, chunk.length, `column ${name} of chunk at ${chunk.fileRow} has ${values.length} values, expected ${chunk.length}`);
      // Own properties, so that a column named constructor or __proto__ is one too.
      if (!Object.hasOwn(out, name)) Object.defineProperty(out, name, { value: [], enumerable: true, writable: true, configurable: true });
      out[name]!.push(...cells(values));
    }
  }
  return out;
}

/** `[fileRow, length]` of each chunk, to check chunk boundaries. */
export const layout = (chunks: readonly RowChunk[]) => chunks.map((c) => [c.fileRow, c.length]);


/** The rows a source could not read, as the run reports them: 1-based row, code, message, byte, column, value. */
export async function badRows(source: Source): Promise<{ row: number | undefined; code: string; message: string; byte: number | undefined; column: string | undefined; value: unknown }[]> {
  const out = [];
  for (const chunk of await drain(source)) {
    for (const [i, e] of [...(chunk.errors ?? [])].sort((a, b) => a[0] - b[0])) {
      assert.equal(e.row, chunk.fileRow + i + 1, 'the error names the row it is stored at');
      if (e.code === 'INPUT_FORMAT') for (const values of chunk.columns.values()) assert.equal(cell(values, i), null, 'an unreadable row has null cells');
      out.push({ row: e.row, code: e.code, message: e.message, byte: e.byte, column: e.column, value: e.value });
    }
  }
  return out;
}
