// Renders results/reads.json and results/writes.json as markdown tables (results/tables.md)
import { readFileSync, writeFileSync } from 'node:fs';
const reads = JSON.parse(readFileSync('results/reads.json'));
const writes = JSON.parse(readFileSync('results/writes.json'));
const FILES = ['duck_zstd', 'duck_snappy', 'duck_gzip', 'duck_uncompressed', 'polars_zstd'];
const LIBS = [...new Set(reads.map(r => r.lib))];
const cell = (r) => !r ? '–' : r.ok ? `ok ${r.bestMs} ms / ${Math.round(r.peakRssMB)} MB` : `**ERR** (${(r.err || '').split(' |')[0].replace(/\/tmp\/pqbench\/node_modules\//g, '').slice(0, 70)})`;
let md = '### Read: [distance, delay, origin], one row group at a time (best of 3 ms / max peak RSS MB)\n\n';
md += '| reader | ' + FILES.join(' | ') + ' |\n|' + '---|'.repeat(FILES.length + 1) + '\n';
for (const l of LIBS) md += `| ${l} | ` + FILES.map(f => cell(reads.find(r => r.lib === l && r.file === f))).join(' | ') + ' |\n';
md += '\n### Null/float64 correctness ("full" mode: + ratio DOUBLE, delay_n BIGINT w/ 50,000 nulls, origin_n VARCHAR w/ 71,428 nulls), DuckDB files\n\n| reader | ' + FILES.slice(0, 4).join(' | ') + ' |\n|' + '---|'.repeat(5) + '\n';
for (const l of LIBS) md += `| ${l} | ` + FILES.slice(0, 4).map(f => { const r = reads.find(r => r.lib === l && r.file === f); return r?.full ? (r.full.ok ? `ok ${r.full.ms} ms` : 'MISMATCH') : '–'; }).join(' | ') + ' |\n';
md += '\n### Seek: read only the last row group (ms / bytes read from file / rows)\n\n| reader | ' + FILES.join(' | ') + ' |\n|' + '---|'.repeat(FILES.length + 1) + '\n';
for (const l of LIBS) md += `| ${l} | ` + FILES.map(f => { const r = reads.find(r => r.lib === l && r.file === f); return r?.seek ? `${r.seek.ms} ms / ${r.seek.bytesFetched ? (r.seek.bytesFetched / 1e6).toFixed(2) + ' MB' : 'n/m'} / ${r.seek.n}` : '–'; }).join(' | ') + ' |\n';
md += '\n### Output types\n\n| reader | distance | delay | origin |\n|---|---|---|---|\n';
for (const l of LIBS) { const r = reads.find(r => r.lib === l && r.ok); if (r) md += `| ${l} | ${r.types.distance} | ${r.types.delay} | ${r.types.origin} |\n`; }
md += '\n### Write: 1,000,000 rows, row groups of 100k (best of 3 ms / max peak RSS MB / file MB; DuckDB verification)\n\n| writer | codec | ms (best of 3) | runs | peak RSS MB | file MB | DuckDB check | emb type | RGs |\n|---|---|---|---|---|---|---|---|---|\n';
for (const w of writes) md += `| ${w.lib} | ${w.codec} | ${w.bestMs} | ${w.allMs.join(', ')} | ${Math.round(w.peakRssMB)} | ${w.sizeMB} | ${w.verify?.ok ? 'ok' : 'FAIL ' + JSON.stringify(w.verify?.mism)} | ${w.verify?.types?.emb} | ${w.verify?.rgs}×${w.verify?.max_rg_rows} |\n`;
writeFileSync('results/tables.md', md);
console.log(md);
