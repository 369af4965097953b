/**
 * startProgress: the rate counts the rows this run wrote, not those a resumed run found committed.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { RunStats } from '../../src/run/pipeline.js';
import { barLine, Logger, startProgress } from '../../src/run/progress.js';

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

test('the bar fits the terminal: it narrows, then goes, then the rate, the name and the row count go; the percent and ETA stay', () => {
  const line = (columns: number, eta: string | undefined = 'ETA 0:04') => barLine('flights-delay', 0.5, 1_500_000, 750_123, eta, columns);
  assert.equal(line(119), 'flights-delay [############------------]  50%  1,500,000 rows  750,123 rows/s  ETA 0:04');
  assert.equal(line(79), 'flights-delay [#######-------]  50%  1,500,000 rows  750,123 rows/s  ETA 0:04');
  // The bar's width does not change when the ETA appears.
  assert.equal(line(79, undefined).indexOf(']'), line(79).indexOf(']'));
  assert.equal(line(60), 'flights-delay  50%  1,500,000 rows  750,123 rows/s  ETA 0:04');
  assert.equal(line(39), ' 50%  1,500,000 rows  ETA 0:04');
  assert.equal(line(19), ' 50%  ETA 0:04');
  assert.equal(line(5), ' 50%');
  for (const columns of [5, 19, 39, 60, 79, 119]) assert.ok(line(columns).length <= columns);
  // A name in Chinese takes two columns a character: counted so, the line fits (22 characters, 44 columns).
  const wide = '航班延误预测每日批量评分作业第二版本测试用例';
  assert.equal(barLine(wide, 0.5, 1_500_000, 750_123, 'ETA 0:04', 59), ' 50%  1,500,000 rows  750,123 rows/s  ETA 0:04');
  assert.equal(barLine(wide, 0.5, 1_500_000, 750_123, 'ETA 0:04', 100), `${wide}  50%  1,500,000 rows  750,123 rows/s  ETA 0:04`);
});

test('a message while the bar is drawn goes on a line of its own above it, and the bar is drawn again', () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const logger = new Logger('text', stream);
  logger.status('job [##--]  50%');
  logger.event('warn', 'warning', 'a late key');
  logger.event('debug', 'placement', 'not shown without --debug');
  logger.status(undefined);
  assert.equal(text, '\rjob [##--]  50%\x1b[K\r\x1b[Kwarn: a late key\njob [##--]  50%\n');
});

test('rows/s and the ETA follow the last seconds: a pause (Ctrl-Z) is not averaged in, and a CSV\'s fraction follows the rows scored, not the reader\'s blocks', () => {
  const stream = new PassThrough();
  const events: { rows_per_second: number; percent?: number; eta_seconds?: number }[] = [];
  stream.on('data', (d: Buffer) => events.push(...d.toString().trim().split('\n').map((l) => JSON.parse(l) as never)));
  let clock = 0;
  // The reader is a block ahead: it has read twice the rows scored, and (bytes) half the file.
  const stats: RunStats = { rowsRead: 0, rowsDone: 0, rowsWritten: 0, batches: 0, sourceProgress: () => ({ done: 500, total: 1000, unit: 'bytes' }) };
  const progress = startProgress(stats, { job: 'j', mode: 'log', logger: new Logger('json', stream), intervalMs: 200, now: () => clock });
  const at = (seconds: number, rows: number, read = 2 * rows) => {
    clock = seconds * 1000;
    stats.rowsRead = read;
    stats.rowsDone = stats.rowsWritten = rows;
    progress.report();
    return events.at(-1)!;
  };
  at(0, 0, 0);
  assert.deepEqual(at(1, 1_000), { ...events.at(-1), percent: 25, rows_per_second: 1_000 });
  assert.equal(events.at(-1)!.eta_seconds, undefined, 'no ETA before two seconds show the pace');
  // 1,000 rows/s, 0.5% of the input a second.
  at(2, 2_000, 4_000 * 100);
  const steady = at(3, 3_000, 6_000 * 100);
  assert.equal(steady.rows_per_second, 1_000);
  // Stopped for a minute (no tick), then on at the same pace: the rate is the pace after it.
  at(63, 3_000, 6_000 * 100);
  const after = at(65, 5_000, 10_000 * 100);
  assert.equal(after.rows_per_second, 1_000);
  progress.stop();
});

test('the first progress line of a log (ten seconds in) has an ETA: the pace counts from the start', () => {
  const stream = new PassThrough();
  const events: { percent?: number; eta_seconds?: number }[] = [];
  stream.on('data', (d: Buffer) => events.push(...d.toString().trim().split('\n').map((l) => JSON.parse(l) as never)));
  let clock = 0;
  let done = 0;
  const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0, sourceProgress: () => ({ done, total: 1000, unit: 'rows' }) };
  const progress = startProgress(stats, { job: 'j', mode: 'log', logger: new Logger('json', stream), now: () => clock });
  clock = 10_000;
  done = stats.rowsRead = stats.rowsWritten = 400;
  progress.report();
  progress.stop();
  assert.deepEqual([events[0]!.percent, events[0]!.eta_seconds], [40, 15]);
});

/** A log-mode progress over 2,000,000 rows on an injected clock, resumed with a million rows committed (its counts arriving at 100 ms), and the events it logs. */
function resumedLog(intervalMs: number) {
  const stream = new PassThrough();
  const events: { rows_per_second: number; eta_seconds?: number }[] = [];
  stream.on('data', (d: Buffer) => events.push(...d.toString().trim().split('\n').map((l) => JSON.parse(l) as never)));
  const at = { clock: 0 };
  const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0, sourceProgress: () => ({ done: stats.rowsWritten, total: 2_000_000, unit: 'rows' }) };
  const progress = startProgress(stats, { job: 'j', mode: 'log', logger: new Logger('json', stream), intervalMs, now: () => at.clock });
  // A scoring thread's first counts: a million rows committed by the run before.
  at.clock = 100;
  stats.rowsRead = stats.rowsWritten = stats.rowsWrittenBefore = 1_000_000;
  return { at, stats, progress, events };
}

test('a resumed run\'s pace counts from when its committed rows are known, even when they reach the bar after it starts', () => {
  const { at, stats, progress, events } = resumedLog(200);
  progress.report();
  for (let t = 1; t <= 10; t++) {
    at.clock = 100 + t * 1000;
    stats.rowsRead = stats.rowsWritten = 1_000_000 + t * 10_000;
    progress.report();
  }
  progress.stop();
  const last = events.at(-1)!;
  assert.equal(last.rows_per_second, 10_000);
  // 900,000 rows left at 10,000 a second.
  assert.equal(last.eta_seconds, 90);
});

test('a resumed run\'s first log line has an ETA: the pace starts when the committed rows are known (at the clock\'s next look), not at that line', async () => {
  // Lines every 2 s of the injected clock; the clock is looked at every (real) second.
  const { at, stats, progress, events } = resumedLog(2_000);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  at.clock = 2_100;
  stats.rowsRead = stats.rowsWritten = 1_030_000;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  progress.stop();
  assert.equal(events.length, 1, JSON.stringify(events));
  // 970,000 rows left at 15,000 a second (30,000 in the 2 s since the committed rows were known).
  assert.equal(events[0]!.eta_seconds, 65);
});
