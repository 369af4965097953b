/**
 * batches(): exact sizes, the last partial batch, no empty batch, global row ranges, segments
 * across chunk and file boundaries, typed-array concatenation, and locate().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Batch, batches, locate } from '../../src/batch/batcher.js';
import { cells, CodedColumn, MaskedColumn, type RowChunk } from '../../src/source/types.js';

/** A chunk of `file` whose rows [fileRow, fileRow+n) carry x = "file:row" and y = row as a float. */
function chunk(file: string, fileIndex: number, fileRow: number, n: number): RowChunk {
  const rows = Array.from({ length: n }, (_, i) => fileRow + i);
  return {
    file, fileIndex, fileRow, length: n,
    columns: new Map<string, ArrayLike<unknown>>([['x', rows.map((r) => `${file}:${r}`)], ['y', Float64Array.from(rows)]]),
  };
}

async function* from(chunks: readonly RowChunk[]): AsyncGenerator<RowChunk> {
  for (const c of chunks) yield c;
}

async function collect(chunks: readonly RowChunk[], size: number, resume?: { row: number; index: number }): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of batches(from(chunks), size, resume)) out.push(b);
  return out;
}

const shape = (bs: readonly Batch[]) => bs.map((b) => [b.index, b.start, b.length]);

describe('batches', () => {
  test('number columns stay unboxed: views inside a chunk; across chunks one array, masked if any piece is', async () => {
    // A file's row groups differ in whether a column has a null: masked, then plain, then masked.
    const masked = (fileRow: number, n: number): RowChunk => ({
      file: 'p', fileIndex: 0, fileRow, length: n,
      columns: new Map([['m', new MaskedColumn(Float64Array.from({ length: n }, (_, i) => fileRow + i), Uint8Array.from({ length: n }, (_, i) => ((fileRow + i) % 3 ? 1 : 0)))]]),
    });
    const unmasked = (fileRow: number, n: number): RowChunk => ({ file: 'p', fileIndex: 0, fileRow, length: n, columns: new Map([['m', Float64Array.from({ length: n }, (_, i) => fileRow + i)]]) });
    const source = [masked(0, 5), unmasked(5, 3), masked(8, 6)];
    const bs = await collect(source, 4);
    const expected = Array.from({ length: 14 }, (_, r) => (r < 5 || r >= 8) && r % 3 === 0 ? null : r);
    assert.deepEqual(bs.flatMap((b) => cells(b.columns.get('m')!)), expected);
    // Batch 0 lies in the first chunk: a view of its arrays. Batch 1 spans all three: one masked array.
    const first = bs[0]!.columns.get('m') as MaskedColumn;
    assert.ok(first instanceof MaskedColumn);
    assert.equal(first.values.buffer, (source[0]!.columns.get('m') as MaskedColumn).values.buffer);
    const second = bs[1]!.columns.get('m') as MaskedColumn;
    assert.ok(second instanceof MaskedColumn && second.values instanceof Float64Array);
    assert.deepEqual(Array.from(second.valid), [1, 1, 1, 1]);
    // Rows 8–11 come from one masked chunk, rows 4–7 from the plain one plus a masked row: typed throughout.
    assert.ok(bs.every((b) => b.columns.get('m') instanceof MaskedColumn || b.columns.get('m') instanceof Float64Array));
  });

  test('coded text stays coded: views inside a chunk; across chunks over one dictionary, or a merged one', async () => {
    const coded = (fileRow: number, codes: number[], dictionary: string[]): RowChunk => ({
      file: 'p', fileIndex: 0, fileRow, length: codes.length, columns: new Map([['s', new CodedColumn(Int32Array.from(codes), dictionary)]]),
    });
    const shared = ['x', 'y'];
    // Two row groups over one dictionary object, then one whose dictionary orders the values differently.
    const source = [coded(0, [0, 1, -1], shared), coded(3, [1, 1], shared), coded(5, [0, -1, 1, 2], ['y', 'z', 'x'])];
    const bs = await collect(source, 4);
    assert.deepEqual(bs.map((b) => cells(b.columns.get('s')!)), [['x', 'y', null, 'y'], ['y', 'y', null, 'z'], ['x']]);
    assert.ok(bs.every((b) => b.columns.get('s') instanceof CodedColumn));
    assert.equal((bs[0]!.columns.get('s') as CodedColumn).dictionary, shared, 'pieces over one dictionary keep it');
    assert.deepEqual((bs[1]!.columns.get('s') as CodedColumn).dictionary, ['y', 'z'], 'a merged dictionary holds only the values used');
  });

  test('exact sizes with a last partial batch, and global start offsets', async () => {
    const bs = await collect([chunk('a', 0, 0, 4), chunk('a', 0, 4, 4), chunk('a', 0, 8, 2)], 3);
    assert.deepEqual(shape(bs), [[0, 0, 3], [1, 3, 3], [2, 6, 3], [3, 9, 1]]);
    assert.deepEqual(bs.map((b) => cells(b.columns.get('x')!)), [['a:0', 'a:1', 'a:2'], ['a:3', 'a:4', 'a:5'], ['a:6', 'a:7', 'a:8'], ['a:9']]);
    assert.deepEqual(bs.map((b) => cells(b.columns.get('y')!)), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  });

  test('rows that divide evenly give no empty last batch', async () => {
    const bs = await collect([chunk('a', 0, 0, 2), chunk('a', 0, 2, 4)], 3);
    assert.deepEqual(shape(bs), [[0, 0, 3], [1, 3, 3]]);
  });

  test('no chunks, or only empty chunks, give no batch', async () => {
    assert.deepEqual(await collect([], 4), []);
    assert.deepEqual(await collect([chunk('a', 0, 0, 0)], 4), []);
  });

  test('an empty chunk between others changes nothing', async () => {
    const bs = await collect([chunk('a', 0, 0, 2), chunk('a', 0, 2, 0), chunk('a', 0, 2, 2)], 4);
    assert.deepEqual(shape(bs), [[0, 0, 4]]);
    assert.deepEqual(bs[0]!.segments, [{ file: 'a', fileRow: 0, offset: 0, length: 4 }]);
  });

  test('a chunk larger than the batch is split into several batches', async () => {
    const bs = await collect([chunk('a', 0, 0, 10)], 4);
    assert.deepEqual(shape(bs), [[0, 0, 4], [1, 4, 4], [2, 8, 2]]);
    assert.deepEqual(bs[1]!.segments, [{ file: 'a', fileRow: 4, offset: 0, length: 4 }]);
    assert.deepEqual(cells(bs[2]!.columns.get('x')!), ['a:8', 'a:9']);
  });

  test('size 1 gives one batch per row', async () => {
    const bs = await collect([chunk('a', 0, 0, 2), chunk('b', 1, 0, 1)], 1);
    assert.deepEqual(shape(bs), [[0, 0, 1], [1, 1, 1], [2, 2, 1]]);
    assert.deepEqual(bs.map((b) => locate(b, 0)), [{ file: 'a', row: 1 }, { file: 'a', row: 2 }, { file: 'b', row: 1 }]);
  });

  test('segments merge across chunks of one file and split at file boundaries', async () => {
    const bs = await collect([chunk('a.csv', 0, 0, 4), chunk('a.csv', 0, 4, 4), chunk('b.csv', 1, 0, 3)], 5);
    assert.deepEqual(shape(bs), [[0, 0, 5], [1, 5, 5], [2, 10, 1]]);
    assert.deepEqual(bs.map((b) => b.segments), [
      [{ file: 'a.csv', fileRow: 0, offset: 0, length: 5 }],
      [{ file: 'a.csv', fileRow: 5, offset: 0, length: 3 }, { file: 'b.csv', fileRow: 0, offset: 3, length: 2 }],
      [{ file: 'b.csv', fileRow: 2, offset: 0, length: 1 }],
    ]);
    assert.deepEqual(cells(bs[1]!.columns.get('x')!), ['a.csv:5', 'a.csv:6', 'a.csv:7', 'b.csv:0', 'b.csv:1']);
    assert.deepEqual(cells(bs[1]!.columns.get('y')!), [5, 6, 7, 0, 1]);
  });

  test('non-consecutive rows of one file stay separate segments', async () => {
    const bs = await collect([chunk('a', 0, 0, 2), chunk('a', 0, 10, 2)], 4);
    assert.deepEqual(bs[0]!.segments, [{ file: 'a', fileRow: 0, offset: 0, length: 2 }, { file: 'a', fileRow: 10, offset: 2, length: 2 }]);
  });

  test('typed-array columns stay typed when pieces share a type; mixed pieces become arrays', async () => {
    const [typed] = await collect([chunk('a', 0, 0, 2), chunk('a', 0, 2, 2)], 4);
    const y = typed!.columns.get('y')!;
    assert.ok(y instanceof Float64Array, `expected a Float64Array, got ${y.constructor.name}`);
    assert.deepEqual(Array.from(y), [0, 1, 2, 3]);
    const other: RowChunk = { file: 'a', fileIndex: 0, fileRow: 2, length: 2, columns: new Map<string, ArrayLike<unknown>>([['x', ['p', 'q']], ['y', [null, 7]]]) };
    const [mixed] = await collect([chunk('a', 0, 0, 2), other], 4);
    assert.deepEqual(mixed!.columns.get('y'), [0, 1, null, 7]);
  });

  test('a whole chunk that is a whole batch passes its columns through', async () => {
    const c = chunk('a', 0, 0, 3);
    const [b] = await collect([c], 3);
    assert.equal(b!.columns.get('x'), c.columns.get('x'));
  });

  test('a resumed run continues row and batch numbering', async () => {
    const bs = await collect([chunk('a', 0, 100, 5)], 2, { row: 100, index: 50 });
    assert.deepEqual(shape(bs), [[50, 100, 2], [51, 102, 2], [52, 104, 1]]);
  });

  test('each batch records the source position after its last row', async () => {
    const withEnds: RowChunk = { ...chunk('a', 0, 0, 3), ends: { bytes: Float64Array.of(10, 20, 30), lines: Float64Array.of(2, 3, 5), start: 4 } };
    const bs = await collect([withEnds, chunk('b', 1, 0, 2)], 2);
    assert.deepEqual(bs.map((b) => b.end), [{ file: 0, row: 2, byte: 20, line: 3 }, { file: 1, row: 1 }, { file: 1, row: 2 }]);
    // Row start offsets (for the errors file) come with text formats only.
    assert.deepEqual(Array.from(bs[0]!.starts!), [4, 10]);
    assert.equal(bs[1]!.starts, undefined);
  });
});

describe('locate', () => {
  test('maps a batch row to its file and 1-based row', async () => {
    const [, second] = await collect([chunk('a.csv', 0, 0, 8), chunk('b.csv', 1, 0, 3)], 5);
    assert.deepEqual(locate(second!, 0), { file: 'a.csv', row: 6 });
    assert.deepEqual(locate(second!, 2), { file: 'a.csv', row: 8 });
    assert.deepEqual(locate(second!, 3), { file: 'b.csv', row: 1 });
    assert.deepEqual(locate(second!, 4), { file: 'b.csv', row: 2 });
  });

  test('a row outside the batch is a RangeError', async () => {
    const [first] = await collect([chunk('a', 0, 0, 3)], 3);
    assert.throws(() => locate(first!, 3), { name: 'RangeError', message: 'row 3 is outside batch 0' });
  });
});
