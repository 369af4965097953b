/**
 * Parquet row groups: the encoder gathers number, 64-bit integer, timestamp, text and number-list columns into typed arrays and writes
 * their chunks itself (sink/parquet-flat.ts). Its row group must be byte for byte, and its
 * metadata field for field, what hyparquet-writer writes from the same values: dictionaries
 * chosen or refused (by sample, and after building), page splits (by UTF-8 bytes for text), NaN,
 * ±0, nulls, all-null columns, 64-bit values across their words' edges, strings around the surrogate range and lone surrogates; whether
 * rows arrive as batches or packed as they are posted to an encoder thread, and row group after
 * row group from the same encoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RowGroup, SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { RowGroupEncoder } from '../../src/sink/parquet.js';
import { packBatches } from '../../src/sink/transfer.js';
import type { OutputBatch } from '../../src/sink/types.js';
import type { Field } from '../../src/source/types.js';
import { seededRandom } from '../helpers.js';

const fields: Field[] = [
  { name: 'f64', type: 'float64' },
  { name: 'typed', type: 'float64', continuous: true },
  { name: 'f32', type: 'float32' },
  { name: 'typed32', type: 'float32', continuous: true },
  { name: 'i32', type: 'int32' },
  { name: 's', type: 'string' },
  { name: 'none', type: 'string' },
  { name: 'zeros', type: 'float64' },
  { name: 'few', type: 'float64' },
  { name: 'fewTyped', type: 'float64' },
  { name: 'nan', type: 'float64' },
  { name: 'noNumbers', type: 'float64' },
  { name: 'unique', type: 'string' },
  { name: 'mixed', type: 'string' },
  { name: 'halfDistinct', type: 'string' },
  { name: 'flag', type: 'bool' },
  { name: 'allTrue', type: 'bool' },
  { name: 'noFlags', type: 'bool' },
  { name: 'typedI32', type: 'int32' },
  { name: 'fewI32', type: 'int32' },
  { name: 'day', type: 'date' },
  { name: 'i64', type: 'int64' },
  { name: 'typed64', type: 'int64' },
  { name: 'fewInt', type: 'int64' },
  { name: 'ts', type: 'timestamp', unit: 'us', naive: true },
  { name: 'tsz', type: 'timestamp', unit: 'ns' },
  { name: 'tags', type: 'list', items: 'string' },
  { name: 'point', type: 'struct', fields: [{ name: 'x', type: 'float64' }, { name: 'label', type: 'string' }] },
  // Lists of floats and doubles (embeddings kept) are ours again (ListNumberColumn).
  { name: 'emb', type: 'list', items: 'float32' },
  { name: 'vec', type: 'list', items: 'float64' },
  { name: 'fewVec', type: 'list', items: 'float64' },
  { name: 'full', type: 'list', items: 'float64' },
];
const lists = new Set(['emb', 'vec', 'fewVec', 'full']);
const utf8 = { converted_type: 'UTF8', logical_type: { type: 'STRING' } } as const;
const physical: Record<string, SchemaElement['type']> = { float64: 'DOUBLE', float32: 'FLOAT', int32: 'INT32', date: 'INT32', int64: 'INT64', timestamp: 'INT64', string: 'BYTE_ARRAY', bool: 'BOOLEAN' };
const timestamp = (f: Field) => (f.type === 'timestamp' ? { logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: !f.naive, unit: f.unit === 'ns' ? 'NANOS' as const : 'MICROS' as const }, ...(f.naive || f.unit === 'ns' ? {} : { converted_type: 'TIMESTAMP_MICROS' as const }) } : {});
// Our sink's schema for those fields, written out: every column OPTIONAL.
const schema: SchemaElement[] = [
  { name: 'root', num_children: fields.length },
  ...fields.slice(0, -6).map((f): SchemaElement => ({ name: f.name, type: physical[f.type], repetition_type: 'OPTIONAL', ...(f.type === 'string' ? utf8 : {}), ...(f.type === 'date' ? { converted_type: 'DATE' as const, logical_type: { type: 'DATE' as const } } : {}), ...timestamp(f) })),
  { name: 'tags', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', ...utf8 },
  { name: 'point', repetition_type: 'OPTIONAL', num_children: 2 },
  { name: 'x', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'label', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', ...utf8 },
  ...[['emb', 'FLOAT'], ['vec', 'DOUBLE'], ['fewVec', 'DOUBLE'], ['full', 'DOUBLE']].flatMap(([name, type]): SchemaElement[] => [
    { name: name!, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', type: type as SchemaElement['type'], repetition_type: 'OPTIONAL' },
  ]),
];

function columns(rows: number, seed: number): Record<string, unknown[] | Float64Array | Float32Array | Int32Array | BigInt64Array> {
  const random = seededRandom(seed);
  const strings = ['b', 'a', '\uffff', '\ue000', '😀', '\ud83d', 'z\ud800', 'é', '', 'ab', 'a\u0000'];
  const words = ['Adelie', 'Chinstrap', 'Gentoo', 'Torgersen', 'Biscoe', 'Dream'];
  return {
    f64: Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : i % 13 === 0 ? NaN : Math.sin(i) * 1e3)),
    typed: Float64Array.from({ length: rows }, (_, i) => Math.cos(i) / (i + 1)),
    f32: Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? null : Math.fround(i / 7 - 50))),
    typed32: Float32Array.from({ length: rows }, () => random()),
    i32: Array.from({ length: rows }, (_, i) => (i % 6 === 0 ? null : (i * 7919) % 1000 - 500)),
    s: Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : strings[i % strings.length]! + (i % 3 === 0 ? String(i % 7) : ''))),
    none: new Array(rows).fill(null),
    zeros: Array.from({ length: rows }, (_, i) => (i % 2 === 0 ? -0 : 0)),
    few: Array.from({ length: rows }, () => (random() < 0.01 ? null : Math.round(random() * 50) / 2)),
    fewTyped: Float64Array.from({ length: rows }, () => [3.5, -0, 0, NaN, 1e300][Math.floor(random() * 5)]!),
    nan: Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? null : NaN)),
    noNumbers: new Array(rows).fill(null),
    // Unique text, mostly non-ASCII: PLAIN pages split by UTF-8 bytes (2 MB of it at 200,000 rows).
    unique: Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : `Xin chào ${i} — ${'đ'.repeat(i % 5)}`)),
    // Categories for the first half, unique text after: posts of codes and of plain values in one chunk.
    mixed: Array.from({ length: rows }, (_, i) => (i < rows / 2 ? words[i % words.length]! : `row ${i}`)),
    // Passes the sample (many repeats) but not the built dictionary's win check.
    halfDistinct: Array.from({ length: rows }, (_, i) => `value ${i % Math.max(1, Math.floor(rows / 2))}`),
    flag: Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : i % 3 === 0)),
    // Long runs (RLE) and one value only (statistics); no value at all.
    allTrue: Array.from({ length: rows }, (_, i) => (i % 1000 === 999 ? null : true)),
    noFlags: new Array(rows).fill(null),
    typedI32: Int32Array.from({ length: rows }, (_, i) => (i % 2 ? -(2 ** 31) + i : 2 ** 31 - 1 - i)),
    // Days before and after the epoch, a repeated few among them (as Dates, the reader's values).
    day: Array.from({ length: rows }, (_, i) => (i % 12 === 0 ? null : new Date(((i % 3 === 0 ? i % 40 : i) - 20_000) * 86_400_000))),
    fewI32: Array.from({ length: rows }, () => (random() < 0.05 ? null : Math.floor(random() * 9) - 4)),
    // Signed 64-bit values across the words' edges (2^32, 2^31, −1, the INT64 ends), nulls among them.
    i64: Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : [2n ** 63n - 1n, -(2n ** 63n), -1n, 0n, 2n ** 32n, 2n ** 32n - 1n, 2n ** 31n, -(2n ** 31n) - 1n][i % 8]! * (i % 16 < 8 ? 1n : 0n) + (i % 16 < 8 ? 0n : BigInt(i)))),
    typed64: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 7919n - 10n ** 15n),
    fewInt: Array.from({ length: rows }, () => (random() < 0.02 ? null : BigInt(Math.floor(random() * 20)) - 10n)),
    ts: Array.from({ length: rows }, (_, i) => (i % 10 === 0 ? null : 1_704_067_200_000_000n + BigInt(i) * 1_234_567n)),
    tsz: BigInt64Array.from({ length: rows }, (_, i) => -1_000_000_000n + BigInt(i % 500)),
    // Other types go through hyparquet-writer; a struct is two column chunks.
    tags: Array.from({ length: rows }, (_, i) => (i % 10 === 0 ? null : words.slice(0, i % 4))),
    point: Array.from({ length: rows }, (_, i) => (i % 8 === 0 ? null : { x: i / 3, label: words[i % 6]! })),
    // Null lists, empty ones, null elements, ±0, NaN in a few rows; typed rows (a Float32Array, a
    // Float64Array) among arrays; in 700 rows long lists whose ~1.7 MB of doubles split into pages at rows.
    emb: Array.from({ length: rows }, (_, i) => {
      if (i % 10 === 0) return null;
      if (i % 10 === 1) return [];
      const list = Array.from({ length: 4 + (i % 9) }, (_, k) => Math.fround(Math.sin(i * 31 + k) * 10));
      if (i % 10 === 2) return [null, ...list, i % 20 === 2 ? -0 : 0, null];
      if (i % 10 === 3) return Float32Array.from(list);
      if (i % 10 === 4) return Float64Array.from(list);
      return list;
    }),
    vec: Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : i === 5 ? [1, NaN, 2] : Array.from({ length: (rows <= 1000 ? 300 : 2) + (i % 3) }, (_, k) => Math.cos(i * 1.37 + k * 0.0071) * 1e6 + k))),
    // A few values repeated: a dictionary.
    fewVec: Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : Array.from({ length: i % 6 }, (_, k) => [1.5, -0, 0, 2.5][(i + k) % 4]!))),
    // Three values a row, none missing: pages split at rows, not every 131,071 values.
    full: Array.from({ length: rows }, (_, i) => [i + 0.25, -i - 0.5, i * 1e-3 + 0.125]),
  };
}

function reference(data: Record<string, ArrayLike<unknown>>): { bytes: Buffer; rowGroup: RowGroup } {
  const writer = new ByteWriter(1 << 20);
  const parquet = new ParquetWriter({ writer, schema, codec: 'SNAPPY' });
  const magic = writer.index;
  void parquet.write({
    // A list's typed rows as the sink hands them to hyparquet-writer (convert): arrays.
    columnData: fields.map((f) => ({ name: f.name, data: lists.has(f.name) ? Array.from(data[f.name]!, (v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)) : data[f.name]!, offsetIndex: false, ...(f.continuous ? { encoding: 'PLAIN' as const } : {}) })) as never,
    rowGroupSize: Number.MAX_SAFE_INTEGER,
  });
  const rowGroup = parquet.row_groups[0]!;
  // Where we depart from hyparquet-writer on purpose: a chunk holding NaN has no minimum or
  // maximum (as DuckDB and parquet-mr write it), where hyparquet-writer gives those of its numbers.
  for (const chunk of rowGroup.columns) {
    const statistics = chunk.meta_data!.statistics as { min_value?: unknown; max_value?: unknown; nan_count?: bigint } | undefined;
    if (statistics && (statistics.nan_count ?? 0n) > 0n) Object.assign(statistics, { min_value: undefined, max_value: undefined });
  }
  return { bytes: Buffer.from(writer.buffer.slice(magic, writer.index)), rowGroup };
}

/** The rows of `data` as batches of at most `size` rows. */
function batchesOf(data: Record<string, ArrayLike<unknown>>, rows: number, size: number): OutputBatch[] {
  const out: OutputBatch[] = [];
  for (let start = 0; start < rows; start += size) {
    const end = Math.min(rows, start + size);
    const slice = (v: ArrayLike<unknown>) => (ArrayBuffer.isView(v) ? (v as Float64Array | BigInt64Array).slice(start, end) : Array.prototype.slice.call(v, start, end));
    out.push({ length: end - start, columns: new Map(Object.entries(data).map(([k, v]) => [k, slice(v)])) });
  }
  return out;
}

function assertSame(ours: { bytes: Uint8Array; rowGroup: RowGroup }, expected: { bytes: Buffer; rowGroup: RowGroup }): void {
  // Where they part, not a diff of megabytes (which took the test runner minutes and gigabytes).
  const bytes = Buffer.from(ours.bytes);
  if (!bytes.equals(expected.bytes)) {
    let at = 0;
    while (at < bytes.length && bytes[at] === expected.bytes[at]) at++;
    assert.fail(`the row group's bytes part at byte ${at} of ${bytes.length} (hyparquet-writer's: ${expected.bytes.length})`);
  }
  assert.equal(ours.rowGroup.num_rows, expected.rowGroup.num_rows);
  assert.equal(ours.rowGroup.total_byte_size, expected.rowGroup.total_byte_size);
  assert.equal(ours.rowGroup.total_compressed_size, expected.rowGroup.total_compressed_size);
  assert.equal(ours.rowGroup.columns.length, expected.rowGroup.columns.length);
  expected.rowGroup.columns.forEach((b, j) => {
    const a = ours.rowGroup.columns[j]!;
    const f = { name: b.meta_data!.path_in_schema.join('.') };
    // The reference's offsets count the file's leading magic; ours start at the row group.
    const magic = 4n;
    assert.equal(a.file_offset, b.file_offset - magic, `file offset of ${f.name}`);
    assert.equal(a.meta_data!.data_page_offset, b.meta_data!.data_page_offset - magic, `data page offset of ${f.name}`);
    assert.equal(a.meta_data!.dictionary_page_offset, b.meta_data!.dictionary_page_offset === undefined ? undefined : b.meta_data!.dictionary_page_offset - magic, `dictionary page offset of ${f.name}`);
    for (const key of ['type', 'encodings', 'path_in_schema', 'codec', 'num_values', 'total_compressed_size', 'total_uncompressed_size', 'statistics', 'encoding_stats'] as const) {
      assert.deepEqual(a.meta_data![key], b.meta_data![key], `${key} of ${f.name}`);
    }
  });
}

describe('Parquet row groups', () => {
  for (const rows of [1, 700, 200_000]) {
    test(`${rows} rows: the same bytes, statistics and page counts as hyparquet-writer's own`, () => {
      const data = columns(rows, rows);
      const encoder = new RowGroupEncoder(fields, { codec: 'snappy' });
      encoder.add({ length: rows, columns: new Map(Object.entries(data)) });
      const ours = encoder.encode();
      assertSame(ours, reference(data));
      if (rows === 200_000) {
        const pages = (name: string) => ours.rowGroup.columns.find((c) => c.meta_data!.path_in_schema[0] === name)!.meta_data!.encoding_stats!.at(-1)!.count;
        assert.ok(pages('typed') > 1, 'the typed column spans several pages');
        assert.ok(pages('unique') > 1, 'the unique text spans several pages');
        const encodings = (name: string) => ours.rowGroup.columns.find((c) => c.meta_data!.path_in_schema[0] === name)!.meta_data!.encodings;
        assert.deepEqual(encodings('few'), ['PLAIN', 'RLE_DICTIONARY']);
        assert.deepEqual(encodings('fewTyped'), ['PLAIN', 'RLE_DICTIONARY']);
        assert.deepEqual(encodings('unique'), ['PLAIN']);
        assert.deepEqual(encodings('halfDistinct'), ['PLAIN']);
        assert.deepEqual(encodings('mixed'), ['PLAIN']);
        assert.deepEqual([encodings('fewI32'), encodings('typedI32')], [['PLAIN', 'RLE_DICTIONARY'], ['PLAIN']]);
        assert.deepEqual([encodings('fewInt'), encodings('tsz'), encodings('typed64'), encodings('i64')], [['PLAIN', 'RLE_DICTIONARY'], ['PLAIN', 'RLE_DICTIONARY'], ['PLAIN'], ['PLAIN']]);
        assert.ok(pages('typed64') > 1, 'the 64-bit column spans several pages');
        assert.ok(pages('vec') > 1 && pages('full') > 1, 'the lists of doubles span several pages');
        assert.deepEqual([encodings('emb'), encodings('vec'), encodings('fewVec')], [['PLAIN'], ['PLAIN'], ['PLAIN', 'RLE_DICTIONARY']]);
      }
      if (rows === 700) {
        const vec = ours.rowGroup.columns.find((c) => c.meta_data!.path_in_schema[0] === 'vec')!.meta_data!;
        assert.deepEqual(vec.path_in_schema, ['vec', 'list', 'element']);
        assert.ok(vec.encoding_stats!.at(-1)!.count > 1, 'long lists split into pages');
      }
    });
  }

  test('rows posted packed (codes, numbers and marks) in runs of batches, row group after row group: the same bytes', () => {
    const encoder = new RowGroupEncoder(fields, { codec: 'snappy' });
    for (const [rows, seed] of [[70_000, 1], [5_000, 2], [70_000, 3]] as const) {
      const data = columns(rows, seed);
      const batches = batchesOf(data, rows, 1000);
      for (let b = 0; b < batches.length; b += 4) encoder.addPacked(structuredClone(packBatches(batches.slice(b, b + 4))));
      assertSame(encoder.encode(), reference(data));
    }
  });

  test('a row group that fails to encode leaves nothing behind for the next', () => {
    const encoder = new RowGroupEncoder(fields, { codec: 'snappy' });
    const bad = columns(10, 4);
    bad.i32 = Array.from({ length: 10 }, () => 1.5); // not an INT32
    encoder.add({ length: 10, columns: new Map(Object.entries(bad)) });
    assert.throws(() => encoder.encode(), /int/i);
    const data = columns(700, 5);
    encoder.add({ length: 700, columns: new Map(Object.entries(data)) });
    assertSame(encoder.encode(), reference(data));
  });
});
