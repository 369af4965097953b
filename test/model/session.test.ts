/**
 * Session through onnxruntime-node's native binding against its public InferenceSession: the
 * same signature and the same outputs to the bit on every fixture model (numbers, int64 ids and
 * masks, three-dimensional outputs, a ZipMap that cannot be fetched), and the native one in use
 * with the pinned onnxruntime-node, so a release that moves the binding is noticed here.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { dtypes } from '../../src/model/manifest.js';
import { Session, type SessionOptions, type TensorData, type TensorInfo } from '../../src/model/session.js';
import { fixtures, seededRandom } from '../helpers.js';

const options: SessionOptions = { intraOp: 1, interOp: 1, graphOptimization: 'all', providers: ['cpu'] };

function onnxFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.onnx')).sort().map((f) => join(dir, f));
}

/** Three rows of values a tensor of this kind takes: ids 0 and 1 (a category, a token) and a mask of ones for int64, seeded floats otherwise. */
function feed(input: TensorInfo, next: () => number): TensorData {
  const dims = input.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 3 : 5));
  const n = dims.reduce((a, b) => a * b, 1);
  if (input.type === 'int64') return { type: 'int64', data: BigInt64Array.from({ length: n }, (_, i) => (/mask/i.test(input.name) ? 1n : BigInt(i % 2))), dims };
  if (input.type === 'int32') return { type: 'int32', data: Int32Array.from({ length: n }, (_, i) => i % 2), dims };
  if (input.type === 'string') return { type: 'string', data: Array.from({ length: n }, (_, i) => ['Biscoe', 'Dream'][i % 2]!), dims };
  if (input.type === 'bool') return { type: 'bool', data: Uint8Array.from({ length: n }, (_, i) => i % 2), dims };
  if (input.type === 'float64') return { type: 'float64', data: Float64Array.from({ length: n }, () => next() * 100), dims };
  if (input.type === 'float16') return { type: 'float16', data: Uint16Array.from({ length: n }, () => Math.floor(next() * 0x7c00)), dims };
  const values = Array.from({ length: n }, (_, i) => i * 37 - 60);
  if (input.type === 'uint8') return { type: 'uint8', data: Uint8Array.from(values), dims };
  if (input.type === 'int8') return { type: 'int8', data: Int8Array.from(values), dims };
  if (input.type === 'int16') return { type: 'int16', data: Int16Array.from(values), dims };
  if (input.type === 'uint16') return { type: 'uint16', data: Uint16Array.from(values), dims };
  return { type: 'float32', data: Float32Array.from({ length: n }, () => next() * 100), dims };
}

test('the native session is in use, and gives the public API\'s signature and outputs, to the bit, on every fixture model', async () => {
  const files = [...onnxFiles(join(fixtures, 'models')), ...onnxFiles(join(fixtures, 'text'))];
  assert.ok(files.length >= 9, `fixture models: ${files.length}`);
  for (const file of files) {
    const name = relative(fixtures, file);
    const native = await Session.create(file, options);
    const api = await Session.create(file, options, 'public');
    try {
      assert.equal(native.native, true, `${name}: the native binding of the pinned onnxruntime-node`);
      assert.equal(api.native, false);
      assert.deepEqual(native.signature, api.signature, name);
      // A model bento-batch refuses to feed (shapes/uint64_in.onnx) is compared by its signature alone.
      if (native.signature.inputs.some((i) => !(dtypes as readonly string[]).includes(i.type ?? ''))) continue;
      const next = seededRandom(7);
      const feeds = Object.fromEntries(native.signature.inputs.map((i) => [i.name, feed(i, next)]));
      const fetch = native.signature.outputs.filter((o) => o.isTensor).map((o) => o.name);
      // A model these values are no valid input of (shapes/code_embedding.onnx: a category code past its table) fails alike on both.
      const a = await native.run(feeds, fetch).catch((error: Error) => error);
      const b = await api.run(feeds, fetch).catch((error: Error) => error);
      if (a instanceof Error || b instanceof Error) {
        assert.ok(a instanceof Error && b instanceof Error, `${name}: ${String(a instanceof Error ? a.message : (b as Error).message)}`);
        assert.equal(a.message, b.message, name);
        continue;
      }
      assert.deepEqual(Object.keys(a), fetch, name);
      for (const output of fetch) {
        assert.deepEqual([a[output]!.type, a[output]!.dims], [b[output]!.type, b[output]!.dims], `${name} ${output}`);
        assert.deepEqual(a[output]!.data, b[output]!.data, `${name} ${output}`);
      }
      // timedRun times the run alone on either.
      const timed = await native.timedRun(feeds, fetch);
      assert.ok(timed.runMs >= 0 && timed.runMs < 10_000);
      assert.deepEqual(timed.outputs[fetch[0]!]!.data, a[fetch[0]!]!.data);
    } finally {
      await native.dispose();
      await api.dispose();
    }
  }
});

test('allow_spinning reaches onnxruntime through either API and the outputs are the same', async () => {
  const file = join(fixtures, 'models', 'deep-mlp', 'model.onnx');
  const next = seededRandom(3);
  const feeds = { features: { type: 'float32', data: Float32Array.from({ length: 64 * 4 }, () => next() * 100), dims: [64, 4] } };
  const outputs: unknown[] = [];
  for (const [allowSpinning, api] of [[undefined, 'native'], [false, 'native'], [true, 'native'], [false, 'public']] as const) {
    // Two intra-op threads: with one there is no thread pool to spin.
    const session = await Session.create(file, { ...options, intraOp: 2, ...(allowSpinning === undefined ? {} : { allowSpinning }) }, api);
    try {
      outputs.push((await session.run(feeds, ['logits'])).logits!.data);
    } finally {
      await session.dispose();
    }
  }
  for (const o of outputs.slice(1)) assert.deepEqual(o, outputs[0]);
});

test('a model that fails to load fails the same way through either API', async () => {
  const file = join(fixtures, 'data', 'penguins.csv');
  const errors = await Promise.all((['native', 'public'] as const).map((api) => Session.create(file, options, api).then(() => undefined, (e: unknown) => e as Error)));
  for (const error of errors) assert.match(String(error?.message), /protobuf|parsing|INVALID/i);
});

test('batch after batch on the native session, the event loop still turns (a worker\'s message, a stop, the progress counters wait for it)', async () => {
  const session = await Session.create(join(fixtures, 'models', 'penguins', 'model.onnx'), options);
  try {
    const feeds = { features: { type: 'float32', data: new Float32Array(4 * 16).fill(40), dims: [16, 4] } };
    let turned = false;
    setImmediate(() => (turned = true));
    const started = performance.now();
    let runs = 0;
    // Each run resolves at once: without the turns it lets happen, this loop would hold the thread for the whole second.
    while (!turned && performance.now() - started < 1000) {
      await session.run(feeds, ['logits']);
      runs++;
    }
    assert.ok(turned, `no turn in ${runs} runs`);
    assert.ok(performance.now() - started < 200, `the first turn came after ${Math.round(performance.now() - started)} ms`);
  } finally {
    await session.dispose();
  }
});
