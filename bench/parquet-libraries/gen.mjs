// Generate test parquet files with DuckDB: first 500k rows of flights-3m + float64 + nullable columns
import { duck } from './duck.mjs';
const SRC = new URL('../../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url).pathname;
const { q } = await duck();
await q(`CREATE TABLE t AS
  SELECT date, delay, distance, origin, destination,
         distance / (delay + 100.5) AS ratio,                               -- DOUBLE
         CASE WHEN rn % 10 = 0 THEN NULL ELSE delay END AS delay_n,         -- BIGINT w/ nulls
         CASE WHEN rn % 7 = 0 THEN NULL ELSE origin END AS origin_n         -- VARCHAR w/ nulls
  FROM (SELECT *, row_number() OVER () AS rn FROM '${SRC}') WHERE rn <= 500000 ORDER BY rn`);
for (const c of ['zstd', 'snappy', 'gzip', 'uncompressed']) {
  await q(`COPY t TO 'data/duck_${c}.parquet' (FORMAT parquet, COMPRESSION ${c}, ROW_GROUP_SIZE 100000)`);
}
// Ground truth
import { writeFileSync } from 'node:fs';
const truth = {};
const files = { ...Object.fromEntries(['zstd','snappy','gzip','uncompressed'].map(c => [`duck_${c}`, `data/duck_${c}.parquet`])), polars_zstd: SRC };
for (const [k, f] of Object.entries(files)) {
  const [r] = await q(`SELECT count(*)::BIGINT n, sum(distance)::BIGINT sum_distance, sum(delay)::BIGINT sum_delay,
    count(origin)::BIGINT n_origin, sum(length(origin))::BIGINT len_origin FROM '${f}'`);
  const rg = await q(`SELECT count(DISTINCT row_group_id)::INT rgs, any_value(compression) codec FROM parquet_metadata('${f}')`);
  let extra = {};
  if (k.startsWith('duck')) {
    [extra] = await q(`SELECT sum(ratio) sum_ratio, count(*) - count(delay_n) null_delay_n, sum(delay_n)::BIGINT sum_delay_n,
      count(*) - count(origin_n) null_origin_n FROM '${f}'`);
  }
  truth[k] = { file: f, ...Object.fromEntries(Object.entries({ ...r, ...rg[0], ...extra }).map(([a, b]) => [a, typeof b === 'bigint' ? Number(b) : b])) };
}
writeFileSync('data/truth.json', JSON.stringify(truth, null, 1));
console.log(truth);
