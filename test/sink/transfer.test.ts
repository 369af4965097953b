/**
 * packBatches/unpackBatches: what reaches the writer thread equals what was posted (values,
 * nulls vs undefined, batch lengths), after a real structured clone; text with few distinct
 * values travels as codes, anything else as it was.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { BatchQueue, packBatches, POST_BATCHES, transferList, unpackBatches } from '../../src/sink/transfer.js';
import type { OutputBatch } from '../../src/sink/types.js';
import { cell, cells, CodedColumn, type Column, MaskedColumn } from '../../src/source/types.js';

function batch(length: number, offset: number): OutputBatch {
  const at = (r: number) => offset + r;
  return {
    length,
    columns: new Map<string, ArrayLike<unknown>>([
      ['species', Array.from({ length }, (_, r) => (at(r) % 7 === 0 ? null : at(r) % 17 === 0 ? undefined : ['Adelie', 'Gentoo', 'Chinstrap', 'Ŝpecial "q"'][at(r) % 4]))],
      ['unique', Array.from({ length }, (_, r) => `row ${at(r)},x`)],
      ['mixed', Array.from({ length }, (_, r) => (at(r) % 3 === 0 ? 1.5 : 'one'))],
      ['nulls', Array.from({ length }, () => null)],
      ['mass', Array.from({ length }, (_, r) => (at(r) % 5 === 0 ? null : at(r) % 19 === 0 ? undefined : 3000.25 + at(r)))],
      ['dense', Array.from({ length }, (_, r) => (at(r) % 2 ? -0 : at(r) * 0.1))],
      ['big', Array.from({ length }, (_, r) => BigInt(at(r)))],
      ['score', Float64Array.from({ length }, (_, r) => 1 / (1 + at(r)))],
    ]),
  };
}

/** The message as the thread receives it. */
function throughPort<T>(value: T, transfer: ArrayBuffer[]): T {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(value, transfer);
  const received = receiveMessageOnPort(port2)!.message as T;
  port1.close();
  return received;
}

const plain = (batches: readonly OutputBatch[]) => batches.map((b) => ({ length: b.length, columns: [...b.columns].map(([k, v]) => [k, cells(v)]) }));

describe('batches posted to the writer thread', () => {
  test('arrive with the same values, nulls, undefineds and batch lengths', () => {
    const lengths = [256, 1, 256, 100, 3000];
    const batches = lengths.map((n, i) => batch(n, lengths.slice(0, i).reduce((a, b) => a + b, 0)));
    const packed = packBatches(batches);
    const received = unpackBatches(throughPort(packed, transferList(packed)));
    assert.deepEqual(plain(received), plain(batches));
    assert.ok(Object.is(cell(received[0]!.columns.get('dense')!, 1), -0));
    assert.ok(received[4]!.columns.get('score') instanceof Float64Array);
  });

  test('few distinct strings go as codes, plain number arrays as numbers and marks, typed arrays as one; unique, mixed, all-null and bigint columns as they were', () => {
    const packed = packBatches([batch(4096, 0)]);
    const kind = Object.fromEntries(packed.columns.map(([name, c]) => [name, 'codes' in c ? `codes(${c.strings.length})` : 'numbers' in c ? 'numbers' : 'typed' in c ? 'typed' : 'parts']));
    assert.deepEqual(kind, { species: 'codes(4)', unique: 'parts', mixed: 'parts', nulls: 'parts', mass: 'numbers', dense: 'numbers', big: 'parts', score: 'typed' });
    // Moved, not cloned: the sender's buffers are gone after the post.
    const list = transferList(packed);
    assert.equal(list.length, 1 + 2 * 2 + 1);
    throughPort(packed, list);
    assert.ok(list.every((buffer) => buffer.byteLength === 0));
  });

  test('lists of numbers (an embedding) go as their numbers, ends and marks, and arrive as lists; a list holding anything else as it was', () => {
    const rows = (length: number, offset: number) => Array.from({ length }, (_, r) => ((offset + r) % 5 === 0 ? null : (offset + r) % 7 === 0 ? undefined : (offset + r) % 11 === 0 ? [] : [offset + r, -0, NaN, 0.1 * r]));
    const batches = [[300, 0], [1, 300], [50, 301]].map(([n, offset]) => ({ length: n!, columns: new Map<string, Column>([['emb', rows(n!, offset!)], ['odd', rows(n!, offset!).map((l) => (Array.isArray(l) && l.length > 0 ? [...l, null] : l))]]) }));
    const packed = packBatches(batches);
    assert.deepEqual(packed.columns.map(([name, c]) => [name, 'ends' in c ? 'lists' : 'parts' in c ? 'parts' : 'other']), [['emb', 'lists'], ['odd', 'parts']]);
    const list = transferList(packed);
    assert.equal(list.length, 3);
    const received = unpackBatches(throughPort(packed, list));
    assert.deepEqual(plain(received), plain(batches));
    assert.ok(Object.is((cell(received[0]!.columns.get('emb')!, 1) as number[])[1], -0));
    assert.ok(list.every((buffer) => buffer.byteLength === 0));
  });

  test('typed columns that are views of a larger buffer (a batch of a chunk) go as their own rows only', () => {
    const chunk = Float32Array.from({ length: 8192 }, (_, i) => i / 3);
    const batches = [0, 256, 512].map((from) => ({ length: 256, columns: new Map([['x', chunk.subarray(from, from + 256)]]) }));
    const packed = packBatches(batches);
    const list = transferList(packed);
    assert.deepEqual(list.map((b) => b.byteLength), [768 * 4]);
    const received = unpackBatches(throughPort(packed, list));
    assert.deepEqual(received.map((b) => cells(b.columns.get('x')!)), [0, 256, 512].map((from) => Array.from(chunk.subarray(from, from + 256))));
    assert.ok(received[2]!.columns.get('x') instanceof Float32Array);
    assert.equal(chunk.length, 8192, 'the chunk itself is not moved');
  });

  test('masked number columns (views of their chunk, some batches unmasked) go as one array and one mask, and arrive masked', () => {
    const values = Float64Array.from({ length: 8192 }, (_, i) => i + 0.5);
    const valid = Uint8Array.from({ length: 8192 }, (_, i) => (i % 4 ? 1 : 0));
    const chunk = new MaskedColumn(values, valid);
    const columns = [chunk.subarray(0, 256), values.subarray(256, 300), chunk.subarray(300, 556)];
    const batches = columns.map((x) => ({ length: x.length, columns: new Map([['x', x]]) }));
    const packed = packBatches(batches);
    const list = transferList(packed);
    assert.deepEqual(list.map((b) => b.byteLength), [556 * 8, 556]);
    const received = unpackBatches(throughPort(packed, list));
    assert.deepEqual(received.map((b) => cells(b.columns.get('x')!)), columns.map((x) => cells(x)));
    assert.ok(received.every((b) => b.columns.get('x') instanceof MaskedColumn));
    assert.equal(cell(received[0]!.columns.get('x')!, 4), null);
    assert.equal(cell(received[1]!.columns.get('x')!, 0), 256.5, 'an unmasked batch has every value');
    assert.equal(values.length, 8192, 'the chunk itself is not moved');
  });

  test('a masked column beside other forms in the fallback goes as plain values, not as a classless object', () => {
    const batches = [
      { length: 2, columns: new Map<string, Column>([['x', new MaskedColumn(Float64Array.of(1, 2), Uint8Array.of(0, 1))]]) },
      { length: 2, columns: new Map<string, Column>([['x', [3n, null]]]) },
    ];
    const packed = packBatches(batches);
    const received = unpackBatches(throughPort(packed, transferList(packed)));
    assert.deepEqual(received.map((b) => cells(b.columns.get('x')!)), [[null, 2], [3n, null]]);
  });

  test('coded columns go as the strings their rows use and a code per row; one beside plain arrays goes as plain values', () => {
    const labels = ['Adelie', 'Chinstrap', 'Gentoo'];
    const batches = [
      { length: 3, columns: new Map<string, Column>([['s', new CodedColumn(Int32Array.of(2, -1, 2), labels)]]) },
      { length: 2, columns: new Map<string, Column>([['s', new CodedColumn(Int32Array.of(0, 2), labels)]]) },
      // Another row group's dictionary.
      { length: 2, columns: new Map<string, Column>([['s', new CodedColumn(Int32Array.of(1, 0), ['Gentoo', 'Dream'])]]) },
    ];
    const packed = packBatches(batches);
    const [, s] = packed.columns[0]!;
    assert.ok('codes' in s);
    assert.deepEqual(s.strings, ['Gentoo', 'Adelie', 'Dream', 'Gentoo']);
    const received = unpackBatches(throughPort(packed, transferList(packed)));
    assert.deepEqual(received.map((b) => cells(b.columns.get('s')!)), [['Gentoo', null, 'Gentoo'], ['Adelie', 'Gentoo'], ['Dream', 'Gentoo']]);
    const mixed = [batches[0]!, { length: 2, columns: new Map<string, Column>([['s', ['Dream', null]]]) }];
    const mixedPacked = packBatches(mixed);
    const back = unpackBatches(throughPort(mixedPacked, transferList(mixedPacked)));
    assert.deepEqual(back.map((b) => cells(b.columns.get('s')!)), [['Gentoo', null, 'Gentoo'], ['Dream', null]]);
  });

  test('a typed part that is a view into a larger buffer (a shared block) goes as its own rows in the fallback', () => {
    const block = new Float64Array(32768);
    const view = block.subarray(1024, 1026);
    view.set([0.25, 0.5]);
    const batches = [
      { length: 2, columns: new Map<string, Column>([['x', view]]) },
      { length: 2, columns: new Map<string, Column>([['x', [1n, null]]]) },
    ];
    const packed = packBatches(batches);
    const [, x] = packed.columns[0]!;
    assert.ok('parts' in x);
    const sent = x.parts[0] as Float64Array;
    assert.equal(sent.buffer.byteLength, 16, 'not the whole block');
    const received = unpackBatches(throughPort(packed, transferList(packed)));
    assert.deepEqual(received.map((b) => cells(b.columns.get('x')!)), [[0.25, 0.5], [1n, null]]);
  });

  test('a queue posts once it holds POST_ROWS rows or POST_BATCHES batches, whichever comes first, and on a flush', () => {
    const posts: [batches: number, rows: number][] = [];
    const queue = new BatchQueue(4096, (batches, rows) => posts.push([batches.length, rows]));
    const batch = (length: number): OutputBatch => ({ length, columns: new Map([['x', new Float64Array(length)]]) });
    for (let i = 0; i < 20; i++) queue.add(batch(256));
    // Batches of one row: each waits as an object of its own, so they are posted a few dozen at a time.
    for (let i = 0; i < POST_BATCHES + 5; i++) queue.add(batch(1));
    queue.flush();
    queue.flush();
    assert.deepEqual(posts, [[16, 4096], [POST_BATCHES, 4 * 256 + POST_BATCHES - 4], [9, 9]]);
    assert.equal(queue.rows, 0);
  });

  test('no batches, no columns', () => {
    assert.deepEqual(unpackBatches(packBatches([])), []);
  });
});
