// Driver: runs each reader x file case in its own child process under /usr/bin/time -v, sequentially.
// bench mode: 3 runs, best ms, max peak RSS over runs. full + seek: 1 run each.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const FILES = ['duck_zstd', 'duck_snappy', 'duck_gzip', 'duck_uncompressed', 'polars_zstd'];
const LIBS = ['hyparquet', 'hyparquet-bare', 'parquet-wasm', 'parquet-wasm-blob', 'parquet-wasm-blob+str', 'dsnp', 'dsnp193', 'parquetjs-lite-rg', 'parquetjs-lite'];
function run(lib, file, mode) {
  const env = { ...process.env };
  let l = lib;
  if (lib === 'parquetjs-lite-rg') { env.PQL_RG = '1'; l = 'parquetjs-lite'; }
  const r = spawnSync('/usr/bin/time', ['-v', 'node', 'read.mjs', l, file, mode], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const rssKb = Number((r.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/) || [])[1]);
  const wall = (r.stderr.match(/Elapsed \(wall clock\) time.*: (.*)/) || [])[1];
  let j; try { j = JSON.parse(r.stdout.trim().split('\n').pop()); } catch { j = { ok: false, err: 'no output: ' + r.stderr.slice(0, 300) }; }
  return { ...j, lib, rssMB: +(rssKb / 1024).toFixed(1), wall };
}
const out = [];
for (const file of FILES) for (const lib of LIBS) {
  const reps = lib === 'parquetjs-lite' || lib === 'dsnp193' ? 1 : 3;
  const runs = []; for (let i = 0; i < reps; i++) { runs.push(run(lib, file, 'bench')); if (!runs.at(-1).ok) break; }
  const best = runs.reduce((a, b) => (a.ms <= b.ms ? a : b));
  const rec = { lib, file, ok: runs.every(r => r.ok), bestMs: best.ms, allMs: runs.map(r => r.ms), peakRssMB: Math.max(...runs.map(r => r.rssMB)), types: best.types, err: runs.find(r => r.err)?.err, mism: best.mism, bytesFetched: best.bytesFetched, fileBytes: best.fileBytes };
  if (rec.ok && file.startsWith('duck') && lib !== 'parquetjs-lite') { const f = run(lib, file, 'full'); rec.full = { ok: f.ok, ms: f.ms, rssMB: f.rssMB, types: f.types, mism: f.mism, err: f.err }; }
  if (rec.ok && lib !== 'parquetjs-lite') { const s = run(lib === 'parquetjs-lite-rg' ? 'parquetjs-lite' : lib, file, 'seek'); rec.seek = { ok: s.ok, ms: s.ms, rssMB: s.rssMB, bytesFetched: s.bytesFetched, n: s.acc?.n }; }
  out.push(rec);
  console.log(JSON.stringify({ lib, file, ok: rec.ok, bestMs: rec.bestMs, allMs: rec.allMs, peakRssMB: rec.peakRssMB, full: rec.full?.ok, seek: rec.seek && [rec.seek.ms, rec.seek.bytesFetched, rec.seek.n], err: rec.err?.slice(0, 120) }));
  writeFileSync('results/reads.json', JSON.stringify(out, null, 1));
}
