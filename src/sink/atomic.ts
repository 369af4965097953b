/**
 * @file The partial output file: appended to, fsync'd at commits, truncated back to the last
 * commit on resume, and renamed into place only when complete, so nothing half-written ever
 * sits at the output path.
 */
import { copyFile, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BentoError, fsReason } from '../errors.js';

export interface PartialFile {
  /** Bytes in the file so far. */
  readonly length: number;
  /** Appends bytes; converts disk errors into OUTPUT_WRITE. */
  write(bytes: Uint8Array | string): Promise<void>;
  /** fsync: everything written before the call is durable when it resolves. */
  sync(): Promise<void>;
  /** fsync and close: the file is complete and may be published. */
  seal(): Promise<void>;
  /** Close, keeping the file. Idempotent. */
  close(): Promise<void>;
  /** Close and delete. Idempotent. */
  discard(): Promise<void>;
}

/** Opens `path` fresh, or (with `resumeAt`) truncated back to that many bytes. */
export async function openPartial(path: string, resumeAt?: number): Promise<PartialFile> {
  let handle: FileHandle;
  let length = resumeAt ?? 0;
  // The checkpoint says these bytes were committed: a partial file gone or shorter lost them (removed by hand, a disk restored from a backup).
  const lost = (what: string) => new BentoError('RESUME_REFUSED', `Cannot resume: the partial output ${path} ${what}, but the checkpoint has ${resumeAt} bytes of it committed`, {
    file: path, hint: 'Run again with --restart to score the input again; the rows committed are not all there to resume from.',
  });
  try {
    await mkdir(dirname(path), { recursive: true });
    if (resumeAt !== undefined && !(await stat(path).catch(() => undefined))) throw lost('is gone');
    handle = await open(path, resumeAt === undefined ? 'w' : 'r+');
    if (resumeAt !== undefined) {
      const { size } = await handle.stat();
      if (size < resumeAt) {
        await handle.close();
        throw lost(`holds ${size} bytes`);
      }
      await handle.truncate(resumeAt);
    }
  } catch (error) {
    throw outputError(path, error);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  return {
    get length() {
      return length;
    },
    async write(bytes) {
      const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      try {
        for (let done = 0; done < buffer.length;) done += (await handle.write(buffer, done, buffer.length - done, length + done)).bytesWritten;
      } catch (error) {
        throw outputError(path, error);
      }
      length += buffer.length;
    },
    async sync() {
      try {
        await handle.datasync();
      } catch (error) {
        throw outputError(path, error);
      }
    },
    async seal() {
      try {
        await handle.sync();
      } catch (error) {
        throw outputError(path, error);
      }
      await close();
    },
    close,
    async discard() {
      await close();
      await rm(path, { force: true });
    },
  };
}

/**
 * Moves a sealed partial file to its final path atomically and durably. Across filesystems
 * (a checkpoint directory elsewhere) it copies to a hidden file beside `final` first.
 */
export async function publish(partial: string, final: string): Promise<void> {
  try {
    await mkdir(dirname(final), { recursive: true });
    try {
      await rename(partial, final);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      const beside = besideTemp(final);
      await copyFile(partial, beside);
      const copy = await open(beside, 'r+');
      await copy.sync().finally(() => copy.close());
      await rename(beside, final);
      await rm(partial, { force: true });
    }
    await syncDir(dirname(final));
  } catch (error) {
    throw outputError(final, error);
  }
}

/** The hidden file a run writes beside `final` (`checkpoint: false`, or a copy across filesystems). */
export const besideTemp = (final: string) => join(dirname(final), `.${basename(final)}.${process.pid}.bento-batch.tmp`);

/**
 * Removes what runs killed before they could clean up left beside `final` (a preempted pod, a
 * SIGKILL): hidden temp files of processes no longer alive here, untouched for a minute (a run
 * on another host sharing the folder keeps writing its own), or untouched for a day. `locked`:
 * this run holds the job's lock, so no other run of the job is alive anywhere, and a dead
 * process's file goes at once (a copy killed halfway may hold the space the retry needs).
 */
export async function removeDeadTemps(final: string, locked = false): Promise<void> {
  const dir = dirname(final);
  const name = basename(final);
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.map(async (entry) => {
    if (!entry.startsWith(`.${name}.`) || !entry.endsWith('.bento-batch.tmp')) return;
    // PID, or PID-N (a lock's temporary: checkpoint/lock.ts).
    const pid = Number(entry.slice(name.length + 2, -'.bento-batch.tmp'.length).replace(/-\d+$/, ''));
    if (!Number.isInteger(pid) || pid === process.pid) return;
    const age = Date.now() - ((await stat(join(dir, entry)).catch(() => undefined))?.mtimeMs ?? Date.now());
    if (age > 24 * 3600_000 || ((locked || age > 60_000) && !processAlive(pid))) await rm(join(dir, entry), { force: true });
  }));
}

/** Whether a process with this id exists here (one of another user's counts: the signal is refused, not unknown). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** fsync a directory so a rename or create in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export function outputError(path: string, error: unknown): BentoError {
  if (error instanceof BentoError) return error;
  const e = error as NodeJS.ErrnoException;
  const why = e.code === 'ENOENT' ? 'its folder was removed while the run wrote there' : fsReason(e) ?? e.message;
  const again = 'run the same command again (with a checkpoint, it resumes from the last commit)';
  const hint = e.code === 'ENOSPC' ? `Free some space (df -h; df -i where files, not bytes, ran out) and ${again}.`
    : e.code === 'EFBIG' ? `The file system, or the shell's limit (ulimit -f), caps a file's size below the output's: raise it or write elsewhere, and ${again}.`
      : e.code === 'ENOENT' ? `Leave the folders a run writes in (the output's, the checkpoint) in place while it runs, and ${again}.`
        : `Check that ${dirname(path)} exists and this user may write there, and ${again}.`;
  return new BentoError('OUTPUT_WRITE', `Cannot write output ${path}: ${why}`, { file: path, cause: error, hint });
}
