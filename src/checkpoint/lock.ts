/**
 * @file One run of a job at a time. cron starts the next run while the last is still going, an
 * Airflow retry starts beside a task that is not dead yet: two runs on one checkpoint append to
 * the same partial output and publish each other's rows. A run holds `<checkpoint>.lock` (beside
 * the checkpoint directory, so `--restart` cannot remove another run's), and a second run of the
 * job stops at once with JOB_RUNNING.
 *
 * A lock outlives a killed run, so the next run decides whether its holder is alive: on the same
 * host by its process id (and, on Linux, the process's start time, so a reused id is not taken
 * for it; a container restarted on the same volume often runs as the same id, which is this
 * process's own and never a live holder); from another host (a shared volume, a rescheduled
 * Kubernetes pod) by the lock's modification time, which its holder renews every few seconds.
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { BentoError } from '../errors.js';
import { outputError } from '../sink/atomic.js';

/** How often the holder renews the lock's modification time. */
export const RENEW_MS = 5_000;
/** A lock from another host not renewed for this long is taken over. */
export const STALE_MS = 30_000;

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  /** The process's start time in clock ticks since boot (Linux, /proc/PID/stat field 22). */
  readonly ticks?: number;
}

export interface Lock {
  release(): Promise<void>;
}

export const lockFile = (checkpointDir: string) => `${checkpointDir}.lock`;

/** Locks this thread holds: a lock naming this process is otherwise taken for a dead container's. */
const heldHere = new Map<string, Holder>();

/** Takes the job's lock, or throws JOB_RUNNING naming the run that holds it. */
export async function acquireLock(checkpointDir: string, job: string): Promise<Lock> {
  const path = lockFile(checkpointDir);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), ...ticksOf(process.pid) };
  await mkdir(dirname(path), { recursive: true }).catch(() => undefined); // create's error names the folder if it cannot be made
  const mine = heldHere.get(path);
  if (mine) throw running(job, path, mine);
  for (let attempt = 0; ; attempt++) {
    if (await create(path, `${JSON.stringify(me)}\n`)) {
      heldHere.set(path, me);
      return held(path);
    }
    const holder = await holderOf(path);
    if (holder.holder && (holder.alive || attempt >= 3)) throw running(job, path, holder.holder);
    if (attempt >= 10) throw outputError(path, new Error('the lock kept reappearing while it was taken over'));
    // Moved aside rather than removed: of two runs taking over one stale lock, one moves it.
    await rename(path, `${path}.stale-${process.pid}`).then(() => rm(`${path}.stale-${process.pid}`, { force: true }), () => undefined);
  }
}

/**
 * Creates the lock with its content in one step, or returns false if it exists: written to a
 * file of its own first, then linked into place, so a run killed at any moment never leaves an
 * empty lock (which would hold the job until it is STALE_MS old). Where the file system has no
 * hard links, created in place.
 */
async function create(path: string, content: string): Promise<boolean> {
  const temporary = `${path.slice(0, -'.lock'.length)}.lock-${process.pid}.bento-batch.tmp`;
  try {
    await writeFile(temporary, content);
    await link(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw outputError(path, error);
  } finally {
    await rm(temporary, { force: true }).catch(() => undefined); // its folder may not be one (the error above says so)
  }
  const file = await open(path, 'wx').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return undefined;
    throw outputError(path, error);
  });
  if (!file) return false;
  try {
    await file.writeFile(content);
  } catch (error) {
    await file.close();
    await rm(path, { force: true });
    throw outputError(path, error);
  }
  await file.close();
  return true;
}

function running(job: string, path: string, h: Holder): BentoError {
  return new BentoError('JOB_RUNNING', `Job ${job} is already running: process ${h.pid} on ${h.host} holds ${path} since ${h.started}`, {
    file: path, hint: `Wait for that run to finish (bento-batch status shows how far it is). If no such run is alive, delete ${path} and run again.`,
  });
}

/** The run holding the job's lock, if one is alive (for `status`). */
export async function lockHolder(checkpointDir: string): Promise<{ readonly pid: number; readonly host: string; readonly started: string } | undefined> {
  const { holder, alive } = await holderOf(lockFile(checkpointDir));
  return alive && holder ? { pid: holder.pid, host: holder.host, started: holder.started } : undefined;
}

/** The lock file's holder, and whether it is alive. */
async function holderOf(path: string): Promise<{ holder?: Holder; alive: boolean }> {
  const [text, info] = await Promise.all([readFile(path, 'utf8').catch(() => ''), stat(path).catch(() => undefined)]);
  if (!info) return { alive: false };
  const recent = Date.now() - info.mtimeMs < STALE_MS;
  let holder: Holder;
  try {
    holder = JSON.parse(text) as Holder;
  } catch {
    // Locks are written whole (create), so this one is not a run's: a file system that has no
    // hard links, with its holder killed between creating and writing it.
    return { alive: false };
  }
  if (holder.host !== hostname()) return { holder, alive: recent };
  if (holder.pid === process.pid) return { holder, alive: false };
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return { holder, alive: false };
  }
  const now = ticksOf(holder.pid).ticks;
  return { holder, alive: holder.ticks === undefined || now === undefined || now === holder.ticks };
}

function held(path: string): Lock {
  const renew = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, RENEW_MS);
  renew.unref();
  return {
    async release() {
      clearInterval(renew);
      heldHere.delete(path);
      await rm(path, { force: true });
    },
  };
}

/** A process's start time in clock ticks since boot, where /proc says (Linux). */
function ticksOf(pid: number): { ticks?: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? { ticks } : {};
  } catch {
    return {};
  }
}
