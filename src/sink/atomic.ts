/**
 * @file Temporary-file-then-rename, so nothing half-written ever sits at the output path.
 */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BentoError } from '../errors.js';

export interface AtomicFile {
  readonly handle: FileHandle;
  readonly tempPath: string;
  /** Appends bytes at the end; converts disk errors into OUTPUT_WRITE. */
  write(bytes: Uint8Array | string): Promise<void>;
  /** fsync, close, rename over `path`, fsync the directory. */
  commit(): Promise<void>;
  /** Close and delete the temporary file (idempotent). */
  discard(): Promise<void>;
}

/** Opens a hidden temporary file beside `path` (same filesystem, so the rename is atomic). */
export async function createAtomic(path: string): Promise<AtomicFile> {
  const dir = dirname(path);
  const tempPath = join(dir, `.${basename(path)}.${process.pid}.bento-batch.tmp`);
  let handle: FileHandle;
  try {
    await mkdir(dir, { recursive: true });
    handle = await open(tempPath, 'w');
  } catch (error) {
    throw outputError(path, error);
  }
  let closed = false;
  return {
    handle,
    tempPath,
    async write(bytes) {
      const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      try {
        for (let done = 0; done < buffer.length;) done += (await handle.write(buffer, done, buffer.length - done)).bytesWritten;
      } catch (error) {
        throw outputError(path, error);
      }
    },
    async commit() {
      try {
        await handle.sync();
        await handle.close();
        closed = true;
        await rename(tempPath, path);
        const d = await open(dir, 'r');
        await d.sync().finally(() => d.close());
      } catch (error) {
        throw outputError(path, error);
      }
    },
    async discard() {
      if (!closed) {
        closed = true;
        await handle.close().catch(() => undefined);
      }
      await rm(tempPath, { force: true });
    },
  };
}

export function outputError(path: string, error: unknown): BentoError {
  if (error instanceof BentoError) return error;
  const e = error as NodeJS.ErrnoException;
  const why = e.code === 'ENOSPC' ? 'the disk is full' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'EROFS' ? 'the filesystem is read-only' : e.message;
  return new BentoError('OUTPUT_WRITE', `Cannot write output ${path}: ${why}`, {
    file: path, cause: error, hint: e.code === 'ENOSPC' ? 'Free some space and run again.' : 'Check output.path and that its directory is writable.',
  });
}
