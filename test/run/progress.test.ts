/**
 * startProgress: the rate counts the rows this run wrote, not those a resumed run found committed.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { RunStats } from '../../src/run/pipeline.js';
import { Logger, startProgress } from '../../src/run/progress.js';

test('a resumed run\'s rows/s counts only the rows written since it started', async () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0, sourceProgress: () => ({ done: 500, total: 1000, unit: 'rows' }) };
  const progress = startProgress(stats, { job: 'j', mode: 'log', logger: new Logger('json', stream), intervalMs: 25 });
  // What the resume finds: a million rows committed before this run.
  stats.rowsWritten = stats.rowsWrittenBefore = 1_000_000;
  await sleep(60);
  stats.rowsWritten += 100;
  await sleep(60);
  progress.stop();
  const events = text.trim().split('\n').map((l) => JSON.parse(l) as { rows_written: number; rows_per_second: number });
  assert.ok(events.length >= 2, text);
  for (const e of events) assert.ok(e.rows_per_second <= 100 / 0.05, `rows/s ${e.rows_per_second} counts the committed rows`);
  assert.equal(events.at(-1)!.rows_written, 1_000_100);
});
