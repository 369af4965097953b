// Usage: node verify_write.mjs <file.parquet> -> DuckDB reads back and compares with the generator's expected values
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { duck } from './duck.mjs';
import { expected } from './gendata.mjs';
const f = process.argv[2];
const EF = 'results/expected_write.json';
const e = existsSync(EF) ? JSON.parse(readFileSync(EF)) : (() => { const x = expected(); writeFileSync(EF, JSON.stringify(x)); return x; })();
const { q } = await duck();
let res = { file: f };
try {
  const desc = await q(`DESCRIBE SELECT * FROM '${f}'`);
  res.types = Object.fromEntries(desc.map(d => [d.column_name, d.column_type]));
  const [r] = await q(`SELECT count(*)::DOUBLE n, sum(id)::DOUBLE sum_id, sum(f1) sum_f1, sum(f2) sum_f2, sum(f3) sum_f3,
     (count(*) - count(s))::DOUBLE null_s, sum(length(s))::DOUBLE len_s,
     sum(list_sum(emb))::DOUBLE sum_emb, sum(len(emb))::DOUBLE n_emb FROM '${f}'`);
  const md = await q(`SELECT count(DISTINCT row_group_id)::INT rgs, string_agg(DISTINCT compression, ',') codecs, min(row_group_num_rows)::INT min_rg_rows, max(row_group_num_rows)::INT max_rg_rows FROM parquet_metadata('${f}')`);
  const mism = [];
  for (const k of Object.keys(e)) {
    const ok = k === 'sum_f2' ? Math.abs(r[k] - e[k]) < 1e-6 : Math.abs(r[k] - e[k]) <= 1e-9 * Math.abs(e[k]);
    if (!ok) mism.push(`${k}: got ${r[k]} want ${e[k]}`);
  }
  res = { ...res, ok: mism.length === 0, mism, ...md[0] };
} catch (err) { res.ok = false; res.err = String(err.message || err).slice(0, 300); }
console.log(JSON.stringify(res));
