/**
 * openSink for csv / jsonl / parquet: every value kind written and read back with a reader
 * that is not ours (csv-parse, JSON.parse, DuckDB with its column types); the output path
 * appears only when the sealed partial file is published; discard leaves nothing behind;
 * a commit position truncates a resumed file back to it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { DataFormat, OutputSpec } from '../../src/job/spec.js';
import { publish } from '../../src/sink/atomic.js';
import { type OutputBatch, openSink, tidyPartial } from '../../src/sink/index.js';
import { openSinkThread } from '../../src/sink/thread.js';
import type { SinkPosition } from '../../src/sink/types.js';
import { dayText, doubleText, float32Text, float32TextByPrecision, jsonText, numberText, timestampText } from '../../src/sink/values.js';
import type { Field } from '../../src/source/types.js';
import { duckdb, rejectsWith, seededRandom, withTempDir } from '../helpers.js';

const schema: Field[] = [
  { name: 's', type: 'string' },
  { name: 'f32', type: 'float32' },
  { name: 'f64', type: 'float64' },
  { name: 'i64', type: 'int64' },
  { name: 'i32', type: 'int32' },
  { name: 'b', type: 'bool' },
  { name: 'ts', type: 'timestamp' },
  { name: 'l', type: 'list', items: 'float32' },
];

const batch = (columns: Record<string, ArrayLike<unknown>>): OutputBatch => ({ length: Object.values(columns)[0]!.length, columns: new Map(Object.entries(columns)) });

const first = batch({
  s: ['a,b', 'say "hi"\nbye'],
  f32: Float32Array.of(0.1, 3667.72),
  // A float32 value in a float64 column prints its full double expansion.
  f64: [0.1, Math.fround(0.1)],
  i64: [1n, -9007199254740993n],
  i32: Int32Array.of(7, -2),
  b: [true, false],
  ts: [new Date('2024-01-02T03:04:05.678Z'), new Date('1969-12-31T23:59:59.000Z')],
  l: [[Math.fround(0.1), 2], Float32Array.of(-1.5)],
});
const second = batch({ s: [null], f32: [null], f64: [null], i64: [null], i32: [null], b: [null], ts: [null], l: [null] });

function output(dir: string, format: DataFormat, extra: Partial<OutputSpec> = {}): OutputSpec {
  return {
    path: join(dir, `out.${format}`), format, keep: undefined,
    csv: { delimiter: ',' }, parquet: { rowGroupRows: 65536, compression: 'snappy' }, writer: 'auto', ...extra, gzip: extra.gzip ?? false,
  };
}

/** Writes both batches through a sink, checking nothing appears at the output path until publish. */
async function writeAll(dir: string, out: OutputSpec, batches = [first, second]): Promise<void> {
  const partial = join(dir, 'ckpt', `partial.${out.format}`);
  const sink = await openSink(out, schema, { partial });
  assert.deepEqual(sink.schema, schema);
  for (const b of batches) await sink.write(b);
  assert.equal(existsSync(out.path), false, 'the output must not exist before the run completes');
  await sink.seal();
  assert.equal(existsSync(out.path), false, 'sealing alone must not publish');
  await publish(partial, out.path);
  assert.equal(existsSync(out.path), true);
  assert.equal(existsSync(partial), false, 'publish moves the partial file');
}

/** Writes one batch of `fields` through the CSV, JSONL and Parquet sinks; the published files. */
async function writeEach(dir: string, fields: readonly Field[], rows: OutputBatch): Promise<Record<'csv' | 'jsonl' | 'parquet', string>> {
  const paths = { csv: '', jsonl: '', parquet: '' };
  for (const format of ['csv', 'jsonl', 'parquet'] as const) {
    const out = output(dir, format);
    const partial = join(dir, `partial.${format}`);
    const sink = await openSink(out, fields, { partial });
    await sink.write(rows);
    await sink.seal();
    await publish(partial, out.path);
    paths[format] = out.path;
  }
  return paths;
}

/** A float32 or float64 and the 32-bit words that hold it. */
function floatView(width: 32 | 64): [Uint32Array, Float32Array | Float64Array] {
  const words = new Uint32Array(width / 32);
  return [words, width === 32 ? new Float32Array(words.buffer) : new Float64Array(words.buffer)];
}

/** A float32 or float64 of random bits (every exponent, subnormals, NaNs and infinities, both signs), low word first. */
function randomFloat(random: () => number, width: 32 | 64): number {
  const [words, float] = floatView(width);
  for (let w = 0; w < words.length; w++) words[w] = random() * 2 ** 32;
  return float[0]!;
}

/**
 * The floats `count` bit patterns either side of `value` (as a float32, or a float64 by its low
 * word), and their negatives: where rounding, carries and a misjudged log10 go wrong.
 */
function neighbours(value: number, count: number, width: 32 | 64, signs = true): number[] {
  const [words, float] = floatView(width);
  float[0] = value;
  const low = words[0]!;
  const out: number[] = [];
  for (let d = -count; d <= count; d++) {
    words[0] = low + d;
    out.push(float[0]!, ...(signs ? [-float[0]!] : []));
  }
  return out;
}

describe('values', () => {
  test('float32Text prints the shortest decimal that round-trips through float32', () => {
    assert.equal(float32Text(Math.fround(0.1)), '0.1');
    assert.equal(float32Text(Math.fround(3667.72)), '3667.72');
    assert.equal(float32Text(Math.fround(1 / 3)), '0.33333334');
    assert.equal(float32Text(Math.fround(16777217)), '16777216');
    assert.equal(float32Text(Math.fround(1e-8)), '1e-8');
    assert.equal(float32Text(0), '0');
    assert.equal(float32Text(-Infinity), '-Infinity');
    assert.equal(float32Text(NaN), 'NaN');
    for (const x of [0.1, 1 / 3, 3667.72, 1e-8, 123456.789, -2.5e30]) {
      const f = Math.fround(x);
      assert.equal(Math.fround(Number(float32Text(f))), f, `${x} round-trips`);
    }
  });

  test('float32Text gives toPrecision\'s text for every kind of float32', () => {
    // Its integer rounding must agree with toPrecision's exact rounding everywhere it answers:
    // random bit patterns (every exponent, subnormals, both signs), softmax-like probabilities,
    // the neighbours of powers of ten and two (where log10 and carries go wrong), and decimals.
    const random = seededRandom(0x2545f491);
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      values.push(randomFloat(random, 32));
      const [a, b] = [random() * 8, random() * 8];
      values.push(Math.fround(Math.exp(a) / (Math.exp(a) + Math.exp(b) + 1)));
    }
    for (let k = -45; k <= 38; k++) values.push(...neighbours(10 ** k, 40, 32));
    for (let k = -149; k <= 127; k++) values.push(...neighbours(2 ** k, 2, 32, false));
    for (let i = 0; i <= 20_000; i++) values.push(Math.fround(i), Math.fround(i / 1000), Math.fround(i * 0.37), -Math.fround(i / 7));
    for (const v of values) assert.equal(float32Text(v), float32TextByPrecision(v), `${v}`);
    assert.equal(float32Text(2 ** -10), '0.0009765625', 'a tie at 6 digits (left to toPrecision) whose 6 to 8 digits do not read back');
    assert.equal(float32Text(Math.fround(3.4028234663852886e38)), '3.4028235e+38');
    assert.equal(float32Text(Math.fround(1e-45)), '1.4013e-45');
    assert.equal(float32Text(Math.fround(-1234567)), '-1234567');
    assert.equal(float32Text(Math.fround(1e21)), '1e+21');
  });

  test('doubleText gives String\'s text for every kind of double', () => {
    // Its exact arithmetic must pick the digits V8 picks (shortest, then closest) wherever it
    // answers: softmax probabilities (down to a confident model's 1e-13), random bit patterns
    // (every exponent, both signs), uniform and rounded decimals, values from 1e-5 down to 1e-30
    // (10^s a double-double), the neighbours of powers of ten, integers and halves, values near 1.
    const random = seededRandom(0x9e3779b9);
    const values: number[] = [];
    for (let i = 0; i < 60_000; i++) {
      const [a, b, c] = [random() * 8, random() * 8, random() * 30];
      const z = Math.exp(a) + Math.exp(b) + Math.exp(c);
      values.push(Math.exp(a) / z, Math.exp(b) / z, Math.exp(b - c) / z, random(), random() * 1e6, Math.round(random() * 1e6) / 100, Math.fround(random()), -random() * 1e-3, random() * 10 ** -(5 + (i % 26)));
      values.push(randomFloat(random, 64));
    }
    for (let k = -8; k <= 18; k++) values.push(...neighbours(10 ** k, 30, 64));
    for (let i = 0; i <= 20_000; i++) values.push(i / 1000, i * 0.1, 1 - i * 1e-17, i + 0.5, 2 ** -(i % 60));
    for (const v of values) assert.equal(doubleText(v), String(v), `${v}`);
    for (const v of [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 1e21, 1e-7, 0.1 + 0.2]) assert.equal(doubleText(v), String(v));
  });

  test('numberText and jsonText by column type', () => {
    assert.equal(numberText(Math.fround(0.1), 'float32'), '0.1');
    // A negative zero keeps its sign, as DuckDB and pandas print it; JSON reads -0 too.
    assert.deepEqual([numberText(-0, 'float64'), numberText(-0, 'float32'), numberText(0, 'float64'), jsonText(-0, 'float64')], ['-0', '-0', '0', '-0']);
    assert.equal(numberText(Math.fround(0.1), 'float64'), '0.10000000149011612');
    assert.equal(jsonText(NaN, 'float64'), 'null');
    assert.equal(jsonText(Infinity, 'float32'), 'null');
    assert.equal(jsonText(12345678901234567890n, 'int64'), '12345678901234567890');
    assert.equal(jsonText(Float32Array.of(0.1, 0.2), 'list', 'float32'), '[0.1,0.2]');
    assert.equal(jsonText(new Date(0), 'timestamp'), '"1970-01-01T00:00:00.000Z"');
    assert.equal(jsonText(new Date('2024-02-29T00:00:00Z'), 'date'), '"2024-02-29"');
    assert.equal(jsonText(new Date(0), 'timestamp', undefined, { naive: true }), '"1970-01-01T00:00:00.000"');
    assert.equal(jsonText([new Date('1969-12-31T00:00:00Z')], 'list', 'date'), '["1969-12-31"]');
    // 64-bit integers inside a struct, a map or a list stay numbers with every digit, not quoted text.
    assert.equal(jsonText({ k: [1n] }, 'json'), '{"k":[1]}');
    assert.equal(jsonText({ id: 12345678901234567890n, m: { x: -1n, s: 'a"b', skipped: undefined, t: new Date(0) } }, 'json'),
      '{"id":12345678901234567890,"m":{"x":-1,"s":"a\\"b","t":"1970-01-01T00:00:00.000Z"}}');
    assert.deepEqual(JSON.parse(jsonText({ a: 1.5, b: [true, null], c: {} }, 'json')), { a: 1.5, b: [true, null], c: {} });
  });
});

describe('csv sink', () => {
  test('writes RFC 4180 text with exact number formatting, read back by csv-parse', () => withTempDir(async (dir) => {
    const out = output(dir, 'csv');
    await writeAll(dir, out);
    const text = await readFile(out.path, 'utf8');
    assert.equal(text, [
      's,f32,f64,i64,i32,b,ts,l',
      '"a,b",0.1,0.1,1,7,true,2024-01-02T03:04:05.678Z,"[0.1,2]"',
      '"say ""hi""\nbye",3667.72,0.10000000149011612,-9007199254740993,-2,false,1969-12-31T23:59:59.000Z,[-1.5]',
      ',,,,,,,',
      '',
    ].join('\n'));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows[0], { s: 'a,b', f32: '0.1', f64: '0.1', i64: '1', i32: '7', b: 'true', ts: '2024-01-02T03:04:05.678Z', l: '[0.1,2]' });
    assert.equal(rows[1]!.s, 'say "hi"\nbye');
    assert.deepEqual(JSON.parse(rows[1]!.l!), [-1.5]);
    assert.equal(rows.length, 3);
  }));

  test('another delimiter is quoted where it appears; leading/trailing spaces are quoted', () => withTempDir(async (dir) => {
    const out = output(dir, 'csv', { csv: { delimiter: ';' } });
    const partial = join(dir, 'p.csv');
    const fields: Field[] = [{ name: 'a;b', type: 'string' }, { name: 'n', type: 'float64' }];
    const sink = await openSink(out, fields, { partial });
    await sink.write(batch({ 'a;b': ['x;y', ' pad', 'a,b'], n: [1.5, 2, -0] }));
    await sink.seal();
    await publish(partial, out.path);
    // -0 keeps its sign (numberText).
    assert.equal(await readFile(out.path, 'utf8'), '"a;b";n\n"x;y";1.5\n" pad";2\na,b;-0\n');
  }));

  test('batches longer than the write buffer, in characters of one to four bytes, are written whole and in order', () => withTempDir(async (dir) => {
    // The writer encodes each batch into a reused 1 MB buffer (sink/text.ts); one that would not
    // fit moves to a larger one, and a commit between writes hands the full buffer to its write.
    const out = output(dir, 'csv');
    const partial = join(dir, 'p.csv');
    const fields: Field[] = [{ name: 'text', type: 'string' }, { name: 'n', type: 'float64' }];
    const sink = await openSink(out, fields, { partial });
    // Past a million UTF-16 units a cell is quoted a piece at a time: quotes, a comma and a line
    // break to quote, and a surrogate pair across the first piece's end (the leading quote shifts them).
    const cells = ['a'.repeat(3_000_000), 'é'.repeat(700_000), '€'.repeat(500_000), '🦆'.repeat(300_000), 'short', `"${'🦆'.repeat(600_000)}"\n,end`, `${'b"'.repeat(700_000)} `];
    for (const [i, cell] of cells.entries()) {
      await sink.write(batch({ text: [cell, `${i}`], n: [i + 0.25, -i] }));
      if (i === 2) await sink.commit();
    }
    await sink.seal();
    await publish(partial, out.path);
    const rows = parse(await readFile(out.path, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => r.text), cells.flatMap((cell, i) => [cell, `${i}`]));
    assert.deepEqual(rows.map((r) => r.n), cells.flatMap((_, i) => [String(i + 0.25), i === 0 ? '-0' : String(-i)]));
  }));
});

describe('jsonl sink', () => {
  test('a batch of lines past a million characters is written whole and in order (handed on in pieces)', () => withTempDir(async (dir) => {
    const out = output(dir, 'jsonl');
    const partial = join(dir, 'p.jsonl');
    const sink = await openSink(out, [{ name: 'text', type: 'string' }], { partial });
    const cells = ['a'.repeat(1_500_000), '"🦆"\n'.repeat(400_000), 'short', '€'.repeat(1_100_000)];
    await sink.write(batch({ text: cells }));
    await sink.seal();
    await publish(partial, out.path);
    assert.deepEqual((await readFile(out.path, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text), cells);
  }));

  test('one object per row in schema order; bigints exact; read back by JSON.parse', () => withTempDir(async (dir) => {
    const out = output(dir, 'jsonl');
    await writeAll(dir, out);
    const text = await readFile(out.path, 'utf8');
    assert.equal(text, [
      '{"s":"a,b","f32":0.1,"f64":0.1,"i64":1,"i32":7,"b":true,"ts":"2024-01-02T03:04:05.678Z","l":[0.1,2]}',
      '{"s":"say \\"hi\\"\\nbye","f32":3667.72,"f64":0.10000000149011612,"i64":-9007199254740993,"i32":-2,"b":false,"ts":"1969-12-31T23:59:59.000Z","l":[-1.5]}',
      '{"s":null,"f32":null,"f64":null,"i64":null,"i32":null,"b":null,"ts":null,"l":null}',
      '',
    ].join('\n'));
    const rows = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(rows[0], { s: 'a,b', f32: 0.1, f64: 0.1, i64: 1, i32: 7, b: true, ts: '2024-01-02T03:04:05.678Z', l: [0.1, 2] });
    assert.equal(rows[1]!.s, 'say "hi"\nbye');
  }));

  test('an empty schema writes {} per row', () => withTempDir(async (dir) => {
    const out = output(dir, 'jsonl');
    const partial = join(dir, 'p.jsonl');
    const sink = await openSink(out, [], { partial });
    await sink.write({ length: 2, columns: new Map() });
    await sink.seal();
    await publish(partial, out.path);
    assert.equal(await readFile(out.path, 'utf8'), '{}\n{}\n');
  }));
});

describe('parquet sink', () => {
  test('DuckDB reads the values back with the right column types', () => withTempDir(async (dir) => {
    const out = output(dir, 'parquet');
    await writeAll(dir, out);
    const file = out.path.replace(/'/g, "''");
    const types = await duckdb(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
    assert.deepEqual(types.map((r) => `${String(r.column_name)}:${String(r.column_type)}`), [
      's:VARCHAR', 'f32:FLOAT', 'f64:DOUBLE', 'i64:BIGINT', 'i32:INTEGER', 'b:BOOLEAN', 'ts:TIMESTAMP WITH TIME ZONE', 'l:FLOAT[]',
    ]);
    const rows = await duckdb(`SELECT s, f32::VARCHAR AS f32, f64, i64, i32, b, epoch_ms(ts) AS ts, l::VARCHAR AS l FROM read_parquet('${file}')`);
    assert.deepEqual(rows, [
      { s: 'a,b', f32: '0.1', f64: 0.1, i64: 1n, i32: 7, b: true, ts: 1704164645678n, l: '[0.1, 2.0]' },
      { s: 'say "hi"\nbye', f32: '3667.72', f64: Math.fround(0.1), i64: -9007199254740993n, i32: -2, b: false, ts: -1000n, l: '[-1.5]' },
      { s: null, f32: null, f64: null, i64: null, i32: null, b: null, ts: null, l: null },
    ]);
  }));

  test('row_group_rows and compression are honoured', () => withTempDir(async (dir) => {
    const out = output(dir, 'parquet', { parquet: { rowGroupRows: 2, compression: 'gzip' } });
    await writeAll(dir, out, [first, second, first]);
    const meta = await duckdb(`SELECT row_group_id, row_group_num_rows AS n, compression FROM parquet_metadata('${out.path}') WHERE path_in_schema = 's' ORDER BY 1`);
    assert.deepEqual(meta, [{ row_group_id: 0n, n: 2n, compression: 'GZIP' }, { row_group_id: 1n, n: 3n, compression: 'GZIP' }]);
    assert.deepEqual((await duckdb(`SELECT s FROM read_parquet('${out.path}')`)).map((r) => r.s), ['a,b', 'say "hi"\nbye', null, 'a,b', 'say "hi"\nbye']);
  }));

  test('a row group also ends once its values take row_group_memory, at a batch end, whatever the writer', () => withTempDir(async (dir) => {
    // 300 KB of text a batch of 100 rows (3 KB a row), numbers as 8 bytes: a 1 MB group closes after its 4th batch.
    const fields: Field[] = [{ name: 'doc', type: 'string' }, { name: 'x', type: 'float64' }];
    const text = (b: number) => Array.from({ length: 100 }, (_, i) => `${b}:${i} `.padEnd(3000, 'é'));
    const batches = Array.from({ length: 10 }, (_, b) => batch({ doc: text(b), x: Float64Array.from({ length: 100 }, (_, i) => b * 100 + i) }));
    const counts: bigint[][] = [];
    for (const writer of ['inline', 'thread'] as const) {
      const out = output(dir, 'parquet', { path: join(dir, `${writer}.parquet`), writer, parquet: { rowGroupRows: 65536, rowGroupMemoryMb: 1, compression: 'snappy' } });
      const sink = await (writer === 'thread' ? openSinkThread : openSink)(out, fields, { partial: join(dir, `${writer}.partial.parquet`) });
      for (const b of batches) await sink.write(b);
      await sink.seal();
      await publish(join(dir, `${writer}.partial.parquet`), out.path);
      counts.push((await duckdb(`SELECT row_group_num_rows AS n FROM parquet_metadata('${out.path}') WHERE path_in_schema = 'x' ORDER BY row_group_id`)).map((r) => r.n as bigint));
      assert.deepEqual((await duckdb(`SELECT count(*) AS n, sum(x) AS s FROM read_parquet('${out.path}')`))[0], { n: 1000n, s: 499500 });
    }
    assert.deepEqual(counts, [[400n, 400n, 200n], [400n, 400n, 200n]]);
  }));

  test('a date column stays a DATE: the day in CSV and JSONL, DATE in Parquet', () => withTempDir(async (dir) => {
    const paths = await writeEach(dir, [{ name: 'd', type: 'date' }], batch({ d: [new Date('2024-02-29T00:00:00Z'), null, new Date('1969-07-20T00:00:00Z')] }));
    assert.equal(await readFile(paths.csv, 'utf8'), 'd\n2024-02-29\n\n1969-07-20\n');
    assert.equal(await readFile(paths.jsonl, 'utf8'), '{"d":"2024-02-29"}\n{"d":null}\n{"d":"1969-07-20"}\n');
    assert.deepEqual((await duckdb(`SELECT typeof(d) AS t, d::VARCHAR AS d FROM read_parquet('${paths.parquet}')`)).map((r) => `${r.t} ${r.d}`), ['DATE 2024-02-29', 'DATE null', 'DATE 1969-07-20']);
  }));

  test('a timestamp in micro- or nanoseconds keeps every digit: ISO text with 6 or 9 of them, a Parquet TIMESTAMP in its unit', () => withTempDir(async (dir) => {
    // An instant in UTC in microseconds; a wall-clock time (isAdjustedToUTC false) in nanoseconds, which DuckDB reads as TIMESTAMP_NS.
    const fields: Field[] = [{ name: 'us', type: 'timestamp', unit: 'us' }, { name: 'ns', type: 'timestamp', unit: 'ns', naive: true }];
    const paths = await writeEach(dir, fields, batch({ us: [1_704_067_200_123_456n, -1n, null], ns: [1_704_067_200_123_456_789n, -1n, null] }));
    // The wall-clock time is written without the Z that would say it is UTC.
    assert.equal(await readFile(paths.csv, 'utf8'), 'us,ns\n2024-01-01T00:00:00.123456Z,2024-01-01T00:00:00.123456789\n1969-12-31T23:59:59.999999Z,1969-12-31T23:59:59.999999999\n,\n');
    assert.equal(await readFile(paths.jsonl, 'utf8'), '{"us":"2024-01-01T00:00:00.123456Z","ns":"2024-01-01T00:00:00.123456789"}\n{"us":"1969-12-31T23:59:59.999999Z","ns":"1969-12-31T23:59:59.999999999"}\n{"us":null,"ns":null}\n');
    assert.deepEqual(await duckdb(`SELECT typeof(us) AS tu, epoch_us(us) AS us, typeof(ns) AS tn, epoch_ns(ns) AS ns FROM read_parquet('${paths.parquet}')`), [
      { tu: 'TIMESTAMP WITH TIME ZONE', us: 1_704_067_200_123_456n, tn: 'TIMESTAMP_NS', ns: 1_704_067_200_123_456_789n },
      { tu: 'TIMESTAMP WITH TIME ZONE', us: -1n, tn: 'TIMESTAMP_NS', ns: -1n },
      { tu: 'TIMESTAMP WITH TIME ZONE', us: null, tn: 'TIMESTAMP_NS', ns: null },
    ]);
  }));

  test('a list of float64 is DOUBLE[]', () => withTempDir(async (dir) => {
    const out = output(dir, 'parquet');
    const partial = join(dir, 'p.parquet');
    const sink = await openSink(out, [{ name: 'emb', type: 'list', items: 'float64' }], { partial });
    await sink.write(batch({ emb: [[0.1, 0.2], []] }));
    await sink.seal();
    await publish(partial, out.path);
    assert.deepEqual(await duckdb(`SELECT typeof(emb) AS t, emb FROM read_parquet('${out.path}')`), [{ t: 'DOUBLE[]', emb: [0.1, 0.2] }, { t: 'DOUBLE[]', emb: [] }]);
  }));
});

describe('partial files', () => {
  for (const format of ['csv', 'jsonl', 'parquet'] as const) {
    test(`${format}: discard leaves no file and no temporary file`, () => withTempDir(async (dir) => {
      const out = output(dir, format);
      const sink = await openSink(out, schema, { partial: join(dir, `.partial.${format}`) });
      await sink.write(first);
      assert.deepEqual(await readdir(dir), [`.partial.${format}`]);
      await sink.discard();
      assert.deepEqual(await readdir(dir), []);
    }));

    test(`${format}: a resume from a commit continues to the same bytes as one run`, () => withTempDir(async (dir) => {
      const out = output(dir, format, { parquet: { rowGroupRows: 2, compression: 'snappy' } });
      // One uninterrupted run.
      await writeAll(dir, out, [first, second, first]);
      const whole = await readFile(out.path);
      // An interrupted run: commit after the first batch, write more, stop without sealing.
      const partial = join(dir, 'ckpt2', `partial.${format}`);
      let sink = await openSink(out, schema, { partial });
      await sink.write(first);
      assert.equal(sink.committable, true);
      const position = await sink.commit();
      assert.equal(position.bytes, (await stat(partial)).size);
      await sink.write(second);
      if (format === 'parquet') assert.equal(sink.committable, false);
      await sink.close();
      // Resume from the commit and finish.
      sink = await openSink(out, schema, { partial, resume: position });
      await sink.write(second);
      await sink.write(first);
      await sink.seal();
      const final = join(dir, `resumed.${format}`);
      await publish(partial, final);
      assert.deepEqual(await readFile(final), whole);
    }));
  }
});

for (const format of ['csv', 'jsonl'] as const) {
  test(`${format}: a commit is of the batches written before it was called, though later ones (past the writes' gathering size) go on during its fsync`, () => withTempDir(async (dir) => {
    const fields: Field[] = [{ name: 's', type: 'string' }, { name: 'n', type: 'float64' }];
    const rows = (from: number, n: number) => batch({ s: Array.from({ length: n }, (_, i) => `row ${from + i} `.padEnd(120, 'x')), n: Float64Array.from({ length: n }, (_, i) => from + i) });
    const parts = [rows(0, 10), rows(10, 3000), rows(3010, 3000), rows(6010, 5)];
    const out = { ...output(dir, format), path: join(dir, `whole.${format}`) };
    const whole = join(dir, `whole.partial.${format}`);
    let sink = await openSink(out, fields, { partial: whole });
    for (const part of parts) await sink.write(part);
    await sink.seal();
    const expected = await readFile(whole);
    // As a run commits: the commit is not awaited before the next batches are written.
    const partial = join(dir, `partial.${format}`);
    sink = await openSink(out, fields, { partial });
    await sink.write(parts[0]!);
    const committing = sink.commit();
    await sink.write(parts[1]!);
    await sink.write(parts[2]!);
    const position = await committing;
    const lines = expected.toString().split('\n');
    assert.equal(position.bytes, Buffer.byteLength(lines.slice(0, (format === 'csv' ? 1 : 0) + 10).join('\n')) + 1);
    await sink.close();
    sink = await openSink(out, fields, { partial, resume: position });
    for (const part of parts.slice(1)) await sink.write(part);
    await sink.seal();
    assert.ok((await readFile(partial)).equals(expected));
  }));
}

test('parquet: continuous prediction columns are written PLAIN, other columns may take a dictionary', () => withTempDir(async (dir) => {
  const { asyncBufferFromFile, parquetMetadataAsync } = await import('hyparquet');
  const fields: Field[] = [{ name: 'size', type: 'float64' }, { name: 'score', type: 'float64', continuous: true }];
  const out = output(dir, 'parquet');
  const partial = join(dir, 'partial.parquet');
  const sink = await openSink(out, fields, { partial });
  // Both columns repeat three values: only the dictionary heuristic decides.
  await sink.write(batch({ size: Array.from({ length: 3000 }, (_, i) => i % 3), score: Float64Array.from({ length: 3000 }, (_, i) => i % 3) }));
  await sink.seal();
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(partial));
  const [size, score] = metadata.row_groups[0]!.columns.map((c) => c.meta_data!);
  assert.ok(size!.dictionary_page_offset !== undefined, 'size is dictionary-encoded');
  assert.equal(score!.dictionary_page_offset, undefined);
  assert.deepEqual(await duckdb(`SELECT sum(size)::INT s, sum(score)::INT t FROM '${partial}'`), [{ s: 3000, t: 3000 }]);
}));

test('parquet: row-group metadata is appended beside the partial file at commits (positions stay small), resumes from any commit, and stays when the file is sealed until the run has finished (tidyPartial)', () => withTempDir(async (dir) => {
  const out = output(dir, 'parquet', { parquet: { rowGroupRows: 2, compression: 'snappy' } });
  const groups = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? first : second));
  await writeAll(dir, out, groups);
  const whole = await readFile(out.path);
  const partial = join(dir, 'ckpt', 'partial.parquet');
  let sink = await openSink(out, schema, { partial });
  /** Commit positions by the count of batches written before them (only at row-group ends). */
  const positions = new Map<number, SinkPosition>();
  for (const [i, g] of groups.slice(0, 30).entries()) {
    await sink.write(g);
    if (sink.committable) positions.set(i + 1, await sink.commit());
  }
  await sink.close();
  // A position names a count and a length, not the row groups: as small after 1 row group as after 20.
  assert.ok(positions.size >= 15);
  assert.ok([...positions.values()].every((p) => p.parquet!.length < 100), positions.get(29)!.parquet);
  assert.deepEqual(await readdir(join(dir, 'ckpt')), ['partial.parquet', 'partial.parquet.rowgroups']);
  // Resumed from an earlier commit (the metadata file holds more than that), and again from an earlier one.
  for (const at of [11, 5]) {
    sink = await openSink(out, schema, { partial, resume: positions.get(at)! });
    for (const [i, g] of groups.slice(at, at + 4).entries()) {
      await sink.write(g);
      if (sink.committable && i > 0) await sink.commit();
    }
    await sink.close();
  }
  sink = await openSink(out, schema, { partial, resume: positions.get(7)! });
  for (const g of groups.slice(7)) await sink.write(g);
  await sink.seal();
  // A crash before the run records that it finished resumes from the last commit, which needs it.
  assert.deepEqual(await readdir(join(dir, 'ckpt')), ['partial.parquet', 'partial.parquet.rowgroups']);
  assert.deepEqual(await readFile(partial), whole);
  await tidyPartial(partial);
  assert.deepEqual(await readdir(join(dir, 'ckpt')), ['partial.parquet']);
}));

test('parquet: a resume whose committed row groups hold a column in another type than this run writes (another version typed the input otherwise) is refused before the partial file is touched', () => withTempDir(async (dir) => {
  const out = output(dir, 'parquet', { parquet: { rowGroupRows: 2, compression: 'snappy' } });
  const partial = join(dir, 'ckpt', 'partial.parquet');
  const sink = await openSink(out, schema, { partial });
  await sink.write(first);
  const position = await sink.commit();
  await sink.close();
  const before = await readFile(partial);
  // f64 typed as text now (a CSV column of codes, read by a later version).
  const retyped = schema.map((f) => (f.name === 'f64' ? { ...f, type: 'string' as const } : f));
  await rejectsWith(openSink(out, retyped, { partial, resume: position }), 'RESUME_REFUSED',
    `Cannot resume: the partial output ${partial} holds column "f64" as DOUBLE, and this run would write it as BYTE_ARRAY (the checkpoint was made by another version of bento-batch, which typed the input otherwise)`);
  assert.deepEqual(await readFile(partial), before);
}));

test('parquet: a checkpoint that holds its row groups itself (written before the metadata file) still resumes', () => withTempDir(async (dir) => {
  const out = output(dir, 'parquet', { parquet: { rowGroupRows: 2, compression: 'snappy' } });
  await writeAll(dir, out, [first, second, first]);
  const whole = await readFile(out.path);
  const partial = join(dir, 'ckpt', 'partial.parquet');
  let sink = await openSink(out, schema, { partial });
  await sink.write(first);
  const position = await sink.commit();
  await sink.close();
  // The old form: the row groups inline in the position, no metadata file.
  const rowGroups = (await readFile(`${partial}.rowgroups`, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
  const { groups, metadataBytes, ...rest } = JSON.parse(position.parquet!) as { groups: number; metadataBytes: number };
  assert.equal(groups, 1);
  assert.ok(metadataBytes > 0);
  await rm(`${partial}.rowgroups`);
  sink = await openSink(out, schema, { partial, resume: { bytes: position.bytes, parquet: JSON.stringify({ rowGroups, ...rest }) } });
  await sink.write(second);
  await sink.commit();
  await sink.write(first);
  await sink.seal();
  assert.deepEqual(await readFile(partial), whole);
}));

test('parquet: a resume whose row-group metadata file was cut short or removed is refused, naming the file and --restart, and leaves the partial file as it was', () => withTempDir(async (dir) => {
  const out = output(dir, 'parquet', { parquet: { rowGroupRows: 2, compression: 'snappy' } });
  const partial = join(dir, 'ckpt', 'partial.parquet');
  const sink = await openSink(out, schema, { partial });
  await sink.write(first);
  await sink.commit();
  await sink.write(first);
  const position = await sink.commit();
  await sink.write(first); // a row group past the last commit
  await sink.close();
  const before = await readFile(partial);
  assert.ok(before.length > position.bytes);
  const metadata = `${partial}.rowgroups`;
  const size = (await stat(metadata)).size;
  await truncate(metadata, size - 10);
  const cut = await rejectsWith(openSink(out, schema, { partial, resume: position }), 'RESUME_REFUSED', `Cannot resume: the checkpoint's row-group metadata ${metadata} is ${size - 10} bytes, shorter than the ${size} committed`);
  assert.match(cut.hint ?? '', /--restart/);
  await rm(metadata);
  await rejectsWith(openSink(out, schema, { partial, resume: position }), 'RESUME_REFUSED', `Cannot resume: the checkpoint's row-group metadata ${metadata} is missing`);
  assert.deepEqual(await readFile(partial), before);
}));

test('dayText and timestampText agree with Date within its ±275,760 years, and go on past them in its form (a sign and six or more year digits)', () => {
  const random = seededRandom(7);
  for (let k = 0; k < 20_000; k++) {
    const days = Math.floor((random() * 2 - 1) * 100_000_000);
    const iso = new Date(days * 86_400_000).toISOString();
    assert.equal(dayText(days), iso.slice(0, iso.indexOf('T')), `day ${days}`);
    const micros = BigInt(days) * 86_400_000_000n + BigInt(Math.floor(random() * 86_400_000_000));
    const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
    const second = new Date(Number((micros - fraction) / 1000n)).toISOString().slice(0, -5);
    assert.equal(timestampText(micros, 'us'), `${second}.${String(fraction).padStart(6, '0')}Z`, `µs ${micros}`);
  }
  assert.equal(dayText(100_000_001), '+275760-09-14');
  assert.equal(dayText(2_147_483_646), '+5881580-07-10'); // DuckDB's last date
  assert.equal(dayText(-2_147_483_646), '-5877641-06-25'); // DuckDB's first, 5877642-06-25 (BC)
  assert.equal(dayText(2_147_483_647), 'infinity');
  assert.equal(dayText(-2_147_483_647), '-infinity');
  assert.equal(timestampText(2n ** 63n - 2n, 'us'), '+294247-01-10T04:00:54.775806Z'); // as DuckDB's make_timestamp
  assert.equal(timestampText(-(2n ** 63n), 'us', true), '-290308-12-21T19:59:05.224192'); // numpy's datetime64[us] at -2^63
  assert.equal(timestampText(2n ** 63n - 1n, 'ns'), 'infinity');
  assert.equal(timestampText(-(2n ** 63n - 1n), 'ms', true), '-infinity');
  assert.equal(timestampText(9_000_000_000_000_001n, 'ms', true), '+287168-08-24T16:00:00.001'); // as DuckDB's make_timestamp
});
