/**
 * Commits: when a commit is due (rows, seconds, force; Parquet only at a row group's end), that nothing is
 * committed off a commit point or twice at the same row, and that state.json then points at
 * durable bytes of the real sink and errors file.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readState, type Fingerprint } from '../../src/checkpoint/state.js';
import type { CheckpointSpec, OutputSpec } from '../../src/job/spec.js';
import { Commits } from '../../src/run/commits.js';
import { ErrorLog } from '../../src/run/rowerrors.js';
import { openSink, type OutputBatch } from '../../src/sink/index.js';
import type { Field } from '../../src/source/types.js';
import { withTempDir } from '../helpers.js';

const schema: Field[] = [{ name: 'x', type: 'float64' }];
const fingerprint: Fingerprint = { job: 'j', inputs: [], model: { name: 'm', version: '1', sha256: 'abc' } };
const batch = (length: number, from: number): OutputBatch => ({ length, columns: new Map([['x', Float64Array.from({ length }, (_, i) => from + i)]]) });

async function setup(dir: string, format: 'csv' | 'parquet', ckpt: Partial<CheckpointSpec>) {
  const output: OutputSpec = { path: join(dir, `out.${format}`), format, keep: undefined, csv: { delimiter: ',' }, gzip: false, parquet: { rowGroupRows: 100, compression: 'snappy' }, writer: 'auto' };
  const sink = await openSink(output, schema, { partial: join(dir, `partial.${format}`) });
  const errorLog = await ErrorLog.open(join(dir, 'errors.partial.jsonl'), { path: join(dir, 'errors.jsonl'), maxCount: undefined, maxRate: undefined, emit: 'skip' });
  const spec: CheckpointSpec = { path: dir, everyRows: undefined, everySeconds: undefined, ...ckpt };
  return { sink, errorLog, commits: new Commits(spec, sink, errorLog, { fingerprint, totalRows: 1000 }, 0) };
}

/** Writes batches of `size` rows, asking for a commit after each; the rows of each commit as it becomes durable. */
async function run(s: Awaited<ReturnType<typeof setup>>, batches: number, size: number): Promise<number[]> {
  const committed: number[] = [];
  let rows = 0;
  for (let b = 0; b < batches; b++) {
    await s.sink.write(batch(size, rows));
    rows += size;
    await s.commits.maybe({ rows, batches: b + 1, source: { file: 0, row: rows } });
    await s.commits.settled();
    if (committed.at(-1) !== s.commits.committedRows) committed.push(s.commits.committedRows);
  }
  return committed.filter((r) => r > 0);
}

describe('Commits', () => {
  test('every N rows: at the first batch boundary past each N', () => withTempDir(async (dir) => {
    const s = await setup(dir, 'csv', { everyRows: 100 });
    assert.deepEqual(await run(s, 10, 30), [120, 240]);
    await s.sink.close();
    await s.errorLog.close();
  }));

  test('Parquet: once due, at the next row-group end, never inside a row group', () => withTempDir(async (dir) => {
    const s = await setup(dir, 'parquet', { everyRows: 150 });
    // Row groups end at 120, 240 and 360 rows; due from 150, the commit waits for 240, and the next (due at 390) for 480.
    assert.deepEqual(await run(s, 10, 40), [240]);
    const state = await readState(dir);
    // The committed Parquet bytes end where the second row group does: all durable in the partial file.
    assert.equal(state?.committed?.rows, 240);
    assert.ok(state!.committed!.sink.bytes <= (await stat(join(dir, 'partial.parquet'))).size);
    // Forced inside a row group (rows 360..400), nothing can be committed.
    await s.commits.maybe({ rows: 400, batches: 10, source: { file: 0, row: 400 } }, true);
    assert.equal(s.commits.committedRows, 240);
    await s.sink.close();
    await s.errorLog.close();
  }));

  test('by time: none before the interval; force commits at once and waits for it', () => withTempDir(async (dir) => {
    const s = await setup(dir, 'csv', { everySeconds: 3600 });
    assert.deepEqual(await run(s, 5, 10), []);
    assert.equal(await readState(dir), undefined);
    await s.commits.maybe({ rows: 50, batches: 5, source: { file: 0, row: 50 } }, true);
    assert.equal(s.commits.committedRows, 50);
    const state = await readState(dir);
    assert.deepEqual([state?.status, state?.committed?.rows, state?.committed?.batches, state?.committed?.errors], ['running', 50, 5, { bytes: 0, failed: 0 }]);
    assert.equal(state!.committed!.sink.bytes, (await stat(join(dir, 'partial.csv'))).size);
    // Nothing new since: a second force is not a second commit.
    const at = state!.committed!.at;
    await s.commits.maybe({ rows: 50, batches: 5, source: { file: 0, row: 50 } }, true);
    assert.equal((await readState(dir))!.committed!.at, at);
    await s.sink.close();
    await s.errorLog.close();
  }));
});
