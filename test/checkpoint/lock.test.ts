/**
 * acquireLock: one run of a job at a time, and a lock left by a dead run taken over, judged by
 * process id and start time on this host and by the lock's age from another.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
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

const ticks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
};

const running = (path: string, holder: Record<string, unknown>) => `Job nightly is already running: process ${holder.pid} on ${holder.host} holds ${path} since ${holder.started}`;

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

  test('from another host, a lock is held while renewed and taken over once older than STALE_MS', () => withTempDir(async (dir) => {
    const ckpt = join(dir, 'scored.csv.bento-batch');
    const holder = { pid: 1, host: 'pod-7f9c', started: '2026-12-06T10:00:00.000Z' };
    await writeFile(lockFile(ckpt), JSON.stringify(holder));
    await rejectsWith(acquireLock(ckpt, 'nightly'), 'JOB_RUNNING', running(lockFile(ckpt), holder));
    const old = new Date(Date.now() - STALE_MS - 1000);
    await utimes(lockFile(ckpt), old, old);
    const lock = await acquireLock(ckpt, 'nightly');
    assert.equal((JSON.parse(await readFile(lockFile(ckpt), 'utf8')) as { host: string }).host, hostname());
    await lock.release();
  }));
});
