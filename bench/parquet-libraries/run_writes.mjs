// Driver: each writer x codec in its own child process under /usr/bin/time -v, 3 runs (best ms, max RSS), then DuckDB verification.
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
mkdirSync('out', { recursive: true });
const CASES = [
  ['hyparquet-writer', 'SNAPPY'], ['hyparquet-writer', 'ZSTD'], ['hyparquet-writer', 'GZIP'], ['hyparquet-writer', 'UNCOMPRESSED'],
  ['parquet-wasm-stream', 'SNAPPY'], ['parquet-wasm-stream', 'ZSTD'], ['parquet-wasm-stream', 'GZIP'], ['parquet-wasm-stream', 'UNCOMPRESSED'],
  ['parquet-wasm-whole', 'ZSTD'],
  ['dsnp', 'SNAPPY'], ['dsnp', 'GZIP'], ['dsnp', 'UNCOMPRESSED'],
];
const reps = Number(process.env.REPS || 3);
const out = [];
for (const [lib, codec] of CASES) {
  const file = `out/${lib}_${codec}.parquet`;
  const runs = [];
  for (let i = 0; i < reps; i++) {
    const r = spawnSync('/usr/bin/time', ['-v', 'node', 'write.mjs', lib, codec, file], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const rssKb = Number((r.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/) || [])[1]);
    let j; try { j = JSON.parse(r.stdout.trim().split('\n').pop()); } catch { j = { ok: false, err: r.stderr.slice(-400) }; }
    runs.push({ ...j, rssMB: +(rssKb / 1024).toFixed(1) });
    if (!j.ok) break;
  }
  const best = runs.reduce((a, b) => (a.ms <= b.ms ? a : b));
  const v = runs.every(r => r.ok) ? JSON.parse(spawnSync('node', ['verify_write.mjs', file], { encoding: 'utf8' }).stdout.trim().split('\n').pop()) : null;
  const rec = { lib, codec, ok: runs.every(r => r.ok), bestMs: best.ms, allMs: runs.map(r => r.ms), peakRssMB: Math.max(...runs.map(r => r.rssMB)), sizeMB: best.size && +(best.size / 1048576).toFixed(2), incremental: best.incremental, err: best.err, verify: v };
  out.push(rec);
  console.log(JSON.stringify(rec));
  writeFileSync('results/writes.json', JSON.stringify(out, null, 1));
}
