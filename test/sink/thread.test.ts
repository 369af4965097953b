/**
 * openSinkThread: the writer on its own thread writes the same bytes as the sink in-process
 * for every format, across Parquet row groups and a commit, with typed and plain columns; a
 * failure in the thread reaches the caller as the same BentoError (code, file, hint).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BentoError } from '../../src/errors.js';
import type { DataFormat, OutputSpec } from '../../src/job/spec.js';
import { type OutputBatch, openSink, type Sink } from '../../src/sink/index.js';
import { encoderThreads, startEncoders } from '../../src/sink/encoders.js';
import { openParquetSink } from '../../src/sink/parquet.js';
import { openSinkThread } from '../../src/sink/thread.js';
import type { Column, Field } from '../../src/source/types.js';
import { withTempDir } from '../helpers.js';

const schema: Field[] = [
  { name: 'species', type: 'string' },
  { name: 'mass', type: 'float64' },
  { name: 'score', type: 'float64' },
  { name: 'p', type: 'float32' },
  { name: 'n', type: 'int64' },
];

/** 40 batches of 97 rows: strings with nulls, plain and typed float columns, bigints. */
function batches(): OutputBatch[] {
  return Array.from({ length: 40 }, (_, b) => {
    const length = 97;
    const at = (r: number) => b * length + r;
    return {
      length,
      columns: new Map<string, ArrayLike<unknown>>([
        ['species', Array.from({ length }, (_, r) => (at(r) % 11 === 0 ? null : ['Adelie', 'Gentoo, "big"'][at(r) % 2]))],
        ['mass', Array.from({ length }, (_, r) => (at(r) % 13 === 0 ? null : 3000 + at(r) * 0.25))],
        ['score', Float64Array.from({ length }, (_, r) => 1 / (1 + at(r)))],
        ['p', Float32Array.from({ length }, (_, r) => Math.sin(at(r)))],
        ['n', Array.from({ length }, (_, r) => BigInt(at(r)) * 1000000007n)],
      ]),
    };
  });
}

function output(dir: string, format: DataFormat, name: string): OutputSpec {
  return { path: join(dir, `${name}.${format}`), format, keep: undefined, csv: { delimiter: ',' }, gzip: false, parquet: { rowGroupRows: 1000, compression: 'snappy' }, writer: 'thread' };
}

async function writeThrough(sink: Sink): Promise<{ positions: unknown[]; committable: boolean[] }> {
  const positions: unknown[] = [];
  const committable: boolean[] = [];
  for (const [i, b] of batches().entries()) {
    await sink.write(b);
    committable.push(sink.committable);
    if (i === 20) positions.push(await sink.commit());
  }
  await sink.seal();
  return { positions, committable };
}

describe('openSinkThread', () => {
  for (const format of ['csv', 'jsonl', 'parquet'] as const) {
    test(`${format}: the same bytes, commit positions and commit points as the sink in-process`, () => withTempDir(async (dir) => {
      const direct = join(dir, `direct.${format}`);
      const threaded = join(dir, `threaded.${format}`);
      const a = await writeThrough(await openSink(output(dir, format, 'a'), schema, { partial: direct }));
      const b = await writeThrough(await openSinkThread(output(dir, format, 'b'), schema, { partial: threaded }, { depthRows: 500 }));
      assert.deepEqual(await readFile(threaded), await readFile(direct));
      assert.deepEqual(b.positions, a.positions);
      assert.deepEqual(b.committable, a.committable);
      if (format === 'parquet') assert.ok(a.committable.includes(false) && a.committable.includes(true));
    }));
  }

  test('a batch of very wide rows (lists of 20,000 words) goes to the writer in pieces: the same bytes, in a writer heap smaller than the batch', () => withTempDir(async (dir) => {
    const fields: Field[] = [{ name: 'id', type: 'float64' }, { name: 'tags', type: 'list', items: 'string' }];
    const wide = (start: number): OutputBatch => ({ length: 64, columns: new Map<string, Column>([['id', Float64Array.from({ length: 64 }, (_, i) => start + i)], ['tags', Array.from({ length: 64 }, (_, i) => Array.from({ length: 20_000 }, (_, k) => (k % 7 === 0 ? `w${start + i}` : 'a')))]]) });
    for (const format of ['csv', 'jsonl'] as const) {
      const direct = join(dir, `direct.${format}`);
      const threaded = join(dir, `threaded.${format}`);
      const a = await openSink(output(dir, format, 'a'), fields, { partial: direct });
      const b = await openSinkThread(output(dir, format, 'b'), fields, { partial: threaded }, { heapMb: 48 });
      for (let start = 0; start < 256; start += 64) {
        await a.write(wide(start));
        await b.write(wide(start));
      }
      await a.seal();
      await b.seal();
      assert.ok((await readFile(threaded)).equals(await readFile(direct)), format);
    }
  }));

  test('an error opening the file in the thread is the same BentoError', () => withTempDir(async (dir) => {
    await writeFile(join(dir, 'blocker'), '');
    const partial = join(dir, 'blocker', 'partial.csv');
    const direct = await openSink(output(dir, 'csv', 'x'), schema, { partial }).then(() => undefined, (e: unknown) => e);
    const threaded = await openSinkThread(output(dir, 'csv', 'x'), schema, { partial }).then(() => undefined, (e: unknown) => e);
    assert.ok(direct instanceof BentoError && threaded instanceof BentoError);
    assert.deepEqual([threaded.code, threaded.message, threaded.file, threaded.hint], [direct.code, direct.message, direct.file, direct.hint]);
  }));

  // Row groups encoded on several threads come back out of order in time; the file must not notice.
  const parquetOptions = { rowGroupRows: 1000, compression: { codec: 'snappy' as const } };
  test('parquet on 3 encoder threads: the same bytes and commit positions, and a resume from a commit ends the same', () => withTempDir(async (dir) => {
    const direct = join(dir, 'direct.parquet');
    const a = await writeThrough(await openSink(output(dir, 'parquet', 'a'), schema, { partial: direct }));
    const threaded = join(dir, 'threaded.parquet');
    const encoding = () => encoderThreads(schema, parquetOptions.compression, startEncoders({ threads: 3 }));
    const b = await writeThrough(await openParquetSink(schema, { partial: threaded, ...parquetOptions, encoding: await encoding() }));
    assert.deepEqual(await readFile(threaded), await readFile(direct));
    assert.deepEqual(b.positions, a.positions);

    // Killed with later row groups in flight after a commit at the first row-group end past batch 20; resumed from it.
    const resumed = join(dir, 'resumed.parquet');
    const first = await openParquetSink(schema, { partial: resumed, ...parquetOptions, encoding: await encoding() });
    let position;
    let next = 0;
    for (const [i, batch] of batches().entries()) {
      await first.write(batch);
      if (i >= 20 && first.committable && !position) {
        position = await first.commit();
        next = i + 1;
      }
      if (i === 36) break;
    }
    await first.close();
    assert.ok(next > 20 && next < 36);
    const second = await openParquetSink(schema, { partial: resumed, resume: position!, ...parquetOptions, encoding: await encoding() });
    for (const batch of batches().slice(next)) await second.write(batch);
    await second.seal();
    assert.deepEqual(await readFile(resumed), await readFile(direct));
  }));

  test('parquet: a row group that cannot be encoded fails the write or seal that follows, with the encoder\'s message', () => withTempDir(async (dir) => {
    const sink = await openParquetSink(schema, { partial: join(dir, 'bad.parquet'), ...parquetOptions, encoding: encoderThreads(schema, parquetOptions.compression, startEncoders({ threads: 2 })) });
    const bad = batches().map((b, i) => (i === 3 ? { ...b, columns: new Map([...b.columns, ['n', Array.from({ length: b.length }, () => 2n ** 70n)]]) } : b));
    const failed = (async () => {
      for (const batch of bad) await sink.write(batch);
      await sink.seal();
    })();
    await assert.rejects(failed, /INT64 value out of range/);
    await sink.discard();
  }));
});
