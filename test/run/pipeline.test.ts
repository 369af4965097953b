/**
 * runPrepared: its `loaded` hook (the scoring thread sets V8's heap growing factor there, once
 * the run's threads have started, run/memory.ts), and where a Parquet output is encoded.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadJob } from '../../src/job/load.js';
import { prepareJob, runPrepared, type RunStats } from '../../src/run/pipeline.js';
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

test('an output of one row group, written on the scoring thread, has the bytes the encoder threads write', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bento-pipeline-'));
  try {
    const run = async (input: string, output: string) => {
      const spec = await loadJob(join(root, 'jobs', 'penguins.yaml'), { overrides: [`input.path=${input}`, `output.path=${join(dir, output)}`, 'checkpoint=false'] });
      const prepared = await prepareJob(spec);
      return { summary: await runPrepared(prepared), rowsAtMost: prepared.source.rowsAtMost };
    };
    // The plain file bounds its rows (its bytes) under one row group; the gzipped one bounds nothing, so its run starts the encoder threads.
    const plain = await run(join(root, 'fixtures', 'data', 'penguins.csv'), 'plain.parquet');
    const gz = await run(join(root, 'fixtures', 'data', 'penguins.csv.gz'), 'gz.parquet');
    assert.ok(plain.rowsAtMost! <= 65536);
    assert.equal(gz.rowsAtMost, undefined);
    assert.equal(plain.summary.output.rows, 344);
    assert.deepEqual(await readFile(join(dir, 'plain.parquet')), await readFile(join(dir, 'gz.parquet')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
