/**
 * HybridEncoder: the bytes of hyparquet-writer's RLE / bit-packed hybrid encoder at every width
 * it is used at, for levels and dictionary indexes of every shape.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter } from 'hyparquet-writer';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { HybridEncoder } from '../../src/sink/hybrid.js';
import { HybridReader } from '../../src/source/parquet-hybrid.js';

const encoder = new HybridEncoder();
const encodeHybrid = (values: Uint8Array | Int32Array, width: number, prefix?: number) => encoder.encode(values, width, prefix);

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function theirs(values: Uint8Array | Int32Array, width: number, prefix?: number): Uint8Array {
  const writer = new ByteWriter();
  if (prefix !== undefined) writer.appendUint8(prefix);
  writeRleBitPackedHybrid(writer, values, width);
  return new Uint8Array(writer.getBuffer());
}

describe('HybridEncoder', () => {
  const next = random(3);
  const levels: [string, Uint8Array][] = [
    ['no null', new Uint8Array(65_536).fill(1)],
    ['every 9th null', Uint8Array.from({ length: 10_000 }, (_, i) => (i % 9 === 0 ? 0 : 1))],
    ['random nulls', Uint8Array.from({ length: 10_001 }, () => (next() < 0.3 ? 0 : 1))],
    ['runs of nulls', Uint8Array.from({ length: 5000 }, (_, i) => (Math.floor(i / 37) % 2))],
    ['3 rows', Uint8Array.from([1, 0, 1])],
    ['empty', new Uint8Array(0)],
  ];
  for (const [name, values] of levels) test(`levels, ${name}`, () => assert.deepEqual(encodeHybrid(values, 1).slice(), theirs(values, 1)));
  for (const width of [25, 26, 31, 32]) {
    test(`width ${width} (beyond hyparquet-writer's 32-bit packing from 26): read back as written`, () => {
      const values = Int32Array.from({ length: 4000 }, (_, i) => (i % 100 < 20 ? 12345 : Math.floor(next() * Math.min(2 ** width, 2 ** 31))));
      const bytes = encodeHybrid(values, width).slice();
      const back = new Int32Array(values.length);
      new HybridReader(bytes, width).read(back, 0, values.length);
      assert.deepEqual(back, values);
      if (width === 25) assert.deepEqual(bytes, theirs(values, width));
    });
  }
  for (const width of [0, 1, 2, 3, 7, 8, 9, 12, 16, 17, 24, 25]) {
    test(`dictionary indexes of width ${width}, after the width byte`, () => {
      const top = 2 ** width;
      const values = Int32Array.from({ length: 20_000 }, (_, i) => (Math.floor(i / 50) % 3 === 0 ? (i >> 6) % top : Math.floor(next() * top)));
      assert.deepEqual(encodeHybrid(values, width, width).slice(), theirs(values, width, width));
    });
  }
});
