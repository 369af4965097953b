/**
 * FilesAhead (source/ahead.ts): small files read whole, at once while reads are fast and ahead on
 * the thread pool once they are slow, within the files and bytes allowed ahead; statFiles.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FilesAhead, statFiles } from '../../src/source/ahead.js';
import { rejectsWith, withTempDir } from '../helpers.js';

/** Files `f0` … of `sizes` bytes under `dir`, each byte its file's index. */
async function files(dir: string, sizes: readonly number[]): Promise<string[]> {
  const paths = sizes.map((_, i) => join(dir, `f${i}`));
  for (const [i, size] of sizes.entries()) await writeFile(paths[i]!, Buffer.alloc(size, i));
  return paths;
}

// slowMs -1: the first file is read at once, the rest ahead; the default reads at once (this disk is fast).
for (const [mode, slowMs] of [['at once', undefined], ['ahead', -1]] as const) {
  describe(`FilesAhead, read ${mode}`, () => {
    test('small files whole, in order and from where a resume starts; a larger file, a FIFO and a file grown since its stat are streamed (undefined)', () => withTempDir(async (dir) => {
      const paths = await files(dir, [10, 0, 300, 5000, 20, 7]);
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      paths.push(join(dir, 'fifo'));
      const stats = await statFiles(paths);
      assert.deepEqual(stats.map((s) => [s.size, s.regular]), [[10, true], [0, true], [300, true], [5000, true], [20, true], [7, true], [Infinity, false]]);
      await appendFile(paths[5]!, 'more');
      const ahead = new FilesAhead(paths, stats, { most: 1000, budget: 4000, ahead: 4, ...(slowMs !== undefined ? { slowMs } : {}) });
      const got = [];
      for (let i = 0; i < paths.length; i++) got.push(await ahead.take(i));
      assert.deepEqual(got.map((b) => b?.length), [10, 0, 300, undefined, 20, undefined, undefined]);
      for (const [i, bytes] of got.entries()) if (bytes) assert.ok(bytes.every((b) => b === i), `file ${i}'s own bytes`);
      const resumed = new FilesAhead(paths, stats, { most: 1000, budget: 4000, ahead: 4, ...(slowMs !== undefined ? { slowMs } : {}) });
      assert.equal((await resumed.take(2))?.[0], 2);
      assert.equal((await resumed.take(4))?.[0], 4);
    }));

    test('with head, each file\'s first bytes, whatever its size; a missing file rejects with its error', () => withTempDir(async (dir) => {
      const paths = await files(dir, [10, 5000, 64]);
      const stats = await statFiles(paths);
      await rm(paths[2]!);
      const heads = new FilesAhead(paths, stats, { most: 64, budget: 4000, ahead: 4, head: true, ...(slowMs !== undefined ? { slowMs } : {}) });
      assert.equal((await heads.take(0))?.length, 10);
      assert.deepEqual(await heads.take(1), Buffer.alloc(64, 1));
      await assert.rejects(heads.take(2), { code: 'ENOENT' });
      // As a reader reports it: the INPUT error naming the file.
      const again = new FilesAhead(paths, stats, { most: 64, budget: 4000, ahead: 4, head: true, ...(slowMs !== undefined ? { slowMs } : {}) });
      await rejectsWith(again.read(2), 'INPUT_NOT_FOUND', `Input file ${paths[2]} does not exist`);
    }));
  });
}

test('FilesAhead reads ahead at most `ahead` files and `budget` bytes (one file at least), and no further than a file to be streamed', () => withTempDir(async (dir) => {
  const paths = await files(dir, [100, 100, 100, 100, 100, 5000, 100]);
  const stats = await statFiles(paths);
  const options = { most: 1000, ahead: 3, slowMs: -1 };
  // What was read ahead is there after the file is gone; what was not, is not.
  const gone = async (budget: number, taken: number) => {
    const ahead = new FilesAhead(paths, stats, { ...options, budget });
    for (let i = 0; i <= taken; i++) await ahead.take(i);
    const kept = await files(dir, [100, 100, 100, 100, 100, 5000, 100]);
    for (const path of kept) await rm(path);
    const read = [];
    for (let i = taken + 1; i < paths.length; i++) read.push(await ahead.take(i).then((b) => (b === undefined ? 'streamed' : 'read'), () => 'gone'));
    await files(dir, [100, 100, 100, 100, 100, 5000, 100]);
    return read;
  };
  // The first take is read at once and starts reads of the next three.
  assert.deepEqual(await gone(10_000, 0), ['read', 'read', 'read', 'gone', 'streamed', 'gone']);
  assert.deepEqual(await gone(250, 0), ['read', 'read', 'gone', 'gone', 'streamed', 'gone']);
  assert.deepEqual(await gone(50, 0), ['read', 'gone', 'gone', 'gone', 'streamed', 'gone']);
  // Taking file 3 reads file 4 ahead, and not past file 5, which is streamed.
  assert.deepEqual(await gone(10_000, 3), ['read', 'streamed', 'gone']);
}));

test('statFiles names a missing file as INPUT_NOT_FOUND', () => withTempDir(async (dir) => {
  const paths = await files(dir, [1]);
  await rejectsWith(statFiles([...paths, join(dir, 'gone.csv')]), 'INPUT_NOT_FOUND', `Input file ${join(dir, 'gone.csv')} does not exist`);
}));
