/**
 * preprocess (batch columns → input tensors: fill, categories, padding, INVALID_VALUE naming
 * column/file/row) and postprocess (softmax, sigmoid, argmax label, score, probabilities,
 * values, list; padding rows dropped; width mismatch).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Batch } from '../../src/batch/batcher.js';
import type { BentoError } from '../../src/errors.js';
import { type Manifest, parseManifest } from '../../src/model/manifest.js';
import { postprocess, predictionFields } from '../../src/model/postprocess.js';
import { preprocess } from '../../src/model/preprocess.js';
import type { TensorData } from '../../src/model/session.js';
import { cell, cells, CodedColumn, type Column, MaskedColumn } from '../../src/source/types.js';
import { assertClose, seededRandom, throwsWith } from '../helpers.js';

function manifest(inputs: unknown[], outputs: unknown[] = [{ tensor: 'y', columns: { values: ['pred'] } }], fixed = false): Manifest {
  return parseManifest({ bento: 1, name: 'm', version: '1', batch: { max_size: 8, fixed }, inputs, outputs }, '/b/bento.yaml');
}

/** A batch of `columns` whose rows 0..k come from a.csv rows 11.., the rest from b.csv rows 1... */
function batch(columns: Record<string, Column>, fromA = 2): Batch {
  const length = Object.values(columns)[0]!.length;
  return {
    index: 3, start: 40, length,
    columns: new Map(Object.entries(columns)),
    segments: [
      { file: '/data/a.csv', fileRow: 10, offset: 0, length: fromA },
      { file: '/data/b.csv', fileRow: 0, offset: fromA, length: length - fromA },
    ],
    end: { file: 1, row: length - fromA },
  };
}


const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));

describe('preprocess', () => {
  test('columns go into a [batch, n] float32 tensor in manifest order, missing cells filled per column', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 3], columns: ['c', 'a', 'b'], fill: [7.5, 8.5, 9.5] }]);
    const feeds = preprocess(batch({ a: [1, null, '3.25'], b: [4, 'NA', 6], c: [0.1, 0.2, ''] }), m, 3);
    const x = feeds.x!;
    assert.equal(x.type, 'float32');
    assert.deepEqual(x.dims, [3, 3]);
    assert.ok(x.data instanceof Float32Array);
    assert.deepEqual(Array.from(x.data as Float32Array), f32([0.1, 1, 4, 0.2, 8.5, 9.5, 7.5, 3.25, 6]));
  });

  test('a single fill value applies to every column; typed-array columns are copied as they are', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float64', shape: ['batch', 2], columns: ['a', 'b'], fill: -1 }]);
    const feeds = preprocess(batch({ a: Float64Array.of(1.5, 2.5), b: [null, 3] }), m, 2);
    assert.equal(feeds.x!.type, 'float64');
    assert.deepEqual(Array.from(feeds.x!.data as Float64Array), [1.5, -1, 2.5, 3]);
  });

  test('masked number columns (Parquet with nulls) fill their null cells, and NaN in a typed column counts as missing, as "NaN" in a text cell does', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 2], columns: ['a', 'b'], fill: [-1, -2] }]);
    const a = new MaskedColumn(Float64Array.of(1.5, 99, 3.5), Uint8Array.of(1, 0, 1));
    const feeds = preprocess(batch({ a, b: Float32Array.of(NaN, 4, 5) }), m, 3);
    assert.deepEqual(Array.from(feeds.x!.data as Float32Array), [1.5, -2, -1, 4, 3.5, 5]);
    const bare = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }]);
    const error = throwsWith(() => preprocess(batch({ a }), bare, 3), 'INVALID_VALUE',
      'Invalid value: column "a" expects float32 (tensor "x"); it has no value and the tensor has no fill, got an empty cell at /data/a.csv row 12');
    assert.equal(error.hint, 'Fix the row, or give tensor "x" a `fill` value in bento.yaml.');
    const ints = manifest([{ tensor: 'n', dtype: 'int64', shape: ['batch'], columns: ['n'], fill: 7 }]);
    const n = preprocess(batch({ n: new MaskedColumn(BigInt64Array.of(3n, 0n), Uint8Array.of(1, 0)) }), ints, 2);
    assert.deepEqual(Array.from(n.n!.data as BigInt64Array), [3n, 7n]);
  });

  test('a list column feeds a [batch, N] tensor: lists of numbers as they are, padded rows zero; a batch with an odd cell goes element by element, with the same values for the plain ones', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 3], columns: ['emb'], fill: [7.5, 8.5, 9.5] }]);
    const plain = preprocess(batch({ emb: [[1.5, 2, 3], Float64Array.of(4, 5, 6.25), [0.1, -0, Infinity]] }), m, 4);
    assert.deepEqual(plain.x!.dims, [4, 3]);
    assert.deepEqual(Array.from(plain.x!.data as Float32Array), [...f32([1.5, 2, 3, 4, 5, 6.25, 0.1, -0, Infinity]), 0, 0, 0]);
    // A missing element takes its fill, NaN is missing too, and text is read as a number: the other rows keep their values.
    const odd = preprocess(batch({ emb: [[1.5, 2, 3], [4, null, 6], [NaN, '2.5', 1]] }), m, 3);
    assert.deepEqual(Array.from(odd.x!.data as Float32Array), f32([1.5, 2, 3, 4, 8.5, 6, 7.5, 2.5, 1]));
    const missing = preprocess(batch({ emb: [[1.5, 2, 3], [4, null, undefined], null, [NaN, 2, 1]] }), m, 4);
    assert.deepEqual(Array.from(missing.x!.data as Float32Array), f32([1.5, 2, 3, 4, 8.5, 9.5, 7.5, 8.5, 9.5, 7.5, 2, 1]));
    // Text (a CSV cell, bytes) is read as a list: JSON's or numpy's, numbers as a cell's, a missing element filled.
    const text = preprocess(batch({ emb: ['[1.5, 2, 3e-2]', '[4 NA\n 6.25]', new TextEncoder().encode('[null, 1E2, -0]'), '[7,8,9]'] }), m, 4);
    assert.deepEqual(Array.from(text.x!.data as Float32Array), f32([1.5, 2, 0.03, 4, 8.5, 6.25, 7.5, 100, -0, 7, 8, 9]));
    // A Python list of numpy 2 scalars as pandas writes it (`list(array)`, then to_csv); nan is missing.
    const scalars = preprocess(batch({ emb: ['[np.float32(1.5), np.float64(-2.0), np.int64(3)]', '[np.float32(nan), np.float16(1e-2), np.uint8(7)]'] }), m, 2);
    assert.deepEqual(Array.from(scalars.x!.data as Float32Array), f32([1.5, -2, 3, 7.5, 0.01, 7]));
    const notScalars = new Map<number, BentoError>();
    preprocess(batch({ emb: ['[np.float32(1), 2, 3]', '[np.float32((1)), 2, 3]', '[pd.float32(1), 2, 3]', '[np.float32 (1), 2, 3]'] }), m, 4, notScalars);
    assert.deepEqual([...notScalars.keys()].sort(), [1, 2, 3]);
    const wrong = new Map<number, BentoError>();
    preprocess(batch({ emb: ['[1, 2, 3]', '[1, x, 3]', '[1, 2]', ''] }), m, 4, wrong);
    assert.deepEqual([...wrong.keys()].sort(), [1, 2]);
    // Without a fill a missing element is a bad row, however the batch is read.
    const bare = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 3], columns: ['emb'] }]);
    const gaps = new Map<number, BentoError>();
    preprocess(batch({ emb: [[1, 2, 3], [1, NaN, 3], null] }), bare, 3, gaps);
    assert.deepEqual([...gaps.keys()].sort(), [1, 2]);
    // Nested as the input's dimensions (or flat), each level of its length.
    const square = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 2, 2], columns: ['emb'], fill: 0 }]);
    assert.deepEqual(Array.from(preprocess(batch({ emb: [[[1, 2], [3, null]], [5, 6, 7, 8]] }), square, 2).x!.data as Float32Array), [1, 2, 3, 0, 5, 6, 7, 8]);
    const crooked = new Map<number, BentoError>();
    preprocess(batch({ emb: [[[1, 2], [3, 4]], [[1, 2, 3], [4]], [[1, 2], 3, 4]] }), square, 3, crooked);
    assert.deepEqual([...crooked.keys()].sort(), [1, 2]);
    // A double past float32's range is a bad row, not Infinity; float16 and float64 tensors round their own way.
    // float32's largest value passes; the least double that rounds past it (either sign) does not.
    const errors = new Map<number, BentoError>();
    const f32max = 3.4028234663852886e38;
    preprocess(batch({ emb: [[1, 2, 3], [1, 3.5e38, 3]] }), m, 2, errors);
    assert.deepEqual([...errors.keys()], [1]);
    assert.deepEqual(Array.from(preprocess(batch({ emb: [[f32max, -f32max, 0]] }), m, 1).x!.data as Float32Array), [f32max, -f32max, 0]);
    for (const past of [[3.4028235677973366e38, 0, 0], [0, -3.4028235677973366e38, 0]]) {
      const rows = new Map<number, BentoError>();
      preprocess(batch({ emb: [[1, 2, 3], past] }), m, 2, rows);
      assert.deepEqual([...rows.keys()], [1], String(past));
    }
    assert.match(errors.get(1)!.message, /within float32's range/);
    const half = manifest([{ tensor: 'x', dtype: 'float16', shape: ['batch', 2], columns: ['emb'] }]);
    assert.deepEqual(Array.from(preprocess(batch({ emb: [[1, 0.1]] }), half, 1).x!.data as Uint16Array), [0x3c00, 0x2e66]);
    const wide = manifest([{ tensor: 'x', dtype: 'float64', shape: ['batch', 2], columns: ['emb'] }]);
    assert.deepEqual(Array.from(preprocess(batch({ emb: [[0.1, 1e300]] }), wide, 1).x!.data as Float64Array), [0.1, 1e300]);
  });

  test('typed rows (a Parquet list only the model reads) give the tensor and bad rows that the same lists as arrays give: NaN takes its fill, ±Infinity stays, a double past float32\'s range is a bad row, wherever it is in the row', () => {
    // Seven floats a row: the odd ones out go in each place, the last three past the row's fours too.
    const row = [1.5, -2, 3, 4.25, 5, -6, 0.1];
    const odd = [NaN, Infinity, -Infinity, 3.5e38, -3.4028235677973366e38, 1e300];
    for (const dtype of ['float32', 'float64'] as const) {
      for (const fill of [0.5, undefined]) {
        const m = manifest([{ tensor: 'x', dtype, shape: ['batch', 7], columns: ['emb'], ...(fill === undefined ? {} : { fill }) }]);
        const lists: number[][] = [row];
        for (let k = 0; k < 7; k++) for (const x of odd) lists.push(row.map((v, j) => (j === k ? x : v)));
        for (const Type of [Float32Array, Float64Array]) {
          const typed = lists.map((list) => Type.from(list));
          const [asArrays, asTyped] = [new Map<number, BentoError>(), new Map<number, BentoError>()];
          const want = preprocess(batch({ emb: typed.map((list) => Array.from(list)) }), m, lists.length, asArrays);
          const got = preprocess(batch({ emb: typed }), m, lists.length, asTyped);
          const label = `${Type.name} rows into ${dtype}, fill ${fill}`;
          assert.deepEqual([...asTyped].map(([i, e]) => [i, e.message]), [...asArrays].map(([i, e]) => [i, e.message]), label);
          // A bad row's place holds what it may (it is dropped from the output); the good rows' are the same.
          const good = (data: unknown) => Array.from(data as Float32Array).filter((_, k) => !asTyped.has(Math.floor(k / 7)));
          assert.deepEqual(good(got.x!.data), good(want.x!.data), label);
          // The plain row and, with a fill, the NaN rows are good; a float32 tensor refuses doubles past its range.
          const bad = [...asTyped.keys()].map((i) => lists[i]!.find((v) => !row.includes(v)));
          assert.ok(!asTyped.has(0), label);
          assert.equal(bad.some((v) => Number.isNaN(v)), fill === undefined, label);
          assert.equal(bad.some((v) => v === 3.5e38), dtype === 'float32' && Type === Float64Array, label);
          assert.ok(!bad.some((v) => v === Infinity || v === -Infinity), label);
        }
      }
    }
  });

  test('typed rows one after another in one buffer (a page read in place) are the tensor itself, nothing copied, where every value is finite and the batch is not padded', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 3], columns: ['emb'], fill: 0.5 }]);
    const page = Float32Array.from({ length: 30 }, (_, k) => k / 4);
    const rows = (values: Float32Array, n = 4, from = 0) => Array.from({ length: n }, (_, i) => values.subarray(from + i * 3, from + i * 3 + 3));
    const inPlace = preprocess(batch({ emb: rows(page, 4, 6) }), m, 4).x!;
    assert.equal((inPlace.data as Float32Array).buffer, page.buffer);
    assert.deepEqual([(inPlace.data as Float32Array).byteOffset, inPlace.dims], [24, [4, 3]]);
    assert.deepEqual(Array.from(inPlace.data as Float32Array), Array.from(page.subarray(6, 18)));
    // Otherwise copied, with the same values: padded, a gap between two rows, a NaN to fill (the page keeps it), rows of doubles.
    const gap = rows(page);
    gap[2] = page.subarray(9, 12);
    const nan = page.slice();
    nan[4] = NaN;
    const cases: [string, Column, number, number[]][] = [
      ['padded', rows(page), 5, [...Array.from(page.subarray(0, 12)), 0, 0, 0]],
      ['a gap', gap, 4, [...Array.from(page.subarray(0, 6)), ...Array.from(page.subarray(9, 12)), ...Array.from(page.subarray(9, 12))]],
      ['a NaN', rows(nan), 4, Array.from(nan.subarray(0, 12), (v) => (Number.isNaN(v) ? 0.5 : v))],
      ['doubles', rows(Float64Array.from(page) as unknown as Float32Array), 4, Array.from(page.subarray(0, 12))],
    ];
    for (const [label, column, padTo, expected] of cases) {
      const tensor = preprocess(batch({ emb: column }), m, padTo).x!;
      assert.notEqual((tensor.data as Float32Array).buffer, page.buffer, label);
      assert.deepEqual(Array.from(tensor.data as Float32Array), expected, label);
    }
    assert.ok(Number.isNaN(nan[4]!), 'the rows are not written to');
    // Nor a whole buffer, which a post to a model worker would move, the rows' values with it.
    const whole = preprocess(batch({ emb: rows(page, 10) }), manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 3], columns: ['emb'] }]), 10).x!;
    assert.notEqual((whole.data as Float32Array).buffer, page.buffer);
    assert.deepEqual(Array.from(whole.data as Float32Array), Array.from(page));
  });

  test('categories map text to indices (int64), fill covers missing cells', () => {
    const m = manifest([{ tensor: 'island', dtype: 'int64', shape: ['batch'], columns: ['island'], categories: ['Biscoe', 'Dream', 'Torgersen'], fill: 1 }]);
    const feeds = preprocess(batch({ island: ['Torgersen', 'Biscoe', null, 'Dream'] }), m, 4);
    assert.equal(feeds.island!.type, 'int64');
    assert.deepEqual(feeds.island!.dims, [4]);
    assert.deepEqual(Array.from(feeds.island!.data as BigInt64Array), [2n, 0n, 1n, 1n]);
    // The missing-value tokens a number column knows are missing here too, unless one is a category.
    const tokens = preprocess(batch({ island: ['NA', 'N/A', 'null', '', 'Dream'] }), m, 5);
    assert.deepEqual(Array.from(tokens.island!.data as BigInt64Array), [1n, 1n, 1n, 1n, 1n]);
    const na = manifest([{ tensor: 'c', dtype: 'int64', shape: ['batch'], columns: ['c'], categories: ['NA', 'EU'] }]);
    assert.deepEqual(Array.from(preprocess(batch({ c: ['NA', 'EU'] }), na, 2).c!.data as BigInt64Array), [0n, 1n]);
    // A code a CSV keeps as text for its leading zero finds the category trained as its number, and the one trained as its text.
    const months = manifest([{ tensor: 'm', dtype: 'int64', shape: ['batch'], columns: ['m'], categories: ['1', '2', '03'] }]);
    assert.deepEqual(Array.from(preprocess(batch({ m: ['01', '2', '03', 1, '1.0', '+2'] }), months, 6).m!.data as BigInt64Array), [0n, 1n, 2n, 0n, 0n, 1n]);
  });

  test('int32 categories and plain integer columns', () => {
    const m = manifest([
      { tensor: 'k', dtype: 'int32', shape: ['batch', 1], columns: ['k'], categories: ['x', 'y'] },
      { tensor: 'n', dtype: 'int64', shape: ['batch', 1], columns: ['n'] },
    ]);
    const feeds = preprocess(batch({ k: ['y', 'x'], n: [3n, '4'] }), m, 2);
    assert.deepEqual([feeds.k!.type, ...feeds.k!.dims, ...Array.from(feeds.k!.data as Int32Array)], ['int32', 2, 1, 1, 0]);
    assert.deepEqual(Array.from(feeds.n!.data as BigInt64Array), [3n, 4n]);
  });

  test('a number written in a locale\'s way (from a CSV file) gets a hint naming the input.csv keys to set', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }]);
    const hint = (value: string) => {
      try {
        preprocess(batch({ a: [1, value] }, 1), m, 2);
      } catch (error) {
        assert.equal((error as BentoError).code, 'INVALID_VALUE');
        return (error as BentoError).hint;
      }
      assert.fail(`${value} read as a number`);
    };
    assert.equal(hint('39,1'), 'The number has a decimal comma: set input.csv.decimal: "," (Excel writes one where the comma is the decimal mark).');
    assert.equal(hint('1,234'), 'The number has a comma: set input.csv.decimal: "," if it is the decimal mark (1,5 is 1.5), or input.csv.thousands: "," if it separates thousands (1,234 is 1234).');
    assert.equal(hint('-1,234,567.5'), 'The number has thousands separators: set input.csv.thousands: ",".');
    assert.equal(hint('1.234,5'), 'The number has thousands separators and a decimal comma: set input.csv.thousands: "." and input.csv.decimal: ",".');
    assert.equal(hint('1\u00a0234,5'), 'The number has spaces between groups of digits: set input.csv.thousands: " " (no-break spaces count too) and input.csv.decimal: ",".');
    assert.equal(hint('1 234'), 'The number has spaces between groups of digits: set input.csv.thousands: " " (no-break spaces count too).');
    assert.equal(hint('12 apples'), 'Fix or remove the value in the input.');
  });

  test('an unknown category is INVALID_VALUE naming column, file and row', () => {
    const m = manifest([{ tensor: 'island', dtype: 'int64', shape: ['batch'], columns: ['island'], categories: ['Biscoe', 'Dream', 'Torgersen'] }]);
    const error = throwsWith(() => preprocess(batch({ island: ['Dream', 'Biscoe', 'Atlantis'] }), m, 3), 'INVALID_VALUE',
      'Invalid value: column "island" expects one of [Biscoe, Dream, Torgersen] (tensor "island"), got "Atlantis" at /data/b.csv row 1');
    assert.equal(error.file, '/data/b.csv');
    assert.equal(error.row, 1);
    assert.equal(error.column, 'island');
    assert.equal(error.hint, 'Fix or remove the value in the input.');
  });

  test('a missing category without fill is INVALID_VALUE', () => {
    const m = manifest([{ tensor: 'island', dtype: 'int64', shape: ['batch'], columns: ['island'], categories: ['Biscoe'] }]);
    const error = throwsWith(() => preprocess(batch({ island: ['Biscoe', ''] }), m, 2), 'INVALID_VALUE',
      'Invalid value: column "island" expects int64 (tensor "island"); it has no value and the tensor has no fill, got an empty cell at /data/a.csv row 12');
    assert.equal(error.hint, 'Fix the row, or give tensor "island" a `fill` value in bento.yaml.');
  });

  test('a missing float cell without fill is INVALID_VALUE with a fill hint', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 2], columns: ['a', 'b'] }]);
    const error = throwsWith(() => preprocess(batch({ a: [1, 2, 3], b: [1, null, 3] }), m, 3), 'INVALID_VALUE',
      'Invalid value: column "b" expects float32 (tensor "x"); it has no value and the tensor has no fill, got an empty cell at /data/a.csv row 12');
    assert.equal(error.hint, 'Fix the row, or give tensor "x" a `fill` value in bento.yaml.');
    // A CSV cell read as text for a CSV output is "" where it is empty: the same error, value and hint.
    const empty = throwsWith(() => preprocess(batch({ a: ['1', '2', '3'], b: ['1', '', '3'] }), m, 3, undefined, true), 'INVALID_VALUE',
      'Invalid value: column "b" expects float32 (tensor "x"); it has no value and the tensor has no fill, got an empty cell at /data/a.csv row 12');
    assert.deepEqual([empty.value, empty.hint], [null, error.hint]);
  });

  test('a non-numeric cell is INVALID_VALUE', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'], fill: 0 }]);
    throwsWith(() => preprocess(batch({ a: [1, 2, 'abc'] }), m, 3), 'INVALID_VALUE',
      'Invalid value: column "a" expects float32 (tensor "x"), got "abc" at /data/b.csv row 1');
  });

  test('a fractional value for an integer tensor is INVALID_VALUE', () => {
    const m = manifest([{ tensor: 'n', dtype: 'int64', shape: ['batch'], columns: ['n'] }]);
    throwsWith(() => preprocess(batch({ n: [1.5] }, 1), m, 1), 'INVALID_VALUE',
      'Invalid value: column "n" expects int64 (tensor "n"), a whole number, got 1.5 at /data/a.csv row 11');
  });

  test('an int32 value out of range is INVALID_VALUE', () => {
    const m = manifest([{ tensor: 'n', dtype: 'int32', shape: ['batch'], columns: ['n'] }]);
    throwsWith(() => preprocess(batch({ n: [3_000_000_000] }, 1), m, 1), 'INVALID_VALUE',
      'Invalid value: column "n" expects int32 (tensor "n"), within the int32 range, got 3000000000 at /data/a.csv row 11');
  });

  test('an int64 value past its range is INVALID_VALUE, not wrapped (a UBIGINT 2^64 - 1 fed as -1, 1e19 as -8.4e18); its edges pass', () => {
    const m = manifest([{ tensor: 'n', dtype: 'int64', shape: ['batch'], columns: ['n'] }]);
    const within = 'expects int64 (tensor "n"), within the int64 range (-2^63 to 2^63 - 1)';
    throwsWith(() => preprocess(batch({ n: [18446744073709551615n] }, 1), m, 1), 'INVALID_VALUE', `Invalid value: column "n" ${within}, got 18446744073709551615 at /data/a.csv row 11`);
    throwsWith(() => preprocess(batch({ n: [1e19] }, 1), m, 1), 'INVALID_VALUE', `Invalid value: column "n" ${within}, got 10000000000000000000 at /data/a.csv row 11`);
    throwsWith(() => preprocess(batch({ n: ['-1e19'] }, 1), m, 1), 'INVALID_VALUE', `Invalid value: column "n" ${within}, got "-1e19" at /data/a.csv row 11`);
    throwsWith(() => preprocess(batch({ n: [2 ** 63] }, 1), m, 1), 'INVALID_VALUE', `Invalid value: column "n" ${within}, got 9223372036854776000 at /data/a.csv row 11`);
    assert.deepEqual(Array.from(preprocess(batch({ n: [9223372036854775807n, -(2 ** 63), '-9223372036854775808'] }, 3), m, 3).n!.data as BigInt64Array), [9223372036854775807n, -9223372036854775808n, -9223372036854775808n]);
    // pandas writes an integer column with a missing value as 123.0: its digits are kept past 2^53 too.
    assert.deepEqual(Array.from(preprocess(batch({ n: ['9007199254740993.0', ' -5. '] }, 2), m, 2).n!.data as BigInt64Array), [9007199254740993n, -5n]);
    // A fraction written out is none, though its double is whole; an exponent's whole value is one.
    throwsWith(() => preprocess(batch({ n: ['9007199254740993.5'] }, 1), m, 1), 'INVALID_VALUE', 'Invalid value: column "n" expects int64 (tensor "n"), a whole number, got "9007199254740993.5" at /data/a.csv row 11');
    throwsWith(() => preprocess(batch({ n: ['12.0000000000000000001'] }, 1), m, 1), 'INVALID_VALUE', 'Invalid value: column "n" expects int64 (tensor "n"), a whole number, got "12.0000000000000000001" at /data/a.csv row 11');
    assert.deepEqual(Array.from(preprocess(batch({ n: ['1.5e3'] }, 1), m, 1).n!.data as BigInt64Array), [1500n]);
  });

  test('a finite value past float32\'s range is INVALID_VALUE for a float32 tensor, not Infinity in it; ±Infinity itself and float64 tensors pass', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }]);
    throwsWith(() => preprocess(batch({ a: ['1e39'] }, 1), m, 1), 'INVALID_VALUE',
      'Invalid value: column "a" expects float32 (tensor "x"), within float32\'s range (±3.4e38), got "1e39" at /data/a.csv row 11');
    throwsWith(() => preprocess(batch({ a: Float64Array.of(-1e300) }, 1), m, 1), 'INVALID_VALUE',
      'Invalid value: column "a" expects float32 (tensor "x"), within float32\'s range (±3.4e38), got -1e+300 at /data/a.csv row 11');
    assert.deepEqual(Array.from(preprocess(batch({ a: ['inf', 3.4e38, Float32Array.of(-Infinity)[0]!] }, 3), m, 3).x!.data as Float32Array), [Infinity, Math.fround(3.4e38), -Infinity]);
    const wide = manifest([{ tensor: 'x', dtype: 'float64', shape: ['batch', 1], columns: ['a'] }]);
    assert.deepEqual(Array.from(preprocess(batch({ a: Float64Array.of(1e300) }, 1), wide, 1).x!.data as Float64Array), [1e300]);
  });

  test('bool and string tensors', () => {
    const m = manifest([
      { tensor: 'flag', dtype: 'bool', shape: ['batch'], columns: ['flag'] },
      { tensor: 'text', dtype: 'string', shape: ['batch'], columns: ['text'] },
    ]);
    const feeds = preprocess(batch({ flag: [true, 'False', 1, '0'], text: ['a', 'b c', 7, { k: 1 }] }), m, 4);
    assert.equal(feeds.flag!.type, 'bool');
    assert.deepEqual(Array.from(feeds.flag!.data as Uint8Array), [1, 0, 1, 0]);
    assert.deepEqual(feeds.text!.data, ['a', 'b c', '7', '{"k":1}']);
    throwsWith(() => preprocess(batch({ flag: ['yes', 1], text: ['a', 'b'] }), m, 2), 'INVALID_VALUE',
      'Invalid value: column "flag" expects bool (tensor "flag") (true/false), got "yes" at /data/a.csv row 11');
  });

  test('a string tensor: a missing cell is one whatever the output (a CSV cell read as text is ""), filled by a text fill; a FLOAT cell is its printed text; NaN fills a float tensor', () => {
    const m = manifest([{ tensor: 'text', dtype: 'string', shape: ['batch', 1], columns: ['text'] }]);
    throwsWith(() => preprocess(batch({ text: ['a', ''] }, 2), m, 2, undefined, true), 'INVALID_VALUE',
      'Invalid value: column "text" expects string (tensor "text"); it has no value and the tensor has no fill, got an empty cell at /data/a.csv row 12');
    // Outside a CSV input "" is a text like any other.
    assert.deepEqual(preprocess(batch({ text: ['a', ''] }, 2), m, 2).text!.data, ['a', '']);
    const filled = manifest([{ tensor: 'text', dtype: 'string', shape: ['batch', 1], columns: ['text'], fill: 'missing' }]);
    assert.deepEqual(preprocess(batch({ text: ['a', '', null] }, 3), filled, 3, undefined, true).text!.data, ['a', 'missing', 'missing']);
    assert.deepEqual(preprocess(batch({ text: Float32Array.of(39.1, 0.1, -0) }, 3), m, 3).text!.data, ['39.1', '0.1', '-0']);
    assert.deepEqual(preprocess(batch({ text: Float64Array.of(-0, 1.5, 1e21) }, 3), m, 3).text!.data, ['-0', '1.5', '1e+21']);
    const nan = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'], fill: Number.NaN }]);
    assert.deepEqual(Array.from(preprocess(batch({ a: [1, null, ''] }, 3), nan, 3, undefined, true).x!.data as Float32Array), [1, Number.NaN, Number.NaN]);
    assert.throws(() => manifest([{ tensor: 'text', dtype: 'string', shape: ['batch', 1], columns: ['text'], fill: 0 }]), /inputs\.0\.fill: 0 is not a string value \(a text in quotes, e\.g\. "missing"\)/);
    assert.throws(() => manifest([{ tensor: 'n', dtype: 'int64', shape: ['batch'], columns: ['n'], fill: Number.NaN }]), /inputs\.0\.fill: NaN is not a int64 value \(NaN fills only a float tensor\)/);
    assert.throws(() => manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'], fill: 'zero' }]), /inputs\.0\.fill: "zero" is not a float32 value/);
  });

  test('a fixed batch pads the tensor to `rows` with zeros', () => {
    const m = manifest([
      { tensor: 'x', dtype: 'float32', shape: ['batch', 2], columns: ['a', 'b'] },
      { tensor: 'k', dtype: 'int64', shape: ['batch'], columns: ['k'], categories: ['p', 'q'] },
    ], undefined, true);
    const feeds = preprocess(batch({ a: [1, 2], b: [3, 4], k: ['q', 'q'] }), m, 4);
    assert.deepEqual(feeds.x!.dims, [4, 2]);
    assert.deepEqual(Array.from(feeds.x!.data as Float32Array), [1, 3, 2, 4, 0, 0, 0, 0]);
    assert.deepEqual(feeds.k!.dims, [4]);
    assert.deepEqual(Array.from(feeds.k!.data as BigInt64Array), [1n, 1n, 0n, 0n]);
  });
});

const tensor = (data: TensorData['data'], dims: number[], type = 'float32'): TensorData => ({ type, data, dims });

describe('postprocess', () => {
  const classifier = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [
    { tensor: 'logits', activation: 'softmax', labels: ['A', 'B', 'C'], columns: { label: 'cls', score: 'score', probabilities: 'p_' } },
  ]);

  test('softmax → argmax label, top score and per-class probabilities', () => {
    const columns = postprocess(classifier, { logits: tensor(Float32Array.of(1, 2, 3, 3, 1, 0), [2, 3]) }, 2, '/b/model.onnx');
    assert.deepEqual([...columns.keys()], ['cls', 'score', 'p_A', 'p_B', 'p_C']);
    const softmax = (xs: number[]) => {
      const e = xs.map((x) => Math.exp(x - Math.max(...xs)));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / s);
    };
    const [r0, r1] = [softmax([1, 2, 3]), softmax([3, 1, 0])];
    assert.deepEqual(cells(columns.get('cls')!), ['C', 'A']);
    assertClose(columns.get('score'), [r0[2], r1[0]], 1e-12);
    assertClose(columns.get('p_A'), [r0[0], r1[0]], 1e-12);
    assertClose(columns.get('p_B'), [r0[1], r1[1]], 1e-12);
    assertClose(columns.get('p_C'), [r0[2], r1[2]], 1e-12);
    assertClose(Array.from({ length: 2 }, (_, r) => ['p_A', 'p_B', 'p_C'].reduce((s, k) => s + (cell(columns.get(k)!, r) as number), 0)), [1, 1], 1e-12);
  });

  test('top_k: the k best classes a row, best first, a tie to the earlier class, as a stable sort of every class gives them', () => {
    const labels = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [
      { tensor: 'scores', activation: 'none', labels, top_k: 3, columns: { top_k: 'top' } },
    ]);
    const random = seededRandom(7);
    const rows = 200;
    // Scores from a few values, -Infinity and NaN among them, so that ties are common; the last row has fewer distinct values than k.
    const few = [0, 0.25, 0.5, -Infinity, Number.NaN];
    const values = Float32Array.from({ length: rows * 7 }, (_, i) => (i >= (rows - 1) * 7 ? 0.5 : few[Math.floor(random() * few.length)]!));
    const top = postprocess(m, { scores: tensor(values, [rows, 7]) }, rows, '/b/model.onnx').get('top')!;
    // A stable sort, NaN last.
    const order = (x: number, y: number) => (x !== x ? (y !== y ? 0 : 1) : y !== y ? -1 : y > x ? 1 : y < x ? -1 : 0);
    for (let r = 0; r < rows; r++) {
      const sorted = labels.map((label, k) => ({ label, score: values[r * 7 + k]! })).sort((x, y) => order(x.score, y.score)).slice(0, 3);
      assert.deepEqual(cell(top, r), sorted, `row ${r}`);
    }
  });

  test('a fixed batch\'s padding rows beyond `length` are dropped; a dynamic batch\'s output of other rows than it fed is no output a row (a constant, a reshape, a transpose)', () => {
    const fixed = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [
      { tensor: 'logits', activation: 'softmax', labels: ['A', 'B', 'C'], columns: { label: 'cls', score: 'score', probabilities: 'p_' } },
    ], true);
    const padded = tensor(Float32Array.of(0, 0, 5, 5, 0, 0, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), [8, 3]);
    const columns = postprocess(fixed, { logits: padded }, 2, '/b/model.onnx');
    assert.deepEqual(cells(columns.get('cls')!), ['C', 'A']);
    assert.equal(columns.get('p_A')!.length, 2);
    for (const rows of [1, 3]) {
      assert.throws(() => postprocess(classifier, { logits: tensor(new Float32Array(rows * 3), [rows, 3]) }, 2, '/b/model.onnx'), /Output tensor "logits" has dims \[\d, 3\] for a batch of 2 row\(s\): its first dimension is not the batch/);
    }
  });

  test('the label column is coded: each row the index of the best class into the labels, which every batch shares', () => {
    const a = postprocess(classifier, { logits: tensor(Float32Array.of(1, 2, 3, 3, 1, 0), [2, 3]) }, 2, '/b/model.onnx').get('cls');
    const b = postprocess(classifier, { logits: tensor(Float32Array.of(0, 9, 1), [1, 3]) }, 1, '/b/model.onnx').get('cls');
    assert.ok(a instanceof CodedColumn && b instanceof CodedColumn);
    assert.deepEqual([Array.from(a.codes), Array.from(b.codes)], [[2, 0], [1]]);
    assert.equal(a.dictionary, b.dictionary);
    // With a list column the labels may be fewer than the values: a class past them is named by its index.
    const listed = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [{ tensor: 'y', labels: ['A', 'B'], columns: { label: 'k', list: 'all' } }]);
    assert.deepEqual(cells(postprocess(listed, { y: tensor(Float32Array.of(0, 5, 1, 7, 0, 9), [2, 3]) }, 2, '/b/model.onnx').get('k')!), ['B', '2']);
  });

  test('ties go to the first class', () => {
    const columns = postprocess(classifier, { logits: tensor(Float32Array.of(2, 2, 1), [1, 3]) }, 1, '/b/model.onnx');
    assert.deepEqual(cells(columns.get('cls')!), ['A']);
  });

  test('softmax of a [batch, sequence, labels] output is over the last dimension, a token at a time', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [{ tensor: 'y', activation: 'softmax', columns: { list: 'probs' } }]);
    const probs = cells(postprocess(m, { y: tensor(Float32Array.of(0, 0, 1, 3, 5, 5, 2, 2), [2, 2, 2]) }, 2, '/b/model.onnx').get('probs')!) as number[][];
    const pair = (a: number, b: number) => [1 / (1 + Math.exp(b - a)), 1 / (1 + Math.exp(a - b))];
    assertClose(probs.map((p) => Array.from(p)), [[...pair(0, 0), ...pair(1, 3)], [...pair(5, 5), ...pair(2, 2)]], 1e-12);
  });

  test('a row whose values hold a NaN has no label (null) and a NaN score, not the first class', () => {
    const columns = postprocess(classifier, { logits: tensor(Float32Array.of(Infinity, 1, 0, 1, NaN, 0, 0, 1, 2), [3, 3]) }, 3, '/b/model.onnx');
    assert.deepEqual(cells(columns.get('cls')!), [null, null, 'C']);
    assert.deepEqual(cells(columns.get('score')!).slice(0, 2), [NaN, NaN]);
    const raw = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [{ tensor: 'y', labels: ['A', 'B'], columns: { label: 'k', score: 's', list: 'all' } }]);
    const listed = postprocess(raw, { y: tensor(Float32Array.of(NaN, 1, 2, 1), [2, 2]) }, 2, '/b/model.onnx');
    assert.deepEqual([cells(listed.get('k')!), cells(listed.get('s')!)], [[null, 'A'], [NaN, 2]]);
  });

  test('sigmoid values, raw values, and a list column', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [
      { tensor: 'logit', activation: 'sigmoid', columns: { values: ['p'] } },
      { tensor: 'reg', columns: { values: ['u', 'v'], score: 'best' } },
      { tensor: 'emb', columns: { list: 'embedding' } },
    ]);
    const columns = postprocess(m, {
      logit: tensor(Float32Array.of(0, 2), [2, 1]),
      reg: tensor(Float32Array.of(0.5, -1, 3, 4), [2, 2]),
      emb: tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]),
    }, 2, '/b/model.onnx');
    assert.deepEqual([...columns.keys()], ['p', 'best', 'u', 'v', 'embedding']);
    assertClose(columns.get('p'), [0.5, 1 / (1 + Math.exp(-2))], 1e-12);
    // Without activation the raw float32 values pass through unchanged, as float32 columns.
    assert.deepEqual(columns.get('u'), Float32Array.of(0.5, 3));
    assert.deepEqual(columns.get('v'), Float32Array.of(-1, 4));
    assert.deepEqual(columns.get('best'), Float32Array.of(0.5, 4));
    assert.ok(columns.get('p') instanceof Float64Array, 'activated values are float64');
    assert.deepEqual(columns.get('embedding'), [[1, 2, 3], [4, 5, 6]]);
  });

  test('labels, scores and per-class values are those of the row-by-row arithmetic, to the bit', () => {
    // The reference is the definition, a row at a time: softmax subtracts the row's maximum
    // (Math.max from -Infinity), sums the exponentials from the first class and divides each by
    // the sum; argmax keeps the first of equal values, and a row with a NaN has none. Logits include NaN, infinities and -0.
    const random = seededRandom(6);
    const special = [NaN, Infinity, -Infinity, -0, 0, 1e300, -1e300, 88.8, -745.2];
    const reference = (activation: string, x: ArrayLike<number>, from: number, width: number): number[] => {
      const row = Array.from({ length: width }, (_, k) => x[from + k]!);
      if (activation === 'sigmoid') return row.map((v) => 1 / (1 + Math.exp(-v)));
      if (activation !== 'softmax') return row;
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      const e = row.map((v) => Math.exp(v - max));
      let sum = 0;
      for (const v of e) sum += v;
      return e.map((v) => v / sum);
    };
    for (const activation of ['softmax', 'sigmoid', 'none']) {
      // 300 classes × 120 rows: more values than postprocess keeps a scratch array for.
      for (const [width, rows] of [[1, 37], [2, 37], [3, 37], [6, 37], [300, 120]] as const) {
        for (const Data of [Float32Array, Float64Array]) {
          const labels = Array.from({ length: width }, (_, k) => `c${k}`);
          const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [
            { tensor: 'y', ...(activation === 'none' ? {} : { activation }), labels, columns: { label: 'cls', score: 'score', probabilities: 'p_' } },
          ]);
          const data = new Data(rows * width);
          for (let i = 0; i < data.length; i++) data[i] = random() < 0.15 ? special[Math.floor(random() * special.length)]! : (random() - 0.5) * 40;
          // Ties: a few rows repeat one value in every class.
          for (const r of [4, 9]) data.fill(data[r * width]!, r * width, (r + 1) * width);
          if (activation === 'softmax' && width === 1) {
            // Always 1, whatever the model says: refused (pack and validate refuse it earlier).
            assert.throws(() => postprocess(m, { y: tensor(data, [rows, width]) }, rows, '/b/model.onnx'), /softmax over that one value \(always 1/);
            continue;
          }
          const columns = postprocess(m, { y: tensor(data, [rows, width]) }, rows, '/b/model.onnx');
          const float32 = activation === 'none' && Data === Float32Array;
          const as = (v: number) => (float32 ? Math.fround(v) : v);
          for (let r = 0; r < rows; r++) {
            const values = reference(activation, data, r * width, width);
            let best = 0;
            for (let k = 1; k < width; k++) if (values[k]! > values[best]!) best = k;
            // A row with a NaN has no best class.
            const none = values.some((v) => Number.isNaN(v));
            const where = `${activation}, width ${width}, ${Data.name}, row ${r}`;
            assert.equal(cell(columns.get('cls')!, r), none ? null : labels[best], where);
            assert.ok(Object.is(cell(columns.get('score')!, r), none ? NaN : as(values[best]!)), `score: ${where}`);
            for (let k = 0; k < width; k++) assert.ok(Object.is(cell(columns.get(`p_${labels[k]}`)!, r), as(values[k]!)), `p_${labels[k]}: ${where}`);
          }
          assert.ok(columns.get('score') instanceof (float32 ? Float32Array : Float64Array) && columns.get('p_c0')!.length === rows);
        }
      }
    }
  });

  test('score (argmax value) and list of an int64 output keep bigints', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [{ tensor: 'y', columns: { score: 's', list: 'all' } }]);
    const columns = postprocess(m, { y: tensor(BigInt64Array.of(1n, 7n, 3n), [1, 3], 'int64') }, 1, '/b/model.onnx');
    assert.deepEqual(columns.get('s'), [7n]);
    assert.deepEqual(columns.get('all'), [[1n, 7n, 3n]]);
  });

  test('a width that does not match labels is MODEL_MISMATCH', () => {
    const error = throwsWith(() => postprocess(classifier, { logits: tensor(Float32Array.of(1, 2, 3, 4), [2, 2]) }, 2, '/b/model.onnx'), 'MODEL_MISMATCH',
      'Output tensor "logits" has 2 value(s) per row (dims [2, 2]), but the manifest maps 3 label(s)');
    assert.equal(error.file, '/b/model.onnx');
    // Beside a list too: probabilities and value columns read a value each, so their count is the row's.
    const x = [{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }];
    const three = { logits: tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) };
    throwsWith(() => postprocess(manifest(x, [{ tensor: 'logits', activation: 'softmax', labels: ['A', 'B', 'C', 'D'], columns: { label: 'l', probabilities: 'p_', list: 'all' } }]), three, 2, '/b/model.onnx'), 'MODEL_MISMATCH',
      'Output tensor "logits" has 3 value(s) per row (dims [2, 3]), but the manifest maps 4 label(s)');
    throwsWith(() => postprocess(manifest(x, [{ tensor: 'logits', labels: ['A', 'B', 'C'], columns: { label: 'l', values: ['a', 'b', 'c', 'd'] } }]), three, 2, '/b/model.onnx'), 'MODEL_MISMATCH',
      'Output tensor "logits" has 3 value(s) per row (dims [2, 3]), but the manifest maps 4 column(s) in columns.values');
    throwsWith(() => postprocess(manifest(x, [{ tensor: 'logits', labels: ['A', 'B', 'C', 'D'], columns: { label: 'l', list: 'all' } }]), three, 2, '/b/model.onnx'), 'MODEL_MISMATCH',
      'Output tensor "logits" has 3 value(s) per row (dims [2, 3]), but the manifest maps 4 label(s), more than the values');
  });

  test('predictionFields types: activated values are float64, raw ones follow the tensor; float scores are marked continuous', () => {
    const m = manifest([{ tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] }], [
      { tensor: 'logits', activation: 'softmax', labels: ['A', 'B'], columns: { label: 'cls', score: 'score', probabilities: 'p_' } },
      { tensor: 'reg', columns: { values: ['u'] } },
      { tensor: 'ids', columns: { list: 'ids' } },
    ]);
    assert.deepEqual(predictionFields(m, [
      { name: 'logits', isTensor: true, type: 'float32', shape: [-1, 2] },
      { name: 'reg', isTensor: true, type: 'float32', shape: [-1, 1] },
      { name: 'ids', isTensor: true, type: 'int64', shape: [-1, 4] },
    ]), [
      { name: 'cls', type: 'string' },
      { name: 'score', type: 'float64', continuous: true },
      { name: 'p_A', type: 'float64', continuous: true },
      { name: 'p_B', type: 'float64', continuous: true },
      { name: 'u', type: 'float32', continuous: true },
      { name: 'ids', type: 'list', items: 'int64' },
    ]);
  });
});
