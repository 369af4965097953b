/**
 * blockArray: zeroed typed arrays carved from shared blocks, each its own rows (no two overlap),
 * aligned for their element type; large ones get a buffer of their own. compact: a view into a
 * block becomes an array that owns its buffer, so posting it copies its rows only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockArray, compact } from '../../src/source/blocks.js';

test('small arrays are zeroed, aligned, non-overlapping views into a shared block', () => {
  const made = [
    blockArray(Uint8Array, 3), blockArray(Float64Array, 256), blockArray(Int32Array, 5),
    blockArray(Uint16Array, 7), blockArray(BigInt64Array, 9), blockArray(Float32Array, 2048),
  ];
  assert.ok(made.every((a) => a.every((v: number | bigint) => Number(v) === 0)), 'zeroed');
  assert.ok(made.every((a) => a.byteOffset % 8 === 0), 'every view starts on 8 bytes');
  assert.ok(made.slice(1).every((a) => a.buffer === made[0]!.buffer), 'one block');
  for (const [i, a] of made.entries()) a.fill((a instanceof BigInt64Array ? BigInt(i + 1) : i + 1) as never);
  made.forEach((a, i) => assert.ok(a.every((v: number | bigint) => Number(v) === i + 1), `array ${i} kept its own values`));
});

test('a full block is replaced, not reused; a large array gets its own buffer', () => {
  const first = blockArray(Float64Array, 4096);
  const seen = new Set([first.buffer]);
  for (let i = 0; i < 40; i++) seen.add(blockArray(Float64Array, 4096).buffer);
  assert.ok(seen.size >= 5, 'blocks of 256 KB hold eight 32 KB arrays');
  assert.ok(first.every((v) => v === 0), 'an earlier view is untouched by later ones');
  const large = blockArray(Float64Array, 65536);
  assert.equal(large.byteOffset, 0);
  assert.equal(large.buffer.byteLength, large.byteLength);
});

test('compact copies a view into a block and keeps an array that owns its buffer', () => {
  const view = blockArray(Float64Array, 10);
  view.set([1, 2, 3]);
  const own = compact(view);
  assert.notEqual(own.buffer, view.buffer);
  assert.equal(own.buffer.byteLength, 80);
  assert.deepEqual(Array.from(own.subarray(0, 4)), [1, 2, 3, 0]);
  const whole = new Float32Array(4);
  assert.equal(compact(whole), whole);
});
