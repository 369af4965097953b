// Compute ceiling: rows/s of onnxruntime's run alone on pre-built tensors (the same
// model, batch size, dtype and feature values bento-batch feeds), no reading, no writing.
//   --mode 1x2: one session on this thread with intra_op = cores (what batch.concurrency: 1 gets)
//   --mode 2x1: `workers` worker threads, one session each with intra_op = floor(cores / workers)
//               (bento-batch's default: batch.concurrency 2 on this 2-core machine)
// The tensors are the first batches of the real input, built with bento-batch's own
// source → batcher → preprocess (outside the timed loop), and cycled for `seconds`.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { args, contract, cpuClock, report } from './common.js';

const distributions = 24; // distinct batches cycled through

async function buildBatches(modelDir, input, size) {
  const root = new URL('../../dist/src/', import.meta.url);
  const { openSource } = await import(new URL('source/index.js', root));
  const { batches } = await import(new URL('batch/batcher.js', root));
  const { preprocess } = await import(new URL('model/preprocess.js', root));
  const { openBundle } = await import(new URL('model/bundle.js', root));
  const bundle = await openBundle(modelDir);
  const k = contract(modelDir);
  const source = await openSource({ path: input, format: undefined, columns: k.columns, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: 8192 });
  const out = [];
  for await (const batch of batches(source.chunks(), size)) {
    if (batch.length < size) break;
    const feeds = preprocess(batch, bundle.manifest, size);
    out.push(feeds[k.inputName]);
    if (out.length === distributions) break;
  }
  return out.map((t) => ({ type: t.type, data: t.data, dims: t.dims }));
}

/**
 * A session run the fastest way onnxruntime-node offers, as bento-batch's Session runs it: its
 * native binding, at once (the public InferenceSession.run waits for a setImmediate a call, and
 * checks and wraps the arguments again: ~12 µs of a tiny model's ~26 µs call); the public API
 * where the binding is missing. `run(feeds, [output])` resolves with the outputs.
 */
async function session(modelFile, threads) {
  const options = { graphOptimizationLevel: 'all', intraOpNumThreads: threads, executionProviders: ['cpu'] };
  try {
    const { binding, initOrt } = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js');
    initOrt();
    const s = new binding.InferenceSession();
    s.loadModel(modelFile, options);
    return { run: async (feeds, fetch) => s.run(feeds, Object.fromEntries(fetch.map((name) => [name, null])), {}) };
  } catch {
    return ort.InferenceSession.create(modelFile, options);
  }
}

/** Runs batches round-robin until `seconds` pass; returns rows and seconds. */
async function loop(s, k, tensors, seconds) {
  const feeds = tensors.map((t) => ({ [k.inputName]: new ort.Tensor(t.type, t.data, t.dims) }));
  for (let i = 0; i < 3; i++) await s.run(feeds[i % feeds.length], [k.outputName]); // warm-up
  let rows = 0;
  let i = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    const f = feeds[i++ % feeds.length];
    await s.run(f, [k.outputName]);
    rows += f[k.inputName].dims[0];
    if ((i & 7) === 0) elapsed = performance.now() - started;
  }
  return { rows, seconds: (performance.now() - started) / 1000 };
}

if (isMainThread) {
  const a = args();
  const k = contract(a.model);
  const size = Number(a.batch);
  const seconds = Number(a.seconds ?? 3);
  const cores = availableParallelism();
  const tensors = await buildBatches(a.model, a.input, size);
  if (a.mode === '1x2') {
    const s = await session(k.modelFile, cores);
    const cpu = cpuClock();
    const r = await loop(s, k, tensors, seconds);
    report({ ...r, cpuSeconds: cpu(), sessions: 1, intraOp: cores });
  } else {
    const n = Number(a.workers ?? 2);
    const threads = Math.max(1, Math.floor(cores / n));
    const workers = Array.from({ length: n }, () => new Worker(new URL(import.meta.url), { workerData: { model: a.model, tensors, threads, seconds } }));
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve)))); // loaded and warm
    const started = performance.now();
    const cpu = cpuClock();
    const done = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(done);
    const wall = (performance.now() - started) / 1000;
    const cpuSeconds = cpu();
    await Promise.all(workers.map((w) => w.terminate()));
    report({ rows: results.reduce((s, r) => s + r.rows, 0), seconds: wall, cpuSeconds, sessions: n, intraOp: threads });
  }
} else {
  const { model, tensors, threads, seconds } = workerData;
  const k = contract(model);
  const s = await session(k.modelFile, threads);
  const feeds = tensors.map((t) => ({ [k.inputName]: new ort.Tensor(t.type, t.data, t.dims) }));
  for (let i = 0; i < 3; i++) await s.run(feeds[i % feeds.length], [k.outputName]);
  parentPort.postMessage('ready');
  parentPort.once('message', async () => parentPort.postMessage(await loop(s, k, tensors, seconds)));
}
