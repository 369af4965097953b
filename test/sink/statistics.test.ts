/**
 * Parquet column statistics: the encoder computes min/max/null/NaN counts for number and string
 * columns itself; its row group must be byte for byte, and its metadata field for field, what
 * hyparquet-writer writes when it computes them (NaN, ±0, nulls, all-null columns, strings
 * around the surrogate range, lone surrogates).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { RowGroupEncoder } from '../../src/sink/parquet.js';
import type { OutputBatch } from '../../src/sink/types.js';
import type { Field } from '../../src/source/types.js';

const fields: Field[] = [
  { name: 'f64', type: 'float64' },
  { name: 'typed', type: 'float64', continuous: true },
  { name: 'f32', type: 'float32' },
  { name: 'i32', type: 'int32' },
  { name: 's', type: 'string' },
  { name: 'none', type: 'string' },
  { name: 'zeros', type: 'float64' },
];
// Our sink's schema for those fields, written out: every column OPTIONAL.
const schema: SchemaElement[] = [
  { name: 'root', num_children: fields.length },
  { name: 'f64', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'typed', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'f32', type: 'FLOAT', repetition_type: 'OPTIONAL' },
  { name: 'i32', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 's', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
  { name: 'none', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
  { name: 'zeros', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
];

function columns(rows: number): Record<string, unknown[] | Float64Array> {
  const strings = ['b', 'a', '\uffff', '\ue000', '😀', '\ud83d', 'z\ud800', 'é', '', 'ab', 'a\u0000'];
  return {
    f64: Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : i % 13 === 0 ? NaN : Math.sin(i) * 1e3)),
    typed: Float64Array.from({ length: rows }, (_, i) => Math.cos(i) / (i + 1)),
    f32: Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? null : Math.fround(i / 7 - 50))),
    i32: Array.from({ length: rows }, (_, i) => (i % 6 === 0 ? null : (i * 7919) % 1000 - 500)),
    s: Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : strings[i % strings.length]! + (i % 3 === 0 ? String(i % 7) : ''))),
    none: new Array(rows).fill(null),
    zeros: Array.from({ length: rows }, (_, i) => (i % 2 === 0 ? 0 : -0)),
  };
}

describe('Parquet statistics', () => {
  for (const rows of [1, 700, 200_000]) {
    test(`${rows} rows: the same bytes, statistics and page counts as hyparquet-writer's own`, () => {
      const data = columns(rows);
      const batch: OutputBatch = { length: rows, columns: new Map(Object.entries(data)) };
      const ours = new RowGroupEncoder(fields, 'snappy').encode([batch]);

      const writer = new ByteWriter(1 << 20);
      const reference = new ParquetWriter({ writer, schema, codec: 'SNAPPY' });
      const magic = writer.index;
      void reference.write({
        columnData: fields.map((f) => ({ name: f.name, data: data[f.name]!, offsetIndex: false, ...(f.continuous ? { encoding: 'PLAIN' as const } : {}) })) as never,
        rowGroupSize: Number.MAX_SAFE_INTEGER,
      });
      const expected = reference.row_groups[0]!;
      assert.deepEqual(Buffer.from(ours.bytes), Buffer.from(writer.buffer.slice(magic, writer.index)));
      fields.forEach((f, j) => {
        const a = ours.rowGroup.columns[j]!.meta_data!;
        const b = expected.columns[j]!.meta_data!;
        assert.deepEqual(a.statistics, b.statistics, `statistics of ${f.name}`);
        assert.deepEqual(a.encoding_stats, b.encoding_stats, `encoding stats of ${f.name}`);
      });
      if (rows === 200_000) assert.ok(ours.rowGroup.columns[1]!.meta_data!.encoding_stats!.at(-1)!.count > 1, 'the typed column spans several pages');
    });
  }
});
