/**
 * HybridReader: values written by hyparquet-writer's RLE / bit-packed hybrid encoder read back
 * exactly, at every bit width, in reads and skips of any length (a chunk of rows ends anywhere
 * inside a run).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter } from 'hyparquet-writer';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { HybridReader } from '../../src/source/parquet-hybrid.js';

/** A small seeded generator, so a failure repeats. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** Runs of one value (RLE) between stretches of varied ones (bit-packed), below 2^width. */
function values(width: number, count: number, next: () => number): number[] {
  const top = Math.min(2 ** width, 2 ** 31);
  const out: number[] = [];
  while (out.length < count) {
    const run = Math.floor(next() * 40) + 1;
    const same = next() < 0.4;
    const value = Math.floor(next() * top);
    for (let i = 0; i < run && out.length < count; i++) out.push(same ? value : Math.floor(next() * top));
  }
  return out;
}

/** hyparquet-writer's encoder (its bit packing holds values of up to 24 bits in a 32-bit word). */
function encode(list: number[], width: number): Uint8Array {
  const writer = new ByteWriter();
  writeRleBitPackedHybrid(writer, list, width);
  return new Uint8Array(writer.getBuffer());
}

/** The format from its spec, for any width: an RLE run for 8 or more equal values, else bit-packed groups of 8, packed in a BigInt. */
function encodeReference(list: number[], width: number): Uint8Array {
  const out: number[] = [];
  const varint = (n: number) => {
    for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
    out.push(n);
  };
  for (let i = 0; i < list.length;) {
    let run = 1;
    while (i + run < list.length && list[i + run] === list[i]) run++;
    if (run >= 8) {
      varint(run * 2);
      for (let b = 0; b < (width + 7) >> 3; b++) out.push(Math.floor(list[i]! / 2 ** (8 * b)) % 256);
      i += run;
      continue;
    }
    const group = list.slice(i, i + 8);
    varint(3); // one group of 8
    let bits = 0n;
    group.forEach((v, k) => (bits |= BigInt(v) << BigInt(k * width)));
    for (let b = 0; b < width; b++) out.push(Number((bits >> BigInt(8 * b)) & 0xffn));
    i += 8;
  }
  return new Uint8Array(out);
}

describe('HybridReader', () => {
  const cases = [
    ...[1, 2, 3, 5, 8, 9, 13, 16, 20, 24].map((width) => ({ width, by: 'hyparquet-writer', encoder: encode })),
    ...[3, 13, 24, 25, 31, 32].map((width) => ({ width, by: 'the spec', encoder: encodeReference })),
  ];
  for (const { width, by, encoder } of cases) {
    test(`width ${width}, encoded by ${by}: reads and skips of any length give the values written`, () => {
      const next = random(width);
      const expected = values(width, 5000, next);
      const reader = new HybridReader(encoder(expected, width), width);
      const out = new Int32Array(expected.length);
      for (let at = 0; at < expected.length;) {
        const n = Math.min(expected.length - at, Math.floor(next() * 300) + 1);
        if (next() < 0.2) {
          reader.skip(n);
          out.set(expected.slice(at, at + n), at);
        } else {
          // What read says of the values: one value they all are, or -1.
          const same = reader.read(out, at, n);
          if (same !== -1) assert.ok(expected.slice(at, at + n).every((v) => (v | 0) === same), `read at ${at} of ${n} says all are ${same}`);
        }
        at += n;
      }
      assert.deepEqual(Array.from(out), expected.map((v) => v | 0));
    });
  }

  test('reads of a few values at a time, each starting where the last stopped inside a byte, give the values written (width 1: eight a byte after the first whole one)', () => {
    const next = random(7);
    const expected = Array.from({ length: 4000 }, () => (next() < 0.5 ? 1 : 0));
    for (const width of [1, 2, 3]) {
      const written = expected.map((v, i) => (width === 1 ? v : (v + i) % 2 ** width));
      for (const pieces of [[1], [3, 2, 11], [2, 2, 2, 10], [7, 1, 9], [5, 6, 7]]) {
        const reader = new HybridReader(encodeReference(written, width), width);
        const out = new Int32Array(written.length);
        for (let at = 0, k = 0; at < written.length; k++) {
          const n = Math.min(pieces[k % pieces.length]!, written.length - at);
          reader.read(out, at, n);
          at += n;
        }
        assert.deepEqual(Array.from(out), written, `width ${width}, reads of ${pieces.join(', ')}`);
      }
    }
  });

  test('read tells where its values all came from runs of one value (a list column\'s full definition levels), else -1', () => {
    // Two RLE runs of 5 (as a writer may split one), one of 7, then a bit-packed group.
    // Headers: a run of n is 2n, a group of 8 bit-packed values 3 (eight 5s of 3 bits, least significant first).
    const stream = Uint8Array.of(20, 5, 12, 5, 28, 7, 3, 0x6d, 0xdb, 0xb6);
    const reader = new HybridReader(stream, 3);
    const out = new Uint8Array(38);
    assert.equal(reader.read(out, 0, 4), 5);
    assert.equal(reader.read(out, 4, 10), 5, 'across the two runs of 5');
    assert.equal(reader.read(out, 14, 6), -1, 'a run of 5 and one of 7');
    assert.equal(reader.read(out, 20, 10), 7);
    assert.equal(reader.read(out, 30, 8), -1, 'bit-packed, though all its values are 5');
    assert.deepEqual(Array.from(out), [...Array(16).fill(5), ...Array(14).fill(7), ...Array(8).fill(5)]);
    assert.equal(new HybridReader(new Uint8Array(0), 0).read(new Uint8Array(3), 0, 3), 0, 'width 0: zeros');
  });

  test('levels into a Uint8Array; width 0 reads zeros; reading past the end throws', () => {
    const levels = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0];
    const reader = new HybridReader(encode(levels, 1), 1);
    const out = new Uint8Array(levels.length);
    reader.read(out, 0, 7);
    reader.read(out, 7, levels.length - 7);
    assert.deepEqual(Array.from(out), levels);
    const zeros = new Int32Array(5).fill(9);
    new HybridReader(new Uint8Array(0), 0).read(zeros, 0, 5);
    assert.deepEqual(Array.from(zeros), [0, 0, 0, 0, 0]);
    const short = new HybridReader(encode([3, 3, 3, 3, 3, 3, 3, 3], 2), 2);
    short.read(new Int32Array(8), 0, 8);
    assert.throws(() => short.read(new Int32Array(1), 0, 1), /the page ends before its last value/);
  });
});
