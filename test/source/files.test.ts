/**
 * resolveInputFiles / globToRegExp (files, directories, globs, sorted, hidden skipped,
 * INPUT_NOT_FOUND) and openSource (format by extension, mixed formats, reader choice).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type InputSpec, writtenByRuns } from '../../src/job/spec.js';
import { openSource } from '../../src/source/index.js';
import { globToRegExp, jsonFile, resolveInputFiles } from '../../src/source/files.js';
import { fixtures, rejectsWith, withTempDir } from '../helpers.js';
import { concatColumns, drain } from './util.js';

const isData = (file: string) => /\.(csv|tsv|jsonl|ndjson|parquet|pq)(\.gz)?$/i.test(file);

/** Creates each relative path under `dir` with a one-line CSV body. */
async function touch(dir: string, paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), `a\n${path.length}\n`);
  }
}

describe('globToRegExp', () => {
  const cases: [string, string[], string[]][] = [
    ['*.csv', ['a.csv', '.csv', 'part-1.csv'], ['a.csv.gz', 'x/a.csv', 'a.tsv']],
    ['**/*.csv', ['a.csv', 'x/a.csv', 'x/y/z.csv'], ['x/a.tsv']],
    ['x/**', ['x/a', 'x/y/z'], ['y/a']],
    ['part-?.jsonl', ['part-1.jsonl', 'part-a.jsonl'], ['part-10.jsonl', 'part-/.jsonl']],
    ['part-[12].csv', ['part-1.csv', 'part-2.csv'], ['part-3.csv']],
    ['part-[!12].csv', ['part-3.csv'], ['part-1.csv']],
    ['{a,b}.csv', ['a.csv', 'b.csv'], ['c.csv', 'ab.csv']],
    ['a+b(1).csv', ['a+b(1).csv'], ['aab1.csv', 'a+b(1)xcsv']],
    // Alternatives are globs of their own; a backslash takes the next character as it is.
    ['{*.csv,*.tsv}', ['a.csv', 'b.tsv'], ['a.jsonl', 'x/a.csv']],
    ['{part-*,x}.csv', ['part-1.csv', 'x.csv'], ['y.csv']],
    ['p\\[1\\].csv', ['p[1].csv'], ['p1.csv']],
    ['data\\{a\\}.csv', ['data{a}.csv'], ['dataa.csv']],
  ];
  for (const [glob, yes, no] of cases) {
    test(glob, () => {
      const re = globToRegExp(glob);
      for (const path of yes) assert.ok(re.test(path), `${glob} should match ${path} (${re})`);
      for (const path of no) assert.ok(!re.test(path), `${glob} should not match ${path} (${re})`);
    });
  }
});

describe('resolveInputFiles', () => {
  test('a directory is walked recursively, filtered, sorted, hidden files and Spark\'s _ markers skipped', () => withTempDir(async (dir) => {
    await touch(dir, ['b.csv', 'a.csv', 'sub/c.csv', 'README.md', '.hidden.csv', '.tmp/d.csv', 'sub/a.csv.gz', '_SUCCESS', '_temporary/0/part-9.csv', '_committed_1.csv']);
    assert.deepEqual(await resolveInputFiles(dir, isData), [join(dir, 'a.csv'), join(dir, 'b.csv'), join(dir, 'sub', 'a.csv.gz'), join(dir, 'sub', 'c.csv')]);
  }));

  test('.json files are JSON Lines in a folder of no other data file (Spark\'s write.json), and a sidecar beside CSV files', () => withTempDir(async (dir) => {
    await touch(dir, ['spark/part-00001-c000.json', 'spark/part-00000-c000.json.gz', 'spark/_SUCCESS', 'spark/.part-00000-c000.json.crc', 'mixed/a.csv', 'mixed/schema.json']);
    const isJson = (file: string) => jsonFile.test(file);
    assert.deepEqual(await resolveInputFiles(join(dir, 'spark'), isData, undefined, isJson), [join(dir, 'spark', 'part-00000-c000.json.gz'), join(dir, 'spark', 'part-00001-c000.json')]);
    assert.deepEqual(await resolveInputFiles(join(dir, 'mixed'), isData, undefined, isJson), [join(dir, 'mixed', 'a.csv')]);
    // A rerun whose output (a CSV) landed in the folder still reads the JSON files, not nothing.
    await touch(dir, ['spark/scored.csv']);
    const own = (file: string) => file === join(dir, 'spark', 'scored.csv');
    assert.deepEqual(await resolveInputFiles(join(dir, 'spark'), isData, { test: own }, isJson), [join(dir, 'spark', 'part-00000-c000.json.gz'), join(dir, 'spark', 'part-00001-c000.json')]);
  }));

  test('a folder or glob leaves out what runs of the job write; a file named on its own is read', () => withTempDir(async (dir) => {
    // A nightly job whose output lands in the folder it reads, mid-resume, beside another job's checkpoint.
    await touch(dir, ['a.csv', 'scored.csv', 'scored.csv.errors.jsonl', 'scored.csv.bento-batch/partial.csv', 'scored.csv.bento-batch/errors.partial.jsonl',
      'other.csv.bento-batch/partial.csv', 'other.csv.bento-batch/state.json.csv', 'keep.bento-batch.csv', 'sub/b.csv']);
    await writeFile(join(dir, 'scored.csv.bento-batch', 'state.json'), '{}');
    await writeFile(join(dir, '.scored.csv.123.bento-batch.tmp'), 'a\n1\n');
    const own = writtenByRuns({
      output: { path: join(dir, 'scored.csv') } as never,
      errors: { path: join(dir, 'scored.csv.errors.jsonl') } as never,
      checkpoint: { path: join(dir, 'scored.csv.bento-batch'), everyRows: undefined, everySeconds: 5 },
    });
    const read = (path: string) => {
      const skipped: string[] = [];
      return resolveInputFiles(path, isData, { test: own, skipped: (file) => skipped.push(file) }).then((files) => ({ files, skipped }));
    };
    assert.deepEqual(await read(dir), {
      files: [join(dir, 'a.csv'), join(dir, 'keep.bento-batch.csv'), join(dir, 'sub', 'b.csv')],
      skipped: [join(dir, 'other.csv.bento-batch', 'partial.csv'), join(dir, 'other.csv.bento-batch', 'state.json.csv'), join(dir, 'scored.csv'), join(dir, 'scored.csv.bento-batch', 'errors.partial.jsonl'), join(dir, 'scored.csv.bento-batch', 'partial.csv'), join(dir, 'scored.csv.errors.jsonl')],
    });
    assert.deepEqual(await read(join(dir, '*.csv')), { files: [join(dir, 'a.csv'), join(dir, 'keep.bento-batch.csv')], skipped: [join(dir, 'scored.csv')] });
    await rejectsWith(read(join(dir, '*', 'partial.*')), 'INPUT_NOT_FOUND', `Input ${join(dir, '*', 'partial.*')} matches no file`);
    assert.deepEqual(await read(join(dir, 'scored.csv')), { files: [join(dir, 'scored.csv')], skipped: [] });
  }));

  test('what runs of the job write is left out when the input reaches its folder through a link, or the output names it through one', () => withTempDir(async (dir) => {
    // /data/current -> /data/2026-12-06: the job reads current/*.csv and writes into the dated folder itself, or the other way round.
    await touch(dir, ['2026-12-06/a.csv', '2026-12-06/scored.csv', '2026-12-06/scored.csv.errors.jsonl', '2026-12-06/ckpt/partial.csv']);
    await symlink(join(dir, '2026-12-06'), join(dir, 'current'));
    const through = (folder: string) => writtenByRuns({
      output: { path: join(dir, folder, 'scored.csv') } as never,
      errors: { path: join(dir, folder, 'scored.csv.errors.jsonl') } as never,
      checkpoint: { path: join(dir, folder, 'ckpt'), everyRows: undefined, everySeconds: 5 },
    });
    for (const [reads, writes] of [['current', '2026-12-06'], ['2026-12-06', 'current']] as const) {
      const skipped: string[] = [];
      const files = await resolveInputFiles(join(dir, reads), isData, { test: through(writes), skipped: (file) => skipped.push(file) });
      assert.deepEqual(files, [join(dir, reads, 'a.csv')], `reading ${reads}, writing ${writes}`);
      assert.deepEqual(skipped, [join(dir, reads, 'ckpt', 'partial.csv'), join(dir, reads, 'scored.csv'), join(dir, reads, 'scored.csv.errors.jsonl')]);
    }
  }));

  test('symbolic links are followed, to files and folders, a folder reached twice walked once', () => withTempDir(async (dir) => {
    // As a Kubernetes volume or a DVC checkout lays files out: data elsewhere, links in the folder read.
    await touch(dir, ['store/x.csv', 'store/deep/y.csv', 'in/own.csv']);
    await symlink(join(dir, 'store', 'x.csv'), join(dir, 'in', 'linked.csv'));
    await symlink(join(dir, 'store', 'deep'), join(dir, 'in', 'deep'));
    await symlink(join(dir, 'in'), join(dir, 'in', 'again'));
    await symlink(join(dir, 'in', 'deep'), join(dir, 'in', 'zdeep'));
    assert.deepEqual(await resolveInputFiles(join(dir, 'in'), isData), [join(dir, 'in', 'deep', 'y.csv'), join(dir, 'in', 'linked.csv'), join(dir, 'in', 'own.csv')]);
    assert.deepEqual(await resolveInputFiles(join(dir, 'in', '*.csv'), isData), [join(dir, 'in', 'linked.csv'), join(dir, 'in', 'own.csv')]);
  }));

  test('a link to nothing that would be read is INPUT_NOT_FOUND, naming it; one that would not is skipped', () => withTempDir(async (dir) => {
    await touch(dir, ['in/a.csv']);
    await symlink(join(dir, 'gone', 'notes.txt'), join(dir, 'in', 'notes.txt'));
    assert.deepEqual(await resolveInputFiles(join(dir, 'in'), isData), [join(dir, 'in', 'a.csv')]);
    await symlink(join(dir, 'gone', 'b.csv'), join(dir, 'in', 'b.csv'));
    await symlink(join(dir, 'gone', 'c.csv'), join(dir, 'in', 'c.csv'));
    for (const path of [join(dir, 'in'), join(dir, 'in', '*.csv')]) {
      const error = await rejectsWith(() => resolveInputFiles(path, isData), 'INPUT_NOT_FOUND',
        `Input file ${join(dir, 'in', 'b.csv')} is a symbolic link to ${join(dir, 'gone', 'b.csv')}, which does not exist (and 1 more such link)`);
      assert.equal(error.file, join(dir, 'in', 'b.csv'));
    }
    assert.deepEqual(await resolveInputFiles(join(dir, 'in', 'a*.csv'), isData), [join(dir, 'in', 'a.csv')]);
    // Named on its own, too.
    await rejectsWith(() => resolveInputFiles(join(dir, 'in', 'c.csv'), isData), 'INPUT_NOT_FOUND', `Input file ${join(dir, 'in', 'c.csv')} is a symbolic link to ${join(dir, 'gone', 'c.csv')}, which does not exist`);
  }));

  test('a glob matches within segments, ** across them, in sorted order', () => withTempDir(async (dir) => {
    await touch(dir, ['part-10.csv', 'part-2.csv', 'part-1.csv', 'x/part-3.csv', 'part-1.tsv', '.part-9.csv']);
    assert.deepEqual(await resolveInputFiles(join(dir, 'part-*.csv'), isData), [join(dir, 'part-1.csv'), join(dir, 'part-10.csv'), join(dir, 'part-2.csv')]);
    assert.deepEqual(await resolveInputFiles(join(dir, '**', 'part-?.csv'), isData), [join(dir, 'part-1.csv'), join(dir, 'part-2.csv'), join(dir, 'x', 'part-3.csv')]);
    assert.deepEqual(await resolveInputFiles(join(dir, '*', '*.csv'), isData), [join(dir, 'x', 'part-3.csv')]);
  }));

  test('a plain file is returned as is, even with another extension', () => withTempDir(async (dir) => {
    await touch(dir, ['notes.txt']);
    assert.deepEqual(await resolveInputFiles(join(dir, 'notes.txt'), isData), [join(dir, 'notes.txt')]);
  }));

  test('a missing file is INPUT_NOT_FOUND', () => withTempDir(async (dir) => {
    const path = join(dir, 'missing.csv');
    const error = await rejectsWith(() => resolveInputFiles(path, isData), 'INPUT_NOT_FOUND', `Input file ${path} does not exist`);
    assert.equal(error.hint, 'Check input.path; relative paths resolve against the job file\'s directory (given with --set, against the current one).');
  }));

  test('a glob matching nothing is INPUT_NOT_FOUND', () => withTempDir(async (dir) => {
    await touch(dir, ['a.csv']);
    const path = join(dir, '*.parquet');
    await rejectsWith(() => resolveInputFiles(path, isData), 'INPUT_NOT_FOUND', `Input ${path} matches no file`);
  }));

  test('a glob under a missing directory is INPUT_NOT_FOUND', () => withTempDir(async (dir) => {
    const path = join(dir, 'nope', '*.csv');
    await rejectsWith(() => resolveInputFiles(path, isData), 'INPUT_NOT_FOUND', `Input ${path} matches no file`);
  }));

  test('a directory without data files is INPUT_NOT_FOUND', () => withTempDir(async (dir) => {
    await touch(dir, ['README.md', '.x.csv']);
    await rejectsWith(() => resolveInputFiles(dir, isData), 'INPUT_NOT_FOUND',
      `Input ${dir} matches no data file (.csv, .tsv, .jsonl, .ndjson, .json, .parquet, optionally .gz)`);
  }));
});

const spec = (path: string, extra: Partial<InputSpec> = {}): InputSpec => ({
  path, format: undefined, columns: undefined, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: 100, ...extra,
});

describe('openSource', () => {
  test('picks the reader by extension and reads a directory of parts in order', () => withTempDir(async (dir) => {
    await copyFile(join(fixtures, 'data', 'penguins-snappy.parquet'), join(dir, 'part-2.parquet'));
    await copyFile(join(fixtures, 'data', 'penguins-gzip.parquet'), join(dir, 'part-1.parquet'));
    await writeFile(join(dir, '_SUCCESS'), '');
    const source = await openSource(spec(dir, { columns: ['island'] }));
    assert.equal(source.format, 'parquet');
    assert.deepEqual(source.files, [join(dir, 'part-1.parquet'), join(dir, 'part-2.parquet')]);
    assert.equal(source.totalRows, 688);
    assert.equal(concatColumns(await drain(source)).island!.length, 688);
  }));

  test('a .csv.gz is CSV, a .ndjson is JSONL', async () => {
    const gz = await openSource(spec(join(fixtures, 'data', 'penguins.csv.gz')));
    assert.equal(gz.format, 'csv');
    assert.equal(concatColumns(await drain(gz)).species!.length, 344);
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'x.ndjson'), '{"a":1}\n');
      const nd = await openSource(spec(join(dir, 'x.ndjson')));
      assert.equal(nd.format, 'jsonl');
      assert.deepEqual(concatColumns(await drain(nd)), { a: [1] });
    });
  });

  test('input.format overrides the extension and keeps every file of a directory', () => withTempDir(async (dir) => {
    await writeFile(join(dir, 'rows.txt'), '{"a":1}\n{"a":2}\n');
    const source = await openSource(spec(dir, { format: 'jsonl' }));
    assert.equal(source.format, 'jsonl');
    assert.deepEqual(concatColumns(await drain(source)), { a: [1, 2] });
  }));

  test('an unknown extension is INPUT_FORMAT', () => withTempDir(async (dir) => {
    const file = join(dir, 'rows.dat');
    await writeFile(file, 'a\n1\n');
    const error = await rejectsWith(() => openSource(spec(file)), 'INPUT_FORMAT', `Cannot tell the format of ${file} from its extension`);
    assert.equal(error.hint, 'Set input.format to csv, jsonl or parquet, or use the extensions .csv .tsv .jsonl .ndjson .json .parquet (optionally .gz; .txt is read as CSV when named on its own or by a glob).');
  }));

  test('a .txt file named on its own or by a glob is CSV with its delimiter sniffed (Excel\'s "Text (Tab delimited)"); a directory\'s .txt files are not data', () => withTempDir(async (dir) => {
    const file = join(dir, 'export.txt');
    await writeFile(file, 'a\tb\r\n1\tx\r\n2\ty\r\n');
    for (const path of [file, join(dir, '*.txt')]) {
      const source = await openSource(spec(path));
      assert.equal(source.format, 'csv');
      assert.deepEqual(concatColumns(await drain(source)), { a: [1, 2], b: ['x', 'y'] });
    }
    await rejectsWith(() => openSource(spec(dir)), 'INPUT_NOT_FOUND', `Input ${dir} matches no data file (.csv, .tsv, .jsonl, .ndjson, .json, .parquet, optionally .gz)`);
  }));

  test('mixed formats are INPUT_FORMAT', () => withTempDir(async (dir) => {
    await touch(dir, ['a.csv']);
    await writeFile(join(dir, 'b.jsonl'), '{"a":1}\n');
    await rejectsWith(() => openSource(spec(dir)), 'INPUT_FORMAT', `Input files mix formats: ${join(dir, 'a.csv')} is csv, ${join(dir, 'b.jsonl')} is jsonl`);
  }));
});

test('a path with brackets is a glob where it matches files, and the file of that very name where it matches none (as a shell passes such a word on)', () => withTempDir(async (dir) => {
  for (const folder of ['in1', 'in2', 'in[12]']) {
    await mkdir(join(dir, folder));
    await writeFile(join(dir, folder, 'a.csv'), 'x\n1\n');
  }
  const csv = (file: string) => file.endsWith('.csv');
  assert.deepEqual(await resolveInputFiles(join(dir, 'in[12]', 'a.csv'), csv), [join(dir, 'in1', 'a.csv'), join(dir, 'in2', 'a.csv')]);
  await writeFile(join(dir, 'data [2024].csv'), 'x\n1\n');
  assert.deepEqual(await resolveInputFiles(join(dir, 'data [2024].csv'), csv), [join(dir, 'data [2024].csv')]);
}));
