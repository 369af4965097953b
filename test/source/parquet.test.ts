/**
 * openParquet: every codec and row-group layout of the penguins fixtures, and the Polars
 * flights file, read to exactly the values DuckDB reads; schema types; INPUT_FORMAT for files
 * that are not Parquet; COLUMN_MISSING.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { asyncBufferFromFile, parquetMetadata, parquetReadObjects, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { writePlain } from 'hyparquet-writer/src/plain.js';
import { VIEWED_BUFFER } from '../../src/source/parquet-nested.js';
import { openParquet } from '../../src/source/parquet.js';
import { BentoError } from '../../src/errors.js';
import { CodedColumn, MaskedColumn, type RowChunk } from '../../src/source/types.js';
import { duckdb, fixtures, rejectsWith, root, withTempDir } from '../helpers.js';
import { concatColumns, drain, layout } from './util.js';

const data = join(fixtures, 'data');
const flights = join(root, 'node_modules', 'vega-datasets', 'data', 'flights-3m.parquet');
const sqlPath = (file: string) => `'${file.replace(/'/g, "''")}'`;

/** A written Parquet file with its footer edited (`edit` changes the parsed metadata in place), for what no writer here writes. */
function withFooter(written: ArrayBuffer, edit: (metadata: ReturnType<typeof parquetMetadata>) => void): Buffer {
  const bytes = new Uint8Array(written);
  const footerLength = new DataView(written).getUint32(bytes.length - 8, true);
  const metadata = parquetMetadata(written);
  edit(metadata);
  const footer = new ByteWriter();
  writeMetadata(footer, metadata);
  return Buffer.concat([bytes.subarray(0, bytes.length - 8 - footerLength), new Uint8Array(footer.getBuffer()), Buffer.from('PAR1')]);
}

/** The schema element at `index` and every column chunk retyped INT96 (they were written as FIXED_LEN_BYTE_ARRAY(12), the same bytes). */
function asInt96(written: ArrayBuffer, index: number): Buffer {
  return withFooter(written, (metadata) => {
    const { type_length: _, ...element } = metadata.schema[index]!;
    metadata.schema[index] = { ...element, type: 'INT96' };
    for (const group of metadata.row_groups) for (const column of group.columns) column.meta_data = { ...column.meta_data!, type: 'INT96', statistics: undefined };
  });
}

/**
 * DuckDB's rows as columns, in file order. Timestamps in microseconds or nanoseconds come as
 * integers in their unit since the epoch, as the reader keeps them (DuckDB's JS values are Dates,
 * which hold milliseconds).
 */
async function duckColumns(file: string, limit?: number): Promise<Record<string, unknown[]>> {
  const types = await duckdb(`DESCRIBE SELECT * FROM read_parquet(${sqlPath(file)})`);
  const fine = types.flatMap((t) => {
    const name = `"${String(t.column_name).replace(/"/g, '""')}"`;
    return t.column_type === 'TIMESTAMP_NS' ? [`epoch_ns(${name}) AS ${name}`] : t.column_type === 'TIMESTAMP' || t.column_type === 'TIMESTAMP WITH TIME ZONE' ? [`epoch_us(${name}) AS ${name}`] : [];
  });
  const rows = await duckdb(`SELECT *${fine.length > 0 ? ` REPLACE (${fine.join(', ')})` : ''} FROM read_parquet(${sqlPath(file)})${limit === undefined ? '' : ` LIMIT ${limit}`}`);
  const out: Record<string, unknown[]> = {};
  for (const row of rows) for (const [k, v] of Object.entries(row)) (out[k] ??= []).push(v);
  return out;
}

describe('openParquet: penguins fixtures equal DuckDB', () => {
  const penguinFiles = ['penguins.parquet', 'penguins-snappy.parquet', 'penguins-gzip.parquet', 'penguins-uncompressed.parquet', 'penguins-rowgroups.parquet'];
  for (const name of penguinFiles) {
    test(name, async () => {
      const file = join(data, name);
      const expected = await duckColumns(file);
      const source = await openParquet([file], { columns: undefined, chunkRows: 64 });
      assert.equal(source.totalRows, 344);
      assert.equal(source.estimatedRows, 344);
      assert.deepEqual(source.schema.map((f) => `${f.name}:${f.type}`), [
        'species:string', 'island:string', 'bill_length_mm:float64', 'bill_depth_mm:float64', 'flipper_length_mm:float64', 'body_mass_g:float64', 'sex:string',
      ]);
      const chunks = await drain(source);
      assert.deepEqual(concatColumns(chunks), expected);
      // Chunks never exceed chunkRows and are cut at row-group ends (100/100/100/44 in the row-group file).
      assert.deepEqual(layout(chunks), name === 'penguins-rowgroups.parquet'
        ? [[0, 64], [64, 36], [100, 64], [164, 36], [200, 64], [264, 36], [300, 44]]
        : [[0, 64], [64, 64], [128, 64], [192, 64], [256, 64], [320, 24]]);
      assert.deepEqual(source.progress(), { done: 344, total: 344, unit: 'rows' });
    });
  }

  test('the row-group file read in chunks larger than a row group', async () => {
    const file = join(data, 'penguins-rowgroups.parquet');
    const chunks = await drain(await openParquet([file], { columns: undefined, chunkRows: 1000 }));
    assert.deepEqual(layout(chunks), [[0, 100], [100, 100], [200, 100], [300, 44]]);
    assert.deepEqual(concatColumns(chunks), await duckColumns(file));
  });

  test('columns selects columns in the file\'s order; several files keep fileRow per file', async () => {
    const a = join(data, 'penguins-rowgroups.parquet');
    const b = join(data, 'penguins-snappy.parquet');
    const source = await openParquet([a, b], { columns: ['body_mass_g', 'species'], chunkRows: 150 });
    assert.equal(source.totalRows, 688);
    assert.deepEqual(source.schema, [{ name: 'species', type: 'string' }, { name: 'body_mass_g', type: 'float64' }]);
    const chunks = await drain(source);
    assert.deepEqual(chunks.map((c) => [c.file === a ? 'a' : 'b', c.fileRow, c.length]), [
      ['a', 0, 100], ['a', 100, 100], ['a', 200, 100], ['a', 300, 44], ['b', 0, 150], ['b', 150, 150], ['b', 300, 44],
    ]);
    const expected = await duckdb(`SELECT species, body_mass_g FROM read_parquet(${sqlPath(a)})`);
    const columns = concatColumns(chunks);
    assert.deepEqual(columns.species, [...expected, ...expected].map((r) => r.species));
    assert.deepEqual(columns.body_mass_g, [...expected, ...expected].map((r) => r.body_mass_g));
  });
});

describe('openParquet: flights-3m (Polars, ZSTD, timestamps, dictionary strings)', () => {
  test('schema types and the first 1000 rows equal DuckDB', async () => {
    const source = await openParquet([flights], { columns: undefined, chunkRows: 600 });
    assert.equal(source.totalRows, 3_000_000);
    assert.deepEqual(source.schema, [
      { name: 'date', type: 'timestamp', unit: 'us', naive: true },
      { name: 'delay', type: 'int64' },
      { name: 'distance', type: 'int64' },
      { name: 'origin', type: 'string' },
      { name: 'destination', type: 'string' },
    ]);
    const chunks: RowChunk[] = [];
    for await (const chunk of source.chunks()) {
      chunks.push(chunk);
      if (chunks.length === 2) break; // don't read 3M rows
    }
    assert.deepEqual(layout(chunks), [[0, 600], [600, 600]]);
    const ours = Object.fromEntries(Object.entries(concatColumns(chunks)).map(([k, v]) => [k, v.slice(0, 1000)]));
    const expected = await duckColumns(flights, 1000);
    assert.equal(typeof expected.date![0], 'bigint');
    assert.equal(typeof expected.delay![0], 'bigint');
    assert.deepEqual(ours, expected);
  });
});

describe('openParquet: types written by DuckDB', () => {
  test('list, int32, bool, date, float, decimal, bigint, string, timestamp columns', () => withTempDir(async (dir) => {
    const file = join(dir, 'types.parquet');
    await duckdb(`COPY (SELECT * FROM (VALUES
      ([1.5, 2.0]::DOUBLE[], 1::INT, true, 1.5::FLOAT, 12.34::DECIMAL(5,2), 7::BIGINT, 'a', TIMESTAMP '2021-03-04 05:06:07'),
      ([]::DOUBLE[], NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      ([3.0]::DOUBLE[], -2, false, -0.25, -1.5, -9007199254740993, 'é', TIMESTAMP '1999-12-31 23:59:59.123')
    ) t(l, i, b, f, dec, big, s, ts)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(source.schema, [
      { name: 'l', type: 'list', items: 'float64' },
      { name: 'i', type: 'int32' },
      { name: 'b', type: 'bool' },
      { name: 'f', type: 'float32' },
      { name: 'dec', type: 'float64' },
      { name: 'big', type: 'int64' },
      { name: 's', type: 'string' },
      { name: 'ts', type: 'timestamp', unit: 'us', naive: true },
    ]);
    assert.deepEqual(concatColumns(await drain(source)), await duckColumns(file));
  }));

  test('DECIMAL in INT32, INT64 and fixed-length bytes, plain and dictionary-encoded, reads as the nearest double to its digits', () => withTempDir(async (dir) => {
    // 3 × 0.1 is 0.30000000000000004 and 174000000000 × 1e-10 is 17.400000000000002: the digits must be read as written.
    const file = join(dir, 'decimals.parquet');
    await duckdb(`COPY (SELECT (i / 10)::DECIMAL(4,1) AS d4, (i / 10000 - 0.3)::DECIMAL(18,4) AS d18, (i * 1.7 / 7)::DECIMAL(38,10) AS d38,
      (i::HUGEINT * 123456789012345678)::DECIMAL(38,2) / 100 AS wide, (i % 7 / 10)::DECIMAL(9,2) AS coded, (i * 3)::DECIMAL(10,0) AS whole,
      CASE WHEN i % 11 = 0 THEN NULL ELSE (-i / 100)::DECIMAL(9,2) END AS nulls
      FROM range(-3000, 3000) t(i)) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 4096)`);
    const [coded] = await duckdb(`SELECT encodings FROM parquet_metadata(${sqlPath(file)}) WHERE path_in_schema = 'coded' LIMIT 1`);
    assert.match(String(coded!.encodings), /DICTIONARY/);
    const names = ['d4', 'd18', 'd38', 'wide', 'coded', 'whole', 'nulls'];
    const texts = await duckdb(`SELECT ${names.map((n) => `${n}::VARCHAR AS ${n}`).join(', ')} FROM read_parquet(${sqlPath(file)})`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 1000 });
    assert.deepEqual(source.schema.map((f) => f.type), names.map(() => 'float64'));
    const columns = concatColumns(await drain(source));
    for (const name of names) assert.deepEqual(columns[name], texts.map((row) => (row[name] === null ? null : Number(row[name]))), name);
    assert.ok(columns.d4!.includes(0.3) && columns.d38!.includes(0.2428571429), 'values a product by 10^-scale gets wrong are there');
    // Fixed-length bytes read as a number up to 48 significant bits, as a bigint past them: both sides of each edge, both signs.
    const edges = join(dir, 'edges.parquet');
    const values = [0, 1, -1, 255, -256, 2 ** 47 - 1, 2 ** 47, 2 ** 48 - 1, 2 ** 48, 2 ** 53 - 1, 2 ** 53].flatMap((v) => (v === 0 ? [0] : [v, -v]));
    await duckdb(`COPY (SELECT v::DECIMAL(38,0) AS d, (v / 1000)::DECIMAL(38,3) AS m FROM (SELECT unnest([${values.map((v) => `${v}::HUGEINT`).join(', ')}]) AS v)) TO ${sqlPath(edges)} (FORMAT parquet)`);
    const read = concatColumns(await drain(await openParquet([edges], { columns: undefined, chunkRows: 1000 })));
    assert.deepEqual(read.d, values.map((v) => (Number.isSafeInteger(v) ? v : Number(BigInt(v)))));
    assert.deepEqual(read.m, (await duckdb(`SELECT m::VARCHAR AS m FROM read_parquet(${sqlPath(edges)})`)).map((r) => Number(r.m)));
  }));

  test('INTERVAL (DuckDB writes it; hyparquet reads none) is text, an ISO 8601 duration', () => withTempDir(async (dir) => {
    const file = join(dir, 'interval.parquet');
    await duckdb(`COPY (SELECT * FROM (VALUES (1, INTERVAL 3 DAY), (2, INTERVAL '1 month 2 days 01:30:00'), (3, INTERVAL 250 MILLISECOND),
      (4, INTERVAL 0 SECOND), (5, NULL), (6, INTERVAL '14 months 59 seconds')) t(i, iv)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(source.schema[1], { name: 'iv', type: 'string' });
    assert.deepEqual(concatColumns(await drain(source)).iv, ['P3D', 'P1M2DT1H30M', 'PT0.25S', 'PT0S', null, 'P14MT59S']);
  }));

  test('bytes are binary, exactly as written: BLOB (plain and dictionary-encoded), fixed-length bytes, BSON; a UUID is its text, marked a UUID', () => withTempDir(async (dir) => {
    const file = join(dir, 'blob.parquet');
    // 0xFF and a lone 0xC3 are not UTF-8: read as text, each was one U+FFFD.
    await duckdb(`COPY (SELECT i, CASE WHEN i = 2 THEN NULL ELSE ('\\xFF\\x00\\xC3' || i::VARCHAR)::BLOB END AS raw, ('\\x80' || (i % 2)::VARCHAR)::BLOB AS few,
      '61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1d'::UUID AS id FROM range(5) t(i)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 2 });
    assert.deepEqual(source.schema.slice(1), [{ name: 'raw', type: 'binary' }, { name: 'few', type: 'binary' }, { name: 'id', type: 'string', uuid: true }]);
    const { raw, few, id } = concatColumns(await drain(source));
    const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
    assert.deepEqual(raw, [bytes('\xFF\x00\xC30'), bytes('\xFF\x00\xC31'), null, bytes('\xFF\x00\xC33'), bytes('\xFF\x00\xC34')]);
    assert.deepEqual(few, [0, 1, 0, 1, 0].map((k) => bytes(`\x80${k}`)));
    assert.deepEqual(id, Array(5).fill('61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1d'));
    // The reader's bytes are copies, not views that keep a whole page alive.
    assert.ok((raw as Uint8Array[]).every((v) => v === null || v.byteLength === v.buffer.byteLength));

    const other = join(dir, 'fixed.parquet');
    await writeFile(other, new Uint8Array(parquetWriteBuffer({
      columnData: [{ name: 'hash', data: [new Uint8Array([0, 255, 1, 254]), null] }, { name: 'doc', data: [new Uint8Array([5, 0, 0, 0, 0]), null] }],
      schema: [{ name: 'root', num_children: 2 }, { name: 'hash', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 4, repetition_type: 'OPTIONAL' },
        { name: 'doc', type: 'BYTE_ARRAY', converted_type: 'BSON', repetition_type: 'OPTIONAL' }],
    })));
    const fixed = await openParquet([other], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(fixed.schema, [{ name: 'hash', type: 'binary' }, { name: 'doc', type: 'binary' }]);
    assert.deepEqual(concatColumns(await drain(fixed)), { hash: [new Uint8Array([0, 255, 1, 254]), null], doc: [new Uint8Array([5, 0, 0, 0, 0]), null] });
  }));

  test('TIME (millis, micros, nanos) is text, the time of day as DuckDB shows it', () => withTempDir(async (dir) => {
    const file = join(dir, 'time.parquet');
    await duckdb(`COPY (SELECT * FROM (VALUES (TIME '13:45:01'), (TIME '00:00:00.5'), (TIME '23:59:59.999999'), (NULL), (TIME '00:00:00')) t(t)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(source.schema, [{ name: 't', type: 'string' }]);
    const expected = ['13:45:01', '00:00:00.5', '23:59:59.999999', null, '00:00:00'];
    assert.deepEqual(concatColumns(await drain(source)).t, expected);
    // Milliseconds in INT32 and nanoseconds in INT64, as pyarrow writes them.
    const other = join(dir, 'units.parquet');
    await writeFile(other, new Uint8Array(parquetWriteBuffer({
      columnData: [{ name: 'ms', data: [49_501_000, 500] }, { name: 'ns', data: [49_501_000_000_123n, 1n] }],
      schema: [{ name: 'root', num_children: 2 }, { name: 'ms', type: 'INT32', converted_type: 'TIME_MILLIS', repetition_type: 'REQUIRED' },
        { name: 'ns', type: 'INT64', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'NANOS' }, repetition_type: 'REQUIRED' }],
    })));
    assert.deepEqual(concatColumns(await drain(await openParquet([other], { columns: undefined, chunkRows: 10 }))), { ms: ['13:45:01', '00:00:00.5'], ns: ['13:45:01.000000123', '00:00:00.000000001'] });
  }));

  test('TIMESTAMP in micro- or nanoseconds keeps every digit: integers in its unit (Field.unit); in milliseconds, Dates', () => withTempDir(async (dir) => {
    const file = join(dir, 'timestamps.parquet');
    await duckdb(`COPY (SELECT * FROM (VALUES
      (TIMESTAMP '2024-01-01 00:00:00.123456', TIMESTAMP_NS '2024-01-01 00:00:00.123456789', TIMESTAMP_MS '2024-01-01 00:00:00.123'),
      (TIMESTAMP '1969-12-31 23:59:59.999999', TIMESTAMP_NS '1969-12-31 23:59:59.999999999', NULL),
      (NULL, NULL, TIMESTAMP_MS '1970-01-01 00:00:00')) t(us, ns, ms)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    // DuckDB's TIMESTAMP types are wall-clock times: isAdjustedToUTC false in the file.
    assert.deepEqual(source.schema, [{ name: 'us', type: 'timestamp', unit: 'us', naive: true }, { name: 'ns', type: 'timestamp', unit: 'ns', naive: true }, { name: 'ms', type: 'timestamp', naive: true }]);
    assert.deepEqual(concatColumns(await drain(source)), {
      us: [1_704_067_200_123_456n, -1n, null], ns: [1_704_067_200_123_456_789n, -1n, null], ms: [new Date('2024-01-01T00:00:00.123Z'), null, new Date(0)],
    });
  }));

  test('INT96 timestamps (Spark\'s default) are microseconds since the epoch, rounded down: Field.unit us, an instant', () => withTempDir(async (dir) => {
    // Neither DuckDB nor hyparquet-writer writes INT96: the 12-byte values are written as a
    // FIXED_LEN_BYTE_ARRAY(12) column (the same bytes in a PLAIN page) and the footer retyped.
    const int96 = (nanos: bigint): Uint8Array => {
      const day = 86_400_000_000_000n;
      const days = nanos >= 0n ? nanos / day : -((-nanos + day - 1n) / day);
      const bytes = new Uint8Array(12);
      const view = new DataView(bytes.buffer);
      view.setBigUint64(0, nanos - days * day, true);
      view.setInt32(8, Number(days + 2_440_588n), true);
      return bytes;
    };
    const values = [int96(1_704_067_200_123_456_789n), int96(-1n), null, int96(0n), int96(-86_400_000_000_001n)];
    const written = parquetWriteBuffer({
      columnData: [{ name: 'ts', data: values }],
      schema: [{ name: 'root', num_children: 1 }, { name: 'ts', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12, repetition_type: 'OPTIONAL' }],
    });
    const file = join(dir, 'int96.parquet');
    await writeFile(file, asInt96(written, 1));
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(source.schema, [{ name: 'ts', type: 'timestamp', unit: 'us' }]);
    const ours = concatColumns(await drain(source)).ts;
    assert.deepEqual(ours, [1_704_067_200_123_456n, -1n, null, 0n, -86_400_000_001n]);
    // DuckDB reads the file as INT96 too, to the same microseconds.
    assert.deepEqual(ours, (await duckdb(`SELECT epoch_us(ts) AS us FROM read_parquet(${sqlPath(file)})`)).map((r) => r.us));

    // Inside a struct (Spark writes its struct members' timestamps as INT96 too), the nested
    // reader gives the nanoseconds whole: Field.unit ns.
    const inStruct = parquetWriteBuffer({
      columnData: [{ name: 'st', data: values.map((v) => (v === null ? null : { ts: v })) }],
      schema: [{ name: 'root', num_children: 1 }, { name: 'st', repetition_type: 'OPTIONAL', num_children: 1 }, { name: 'ts', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12, repetition_type: 'OPTIONAL' }],
    });
    const structFile = join(dir, 'int96-struct.parquet');
    await writeFile(structFile, asInt96(inStruct, 2));
    const nested = await openParquet([structFile], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(nested.schema, [{ name: 'st', type: 'struct', fields: [{ name: 'ts', type: 'timestamp', unit: 'ns' }] }]);
    assert.deepEqual(concatColumns(await drain(nested)).st, [{ ts: 1_704_067_200_123_456_789n }, { ts: -1n }, null, { ts: 0n }, { ts: -86_400_000_000_001n }]);
  }));

  test('a DATE column is typed date: its days as Dates at midnight UTC', () => withTempDir(async (dir) => {
    const file = join(dir, 'date.parquet');
    await duckdb(`COPY (SELECT * FROM (VALUES (DATE '2020-01-02'), (NULL)) t(d)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    assert.deepEqual(source.schema, [{ name: 'd', type: 'date' }]);
    assert.deepEqual(concatColumns(await drain(source)), { d: [new Date('2020-01-02T00:00:00Z'), null] });
  }));

  test('a null list cell is null', () => withTempDir(async (dir) => {
    const file = join(dir, 'nulllist.parquet');
    await duckdb(`COPY (SELECT * FROM (VALUES ([1.0]::DOUBLE[]), (NULL)) t(l)) TO ${sqlPath(file)} (FORMAT parquet)`);
    assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 10 }))), { l: [[1], null] });
  }));
});

describe('openParquet: flat columns over many pages', () => {
  // 30,000 rows in row groups of 12,288 (DuckDB's row groups are whole 2,048-row vectors): every column chunk spans several pages; nulls fall on
  // page edges and inside pages; `u` is too varied for a dictionary; `r` has no null; `k` is few numbers, no null.
  const select = `SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE i / 8.0 END AS d, CASE WHEN i % 5 = 0 THEN NULL ELSE i::INT END AS n,
    CASE WHEN i % 11 = 0 THEN NULL ELSE ['red', 'green', 'blue'][i % 3 + 1] END AS s, 'id-' || (i * 7919 % 100003)::VARCHAR || repeat('x', i % 17) AS u,
    (i * 0.25)::DOUBLE AS r, (i % 10)::DOUBLE AS k, CASE WHEN i % 13 = 0 THEN NULL ELSE TIMESTAMP '2020-01-01' + to_seconds(i) END AS ts, i::BIGINT AS b FROM range(30000) t(i)`;
  for (const version of ['V1', 'V2']) {
    test(`DuckDB data pages ${version}: every value equals DuckDB's; number columns stay typed arrays, masked where they have nulls`, () => withTempDir(async (dir) => {
      const file = join(dir, `pages-${version}.parquet`);
      await duckdb(`COPY (${select}) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 12288, PARQUET_VERSION ${version})`);
      const source = await openParquet([file], { columns: undefined, chunkRows: 5000 });
      const chunks = await drain(source);
      assert.deepEqual(layout(chunks), [[0, 5000], [5000, 5000], [10000, 2288], [12288, 5000], [17288, 5000], [22288, 2288], [24576, 5000], [29576, 424]]);
      const expected = await duckColumns(file);
      assert.deepEqual(concatColumns(chunks), expected);
      // Pages are decoded as far as rows are taken: chunks of 777 rows end inside RLE and bit-packed runs.
      assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 777 }))), expected);
      assert.ok(chunks[0]!.columns.get('r') instanceof Float64Array);
      assert.ok(chunks[0]!.columns.get('b') instanceof BigInt64Array);
      for (const [name, Values] of [['d', Float64Array], ['n', Int32Array]] as const) {
        assert.ok(chunks.every((c) => { const column = c.columns.get(name); return column instanceof MaskedColumn && column.values instanceof Values; }), name);
      }
      // Dictionary-encoded text is coded, over the row group's dictionary; text too varied for one is plain.
      assert.ok(chunks.every((c) => c.columns.get('s') instanceof CodedColumn));
      assert.ok(Array.isArray(chunks[0]!.columns.get('u')));
      // Dictionary-encoded numbers without a null stay unboxed too.
      const [k] = await duckdb(`SELECT encodings FROM parquet_metadata(${sqlPath(file)}) WHERE path_in_schema = 'k' LIMIT 1`);
      assert.match(String(k!.encodings), /DICTIONARY/);
      assert.ok(chunks.every((c) => c.columns.get('k') instanceof Float64Array));
    }));
  }

  test('a resume inside a row group starts at its row', () => withTempDir(async (dir) => {
    const file = join(dir, 'pages.parquet');
    await duckdb(`COPY (${select}) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 12288)`);
    const source = await openParquet([file], { columns: ['s', 'd'], chunkRows: 5000 });
    const chunks: RowChunk[] = [];
    for await (const chunk of source.chunks({ file: 0, row: 13_001 })) chunks.push(chunk);
    assert.deepEqual(layout(chunks), [[13001, 5000], [18001, 5000], [23001, 1575], [24576, 5000], [29576, 424]]);
    const expected = await duckColumns(file);
    assert.deepEqual(concatColumns(chunks), { s: expected.s!.slice(13_001), d: expected.d!.slice(13_001) });
  }));

  test('a resume inside a page of every encoding (PLAIN, dictionary, delta, byte-stream-split, booleans) starts at its row', () => withTempDir(async (dir) => {
    for (const version of ['V1', 'V2']) {
      const file = join(dir, `resume-${version}.parquet`);
      await duckdb(`COPY (SELECT *, b % 3 = 0 AS flag FROM (${select})) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 12288, PARQUET_VERSION ${version})`);
      const expected = await duckColumns(file);
      const chunks: RowChunk[] = [];
      for await (const chunk of (await openParquet([file], { columns: undefined, chunkRows: 777 })).chunks({ file: 0, row: 13_001 })) chunks.push(chunk);
      assert.deepEqual(concatColumns(chunks), Object.fromEntries(Object.entries(expected).map(([name, values]) => [name, values.slice(13_001)])), version);
    }
  }));
});

describe('openParquet: column chunks larger than a read', () => {
  test('pages larger than a 1 MiB read (DuckDB writes each chunk here as one page, of 2.3 and 9.6 MB) read every value, in chunks and from a resume', () => withTempDir(async (dir) => {
    // One row group of 300,000 rows: `x` random doubles (no dictionary), `t` varied text with nulls.
    const file = join(dir, 'large.parquet');
    await duckdb(`COPY (SELECT random() * i AS x, CASE WHEN i % 9 = 0 THEN NULL ELSE 'row-' || i::VARCHAR || '-' || md5(i::VARCHAR) END AS t FROM range(300000) t(i)) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 300000)`);
    const [meta] = await duckdb(`SELECT max(total_compressed_size) AS bytes FROM parquet_metadata(${sqlPath(file)})`);
    assert.ok(Number(meta!.bytes) > 2 << 20, `a column chunk of ${String(meta!.bytes)} bytes is larger than a read`);
    const expected = await duckColumns(file);
    assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 40_000 }))), expected);
    const resumed: RowChunk[] = [];
    for await (const chunk of (await openParquet([file], { columns: undefined, chunkRows: 40_000 })).chunks({ file: 0, row: 123_457 })) resumed.push(chunk);
    assert.deepEqual(concatColumns(resumed), { x: expected.x!.slice(123_457), t: expected.t!.slice(123_457) });
  }));
});

describe('openParquet: struct, list and map columns a chunk at a time', () => {
  // 30,000 rows in row groups of 12,288; null lists, empty lists and null elements, nested lists, structs (null, with a
  // null member, with a list, in a struct), maps and lists of structs. DuckDB writes each column chunk as one page.
  const select = `SELECT i::INT AS id,
    CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN []::INT[] ELSE list_transform(range(i % 5 + 1), x -> CASE WHEN (x + i) % 6 = 0 THEN NULL ELSE (x * i)::INT END) END AS ints,
    list_transform(range(i % 4), x -> (i + x) / 8.0) AS doubles, list_transform(range(i % 3), x -> ((i + x) / 4)::FLOAT) AS floats,
    list_transform(range(i % 3), x -> (i * 1000003 + x)::BIGINT) AS bigs, CASE WHEN i % 9 = 0 THEN NULL ELSE list_transform(range(i % 3), x -> ['red', 'green', NULL, 'blue'][(i + x) % 4 + 1]) END AS words,
    list_transform(range(i % 2 + 1), x -> (i + x) % 3 = 0) AS flags, list_transform(range(i % 3), x -> list_transform(range(x), y -> (y + i)::INT)) AS nested,
    CASE WHEN i % 13 = 0 THEN NULL ELSE {'a': CASE WHEN i % 5 = 0 THEN NULL ELSE i::INT END, 'b': 'v' || (i % 17)::VARCHAR, 'c': list_transform(range(i % 3), x -> x * 0.5), 's': {'x': (i % 4)::INT}} END AS st,
    CASE WHEN i % 8 = 0 THEN NULL ELSE MAP {'k' || (i % 3)::VARCHAR: i::INT, 'z': NULL::INT} END AS m,
    list_transform(range(i % 3), x -> {'p': (x + i)::INT, 'q': CASE WHEN x = 1 THEN NULL ELSE 'q' || x::VARCHAR END}) AS structs,
    CASE WHEN i % 6 = 0 THEN NULL ELSE {'x': CASE WHEN i % 4 = 0 THEN NULL ELSE i::INT END, 'y': 'w' || (i % 9)::VARCHAR, '1': (i / 3.0)::DOUBLE} END AS plain
    FROM range(30000) t(i)`;
  for (const version of ['V1', 'V2']) {
    test(`DuckDB ${version} files: every cell equals hyparquet's read of the whole file, in chunks of any size and from a resume inside a page`, () => withTempDir(async (dir) => {
      const file = join(dir, `nested-${version}.parquet`);
      await duckdb(`COPY (${select}) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 12288, PARQUET_VERSION ${version})`);
      const rows = await parquetReadObjects({ file: await asyncBufferFromFile(file), compressors });
      const expected: Record<string, unknown[]> = {};
      for (const row of rows) for (const [k, v] of Object.entries(row)) (expected[k] ??= []).push(v === undefined ? null : v);
      for (const chunkRows of [777, 5000]) {
        const chunks = await drain(await openParquet([file], { columns: undefined, chunkRows }));
        assert.deepEqual(concatColumns(chunks), expected, `chunks of ${chunkRows}`);
      }
      const resumed: RowChunk[] = [];
      for await (const chunk of (await openParquet([file], { columns: ['words', 'st', 'm', 'ints'], chunkRows: 777 })).chunks({ file: 0, row: 13_001 })) resumed.push(chunk);
      assert.deepEqual(concatColumns(resumed), Object.fromEntries(['ints', 'words', 'st', 'm'].map((name) => [name, expected[name]!.slice(13_001)])));
    }));
  }

  test('a list of UINTEGER in a V2 file reads as DuckDB reads it: hyparquet read its DELTA_BINARY_PACKED first value 2^31 off, and every value with it', () => withTempDir(async (dir) => {
    const file = join(dir, 'uint.parquet');
    await duckdb(`COPY (SELECT [4294967295::UINTEGER, (i * 3)::UINTEGER, 7::UINTEGER] AS u, {'n': 4294967294::UINTEGER} AS st FROM range(5) t(i)) TO ${sqlPath(file)} (FORMAT parquet, PARQUET_VERSION V2)`);
    const [meta] = await duckdb(`SELECT encodings FROM parquet_metadata(${sqlPath(file)}) WHERE path_in_schema LIKE 'u%' LIMIT 1`);
    assert.match(String(meta!.encodings), /DELTA_BINARY_PACKED/);
    const read = concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 2 })));
    assert.deepEqual(read.u, [0, 1, 2, 3, 4].map((i) => [4294967295, i * 3, 7]));
    assert.deepEqual(read.st, Array(5).fill({ n: 4294967294 }));
  }));

  test('a struct member named __proto__ is a member of its row, not its prototype', () => withTempDir(async (dir) => {
    const file = join(dir, 'proto.parquet');
    await duckdb(`COPY (SELECT {'a': i::INT, '__proto__': CASE WHEN i = 1 THEN NULL ELSE DATE '2024-01-01' + i::INT END, 'b': 'x' || i::VARCHAR} AS st FROM range(3) t(i)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const cells = concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 2 }))).st as Record<string, unknown>[];
    for (const [i, row] of cells.entries()) {
      assert.equal(Object.getPrototypeOf(row), Object.prototype);
      assert.deepEqual(Object.keys(row), ['a', '__proto__', 'b']);
      assert.deepEqual(Object.getOwnPropertyDescriptor(row, '__proto__')!.value, i === 1 ? null : new Date(Date.UTC(2024, 0, 1 + i)));
    }
  }));

  test('a dictionary of two values (one-bit indexes, as hyparquet-writer writes it) among nulls reads as hyparquet reads it, in chunks of any size', () => withTempDir(async (dir) => {
    // One row in 50 has a value: the indexes of each chunk's few values start anywhere inside a byte.
    let seed = 1;
    const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const flag = Array.from({ length: 20_000 }, () => (next() < 0.02 ? (next() < 0.5 ? 'x' : 'y') : null));
    const file = join(dir, 'flags.parquet');
    await writeFile(file, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'flag', data: flag, type: 'STRING' }] })));
    assert.deepEqual((await parquetReadObjects({ file: await asyncBufferFromFile(file) })).map((row) => row.flag ?? null), flag);
    for (const chunkRows of [1, 3, 8192]) assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows }))).flag, flag, `chunks of ${chunkRows}`);
  }));

  test('lists only the model reads (typedLists) come as Float32Array or Float64Array rows where a row has no null, with the values of the arrays they stand for', () => withTempDir(async (dir) => {
    const file = join(dir, 'lists.parquet');
    // Rows of 768 and 3 floats, a null list, an empty one, a null element, a row of 70,000 (past a block of levels), doubles and integers.
    await duckdb(`COPY (SELECT i::INT AS id,
        CASE WHEN i % 97 = 5 THEN NULL WHEN i % 89 = 7 THEN []::FLOAT[] WHEN i = 1500 THEN list_transform(range(70000), x -> x / 7)::FLOAT[]
          WHEN i % 83 = 3 THEN [1.5, NULL, 2.5]::FLOAT[] WHEN i % 2 = 0 THEN list_transform(range(768), x -> ((i * 7 + x) % 101) / 101.0)::FLOAT[] ELSE [i, i / 3, -i]::FLOAT[] END AS emb,
        [i / 3, i * 1e300]::DOUBLE[] AS wide, [i, -i]::INT[] AS ints
      FROM range(3000) t(i)) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
    const plain = concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 500 })));
    const typedLists = new Set(['emb', 'wide', 'ints']);
    for (const chunkRows of [1, 333, 5000]) {
      const typed = concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows, typedLists })));
      const kinds = new Map<string, number>();
      for (const name of ['emb', 'wide', 'ints']) {
        for (let i = 0; i < 3000; i++) {
          const cell = typed[name]![i];
          const kind = cell === null ? 'null' : (cell as object).constructor.name;
          kinds.set(`${name} ${kind}`, (kinds.get(`${name} ${kind}`) ?? 0) + 1);
          assert.deepEqual(ArrayBuffer.isView(cell) ? Array.from(cell as Float32Array) : cell, plain[name]![i], `${name} row ${i}, chunks of ${chunkRows}`);
          if (ArrayBuffer.isView(cell)) assert.ok((cell as Float32Array).buffer.byteLength <= VIEWED_BUFFER, 'a typed row views a small page, or a copy of its block\'s values');
        }
      }
      // Most rows typed; a null list stays null, a row with a null element (or one that goes on past its block) an array; integers arrays.
      assert.ok(kinds.get('emb Float32Array')! > 2500, JSON.stringify([...kinds]));
      assert.equal(kinds.get('emb null'), 31);
      // 34 empty lists, 36 rows with a null element, and the rows that go on past a block of levels.
      assert.ok(kinds.get('emb Array')! >= 70 && kinds.get('emb Array')! < 100, JSON.stringify([...kinds]));
      assert.ok(kinds.get('wide Float64Array')! > 2900, JSON.stringify([...kinds]));
      assert.equal(kinds.get('ints Array'), 3000);
    }
  }));

  test('typed rows view a page of up to 16 MB where its values lie (a row past a block of levels too), and a bigger one\'s (DuckDB writes ~100 MB pages) through copies of their blocks\' values, one after another in 4 MB segments, which let the page go', () => withTempDir(async (dir) => {
    // `optional group emb (LIST) { repeated group list { required float element } }`, one uncompressed page of `rows` lists of 768 floats.
    const schema: SchemaElement[] = [
      { name: 'emb', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', repetition_type: 'REQUIRED', type: 'FLOAT' },
    ];
    const value = (i: number, k: number) => Math.fround((((i * 768 + k) * 7919) % 1_000_003) / 1_000_003);
    for (const [around, viewed] of [[2000, true], [5600, false]] as const) {
      // Values read in place must start on 4 bytes (else hyparquet copies them), so the row count is the first from `around` that puts them there.
      for (let rows = around; ; rows++) {
        const entries = rows * 768;
        const reps = Array.from({ length: entries }, (_, e) => (e % 768 === 0 ? 0 : 1));
        const page = plainPage(schema, reps, new Array<number>(entries).fill(2), Array.from({ length: entries }, (_, e) => value(Math.floor(e / 768), e % 768)), entries);
        if (page.valuesAt % 4 !== 0) continue;
        assert.equal(page.bytes.length > VIEWED_BUFFER, !viewed);
        const file = join(dir, `${rows}.parquet`);
        await writeFile(file, oneColumnFile(schema, [page.bytes], rows, entries));
        const read = concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 1000, typedLists: new Set(['emb']) }))).emb as Float32Array[];
        assert.equal(read.length, rows);
        // A row that goes on past its block of levels (65,536 entries) views the values of both, in place or in a 4 MB
        // segment of copies, and is an array where it goes on past that segment: one in 1,365 here.
        const typed = read.filter((row) => row instanceof Float32Array);
        if (viewed) assert.equal(typed.length, rows);
        else assert.ok(typed.length >= rows - 5 && typed.length < rows, `${typed.length} typed rows`);
        for (const i of [0, 1, 85, 86, 1365, rows - 1]) assert.deepEqual(Array.from(read[i]!), Array.from({ length: 768 }, (_, k) => value(i, k)), `row ${i}`);
        const largest = Math.max(...typed.map((row) => row.buffer.byteLength));
        if (viewed) assert.ok(largest >= page.bytes.length, `rows of a ${page.bytes.length}-byte page view buffers of ${largest} bytes at most`);
        else assert.ok(largest <= 4 * 1024 * 1024, `rows of a ${page.bytes.length}-byte page view buffers of ${largest} bytes`);
        // Rows one after another in a buffer across blocks (row 85 goes on past the first), as a batch's tensor takes them (preprocess.ts: inPlace).
        assert.deepEqual([read[86]!.buffer === read[84]!.buffer, read[86]!.byteOffset], [true, read[84]!.byteOffset + 2 * 768 * 4]);
        break;
      }
    }
  }));

  test('a row group of wide lists or structs is read in chunks of fewer rows (an embedding of 768 floats: 682), as DuckDB reads it', () => withTempDir(async (dir) => {
    const file = join(dir, 'embeddings.parquet');
    await duckdb(`COPY (SELECT i::INT AS id, list_transform(range(768), x -> ((i * 7 + x) % 101) / 101.0)::FLOAT[] AS emb FROM range(2000) t(i)) TO ${sqlPath(file)} (FORMAT parquet)`);
    const chunks = await drain(await openParquet([file], { columns: undefined, chunkRows: 2048 }));
    assert.deepEqual(layout(chunks), [[0, 682], [682, 682], [1364, 636]]);
    const read = concatColumns(chunks);
    const expected = await duckColumns(file);
    assert.deepEqual(read.id, expected.id);
    assert.deepEqual(read.emb, expected.emb!.map((list) => (list as number[]).map(Math.fround)));
    // A struct's members weigh as object keys do, six a value: 100 members are 600, chunks of 873 rows.
    const structs = join(dir, 'structs.parquet');
    await duckdb(`COPY (SELECT i::INT AS id, {${Array.from({ length: 100 }, (_, k) => `'m${k}': i + ${k}`).join(', ')}} AS st FROM range(3000) t(i)) TO ${sqlPath(structs)} (FORMAT parquet)`);
    const members = await drain(await openParquet([structs], { columns: undefined, chunkRows: 2048 }));
    assert.deepEqual(layout(members), [[0, 873], [873, 873], [1746, 873], [2619, 381]]);
    assert.deepEqual((concatColumns(members).st![2999] as Record<string, unknown>).m99, 3098n);
    // input.chunk_rows is taken as set.
    assert.deepEqual(layout(await drain(await openParquet([file], { columns: ['id'], chunkRows: 2048, chunkRowsSet: true }))), [[0, 2000]]);
    assert.deepEqual(layout(await drain(await openParquet([file], { columns: undefined, chunkRows: 1500, chunkRowsSet: true }))), [[0, 1500], [1500, 500]]);
  }));

  test('a list or struct, required or not, of items required or not, over many pages, reads as hyparquet reads it whole', () => withTempDir(async (dir) => {
    for (const list of ['OPTIONAL', 'REQUIRED'] as const) {
      for (const item of ['OPTIONAL', 'REQUIRED'] as const) {
        // A struct of plain members, required or not, is made as hyparquet makes it too.
        const structs = Array.from({ length: 3000 }, (_, i) => (list === 'OPTIONAL' && i % 7 === 0 ? null : { a: item === 'OPTIONAL' && i % 3 === 0 ? null : i, b: i * 2 }));
        const structFile = join(dir, `struct-${list}-${item}.parquet`);
        await writeFile(structFile, new Uint8Array(parquetWriteBuffer({
          columnData: [{ name: 's', data: structs }], pageSize: 2000,
          schema: [{ name: 'root', num_children: 1 }, { name: 's', repetition_type: list, num_children: 2 }, { name: 'a', type: 'INT32', repetition_type: item }, { name: 'b', type: 'INT32', repetition_type: 'REQUIRED' }],
        })));
        const wholeStructs = (await parquetReadObjects({ file: await asyncBufferFromFile(structFile) })).map((row) => row.s ?? null);
        assert.deepEqual(wholeStructs.slice(0, 4), structs.slice(0, 4));
        assert.deepEqual(concatColumns(await drain(await openParquet([structFile], { columns: undefined, chunkRows: 333 }))).s, wholeStructs, `${list} struct of ${item} members`);
        const data = Array.from({ length: 3000 }, (_, i) => (list === 'OPTIONAL' && i % 7 === 0 ? null : Array.from({ length: i % 5 }, (_, k) => (item === 'OPTIONAL' && (i + k) % 3 === 0 ? null : i * 10 + k))));
        const file = join(dir, `${list}-${item}.parquet`);
        await writeFile(file, new Uint8Array(parquetWriteBuffer({
          columnData: [{ name: 'l', data }], pageSize: 2000,
          schema: [{ name: 'root', num_children: 1 }, { name: 'l', repetition_type: list, num_children: 1, converted_type: 'LIST' }, { name: 'list', repetition_type: 'REPEATED', num_children: 1 }, { name: 'element', type: 'INT32', repetition_type: item }],
        })));
        const expected = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })).map((row) => row.l ?? null);
        assert.deepEqual(expected.slice(0, 3), [list === 'OPTIONAL' ? null : [], [10], item === 'OPTIONAL' ? [20, null] : [20, 21]]);
        assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows: 333 }))).l, expected, `${list} list of ${item} items`);
      }
    }
  }));

  test('a row that a V1 page ends inside (parquet-mr before 1.11 split pages by size) continues on the next page', () => withTempDir(async (dir) => {
    const lists = [[1, 2, 3], null, [], [4, null, 5, 6], [7], [8, 9]];
    // A list<int32>: levels (repetition, definition) of each entry, maximum 1 and 3.
    const entries = lists.flatMap((list): Entry[] => (list === null ? [[0, 0, null]] : list.length === 0 ? [[0, 1, null]] : list.map((v, i) => [i === 0 ? 0 : 1, v === null ? 2 : 3, v])));
    // Each split point falls inside a row: after entry 2 (row 1's third value is on page 2), after entry 6 (row 4's).
    for (const split of [2, 6, 7]) {
      const file = join(dir, `spanning-${split}.parquet`);
      await writeFile(file, leafPages(threeLevel, entries, [split], lists.length));
      for (const chunkRows of [1, 2, 4, 6]) {
        assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows }))).l, lists, `split ${split}, chunks of ${chunkRows}`);
      }
      for (let row = 1; row < lists.length; row++) {
        const resumed: RowChunk[] = [];
        for await (const chunk of (await openParquet([file], { columns: undefined, chunkRows: 2 })).chunks({ file: 0, row })) resumed.push(chunk);
        assert.deepEqual(concatColumns(resumed).l, lists.slice(row), `split ${split}, resumed at ${row}`);
      }
    }
  }));

  test('a repeated leaf or group (a two-level list, a repeated field, a repeated group) keeps its rows whole where 4,096 levels or a page end inside one, and its empty lists empty (hyparquet makes them null)', () => withTempDir(async (dir) => {
    // 2,000 rows of five ints (row 819 holds entries 4,095–4,099); every 7th row empty, every 11th null where it may be.
    const lists = Array.from({ length: 2000 }, (_, i) => (i % 7 === 3 ? [] : Array.from({ length: 5 }, (_, k) => i * 10 + k)));
    const layouts = [
      // repeated int32 l: an empty list is definition level 0.
      { schema: [{ name: 'l', repetition_type: 'REPEATED' as const, type: 'INT32' as const }], lists, entry: (l: number[]) => (l.length === 0 ? [[0, 0, null] as Entry] : l.map((v, k): Entry => [k === 0 ? 0 : 1, 1, v])) },
      // optional group l (LIST) { repeated int32 array }: null 0, empty 1, a value 2.
      {
        schema: [{ name: 'l', repetition_type: 'OPTIONAL' as const, num_children: 1, converted_type: 'LIST' as const }, { name: 'array', repetition_type: 'REPEATED' as const, type: 'INT32' as const }],
        lists: lists.map((l, i) => (i % 11 === 5 ? null : l)), entry: (l: number[] | null) => (l === null ? [[0, 0, null] as Entry] : l.length === 0 ? [[0, 1, null] as Entry] : l.map((v, k): Entry => [k === 0 ? 0 : 1, 2, v])),
      },
      // repeated group l { required int32 a } (parquet-protobuf's repeated message): a list of structs, never one struct.
      {
        schema: [{ name: 'l', repetition_type: 'REPEATED' as const, num_children: 1 }, { name: 'a', repetition_type: 'REQUIRED' as const, type: 'INT32' as const }],
        lists: lists.map((l) => l.map((a) => ({ a }))), entry: (l: number[]) => (l.length === 0 ? [[0, 0, null] as Entry] : l.map((v, k): Entry => [k === 0 ? 0 : 1, 1, v])),
      },
    ];
    for (const [n, { schema, lists: cells, entry }] of layouts.entries()) {
      const entries = cells.flatMap((l) => entry((n === 2 ? (l as { a: number }[]).map((m) => m.a) : l) as number[]));
      for (const splits of [[], [4097, 7003]]) {
        const file = join(dir, `repeated-${n}-${splits.length}.parquet`);
        await writeFile(file, leafPages(schema, entries, splits, cells.length));
        // hyparquet's whole read of the file in one page (its own reader cuts such rows at a page's end too) reads it as
        // meant, but for the empty lists of a repeated leaf, which it makes null.
        if (splits.length === 0) {
          const whole = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })).map((row) => row.l ?? null);
          assert.deepEqual(whole, n === 2 ? cells : cells.map((l) => (Array.isArray(l) && l.length === 0 ? null : l)), 'hyparquet reads the hand-made file as meant');
        }
        for (const chunkRows of [1000, 5000]) assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: undefined, chunkRows }))).l, cells, `layout ${n}, pages cut at [${splits.join()}], chunks of ${chunkRows}`);
      }
    }
  }));

  test('a data page whose header says it holds a negative count is INPUT_FORMAT naming the column, not read forever', () => withTempDir(async (dir) => {
    const file = join(dir, 'negative.parquet');
    await writeFile(file, leafPages(threeLevel, [[0, 3, 1], [1, 3, 2]], [], 1, -5));
    const source = await openParquet([file], { columns: undefined, chunkRows: 10 });
    await rejectsWith(() => drain(source), 'INPUT_FORMAT', `Parquet file ${file} cannot be read (rows 1–1, column "l"): a data page's header says it holds -5 values`);
  }));
});

/** A level entry of a list<int32> leaf: repetition level, definition level, the value where it has one. */
type Entry = [number, number, number | null];

/** The schema below the root of `optional group l (LIST) { repeated group list { optional int32 element } }`. */
const threeLevel: SchemaElement[] = [
  { name: 'l', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST', logical_type: { type: 'LIST' } },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', type: 'INT32' },
];

/**
 * A Parquet file of one INT32 leaf column `l` (`schema`, below the root) in one row group of V1
 * PLAIN pages cut before the entries at `splits`, inside a row or not, as parquet-mr before 1.11 and
 * Dremel-style writers make them; no writer here does. `count` overrides the first page's count.
 */
function leafPages(schema: SchemaElement[], entries: readonly Entry[], splits: readonly number[], rows: number, count?: number): Buffer {
  const cuts = [0, ...splits, entries.length];
  const pages = cuts.slice(1).map((end, i) => {
    const part = entries.slice(cuts[i], end);
    return plainPage(schema, part.map((e) => e[0]), part.map((e) => e[1]), part.flatMap((e) => (e[2] === null ? [] : [e[2]])), i === 0 && count !== undefined ? count : end - cuts[i]!).bytes;
  });
  return oneColumnFile(schema, pages, rows, entries.length);
}

/** An uncompressed V1 PLAIN page of `schema`'s leaf: its entries' levels (RLE, where the schema has them) and values; `valuesAt`, where its values start, its header counted. */
function plainPage(schema: SchemaElement[], reps: readonly number[], defs: readonly number[], values: readonly number[], num: number): { bytes: Uint8Array; valuesAt: number } {
  const widths = [schema.some((e) => e.repetition_type === 'REPEATED') ? 1 : 0, schema.filter((e) => e.repetition_type !== 'REQUIRED').length].map((max) => 32 - Math.clz32(max));
  const body = new ByteWriter();
  for (const [level, stream] of [reps, defs].entries()) {
    if (widths[level] === 0) continue;
    const levels = new ByteWriter();
    writeRleBitPackedHybrid(levels, stream as number[], widths[level]!);
    body.appendUint32(levels.offset);
    body.appendBytes(levels.getBytes());
  }
  const levelBytes = body.offset;
  writePlain(body, values as number[], schema.at(-1)!.type!, undefined);
  const out = new ByteWriter();
  writePageHeader(out, { type: 'DATA_PAGE', uncompressed_page_size: body.offset, compressed_page_size: body.offset, data_page_header: { num_values: num, encoding: 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' } });
  const valuesAt = out.offset + levelBytes;
  out.appendBytes(body.getBytes());
  return { bytes: out.getBytes(), valuesAt };
}

/** A Parquet file of one leaf column (`schema`, below the root) in one row group of `pages`, uncompressed, from byte 4. */
function oneColumnFile(schema: SchemaElement[], pages: readonly Uint8Array[], rows: number, entries: number): Buffer {
  const bytes = Buffer.concat(pages);
  const footer = new ByteWriter();
  writeMetadata(footer, {
    version: 1, num_rows: BigInt(rows), created_by: 'bento-batch test', metadata_length: 0,
    schema: [{ name: 'schema', num_children: 1 }, ...schema],
    row_groups: [{
      num_rows: BigInt(rows), total_byte_size: BigInt(bytes.length),
      columns: [{ file_offset: 4n, meta_data: { type: schema.at(-1)!.type!, encodings: ['PLAIN', 'RLE'], path_in_schema: schema.map((e) => e.name), codec: 'UNCOMPRESSED', num_values: BigInt(entries), total_uncompressed_size: BigInt(bytes.length), total_compressed_size: BigInt(bytes.length), data_page_offset: 4n } }],
    }],
  });
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.offset);
  return Buffer.concat([Buffer.from('PAR1'), bytes, new Uint8Array(footer.getBuffer()), length, Buffer.from('PAR1')]);
}

describe('openParquet: errors', () => {
  test('a small file cut at its start (its footer whole, its page offsets wrong) is INPUT_FORMAT naming the page header, read from memory or from disk, and every other cut ends too (it looped)', { timeout: 60_000 }, () => withTempDir(async (dir) => {
    const bytes = await readFile(join(data, 'penguins-rowgroups.parquet'));
    assert.ok(bytes.length < 1024 * 1024, 'a small file: read whole (source/ahead.ts)');
    const cut = join(dir, 'cut.parquet');
    await writeFile(cut, bytes.subarray(30));
    await rejectsWith(async () => drain(await openParquet([join(data, 'penguins.parquet'), cut], { columns: undefined, chunkRows: 1000 })), 'INPUT_FORMAT',
      `Parquet file ${cut} cannot be read (rows 1–100, column "species"): a page's header says it holds undefined bytes`);
    for (let at = 1; at < 200; at += 7) {
      await writeFile(cut, bytes.subarray(at));
      const error = await drain(await openParquet([cut], { columns: undefined, chunkRows: 1000 })).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof BentoError && error.file === cut, `cut at ${at}: ${String(error)}`);
    }
  }));

  test('a CSV file renamed .parquet is INPUT_FORMAT', () => withTempDir(async (dir) => {
    const file = join(dir, 'penguins.parquet');
    await copyFile(join(data, 'penguins.csv'), file);
    const error = await rejectsWith(() => openParquet([file], { columns: undefined, chunkRows: 10 }), 'INPUT_FORMAT',
      `Input file ${file} is not a readable Parquet file: parquet file invalid (footer != PAR1)`);
    assert.equal(error.file, file);
    assert.equal(error.hint, 'Check that the file is Parquet (not CSV or JSON renamed), complete, and not still being written; or set input.format.');
  }));

  test('a file too small for Parquet is INPUT_FORMAT', () => withTempDir(async (dir) => {
    const file = join(dir, 'tiny.parquet');
    await writeFile(file, 'PAR1');
    await rejectsWith(() => openParquet([file], { columns: undefined, chunkRows: 10 }), 'INPUT_FORMAT',
      `Input file ${file} is not a readable Parquet file: file is 4 bytes, too small for Parquet`);
  }));

  test('a column hyparquet cannot decode (LZO, which no reader of ours has) is INPUT_FORMAT naming it and how to leave it out; the others still read', () => withTempDir(async (dir) => {
    const written = parquetWriteBuffer({
      columnData: [{ name: 'x', data: [1.5, 2.5] }, { name: 'doc', data: ['a', null] }],
      schema: [{ name: 'root', num_children: 2 }, { name: 'x', type: 'DOUBLE', repetition_type: 'REQUIRED' }, { name: 'doc', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
      codec: 'UNCOMPRESSED',
    });
    const file = join(dir, 'lzo.parquet');
    await writeFile(file, withFooter(written, (metadata) => {
      for (const group of metadata.row_groups) for (const column of group.columns) if (column.meta_data!.path_in_schema[0] === 'doc') column.meta_data = { ...column.meta_data!, codec: 'LZO' };
    }));
    const error = await rejectsWith(async () => drain(await openParquet([file], { columns: undefined, chunkRows: 10 })), 'INPUT_FORMAT',
      `Parquet file ${file} cannot be read (rows 1–2, column "doc"): parquet unsupported compression codec: LZO`);
    assert.equal(error.column, 'doc');
    assert.equal(error.hint, 'bento-batch cannot decode column "doc". If the model does not need it, leave it out of output.keep (or list the columns to read in input.columns).');
    assert.deepEqual(concatColumns(await drain(await openParquet([file], { columns: ['x'], chunkRows: 10 }))), { x: [1.5, 2.5] });
  }));

  test('a missing file is INPUT_NOT_FOUND', () => withTempDir(async (dir) => {
    const file = join(dir, 'gone.parquet');
    await rejectsWith(() => openParquet([file], { columns: undefined, chunkRows: 10 }), 'INPUT_NOT_FOUND', `Input file ${file} does not exist`);
  }));

  test('a missing column is COLUMN_MISSING naming the closest', async () => {
    const file = join(data, 'penguins.parquet');
    const error = await rejectsWith(() => openParquet([file], { columns: ['flipper_len_mm'], chunkRows: 10 }), 'COLUMN_MISSING',
      `Column "flipper_len_mm" is missing from ${file}; the closest column is "flipper_length_mm"`);
    assert.equal(error.column, 'flipper_len_mm');
  });

  test('a second file lacking a column is COLUMN_MISSING at open, and when it is read (replaced since)', () => withTempDir(async (dir) => {
    const other = join(dir, 'other.parquet');
    await duckdb(`COPY (SELECT 1.0 AS species) TO ${sqlPath(other)} (FORMAT parquet)`);
    const first = join(data, 'penguins.parquet');
    await rejectsWith(() => openParquet([first, other], { columns: ['species', 'island'], chunkRows: 10 }), 'COLUMN_MISSING',
      `Column "island" is missing from ${other}`);
    const replaced = join(dir, 'replaced.parquet');
    await copyFile(first, replaced);
    const source = await openParquet([first, replaced], { columns: ['species', 'island'], chunkRows: 10 });
    await copyFile(other, replaced);
    await rejectsWith(() => drain(source), 'COLUMN_MISSING', `Column "island" is missing from ${replaced}`);
  }));

  test('a footer whose column has no name is INPUT_FORMAT naming the file, not an internal error', () => withTempDir(async (dir) => {
    const bytes = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'xyzq', data: [1.5, 2.5] }] }));
    // The schema's second name (the column's; the footer's last 'xyzq' is its chunk's path) goes under a field id no reader knows.
    const at = bytes.indexOf('xyzq', bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8));
    assert.equal(bytes[at - 1], 4, 'the name\'s length');
    bytes[at - 2] = (bytes[at - 2]! & 0x0f) | 0xf0;
    const file = join(dir, 'nameless.parquet');
    await writeFile(file, bytes);
    await rejectsWith(() => openParquet([file], { columns: undefined, chunkRows: 10 }), 'INPUT_FORMAT', `Input file ${file} is not a readable Parquet file: a column of its schema has no name`);
  }));

  test('a later file holding a column read in another type is INPUT_FORMAT at open, naming every such column and both types', () => withTempDir(async (dir) => {
    const [a, b] = [join(dir, 'part-0.parquet'), join(dir, 'part-1.parquet')];
    await duckdb(`COPY (SELECT 1.5 AS score, true AS ok, 3000::BIGINT AS mass, 'x' AS name) TO ${sqlPath(a)} (FORMAT parquet)`);
    await duckdb(`COPY (SELECT 'n/a' AS score, 'false' AS ok, 3000.5::DOUBLE AS mass, 'y' AS name) TO ${sqlPath(b)} (FORMAT parquet)`);
    const error = await rejectsWith(() => openParquet([a, b], { columns: undefined, chunkRows: 10 }), 'INPUT_FORMAT',
      `Input file ${b} holds 3 columns in another type than the first file: "score" is float64 in ${a}, string here; "ok" is bool in ${a}, string here; "mass" is int64 in ${a}, float64 here`);
    assert.equal(error.column, 'score');
    // Columns not read do not count.
    const source = await openParquet([a, b], { columns: ['name'], chunkRows: 10 });
    assert.deepEqual(source.schema.map((f) => f.name), ['name']);
  }));
});
