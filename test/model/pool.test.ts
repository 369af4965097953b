/**
 * Where the model runs (model/pool.ts): on worker threads, on the calling thread (`inline`), or
 * `auto`, which times batches and moves the model here when they run faster than a threshold, or
 * (a small model file, started here) to the workers when they run slower. The thresholds are
 * passed in, so the decision does not hang on this machine's speed.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ModelPool, type PoolOptions, workerDepth } from '../../src/model/pool.js';
import type { SessionOptions, TensorData } from '../../src/model/session.js';
import { fixtures, seededRandom } from '../helpers.js';

const modelFile = join(fixtures, 'models', 'penguins', 'model.onnx');
const options: SessionOptions = { intraOp: 1, interOp: 1, graphOptimization: 'all', providers: ['cpu'] };

/** Penguin-like feature rows, different in every batch. */
function feeds(batch: number, rows = 16): Record<string, TensorData> {
  const random = seededRandom(batch + 1);
  const data = new Float32Array(rows * 4);
  for (let r = 0; r < rows; r++) data.set([35 + 20 * random(), 14 + 6 * random(), 175 + 50 * random(), 3000 + 3000 * random()], r * 4);
  return { features: { type: 'float32', data, dims: [rows, 4] } };
}

async function logits(pool: ModelPool, batch: number): Promise<number[]> {
  return Array.from((await pool.run(feeds(batch), ['logits'])).logits!.data as Float32Array);
}

/** A `moved` hook for the pool, and its first call. */
function watchMoves(): { moved: NonNullable<PoolOptions['moved']>; first: Promise<{ to: string; runMs: number }> } {
  let report!: (move: { to: string; runMs: number }) => void;
  const first = new Promise<{ to: string; runMs: number }>((resolve) => (report = resolve));
  return { moved: (to, runMs) => report({ to, runMs }), first };
}

async function withPool<T>(o: Partial<PoolOptions>, use: (pool: ModelPool) => Promise<T>): Promise<T> {
  const pool = await ModelPool.create(modelFile, { size: 2, workers: options, ...o });
  try {
    return await use(pool);
  } finally {
    await pool.dispose();
  }
}

describe('batches given to each worker ahead', { timeout: 60_000 }, () => {
  test('four for batches of up to 256 rows, two from 512, never more than 1,024 rows or fewer than two batches', () => {
    assert.deepEqual([1, 64, 256, 257, 512, 1024, 4096].map(workerDepth), [4, 4, 4, 3, 2, 2, 2]);
    assert.equal(workerDepth(undefined), 2);
  });

  test('a pool holds that many a worker, and every batch in flight gets its own outputs', async () => {
    const one = await withPool({ placement: 'workers', size: 1 }, async (pool) => {
      const out: number[][] = [];
      for (let b = 0; b < 20; b++) out.push(await logits(pool, b));
      return out;
    });
    const deep = await withPool({ placement: 'workers', batchRows: 16 }, async (pool) => {
      assert.equal(pool.capacity, 8);
      return Promise.all(Array.from({ length: 20 }, (_, b) => logits(pool, b)));
    });
    assert.deepEqual(deep, one);
    await withPool({ placement: 'workers', batchRows: 4096 }, async (pool) => assert.equal(pool.capacity, 4));
  });
});

describe('model placement', { timeout: 60_000 }, () => {
  test('inline runs the model on this thread and gives the same outputs as the workers', async () => {
    const onWorkers = await withPool({ placement: 'workers' }, async (pool) => {
      assert.equal(pool.placement, 'workers');
      return Promise.all([0, 1, 2].map((b) => logits(pool, b)));
    });
    const inline = await withPool({ placement: 'inline' }, async (pool) => {
      assert.equal(pool.placement, 'inline');
      assert.deepEqual(pool.signature.inputs.map((i) => i.name), ['features']);
      return Promise.all([0, 1, 2].map((b) => logits(pool, b)));
    });
    assert.equal(onWorkers[0]!.length, 16 * 3);
    assert.deepEqual(inline, onWorkers);
  });

  test('feeds that are views into one block (as preprocess makes them) go to the workers as copies: the block and its other views stay whole', async () => {
    const own = [0, 1, 2].map((b) => feeds(b).features!.data as Float32Array);
    const block = new ArrayBuffer(4096);
    const views = own.map((data, b) => new Float32Array(block, 1024 * b + 64, data.length));
    views.forEach((view, b) => view.set(own[b]!));
    const [fromViews, fromOwn] = await withPool({ placement: 'workers' }, (pool) => Promise.all([
      Promise.all(views.map(async (data) => Array.from((await pool.run({ features: { type: 'float32', data, dims: [16, 4] } }, ['logits'])).logits!.data as Float32Array))),
      Promise.all([0, 1, 2].map((b) => logits(pool, b))),
    ]));
    assert.equal(block.byteLength, 4096, 'the block was not moved to a worker');
    views.forEach((view, b) => assert.deepEqual(view, own[b]));
    assert.deepEqual(fromViews, fromOwn);
  });

  test('auto times batches on the workers, then moves a model under the threshold onto this thread with the same answers', async () => {
    const { moved, first } = watchMoves();
    await withPool({ placement: 'auto', inlineFirstMaxBytes: 0, inlineBelowMs: Number.POSITIVE_INFINITY, moved }, async (pool) => {
      const before: number[][] = [];
      for (let b = 0; b < 95; b++) before.push(await logits(pool, b));
      assert.equal(pool.placement, 'workers', 'warm-up and timed batches run on the workers');
      before.push(await logits(pool, 95));
      const { to, runMs } = await first;
      assert.equal(to, 'inline');
      assert.equal(pool.placement, 'inline');
      assert.ok(runMs > 0 && runMs < 1000, `run time ${runMs} ms`);
      const after = await Promise.all(before.map((_, b) => logits(pool, b)));
      assert.deepEqual(after, before);
    });
  });

  test('auto keeps a model at or over the threshold on the workers', async () => {
    await withPool({ placement: 'auto', inlineFirstMaxBytes: 0, inlineBelowMs: 0, moved: () => assert.fail('moved') }, async (pool) => {
      for (let b = 0; b < 200; b++) await logits(pool, b);
      assert.equal(pool.placement, 'workers');
    });
  });

  test('auto starts a small model file on this thread and keeps it there when its batches are cheap', async () => {
    await withPool({ placement: 'auto', inlineBelowMs: Number.POSITIVE_INFINITY, moved: () => assert.fail('moved') }, async (pool) => {
      assert.equal(pool.placement, 'inline');
      assert.deepEqual(pool.signature.outputs.map((o) => o.name), ['logits']);
      for (let b = 0; b < 200; b++) await logits(pool, b);
      assert.equal(pool.placement, 'inline');
    });
  });

  test('auto moves a small model file whose first batches are costly onto the workers, with the same answers', async () => {
    const { moved, first } = watchMoves();
    await withPool({ placement: 'auto', inlineBelowMs: 0, moved }, async (pool) => {
      assert.equal(pool.placement, 'inline');
      // The first batch warms up; the next three decide (10× a threshold of 0 is any time at all).
      const before = await Promise.all([0, 1, 2, 3, 4, 5].map((b) => logits(pool, b)));
      assert.equal((await first).to, 'workers');
      assert.equal(pool.placement, 'workers');
      const after = await Promise.all(before.map((_, b) => logits(pool, b)));
      assert.deepEqual(after, before);
    });
  });

  test('auto keeps a costly model here when the batches left would end before workers could load', async () => {
    await withPool({ placement: 'auto', inlineBelowMs: 0, expectedBatches: 6, moved: () => assert.fail('moved') }, async (pool) => {
      // Costly (any time is 10× a threshold of 0), but two batches left take far under workersPayAfterMs here.
      for (let b = 0; b < 200; b++) await logits(pool, b);
      assert.equal(pool.placement, 'inline');
    });
  });

  test('auto moves a costly model it kept here on an estimated count once the run sends twice as many batches', async () => {
    const { moved, first } = watchMoves();
    await withPool({ placement: 'auto', inlineBelowMs: 0, expectedBatches: 6, expectedEstimated: true, moved }, async (pool) => {
      for (let b = 0; b < 11; b++) await logits(pool, b);
      // A move started by now would have loaded its workers within this wait (~0.3 s here).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(pool.placement, 'inline', 'kept here up to twice the estimate');
      await Promise.all(Array.from({ length: 7 }, (_, k) => logits(pool, 11 + k)));
      assert.equal((await first).to, 'workers');
    });
  });

  test('auto moves a costly model when the batches left pay for the workers, known count or not', async () => {
    for (const known of [{ expectedBatches: 6, workersPayAfterMs: 0 }, {}]) {
      const { moved, first } = watchMoves();
      await withPool({ placement: 'auto', inlineBelowMs: 0, moved, ...known }, async (pool) => {
        await Promise.all([0, 1, 2, 3, 4, 5].map((b) => logits(pool, b)));
        assert.equal((await first).to, 'workers');
      });
    }
  });

  test('auto reports a move it cannot make (the workers cannot load the model) and keeps scoring where it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bento-pool-'));
    const file = join(dir, 'model.onnx');
    await copyFile(modelFile, file);
    const expected = await withPool({ placement: 'inline' }, (pool) => Promise.all([0, 1, 2, 3, 4, 5, 6].map((b) => logits(pool, b))));
    let report!: (failure: { to: string; error: Error }) => void;
    const notMovedCall = new Promise<{ to: string; error: Error }>((resolve) => (report = resolve));
    const pool = await ModelPool.create(file, {
      size: 2, workers: options, placement: 'auto', inlineBelowMs: 0, moved: () => assert.fail('moved'), notMoved: (to, error) => report({ to, error }),
    });
    try {
      assert.equal(pool.placement, 'inline');
      const first = await logits(pool, 0);
      // Loaded here already; the workers a move starts will find no file.
      await rm(dir, { recursive: true, force: true });
      const rest = await Promise.all([1, 2, 3, 4, 5].map((b) => logits(pool, b)));
      const { to, error } = await notMovedCall;
      assert.equal(to, 'workers');
      assert.match(error.message, /model\.onnx|No such file|does not exist|Load model/i);
      assert.equal(pool.placement, 'inline');
      // And it goes on scoring after the failed move.
      assert.deepEqual([first, ...rest, await logits(pool, 6)], expected);
    } finally {
      await pool.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
