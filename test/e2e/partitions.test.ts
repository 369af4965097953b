/**
 * @file Hive-style partition folders, as a user meets them: DuckDB's PARTITION_BY output (the
 * bundled fixtures/data/penguins-hive/, island and sex in folder names only), and layouts written
 * here where a model's feature lives in a folder name. Predictions are checked against torch's
 * reference values, matched to the rows by their features (a folder is read in path order).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hivePartitions } from '../../src/source/partitions.js';
import { assertClose, bin, duckdb, fixtures, readJson, readRows, runCli, throwsWith, withTempDir } from '../helpers.js';

type Row = Record<string, unknown>;
const features = ['species', 'island', 'bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g', 'sex'];
const hive = join(fixtures, 'data', 'penguins-hive');
const model = join(fixtures, 'models', 'penguins');

/** Each output row's reference prediction: the source row with the same features (rows that repeat take theirs in turn). */
async function checkPredictions(rows: readonly Row[], model = 'penguins'): Promise<void> {
  const source = await readRows(join(fixtures, 'data', 'penguins.jsonl'));
  const reference = await readJson<Row[]>(join(fixtures, 'reference', `${model}.json`));
  const key = (row: Row) => JSON.stringify(features.map((f) => row[f] ?? null));
  const byKey = new Map<string, number[]>();
  source.forEach((row, i) => byKey.set(key(row), [...(byKey.get(key(row)) ?? []), i]));
  assert.equal(rows.length, source.length);
  for (const row of rows) {
    const i = byKey.get(key(row))?.shift();
    assert.ok(i !== undefined, `no source row has the features of ${key(row)}`);
    assertClose(row, reference[i], 1e-5, `row ${key(row)}`);
  }
}

async function job(dir: string, lines: readonly string[]): Promise<string> {
  const file = join(dir, 'job.yaml');
  await writeFile(file, lines.join('\n'));
  return file;
}

describe('Hive-style partition folders', () => {
  for (const format of ['parquet', 'csv', 'jsonl'] as const) {
    test(`DuckDB's PARTITION_BY output → ${format}: island and sex come from the folder names, a null partition as null`, () => withTempDir(async (dir) => {
      const file = await job(dir, [`input: { path: ${hive} }`, `model: ${model}`, `output: { path: out/scored.${format} }`]);
      const run = await runCli(['run', file, '--progress', 'none']);
      assert.equal(run.code, 0, run.stderr);
      const rows = await readRows(join(dir, 'out', `scored.${format}`));
      assert.deepEqual(Object.keys(rows[0]!).slice(0, 7), ['species', 'bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g', 'island', 'sex']);
      await checkPredictions(rows);
      assert.equal(rows.filter((r) => r.sex === null).length, 10);
      if (format === 'parquet') {
        const types = await duckdb(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${join(dir, 'out', 'scored.parquet')}')) WHERE column_name IN ('island', 'sex')`);
        assert.deepEqual(types.map((t) => t.column_type), ['VARCHAR', 'VARCHAR']);
      }
    }));
  }

  test('a model feature and an int64 key in folder names (JSON Lines without those keys), resumed after a crash, CSV to CSV', () => withTempDir(async (dir) => {
    const source = await readRows(join(fixtures, 'data', 'penguins.jsonl'));
    const files = new Map<string, string[]>();
    source.forEach((row, i) => {
      const { flipper_length_mm: flipper, ...rest } = row;
      // A folder per year and flipper length; a missing length is Hive's null partition.
      const folder = join(dir, 'data', `year=${2007 + (i % 3)}`, `flipper_length_mm=${flipper ?? '__HIVE_DEFAULT_PARTITION__'}`);
      files.set(folder, [...(files.get(folder) ?? []), JSON.stringify(rest)]);
    });
    for (const [folder, lines] of files) {
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'part-00000.jsonl'), `${lines.join('\n')}\n`);
    }
    const file = await job(dir, [`input: { path: data, chunk_rows: 16 }`, `model: ${model}`, 'batch: { size: 8 }', 'output: { path: out/scored.jsonl }', 'checkpoint: { every: 16 }']);
    const died = await new Promise<NodeJS.Signals | null>((resolve) => {
      spawn(process.execPath, [bin, 'run', file, '--progress', 'none'], { env: { ...process.env, BENTO_BATCH_FAILPOINT: 'state-renamed:5' }, stdio: 'ignore' }).on('close', (_code, signal) => resolve(signal));
    });
    assert.equal(died, 'SIGKILL');
    const resumed = await runCli(['run', file, '--progress', 'none']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resum/i);
    const rows = await readRows(join(dir, 'out', 'scored.jsonl'));
    assert.deepEqual(Object.keys(rows[0]!).slice(0, 8), ['species', 'island', 'bill_length_mm', 'bill_depth_mm', 'body_mass_g', 'sex', 'year', 'flipper_length_mm']);
    assert.deepEqual(new Set(rows.map((r) => r.year)), new Set([2007, 2008, 2009]));
    // The two penguins without measurements sit in the null partition: the manifest's fill, as for a null in the file.
    assert.equal(rows.filter((r) => r.flipper_length_mm === null).length, 2);
    await checkPredictions(rows);
    const whole = await runCli(['run', file, '--progress', 'none', '--restart', '--set', `output.path=${join(dir, 'out', 'again.jsonl')}`]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(await readFile(join(dir, 'out', 'again.jsonl'), 'utf8'), await readFile(join(dir, 'out', 'scored.jsonl'), 'utf8'));
  }));

  test('a categorical model input with no fill, from a folder name, in Spark\'s write.partitionBy(…).json(…) layout', () => withTempDir(async (dir) => {
    for (const row of await readRows(join(fixtures, 'data', 'penguins.jsonl'))) {
      const { island, ...rest } = row;
      const folder = join(dir, 'data', `island=${String(island)}`);
      await mkdir(folder, { recursive: true });
      await appendFile(join(folder, 'part-00000-5f1c2a.c000.json'), `${JSON.stringify(rest)}\n`);
      await writeFile(join(folder, '.part-00000-5f1c2a.c000.json.crc'), 'crc');
    }
    await writeFile(join(dir, 'data', '_SUCCESS'), '');
    const file = await job(dir, ['input: { path: data }', `model: ${join(fixtures, 'models', 'penguins-mass')}`, 'output: { path: out/scored.parquet }']);
    const run = await runCli(['run', file, '--progress', 'none']);
    assert.equal(run.code, 0, run.stderr);
    await checkPredictions(await readRows(join(dir, 'out', 'scored.parquet')), 'penguins-mass');
  }));

  test('the example job jobs/penguins-hive.yaml: body mass from the island=… folder names, as torch computed it', () => withTempDir(async (dir) => {
    const run = await runCli(['run', join(fixtures, '..', 'jobs', 'penguins-hive.yaml'), '--progress', 'none', '--set', `output.path=${join(dir, 'mass.csv')}`, '--set', `output.keep=[${features.join(',')}]`]);
    assert.equal(run.code, 0, run.stderr);
    await checkPredictions(await readRows(join(dir, 'mass.csv')), 'penguins-mass');
  }));

  test('CSV to CSV writes the folder columns beside each record; input.columns and partitioning: none leave them out', () => withTempDir(async (dir) => {
    const [header, ...lines] = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trimEnd().split('\n');
    for (const [k, part] of ['a', 'b'].entries()) {
      await mkdir(join(dir, 'data', `batch=${part}`), { recursive: true });
      await writeFile(join(dir, 'data', `batch=${part}`, 'part.csv'), `${header}\n${lines.filter((_, i) => i % 2 === k).join('\n')}\n`);
    }
    const file = await job(dir, ['input: { path: data }', `model: ${model}`, 'output: { path: out/scored.csv }']);
    const all = await runCli(['run', file, '--progress', 'none']);
    assert.equal(all.code, 0, all.stderr);
    const text = await readFile(join(dir, 'out', 'scored.csv'), 'utf8');
    assert.equal(text.split('\n')[0], `${header},batch,species_pred,species_score,prob_Adelie,prob_Chinstrap,prob_Gentoo`);
    assert.equal(text.split('\n')[1], `${lines[0]},a,${text.split('\n')[1]!.split(',').slice(8).join(',')}`);
    await checkPredictions(await readRows(join(dir, 'out', 'scored.csv')));
    // The records are copied whole and the folder's column written after them: the bytes of writing every cell by name.
    const byName = await runCli(['run', file, '--progress', 'none', '--set', `output.path=${join(dir, 'out', 'by-name.csv')}`, '--set', `output.keep=[${header},batch]`]);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(text, await readFile(join(dir, 'out', 'by-name.csv'), 'utf8'));
    const narrow = await runCli(['run', file, '--progress', 'none', '--set', `output.path=${join(dir, 'out', 'narrow.jsonl')}`, '--set', 'output.keep=[batch]']);
    assert.equal(narrow.code, 0, narrow.stderr);
    assert.deepEqual(Object.keys((await readRows(join(dir, 'out', 'narrow.jsonl')))[0]!).slice(0, 2), ['batch', 'species_pred']);
    const none = await runCli(['run', file, '--progress', 'none', '--set', `output.path=${join(dir, 'out', 'none.jsonl')}`, '--set', 'input.partitioning=none']);
    assert.equal(none.code, 0, none.stderr);
    assert.ok(!('batch' in (await readRows(join(dir, 'out', 'none.jsonl')))[0]!));
  }));

  test('with partitioning: hive, a key the files hold too is not read from them, whatever its cells (numbers in one file, text in another); auto keeps the files\' column; a key folder starting with _ is read (DuckDB\'s _shard=0)', () => withTempDir(async (dir) => {
    const [header, ...lines] = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trimEnd().split('\n');
    for (const [folder, cell] of [['g=1', '1'], ['g=2', 'two']] as const) {
      await mkdir(join(dir, 'data', '_shard=0', folder), { recursive: true });
      await writeFile(join(dir, 'data', '_shard=0', folder, 'part.csv'), `${header},g\n${lines.slice(0, 3).map((l) => `${l},${cell}`).join('\n')}\n`);
    }
    await writeFile(join(dir, 'data', '_SUCCESS'), '');
    const file = await job(dir, ['input: { path: data, partitioning: hive }', `model: ${model}`, 'output: { path: out/scored.jsonl }']);
    const run = await runCli(['run', file, '--progress', 'none']);
    assert.equal(run.code, 0, run.stderr);
    const rows = await readRows(join(dir, 'out', 'scored.jsonl'));
    assert.deepEqual(rows.map((r) => [r._shard, r.g]), [[0, 1], [0, 1], [0, 1], [0, 2], [0, 2], [0, 2]]);
    assert.ok(!existsSync(join(dir, 'out', 'scored.jsonl.errors.jsonl')));
    // auto keeps the file's own column, as a job that ran before partitions were read has it: here its text cells are bad rows of a number column.
    const auto = await runCli(['run', file, '--progress', 'none', '--set', 'input.partitioning=auto', '--set', `output.path=${join(dir, 'out', 'auto.jsonl')}`]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.deepEqual((await readRows(join(dir, 'out', 'auto.jsonl'))).map((r) => [r._shard, r.g]), [[0, 1], [0, 1], [0, 1]]);
  }));

  test('a key the files hold too: auto keeps their column (as before partitions were read, byte for byte), hive takes the folder\'s value; files under different keys: auto reads plain folders and says so, hive stops before the run naming two', () => withTempDir(async (dir) => {
    const csv = await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8');
    await mkdir(join(dir, 'data', 'island=Dream'), { recursive: true });
    await writeFile(join(dir, 'data', 'island=Dream', 'part.csv'), csv);
    const file = await job(dir, ['input: { path: data }', `model: ${model}`, 'output: { path: out/scored.csv }']);
    const auto = await runCli(['run', file, '--progress', 'none']);
    assert.equal(auto.code, 0, auto.stderr);
    const plain = await runCli(['run', file, '--progress', 'none', '--set', 'input.partitioning=none', '--set', `output.path=${join(dir, 'out', 'plain.csv')}`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(await readFile(join(dir, 'out', 'scored.csv'), 'utf8'), await readFile(join(dir, 'out', 'plain.csv'), 'utf8'));
    // … also where the job asks for the key by name (output.keep, a model's column): the files are asked for it.
    for (const [output, extra] of [['keep.jsonl', ['--set', 'output.keep=[island]']], ['model.csv', ['--set', `model=${join(fixtures, 'models', 'penguins-mass')}`]]] as const) {
      const asked = await runCli(['run', file, '--progress', 'none', '--set', `output.path=${join(dir, 'out', output)}`, ...extra]);
      assert.equal(asked.code, 0, asked.stderr);
      assert.deepEqual(new Set((await readRows(join(dir, 'out', output))).map((r) => r.island)), new Set(['Torgersen', 'Biscoe', 'Dream']));
    }
    const hive = await runCli(['run', file, '--progress', 'none', '--set', 'input.partitioning=hive', '--set', `output.path=${join(dir, 'out', 'hive.jsonl')}`]);
    assert.equal(hive.code, 0, hive.stderr);
    assert.deepEqual(new Set((await readRows(join(dir, 'out', 'hive.jsonl'))).map((r) => r.island)), new Set(['Dream']));
    await writeFile(join(dir, 'data', 'loose.csv'), csv);
    const mixed = await runCli(['--log-format', 'json', 'run', file, '--progress', 'none', '--set', `output.path=${join(dir, 'out', 'mixed.csv')}`]);
    assert.equal(mixed.code, 0, mixed.stderr);
    assert.match(mixed.stderr, /"level":"warn".*holds folders named key=value, but not as one partitioned dataset \(.*island=Dream\/part\.csv is in partition folders island, .*loose\.csv in no partition folder\): they are read as plain folders/);
    // A model column that only the folders would give: the missing column's hint says why they were not read.
    await writeFile(join(dir, 'data', 'loose.csv'), csv.replace('species,island,', 'species,isle,'));
    await writeFile(join(dir, 'data', 'island=Dream', 'part.csv'), csv.replace('species,island,', 'species,isle,'));
    const missing = await runCli(['--log-format', 'text', 'run', file, '--progress', 'none', '--set', `model=${join(fixtures, 'models', 'penguins-mass')}`, '--set', `output.path=${join(dir, 'out', 'missing.csv')}`]);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /hint: "island" names key=value folders here, but they were not read as partition columns: input\.path .* holds folders named key=value, but not as one partitioned dataset/);
    await writeFile(join(dir, 'data', 'island=Dream', 'part.csv'), csv);
    await writeFile(join(dir, 'data', 'loose.csv'), csv);
    const strict = await runCli(['--log-format', 'json', 'run', file, '--progress', 'none', '--set', 'input.partitioning=hive', '--set', `output.path=${join(dir, 'out', 'strict.csv')}`]);
    assert.equal(strict.code, 3, strict.stderr);
    const error = JSON.parse(strict.stderr.trim().split('\n').find((line) => line.includes('"event":"error"'))!) as { code: string; message: string; hint: string };
    assert.equal(error.code, 'INPUT_FORMAT');
    assert.match(error.message, /island=Dream\/part\.csv is in partition folders island, .*loose\.csv in no partition folder/);
    assert.match(error.hint, /input\.partitioning: none/);
  }));

  test('folder names: Spark\'s %XX escapes and DuckDB\'s escaped UTF-8, whole numbers as int64 (not with a leading zero), the null partition', () => {
    const files = ['/d/k=2024/m=01/c=a%2Fb/x.parquet', '/d/k=-3/m=12/c=__HIVE_DEFAULT_PARTITION__/y.parquet', '/d/k=__HIVE_DEFAULT_PARTITION__/m=07/c=%zz/z.parquet', '/d/k=5/m=08/c=Z%C3%BCrich %E6%97%A5%E6%9C%AC/w.parquet', '/d/k=6/m=09/c=%E9t%E9/v.parquet'];
    const parts = hivePartitions('/d', files, 'auto', '/d')!;
    assert.deepEqual(parts.fields, [{ name: 'k', type: 'int64' }, { name: 'm', type: 'string' }, { name: 'c', type: 'string' }]);
    // A run of escapes that is not UTF-8 (Latin-1 bytes) stays as written.
    assert.deepEqual(parts.values, [[2024n, '01', 'a/b'], [-3n, '12', null], [null, '07', '%zz'], [5n, '08', 'Zürich 日本'], [6n, '09', '%E9t%E9']]);
    // DuckDB reads NULL in any case as a null partition.
    assert.deepEqual(hivePartitions('/d', ['/d/k=null/x.csv', '/d/k=NULL/y.csv', '/d/k=a/z.csv'], 'auto', '/d')!.values, [[null], [null], ['a']]);
    assert.deepEqual(hivePartitions('/d', ['/d/%C3%AEle=Dream/x.csv'], 'auto', '/d')!.fields, [{ name: 'île', type: 'string' }]);
    throwsWith(() => hivePartitions(undefined, ['/d/island=Dream/x.csv'], 'hive', '/d/island=Dream/x.csv'), 'INPUT_FORMAT', 'input.partitioning is hive, but input.path /d/island=Dream/x.csv names one file: its partition folders are read below a folder or a glob');
    assert.equal(hivePartitions('/d', ['/d/x.parquet'], 'auto', '/d'), undefined);
    assert.equal(hivePartitions('/d', files, 'none', '/d'), undefined);
    throwsWith(() => hivePartitions('/d', ['/d/x.parquet'], 'hive', '/d'), 'INPUT_FORMAT', 'input.partitioning is hive, but no folder under /d is named key=value');
    throwsWith(() => hivePartitions('/d', ['/d/a=1/b=2/x.csv', '/d/b=2/a=1/y.csv'], 'hive', '/d'), 'INPUT_FORMAT', 'Input files are partitioned differently: /d/a=1/b=2/x.csv is in partition folders a/b, /d/b=2/a=1/y.csv in partition folders b/a');
    // auto: not one dataset, read as plain folders, and said; a base64 id or a key= with no value is no partition folder at all.
    const notes: string[] = [];
    assert.equal(hivePartitions('/d', ['/d/a=1/b=2/x.csv', '/d/b=2/a=1/y.csv'], 'auto', '/d', notes), undefined);
    assert.deepEqual(notes, ['input.path /d holds folders named key=value, but not as one partitioned dataset (/d/a=1/b=2/x.csv is in partition folders a/b, /d/b=2/a=1/y.csv in partition folders b/a): they are read as plain folders, with no partition columns (input.partitioning: hive would stop here instead)']);
    assert.equal(hivePartitions('/d', ['/d/aGVsbG8=/x.csv', '/d/d29ybGQ=/y.csv', '/d/2024 run=3/z.csv'], 'auto', '/d'), undefined);
    assert.deepEqual(hivePartitions('/d', ['/d/k=/x.csv'], 'hive', '/d')!.values, [['']]);
  });
});
