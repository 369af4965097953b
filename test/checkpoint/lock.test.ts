/**
 * acquireLock: one run of a job at a time, and a lock left by a dead run taken over, judged by
 * process id and start time on this host and by the lock's age from another.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { acquireLock, lockFile, STALE_MS } from '../../src/checkpoint/lock.js';
import { rejectsWith, withTempDir } from '../helpers.js';

/** A live process that is not this one, to stand for another run. */
async function otherProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

/** A lock's text naming a run on this host that has since died (killed, no release). */
async function deadHolder(): Promise<string> {
  const child = await otherProcess();
  const holder = JSON.stringify({ pid: child.pid, host: hostname(), started: '2026-12-06T10:00:00.000Z', ticks: ticks(child.pid!) });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return holder;
}

const ticks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
};

const running = (path: string, holder: Record<string, unknown>) => `Job nightly is already running: process ${holder.pid} on ${holder.host} holds ${path} since ${holder.started}`;

/** A lock of `holder`'s, renewed every 300 ms to the time `at` gives: acquiring it stops with JOB_RUNNING. */
async function stopsWhileRenewed(dir: string, holder: Record<string, unknown>, at: () => Date): Promise<void> {
  const ckpt = join(dir, 'scored.csv.bento-batch');
  await writeFile(lockFile(ckpt), JSON.stringify(holder));
  await utimes(lockFile(ckpt), at(), at());
  const renew = setInterval(() => void utimes(lockFile(ckpt), at(), at()), 300);
  try {
    await rejectsWith(acquireLock(ckpt, 'nightly'), 'JOB_RUNNING', running(lockFile(ckpt), holder));
  } finally {
    clearInterval(renew);
  }
}

describe('acquireLock', () => {
  test('the lock names its holder, holds against a second run in this thread too, and goes with release', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'out', 'scored.csv.bento-batch');
    const lock = await acquireLock(ckpt, 'nightly');
    const holder = JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as Record<string, unknown>;
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.host, hostname());
    assert.equal(holder.ticks, ticks(process.pid));
    await rejectsWith(acquireLock(ckpt, 'nightly'), 'JOB_RUNNING', running(lockFile(ckpt), holder));
    await lock.release();
    assert.equal(existsSync(lockFile(ckpt)), false);
  }));

  test('a live run on this host holds the job; once it is gone (killed, no release) the lock is taken over', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const child = await otherProcess();
    const holder = { pid: child.pid, host: hostname(), started: '2026-12-06T10:00:00.000Z', ticks: ticks(child.pid!) };
    await writeFile(lockFile(ckpt), JSON.stringify(holder));
    const error = await rejectsWith(acquireLock(ckpt, 'nightly'), 'JOB_RUNNING', running(lockFile(ckpt), holder));
    assert.equal(error.hint, `Wait for that run to finish (bento-batch status shows how far it is). If no such run is alive, delete ${lockFile(ckpt)} and run again.`);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const lock = await acquireLock(ckpt, 'nightly');
    assert.equal((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { pid: number }).pid, process.pid);
    await lock.release();
  }));

  test('a process id now used by another process (another start time), or this process\'s own, is not a live holder', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const child = await otherProcess();
    try {
      for (const holder of [{ pid: child.pid, ticks: ticks(child.pid!) - 1 }, { pid: process.pid, ticks: ticks(process.pid) }]) {
        await writeFile(lockFile(ckpt), JSON.stringify({ ...holder, host: hostname(), started: '2026-12-06T10:00:00.000Z' }));
        const lock = await acquireLock(ckpt, 'nightly');
        assert.notEqual((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { started: string }).started, '2026-12-06T10:00:00.000Z');
        await lock.release();
      }
    } finally {
      child.kill('SIGKILL');
    }
  }));

  test('a lock that is not a run\'s (empty, not JSON) is taken over at once: runs write theirs whole', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    for (const text of ['', '{"pid":']) {
      await writeFile(lockFile(ckpt), text);
      const lock = await acquireLock(ckpt, 'nightly');
      assert.equal((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { pid: number }).pid, process.pid);
      await lock.release();
    }
    assert.deepEqual(await readdir(dir), [], 'no temporary file left');
  }));

  test('runs that find one dead lock together: exactly one takes it over, the others stop with JOB_RUNNING', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const module = new URL('../../src/checkpoint/lock.js', import.meta.url).href;
    // Each run imports first, then all try at one moment, hold the lock a while and release it.
    const script = `const { acquireLock } = await import(${JSON.stringify(module)});
      await new Promise((resolve) => setTimeout(resolve, Number(process.argv[1]) - Date.now()));
      try { const lock = await acquireLock(${JSON.stringify(ckpt)}, 'nightly'); console.log('held'); await new Promise((resolve) => setTimeout(resolve, 400)); await lock.release(); }
      catch (error) { console.log(error.code); }`;
    for (let round = 0; round < 3; round++) {
      await writeFile(lockFile(ckpt), await deadHolder());
      const at = Date.now() + 1500;
      const said = await Promise.all(Array.from({ length: 4 }, () => new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, String(at)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', () => resolve(out.trim()));
      })));
      assert.deepEqual(said.sort(), ['JOB_RUNNING', 'JOB_RUNNING', 'JOB_RUNNING', 'held'], `round ${round}`);
      assert.deepEqual(await readdir(dir), [], 'no lock, guard or temporary file left');
    }
  }));

  test('two takeovers in one thread: one holds the lock, the other is told it is running', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    for (let round = 0; round < 20; round++) {
      await writeFile(lockFile(ckpt), '');
      const settled = await Promise.allSettled([acquireLock(ckpt, 'nightly'), acquireLock(ckpt, 'nightly'), acquireLock(ckpt, 'nightly')]);
      const held = settled.filter((r) => r.status === 'fulfilled');
      const refused = settled.filter((r) => r.status === 'rejected');
      assert.equal(held.length, 1, `round ${round}`);
      assert.deepEqual(refused.map((r) => (r.reason as { code: string }).code), ['JOB_RUNNING', 'JOB_RUNNING'], `round ${round}`);
      await held[0]!.value.release();
    }
    assert.deepEqual(await readdir(dir), [], 'no lock, guard or temporary file left');
  }));

  test('a takeover guard left by a run killed while taking over is removed, and the lock taken', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const holder = await deadHolder();
    await writeFile(lockFile(ckpt), holder);
    await writeFile(`${ckpt}.takeover.lock`, holder);
    const lock = await acquireLock(ckpt, 'nightly');
    assert.equal((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { pid: number }).pid, process.pid);
    await lock.release();
    assert.deepEqual(await readdir(dir), []);
  }));

  test('from another host, a renewed lock stops the run as soon as it is seen renewed; one older than any clock skew is taken over at once', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const holder = { pid: 1, host: 'pod-7f9c', started: '2026-12-06T10:00:00.000Z' };
    await writeFile(lockFile(ckpt), JSON.stringify(holder));
    const renew = setInterval(() => { const now = new Date(); void utimes(lockFile(ckpt), now, now); }, 300);
    const told: string[] = [];
    const began = Date.now();
    try {
      await rejectsWith(acquireLock(ckpt, 'nightly', { waiting: (m) => told.push(m) }), 'JOB_RUNNING', running(lockFile(ckpt), holder));
    } finally {
      clearInterval(renew);
    }
    assert.ok(Date.now() - began < 3000, `stopped after ${Date.now() - began} ms`);
    assert.equal(told.length, 1);
    assert.equal(told[0], `nightly: ${lockFile(ckpt)} is held by process 1 on pod-7f9c, renewed 0 s ago; waiting up to 30 s for it to be renewed (that run is alive: this one stops) or to go stale (it is dead: this run takes the job over)`);
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(lockFile(ckpt), old, old);
    const lock = await acquireLock(ckpt, 'nightly', { waiting: (m) => told.push(m) });
    assert.equal((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { host: string }).host, hostname());
    assert.equal(told.length, 1, 'no wait for a lock long dead');
    await lock.release();
  }));

  test('from another host whose clock is 40 s behind, a lock that looks stale but is being renewed is not taken over: it is watched, and seen renewed', () => withTempDir(async (dir) => {
    await stopsWhileRenewed(dir, { pid: 1, host: 'pod-behind', started: '2026-12-06T10:00:00.000Z' }, () => new Date(Date.now() - STALE_MS - 10_000));
  }));

  test('a run\'s lock naming no process (a pid that is no number) is a dead run\'s; a file that is no run\'s lock (poetry.lock beside checkpoint.path poetry, null, {}) is refused and left as it is', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    await writeFile(lockFile(ckpt), JSON.stringify({ pid: 'abc', host: hostname() }));
    await (await acquireLock(ckpt, 'nightly')).release();
    const poetry = join(dir, 'poetry');
    for (const text of ['[[package]]\nname = "numpy"\n', 'null', '{}']) {
      await writeFile(lockFile(poetry), text);
      await rejectsWith(acquireLock(poetry, 'nightly'), 'JOB_INVALID', `${lockFile(poetry)} exists and is not a bento-batch lock: the checkpoint ${poetry} keeps its lock there, and would replace that file`);
      assert.equal(await readFile(lockFile(poetry), 'utf8'), text);
    }
  }));

  test('a lock from this host name but another pid namespace (a host-network container) is judged as another host\'s: renewed, it stops the run', () => withTempDir(async (dir) => {
    // Process 1 of another namespace: here it is this namespace's init, alive, but not that run.
    await stopsWhileRenewed(dir, { pid: 1, host: hostname(), started: '2026-12-06T10:00:00.000Z', ticks: 1, pidns: 'pid:[1]' }, () => new Date());
  }));

  test('from another host, a lock not renewed is waited for until it is STALE_MS old, then taken over (a rescheduled pod)', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    await writeFile(lockFile(ckpt), JSON.stringify({ pid: 1, host: 'pod-7f9c', started: '2026-12-06T10:00:00.000Z' }));
    const last = new Date(Date.now() - STALE_MS + 1500);
    await utimes(lockFile(ckpt), last, last);
    const told: string[] = [];
    const lock = await acquireLock(ckpt, 'nightly', { waiting: (m) => told.push(m) });
    const waited = Date.now() - last.getTime() - STALE_MS;
    assert.ok(waited >= -50 && waited < 1500, `taken over ${waited} ms after it went stale`);
    assert.equal((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { host: string }).host, hostname());
    assert.match(told[0]!, /renewed 2\d s ago; waiting up to 2 s/);
    await lock.release();
  }));

  test('a stop (SIGTERM) while waiting for another host\'s lock ends the wait with JOB_RUNNING, and the lock is left', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const holder = { pid: 1, host: 'pod-7f9c', started: '2026-12-06T10:00:00.000Z' };
    await writeFile(lockFile(ckpt), JSON.stringify(holder));
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 700);
    const began = Date.now();
    await rejectsWith(acquireLock(ckpt, 'nightly', { signal: stop.signal }), 'JOB_RUNNING', running(lockFile(ckpt), holder));
    assert.ok(Date.now() - began < 2000);
    assert.equal(JSON.parse(await readFile(lockFile(ckpt), 'utf8')).host, 'pod-7f9c');
  }));
  test('a run whose lock another run has taken over is told so (check, lost), and its release leaves that run\'s lock', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const lock = await acquireLock(ckpt, 'nightly');
    await lock.check();
    const lost = () => lock.lost;
    assert.equal(lost(), undefined);
    assert.equal(lock.tookOver, undefined);
    const other = JSON.stringify({ pid: 4242, host: 'pod-new', started: '2026-12-06T10:00:00.000Z' });
    await writeFile(`${lockFile(ckpt)}.new`, other);
    await rename(`${lockFile(ckpt)}.new`, lockFile(ckpt));
    await rejectsWith(lock.check(), 'JOB_RUNNING', `Job nightly: this run lost its lock ${lockFile(ckpt)} to process 4242 on pod-new, which took the job over; it stops without writing more`);
    assert.equal(lost()?.code, 'JOB_RUNNING');
    await lock.release();
    assert.equal(await readFile(lockFile(ckpt), 'utf8'), other);
  }));

  test('a lock removed under its run is lost too; a takeover names the replaced run only where it may be alive (another host\'s)', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const first = await acquireLock(ckpt, 'nightly');
    await rm(lockFile(ckpt));
    await rejectsWith(first.check(), 'JOB_RUNNING', `Job nightly: this run's lock ${lockFile(ckpt)} was removed while it ran (by hand, or by a run that took the job over and finished); it stops without writing more, so as not to write over another run's output`);
    await writeFile(lockFile(ckpt), await deadHolder());
    const local = await acquireLock(ckpt, 'nightly');
    assert.equal(local.tookOver, undefined, 'a dead process on this host is certainly dead');
    await local.release();
    const holder = { pid: 1, host: 'pod-7f9c', started: '2026-12-06T10:00:00.000Z' };
    await writeFile(lockFile(ckpt), JSON.stringify(holder));
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(lockFile(ckpt), old, old);
    const foreign = await acquireLock(ckpt, 'nightly');
    assert.deepEqual(foreign.tookOver, holder);
    await foreign.release();
    assert.ok(!existsSync(lockFile(ckpt)));
  }));
  test('another job sharing the checkpoint.path is told it is another job, not that it is itself running', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'shared');
    const lock = await acquireLock(ckpt, 'nightly');
    try {
      const error = await rejectsWith(acquireLock(ckpt, 'weekly'), 'JOB_RUNNING', `Job weekly: its checkpoint is in use by another job, nightly: process ${process.pid} on ${hostname()} holds ${lockFile(ckpt)} since ${(JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { started: string }).started}`);
      assert.equal(error.hint, 'Give each job a checkpoint.path of its own (or leave it out: it is <output.path>.bento-batch).');
    } finally {
      await lock.release();
    }
  }));
});
