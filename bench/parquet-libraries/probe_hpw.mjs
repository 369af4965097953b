// Probes of hyparquet-writer behaviour (int64/bigint, nullable, lists, codecs); each output is read back by DuckDB
import { parquetWriteFile, parquetWriteBuffer, schemaFromColumnData } from 'hyparquet-writer';
import { duck } from './duck.mjs';
const { q } = await duck();
const probes = {
  int64_from_numbers_typed: [{ name: 'x', data: [1, 2, 2 ** 53 - 1], type: 'INT64' }],
  int64_from_bigint_array: [{ name: 'x', data: [1n, null, 2n ** 62n], type: 'INT64' }],
  bigint64array_autodetect: [{ name: 'x', data: new BigInt64Array([1n, -5n, 9007199254740993n]) }],
  numbers_autodetect: [{ name: 'x', data: [1, 2, 3] }],
  floats_autodetect: [{ name: 'x', data: [1.5, 2, 3] }],
  float64array_autodetect: [{ name: 'x', data: new Float64Array([1, 2, 3]) }],
  int64_unsafe_number: [{ name: 'x', data: [2 ** 53 + 2], type: 'INT64' }],
  int64_float_value: [{ name: 'x', data: [1.5], type: 'INT64' }],
  nullable_string: [{ name: 'x', data: ['a', null, 'c'] }],
  nonnullable_with_null: [{ name: 'x', data: ['a', null], type: 'STRING', nullable: false }],
  list_autodetect: [{ name: 'x', data: [[1.5, 2.5], [], null, [3.5]] }],
  float32array_per_row_list: [{ name: 'x', data: [new Float32Array([1, 2])] }],
};
for (const [name, columnData] of Object.entries(probes)) {
  const file = `out/probe_${name}.parquet`;
  let r;
  try {
    let schema; try { schema = JSON.stringify(schemaFromColumnData({ columnData }).slice(1), (k, v) => typeof v === 'bigint' ? String(v) : v); } catch (e) { schema = 'schemaFromColumnData error: ' + e.message; }
    parquetWriteFile({ filename: file, columnData });
    const rows = await q(`SELECT * FROM '${file}'`);
    const d = await q(`DESCRIBE SELECT * FROM '${file}'`);
    r = { schema, duckType: d[0].column_type, duckRows: JSON.stringify(rows, (k, v) => typeof v === 'bigint' ? v.toString() + 'n' : v) };
  } catch (e) { r = { error: e.message }; }
  console.log(name, JSON.stringify(r));
}
// codecs without a compressor
for (const codec of ['SNAPPY', 'GZIP', 'ZSTD', 'BROTLI', 'LZ4_RAW', 'UNCOMPRESSED']) {
  try { parquetWriteBuffer({ codec, columnData: [{ name: 'x', data: [1, 2, 3] }] }); console.log('codec', codec, 'ok (no compressors passed)'); }
  catch (e) { console.log('codec', codec, 'error:', e.message); }
}
