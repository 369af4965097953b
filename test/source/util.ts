/**
 * Helpers for the source tests: drain a source, concatenate its chunks column by column,
 * and assert a BentoError's code and full message.
 */
import assert from 'node:assert/strict';
import type { RowChunk, Source } from '../../src/source/types.js';

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
      (out[name] ??= []).push(...Array.from(values));
    }
  }
  return out;
}

/** `[fileRow, length]` of each chunk, to check chunk boundaries. */
export const layout = (chunks: readonly RowChunk[]) => chunks.map((c) => [c.fileRow, c.length]);

