/**
 * runPrepared: its `loaded` hook (the scoring thread sets V8's heap growing factor there, once
 * the run's threads have started, run/memory.ts), and where the output is written (output.writer).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadJob } from '../../src/job/load.js';
import { prepareJob, runPrepared, type RunStats } from '../../src/run/pipeline.js';
import { smallInput } from '../../src/sink/thread.js';
import { root } from '../helpers.js';

test('loaded comes once, after the model loads and before the first batch', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bento-pipeline-'));
  try {
    const spec = await loadJob(join(root, 'jobs', 'penguins.yaml'), { overrides: [`output.path=${join(dir, 'out.parquet')}`, 'checkpoint=false'] });
    const prepared = await prepareJob(spec);
    const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0 };
    const seen: { batches: number; rowsRead: number }[] = [];
    const summary = await runPrepared(prepared, { stats, loaded: () => seen.push({ batches: stats.batches, rowsRead: stats.rowsRead }) });
    assert.deepEqual(seen, [{ batches: 0, rowsRead: 0 }]);
    assert.equal(summary.output.rows, 344);
    assert.equal(stats.batches, Math.ceil(344 / 64));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a model that cannot load never reports loaded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bento-pipeline-'));
  try {
    const spec = await loadJob(join(root, 'jobs', 'penguins.yaml'), { overrides: [`output.path=${join(dir, 'out.parquet')}`, 'checkpoint=false'] });
    const prepared = await prepareJob(spec);
    // The bundle as opened, with its model file swapped for one that is not ONNX.
    const broken = { ...prepared, bundle: { ...prepared.bundle, modelFile: join(root, 'jobs', 'penguins.yaml') } };
    let loaded = 0;
    await assert.rejects(runPrepared(broken, { loaded: () => loaded++ }), { code: 'MODEL_LOAD' });
    assert.equal(loaded, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the output is the same, byte for byte, written on the scoring thread or on its own threads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bento-pipeline-'));
  try {
    for (const format of ['parquet', 'csv', 'jsonl']) {
      const files: Buffer[] = [];
      for (const writer of ['inline', 'thread', 'auto']) {
        const output = join(dir, `${writer}.${format}`);
        const spec = await loadJob(join(root, 'jobs', 'penguins.yaml'), { overrides: [`output.path=${output}`, `output.writer=${writer}`, 'output.parquet.row_group_rows=100', 'checkpoint=false'] });
        const summary = await runPrepared(await prepareJob(spec));
        assert.equal(summary.output.rows, 344);
        files.push(await readFile(output));
      }
      assert.deepEqual(files[0], files[1], `${format}: inline and thread`);
      assert.deepEqual(files[0], files[2], `${format}: inline and auto`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('auto writes on the scoring thread up to 100,000 rows or 4 MB of text (512 KB gzipped)', () => {
  assert.equal(smallInput({ rows: 100_000 }), true);
  assert.equal(smallInput({ rows: 100_001 }), false);
  assert.equal(smallInput({ bytes: 4 * 2 ** 20, gzip: false }), true);
  assert.equal(smallInput({ bytes: 4 * 2 ** 20 + 1, gzip: false }), false);
  assert.equal(smallInput({ bytes: 512 * 1024, gzip: true }), true);
  assert.equal(smallInput({ bytes: 512 * 1024 + 1, gzip: true }), false);
});
