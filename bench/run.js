#!/usr/bin/env node
// bento-batch benchmarks: prints numbers, asserts nothing. Run after `npm run build`:
//   npm run bench                 # everything
//   npm run bench -- checkpoint   # one section: checkpoint | memory
// Inputs are generated on the fly under $TMPDIR (never committed). Timings on a shared machine
// are noisy: compare the ratios printed within one run, not absolute numbers across runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(tmpdir(), 'bento-batch-bench');
mkdirSync(work, { recursive: true });
const flights = join(root, 'node_modules', 'vega-datasets', 'data', 'flights-3m.parquet');
const sections = process.argv.slice(2);
const wanted = (name) => sections.length === 0 || sections.includes(name);

console.log(`bento-batch bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`);

/** Runs the CLI on a job; returns wall seconds and peak RSS (MB) of the whole process. */
function runJob(jobFile, sets = []) {
  const rssFile = join(work, `rss-${process.pid}.txt`);
  rmSync(rssFile, { force: true });
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', join(root, 'bench', 'rss.js'), join(root, 'bin', 'bento-batch.js'), '--log-format', 'json', 'run', jobFile, '--progress', 'none', '--restart', ...sets.flatMap((s) => ['--set', s])],
    { env: { ...process.env, BENCH_RSS_FILE: rssFile }, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`bento-batch failed (${result.status}):\n${result.stderr}`);
  const summary = JSON.parse(result.stderr.trim().split('\n').at(-1)).summary;
  return { seconds, rows: summary.output.rows, rssMB: Number(readFileSync(rssFile, 'utf8').trim()) / 1024 };
}

function job(name, lines) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, lines.join('\n'));
  return file;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
  console.log(line(headers));
  for (const r of rows) console.log(line(r));
}

function duck(sql) {
  execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { DuckDBInstance } from '@duckdb/node-api';
    const db = await DuckDBInstance.create(':memory:'); const c = await db.connect();
    await c.run(${JSON.stringify(sql)});`], { cwd: root, stdio: 'inherit' });
}

if (wanted('checkpoint')) {
  console.log('\n## checkpoint cost: checkpointing on (default every: 5s, and every N rows) vs checkpoint: false');
  console.log('3,000,000 flights (Polars ZSTD Parquet) → flights-delay model; runs interleaved, median of 5');
  const rows = [];
  for (const format of ['csv', 'parquet']) {
    const base = [`input: { path: ${flights} }`, `model: ${join(root, 'fixtures', 'models', 'flights-delay')}`, 'batch: { size: 4096 }', `output: { path: ${join(work, `ckpt.${format}`)}, keep: [origin, distance] }`];
    const variants = [['off', 'checkpoint: false'], ['default (5s)', ''], ['every 100000', 'checkpoint: { every: 100000 }'], ['every 10000', 'checkpoint: { every: 10000 }']];
    const times = variants.map(() => []);
    const files = variants.map(([label, line], i) => job(`ckpt-${i}-${format}`, [...base, line]));
    for (let rep = 0; rep < 5; rep++) files.forEach((file, i) => times[i].push(runJob(file).seconds));
    const off = median(times[0]);
    variants.forEach(([label], i) => rows.push([format, label, fmt(median(times[i]), 2), i === 0 ? '' : `${fmt((median(times[i]) / off - 1) * 100, 1)}%`, fmt(3e6 / median(times[i]))]));
  }
  table(['output', 'checkpoint', 'seconds', 'vs off', 'rows/s'], rows);
}

if (wanted('memory')) {
  console.log('\n## peak RSS: 10,000 rows vs 3,000,000 rows (same model, same file layout, Parquet and CSV out)');
  const small = join(work, 'flights-10k.parquet');
  if (!existsSync(small)) duck(`COPY (SELECT * FROM '${flights}' LIMIT 10000) TO '${small}' (FORMAT parquet, COMPRESSION zstd)`);
  const rows = [];
  for (const format of ['parquet', 'csv']) {
    for (const [label, input] of [['10k', small], ['3M', flights]]) {
      const file = job(`mem-${label}-${format}`, [`input: { path: ${input} }`, `model: ${join(root, 'fixtures', 'models', 'flights-delay')}`, 'batch: { size: 4096 }', `output: { path: ${join(work, `mem-${label}.${format}`)} }`]);
      const r = runJob(file);
      rows.push([`${label} → ${format}`, fmt(r.rows), fmt(r.seconds, 2), fmt(r.rows / r.seconds), fmt(r.rssMB)]);
    }
  }
  table(['case', 'rows', 'seconds', 'rows/s', 'peak RSS MB'], rows);
}
