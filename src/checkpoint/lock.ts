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
 *
 * A run judged dead by its lock's age may only be paused (a suspended VM, a node cut off from the
 * cluster but not from the volume). So the holder looks at its lock as it renews it and before
 * every checkpoint and publish, and stops once the lock is another run's; and a run that takes
 * over such a lock writes on copies of the partial files, so what the paused run writes in the
 * moments before it notices lands in files no one reads.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { BentoError } from '../errors.js';
import { outputError, processAlive, removeDeadTemps } from '../sink/atomic.js';

/** How often the holder renews the lock's modification time. */
export const RENEW_MS = 5_000;
/** A lock from another host not renewed for this long is taken over. */
export const STALE_MS = 30_000;

export interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  /** The process's start time in clock ticks since boot (Linux, /proc/PID/stat field 22). */
  readonly ticks?: number;
  /**
   * Its process-id namespace (Linux, /proc/self/ns/pid): containers with the node's host name
   * (host networking) each count process ids of their own, so a pid is judged only within one.
   */
  readonly pidns?: string;
  /** The job's name: another job sharing the checkpoint.path is named as such. Absent in locks of earlier versions. */
  readonly job?: string;
}

/** This process's pid namespace, where Linux says. */
const pidNamespace = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
})();

/**
 * A lock from another host is judged by its age on this host's clock only past this: clocks of
 * two hosts may disagree by more than STALE_MS, and a lock that looks older (or is dated in the
 * future) is watched for STALE_MS of this host's time before it is taken over.
 */
const CLOCK_SKEW_MS = 10 * 60_000;

/** Locks seen unchanged for STALE_MS of this host's time, by path: their mtime then. */
const watchedStale = new Map<string, number>();

export interface Lock {
  /**
   * The run whose lock this one replaced, where it may still be alive: another host's (or pid
   * namespace's), judged dead by the lock's age alone.
   */
  readonly tookOver: Holder | undefined;
  /** Set once the lock is seen to be another run's, or gone: as of the last look (renewal, check). */
  readonly lost: BentoError | undefined;
  /** Looks at the lock now; throws JOB_RUNNING (the `lost` error) if it is no longer this run's. */
  check(): Promise<void>;
  /** Removes the lock, if it is still this run's. */
  release(): Promise<void>;
}

export const lockFile = (checkpointDir: string) => `${checkpointDir}.lock`;

/**
 * Removes the job's lock where this process holds it: the scoring thread that took it died (out of
 * memory) before its own release ran. A lock left so would be taken over as stale by the next run
 * anyway; removed, no one sees a live-looking lock of a run that has ended.
 */
export async function releaseOrphanedLock(checkpointDir: string): Promise<void> {
  const path = lockFile(checkpointDir);
  // No lock, or not this process's (another host's, another pid namespace's): left as it is.
  const { holder } = await holderOf(path);
  if (holder?.pid === process.pid && local(holder)) await rm(path, { force: true }).catch(() => undefined);
}
/** Held by a run while it replaces a dead run's lock (takeOver). */
const guardOf = (lock: string) => `${lock.slice(0, -'.lock'.length)}.takeover.lock`;

/** Locks (and takeover guards) this thread holds: a lock naming this process is otherwise taken for a dead container's. */
const heldHere = new Set<string>();

export interface LockOptions {
  /** Stops a wait for another host's lock (see acquireLock) with JOB_RUNNING. */
  readonly signal?: AbortSignal;
  /** Told once when the run waits for another host's lock. */
  readonly waiting?: (message: string) => void;
}

/** How often a run waiting for another host's lock looks at it. */
const WATCH_MS = 500;

/**
 * Takes the job's lock, or throws JOB_RUNNING naming the run that holds it. A lock from another
 * host that is not yet stale is watched until it is: renewed, its run is alive and this one
 * stops; not renewed, it is taken over. A Kubernetes Job's retry runs in a new pod with a new
 * host name, seconds after the pod before it died, and would otherwise fail and use up a retry.
 */
export async function acquireLock(checkpointDir: string, job: string, options: LockOptions = {}): Promise<Lock> {
  const path = lockFile(checkpointDir);
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString(), ...ticksOf(process.pid), ...(pidNamespace ? { pidns: pidNamespace } : {}), job };
  await mkdir(dirname(path), { recursive: true }).catch(() => undefined); // create's error names the folder if it cannot be made
  const content = `${JSON.stringify(me)}\n`;
  let told = false;
  for (let attempt = 0; ; attempt++) {
    const taken = (await create(path, content)) ? { replaced: undefined } : await takeOver(path, content);
    if (taken) {
      heldHere.add(path);
      return held(path, content, job, taken.replaced && !local(taken.replaced) ? taken.replaced : undefined);
    }
    const found = await holderOf(path);
    if (found.holder && found.alive) {
      if (local(found.holder) || options.signal?.aborted) throw running(job, path, found.holder);
      // Watched for STALE_MS of this host's time from its last renewal as this clock sees it, and
      // never longer than STALE_MS: another host's clock may be ahead of this one.
      const age = Date.now() - found.mtimeMs;
      const left = age >= 0 && age < STALE_MS ? STALE_MS - age : STALE_MS;
      if (!told) {
        told = true;
        options.waiting?.(`${job}: ${path} is held by process ${found.holder.pid} on ${found.holder.host}, renewed ${Math.round((Date.now() - found.mtimeMs) / 1000)} s ago; waiting up to ${Math.ceil(left / 1000)} s for it to be renewed (that run is alive: this one stops) or to go stale (it is dead: this run takes the job over)`);
      }
      const changed = await watch(path, found.mtimeMs, left, options.signal);
      if (options.signal?.aborted) throw running(job, path, found.holder);
      if (!changed) watchedStale.set(path, found.mtimeMs);
      const now = changed ? await holderOf(path) : undefined;
      if (now?.holder && now.alive) throw running(job, path, now.holder);
      continue; // stale now, or gone: judged again
    }
    if (attempt >= 20) {
      throw new BentoError('JOB_RUNNING', `Job ${job}: ${path} belongs to a dead run, but another run has been taking it over for 2 s (${guardOf(path)})`, {
        file: guardOf(path), hint: `Run again; if this repeats and no other run of the job is starting, delete ${guardOf(path)}.`,
      });
    }
    // Another run is taking over the same dead lock; it holds the guard for milliseconds.
    await new Promise((resolve) => setTimeout(resolve, 10 + 10 * attempt));
  }
}

/** Watches a lock for `ms` (or until `signal` stops it): whether it changed (renewed, or replaced: a run is alive), not whether it went. */
async function watch(path: string, mtimeMs: number, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && !signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(WATCH_MS, until - Date.now())));
    const info = await stat(path).catch(() => undefined);
    if (!info) return false;
    if (info.mtimeMs !== mtimeMs) return true;
  }
  return false;
}

/**
 * Replaces a dead run's lock with this run's, or returns false: the lock is alive, or another run
 * is replacing it. Two runs that found one dead lock (cron and a retry started together after a
 * crash) would otherwise each remove it, the second removing the first's new lock, and both run
 * the job. So a run replaces it only while it holds a guard beside it, created as the lock is,
 * and judges the lock again under the guard. A guard left by a run killed in those milliseconds
 * is judged as a lock is and removed once dead.
 */
async function takeOver(path: string, content: string): Promise<{ readonly replaced: Holder | undefined } | undefined> {
  const guard = guardOf(path);
  if (!(await create(guard, content))) {
    if (!(await holderOf(guard)).alive) await rm(guard, { force: true });
    return undefined;
  }
  heldHere.add(guard);
  try {
    const { holder, alive, foreign } = await holderOf(path);
    if (foreign) throw foreignLock(path);
    if (alive) return undefined;
    await rm(path, { force: true });
    return (await create(path, content)) ? { replaced: holder } : undefined;
  } finally {
    heldHere.delete(guard);
    await rm(guard, { force: true });
  }
}

/** Creates so far: each writes a temporary file of its own, also when several are under way at once in this thread. */
let creates = 0;

/**
 * Creates the lock naming `holder` in one step, or returns false if it exists: written to a file
 * of its own first, then linked into place, so a run killed at any moment never leaves an empty
 * lock (which would hold the job until it is STALE_MS old). Where the file system has no hard
 * links, created in place.
 */
async function create(path: string, content: string): Promise<boolean> {
  // Hidden, and named as removeDeadTemps finds a dead process's (a kill between write and link left it for good).
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}-${++creates}.bento-batch.tmp`);
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

function foreignLock(path: string): BentoError {
  const dir = path.slice(0, -'.lock'.length);
  return new BentoError('JOB_INVALID', `${path} exists and is not a bento-batch lock: the checkpoint ${dir} keeps its lock there, and would replace that file`, {
    file: path, hint: `Set checkpoint.path to another name (its lock is <checkpoint.path>.lock), or leave it out; if ${path} is a bento-batch file left by a crash, delete it.`,
  });
}

function running(job: string, path: string, h: Holder): BentoError {
  if (h.job !== undefined && h.job !== job) {
    return new BentoError('JOB_RUNNING', `Job ${job}: its checkpoint is in use by another job, ${h.job}: process ${h.pid} on ${h.host} holds ${path} since ${h.started}`, {
      file: path, hint: 'Give each job a checkpoint.path of its own (or leave it out: it is <output.path>.bento-batch).',
    });
  }
  return new BentoError('JOB_RUNNING', `Job ${job} is already running: process ${h.pid} on ${h.host} holds ${path} since ${h.started}`, {
    file: path, hint: `Wait for that run to finish (bento-batch status shows how far it is). If no such run is alive, delete ${path} and run again.`,
  });
}

/** The run holding the job's lock, if one is alive (for `status`). */
export async function lockHolder(checkpointDir: string): Promise<{ readonly pid: number; readonly host: string; readonly started: string } | undefined> {
  const { holder, alive } = await holderOf(lockFile(checkpointDir));
  return alive && holder ? { pid: holder.pid, host: holder.host, started: holder.started } : undefined;
}

/**
 * The lock file's holder, whether it is alive, and when it was last renewed; `foreign` for a file
 * that is no run's lock (checkpoint.path `poetry` next to a `poetry.lock`): never removed.
 */
async function holderOf(path: string): Promise<{ holder?: Holder; alive: boolean; mtimeMs: number; foreign?: true }> {
  const [text, info] = await Promise.all([readFile(path, 'utf8').catch(() => ''), stat(path).catch(() => undefined)]);
  if (!info) return { alive: false, mtimeMs: 0 };
  const { mtimeMs } = info;
  // A run's lock is its holder's JSON, which starts so (create). Empty or cut short, it is a run's
  // killed while writing it where the file system has no hard links: dead.
  if (text !== '' && !text.startsWith('{"pid":')) return { alive: false, mtimeMs, foreign: true };
  let holder: Holder;
  try {
    holder = JSON.parse(text) as Holder;
  } catch {
    return { alive: false, mtimeMs };
  }
  if (!Number.isInteger(holder.pid) || typeof holder.host !== 'string') return { alive: false, mtimeMs };
  if (!local(holder)) {
    // Another host's (or another pid namespace's) run: alive while it renews the lock. This
    // clock tells a fresh lock, and one long dead; between the two, and for a lock dated in the
    // future, only watching it for STALE_MS does (acquireLock).
    const age = Date.now() - mtimeMs;
    return { holder, alive: watchedStale.get(path) !== mtimeMs && age < CLOCK_SKEW_MS, mtimeMs };
  }
  // This process's id in a lock is a dead container's (restarted on the same volume as the same
  // id), unless this thread holds it.
  if (holder.pid === process.pid) return { holder, alive: heldHere.has(path), mtimeMs };
  if (!processAlive(holder.pid)) return { holder, alive: false, mtimeMs };
  const now = ticksOf(holder.pid).ticks;
  return { holder, alive: holder.ticks === undefined || now === undefined || now === holder.ticks, mtimeMs };
}

/** Whether a lock's holder is a process this one can judge by its id: same host, same pid namespace. */
function local(holder: Holder): boolean {
  return holder.host === hostname() && (holder.pidns === undefined || pidNamespace === undefined || holder.pidns === pidNamespace);
}

function held(path: string, content: string, job: string, tookOver: Holder | undefined): Lock {
  let lost: BentoError | undefined;
  /** Whether the lock is still this run's; once not, never again. */
  const look = async (): Promise<boolean> => {
    if (lost) return false;
    // Unreadable for another reason (EIO, a network file system's hiccup) is not taken for lost.
    const now = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : content));
    if (now === content) return true;
    lost ??= lostError(job, path, now);
    clearInterval(renew);
    heldHere.delete(path);
    return false;
  };
  const renew = setInterval(() => {
    void look().then((ours) => {
      if (!ours) return;
      const now = new Date();
      return utimes(path, now, now);
    }).catch(() => undefined);
  }, RENEW_MS);
  renew.unref();
  return {
    tookOver,
    get lost() {
      return lost;
    },
    async check() {
      // A look that took long was paused in the middle (a stopped process, a suspended VM): what it
      // read may be older than the takeover that happened meanwhile, so it looks again.
      for (;;) {
        const began = Date.now();
        if (!(await look())) throw lost!;
        if (Date.now() - began < 1000) return;
      }
    },
    async release() {
      clearInterval(renew);
      const ours = await look();
      heldHere.delete(path);
      if (ours) await rm(path, { force: true });
    },
  };
}

function lostError(job: string, path: string, now: string | undefined): BentoError {
  let other: Partial<Holder> | undefined;
  try {
    other = now === undefined ? undefined : JSON.parse(now) as Partial<Holder>;
  } catch {
    other = undefined;
  }
  const by = other && Number.isInteger(other.pid) && typeof other.host === 'string' ? `process ${other.pid} on ${other.host}` : 'another run';
  return now === undefined
    ? new BentoError('JOB_RUNNING', `Job ${job}: this run's lock ${path} was removed while it ran (by hand, or by a run that took the job over and finished); it stops without writing more, so as not to write over another run's output`, {
      file: path, hint: 'Run the same command again: it resumes from the last checkpoint, or says the job is finished. Delete a lock only when no run of the job is alive.',
    })
    : new BentoError('JOB_RUNNING', `Job ${job}: this run lost its lock ${path} to ${by}, which took the job over; it stops without writing more`, {
      file: path, hint: `That run goes on from the last checkpoint. A run loses its lock when it is paused or cut off for more than ${STALE_MS / 1000} s (a suspended VM, a frozen node) while a run on another host waits for the job; nothing needs doing unless that run fails.`,
    });
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

/**
 * Removes the lock files' temporaries of runs killed while making one (this run holds the lock):
 * `.NAME.lock.PID-N.bento-batch.tmp`, and `NAME.lock-PID-N.bento-batch.tmp` as earlier versions named them.
 */
export async function removeDeadLockTemps(checkpointPath: string): Promise<void> {
  const lock = `${checkpointPath}.lock`;
  await Promise.all([removeDeadTemps(lock, true), removeDeadTemps(guardOf(lock), true)]);
  const dir = dirname(checkpointPath);
  const name = basename(checkpointPath);
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const rest = [`${name}.lock-`, `${name}.takeover.lock-`].find((head) => entry.startsWith(head)) ?? '';
    const id = rest && entry.endsWith('.bento-batch.tmp') ? /^(\d+)-\d+$/.exec(entry.slice(rest.length, -'.bento-batch.tmp'.length))?.[1] : undefined;
    const pid = Number(id);
    if (id !== undefined && pid !== process.pid && !processAlive(pid)) await rm(join(dir, entry), { force: true });
  }
}
