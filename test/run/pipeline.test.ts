/**
 * runPrepared: its `loaded` hook (the scoring thread sets V8's heap growing factor there, once
 * the run's threads have started, run/memory.ts), and where the output is written (output.writer).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadJob } from '../../src/job/load.js';
import { prepareJob, runPrepared, type RunStats } from '../../src/run/pipeline.js';
import { smallInput } from '../../src/sink/thread.js';
import { root, withTempDir } from '../helpers.js';

/** The bundled penguins job, writing `output` without a checkpoint. */
const penguins = async (output: string, ...overrides: string[]) =>
  prepareJob(await loadJob(join(root, 'jobs', 'penguins.yaml'), { overrides: [`output.path=${output}`, 'checkpoint=false', ...overrides] }));

test('loaded comes once, after the model loads and before the first batch', () => withTempDir(async (dir) => {
  const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0 };
  const seen: { batches: number; rowsRead: number }[] = [];
  const summary = await runPrepared(await penguins(join(dir, 'out.parquet')), { stats, loaded: () => seen.push({ batches: stats.batches, rowsRead: stats.rowsRead }) });
  assert.deepEqual(seen, [{ batches: 0, rowsRead: 0 }]);
  assert.equal(summary.output.rows, 344);
  assert.equal(stats.batches, Math.ceil(344 / 64));
}));

test('a model that cannot load never reports loaded', () => withTempDir(async (dir) => {
  const prepared = await penguins(join(dir, 'out.parquet'));
  // The bundle as opened, with its model file swapped for one that is not ONNX.
  const broken = { ...prepared, bundle: { ...prepared.bundle, modelFile: join(root, 'jobs', 'penguins.yaml') } };
  let loaded = 0;
  await assert.rejects(runPrepared(broken, { loaded: () => loaded++ }), { code: 'MODEL_LOAD' });
  assert.equal(loaded, 0);
}));

test('the output is the same, byte for byte, written on the scoring thread or on its own threads', () => withTempDir(async (dir) => {
  for (const format of ['parquet', 'csv', 'jsonl']) {
    const files: Buffer[] = [];
    for (const writer of ['inline', 'thread', 'auto']) {
      const output = join(dir, `${writer}.${format}`);
      const summary = await runPrepared(await penguins(output, `output.writer=${writer}`, 'output.parquet.row_group_rows=100'));
      assert.equal(summary.output.rows, 344);
      files.push(await readFile(output));
    }
    assert.deepEqual(files[0], files[1], `${format}: inline and thread`);
    assert.deepEqual(files[0], files[2], `${format}: inline and auto`);
  }
}));

test('auto writes on the scoring thread up to 100,000 rows or 4 MB of text (512 KB gzipped)', () => {
  const parquet = (rows: number) => ({ files: ['in.parquet'], totalRows: rows, progress: () => ({ done: 0, total: rows, unit: 'rows' as const }) });
  const text = (file: string, bytes: number) => ({ files: [file], totalRows: undefined, progress: () => ({ done: 0, total: bytes, unit: 'bytes' as const }) });
  assert.equal(smallInput(parquet(100_000)), true);
  assert.equal(smallInput(parquet(100_001)), false);
  assert.equal(smallInput(text('in.csv', 4 * 2 ** 20)), true);
  assert.equal(smallInput(text('in.csv', 4 * 2 ** 20 + 1)), false);
  assert.equal(smallInput(text('in.csv.gz', 512 * 1024)), true);
  assert.equal(smallInput(text('in.CSV.GZ', 512 * 1024 + 1)), false);
});

test('a prepared job runs once: a second runPrepared is a USAGE error, and the first run\'s output stays', () => withTempDir(async (dir) => {
  const output = join(dir, 'out.csv');
  const job = await penguins(output);
  assert.equal((await runPrepared(job)).status, 'completed');
  const first = await readFile(output);
  await assert.rejects(runPrepared(job, { restart: true }), { code: 'USAGE', message: 'Job penguins-species was prepared once and has run: its input has been read' });
  assert.ok((await readFile(output)).equals(first));
}));
