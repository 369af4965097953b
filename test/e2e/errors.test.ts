/**
 * User mistakes end with one clear message (file, row, column, what to do), the documented exit
 * code, no stack trace, and nothing at output.path.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { assertClose, bin, duckdb, fixtures, readJson, runCli, seededRandom, withTempDir } from '../helpers.js';

const penguinsCsv = join(fixtures, 'data', 'penguins.csv');
const model = join(fixtures, 'models', 'penguins');

interface Case {
  readonly name: string;
  /** Writes the job and its files into `dir`; returns the job file name. */
  setup(dir: string): Promise<void>;
  readonly job: (dir: string) => string;
  readonly exit: number;
  /** The error lines exactly, with the temp dir written as <dir>. */
  readonly error: string;
  readonly args?: readonly string[];
}

const job = (input: string, extra = '', output = 'out/result.csv') => `input: { path: ${input} }\nmodel: ${model}\noutput: { path: ${output} }\n${extra}`;

const cases: Case[] = [
  {
    name: 'missing input file',
    setup: async () => {},
    job: () => job('nope.csv'),
    exit: 3,
    error: 'error: Input file <dir>/nope.csv does not exist\nhint: Check input.path; relative paths resolve against the job file\'s directory (given with --set, against the current one).',
  },
  {
    name: 'a glob matching nothing',
    setup: async () => {},
    job: () => job('"data/*.csv"'),
    exit: 3,
    error: 'error: Input <dir>/data/*.csv matches no file\nhint: Check input.path and the files present.',
  },
  {
    name: 'unknown input extension',
    setup: async (dir) => writeFile(join(dir, 'data.xlsx'), 'not really'),
    job: () => job('data.xlsx'),
    exit: 3,
    error: 'error: Cannot tell the format of <dir>/data.xlsx from its extension\nhint: Set input.format to csv, jsonl or parquet, or use the extensions .csv .tsv .jsonl .ndjson .json .parquet (optionally .gz; .txt is read as CSV when named on its own or by a glob).',
  },
  {
    name: 'an output path that is a directory, found before the run rather than when its output is moved there',
    setup: async (dir) => mkdir(join(dir, 'scored.csv')),
    job: () => job(penguinsCsv, '', 'scored.csv'),
    exit: 5,
    error: 'error: Cannot write output <dir>/scored.csv: it is a directory\nhint: output.path names the file to write, e.g. <dir>/scored.csv/scored.csv.',
  },
  {
    name: 'the output path is the input file',
    setup: async (dir) => cp(penguinsCsv, join(dir, 'in.csv')),
    job: () => job('in.csv', '', 'in.csv'),
    exit: 2,
    error: 'error: Job file <dir>/job.yaml: output.path: "<dir>/in.csv" is also input.path; the output would replace the input it is read from. Write it to another file, e.g. "<dir>/in.scored.csv"\nhint: Fix the job file and run again.',
  },
  {
    name: 'unknown output format',
    setup: async () => {},
    job: () => job(penguinsCsv, '', 'out/result.xlsx'),
    exit: 2,
    error: 'error: Job file <dir>/job.yaml: output.format: cannot be inferred from the extension ".xlsx"; expected one of [csv, jsonl, parquet] (set output.format, or name the file .csv, .jsonl or .parquet)\nhint: Fix the job file and run again.',
  },
  {
    name: 'unknown key and a bad value, reported together',
    setup: async () => {},
    job: () => job(penguinsCsv, 'bach: { size: 10 }\nbatch: { concurrency: 0 }'),
    exit: 2,
    error: 'error: Job file <dir>/job.yaml has 2 problems:\n  - batch.concurrency: expected a positive integer, got `0` (number)\n  - bach: unknown key (did you mean `batch`?); expected one of [name, input, model, batch, output, errors, checkpoint, limits]\nhint: Fix the job file and run again.',
  },
  {
    name: 'a column the model needs is missing',
    setup: async (dir) => writeFile(join(dir, 'data.csv'), (await readFile(penguinsCsv, 'utf8')).replace('bill_length_mm', 'bill_len_mm')),
    job: () => job('data.csv'),
    exit: 3,
    error: 'error: Column "bill_length_mm" is missing: model penguins-species needs column "bill_length_mm", but <dir>/data.csv has no such column; the closest is "bill_len_mm"\nhint: Did you mean "bill_len_mm"? Rename it in the input, or fix the name in the manifest.',
  },
  {
    name: 'a column missing because the delimiter set is not the file\'s',
    setup: async () => {},
    job: () => `input: { path: ${penguinsCsv}, csv: { delimiter: ";" } }\nmodel: ${model}\noutput: { path: out/result.csv }\n`,
    exit: 3,
    error: `error: Column "bill_length_mm" is missing: model penguins-species needs column "bill_length_mm", but ${penguinsCsv} has no such column\nhint: The header is read as one column, "species,island,bill_length_mm,bill_depth_mm,flipper_lengt...": the file's delimiter looks like ",". Set input.csv.delimiter: ",", or leave it out to have it sniffed.`,
  },
  {
    name: 'a CSV file read as JSON Lines',
    setup: async (dir) => writeFile(join(dir, 'data.jsonl'), await readFile(penguinsCsv)),
    job: () => job('data.jsonl'),
    exit: 3,
    error: 'error: Column "bill_length_mm" is missing: model penguins-species needs column "bill_length_mm", but <dir>/data.jsonl has no such column\nhint: No line of <dir>/data.jsonl read as a JSON object: is it JSON Lines? A CSV file needs input.format: csv (or a .csv name); see the errors of its lines with bento-batch validate.',
  },
  {
    name: 'batch size above the model\'s limit',
    setup: async () => {},
    job: () => job(penguinsCsv, 'batch: { size: 5000 }'),
    exit: 2,
    error: 'error: Job file <dir>/job.yaml: batch.size: expected at most 4096 (the largest batch model penguins-species:1.0.0 accepts), got `5000` (number)\nhint: Set batch.size to 4096 or less, or leave it out to use 256.',
  },
  {
    name: 'a model file that is not ONNX',
    setup: async (dir) => {
      await cp(model, join(dir, 'bundle'), { recursive: true });
      await writeFile(join(dir, 'bundle', 'model.onnx'), 'species,island\n');
    },
    job: (dir) => job(penguinsCsv).replace(model, join(dir, 'bundle')),
    exit: 4,
    error: 'hint: Check that the file is an ONNX model (re-export it, e.g. with torch.onnx.export) and that the bundle is complete.',
  },
  {
    name: 'a manifest that names a tensor the model does not have',
    setup: async (dir) => {
      await cp(model, join(dir, 'bundle'), { recursive: true });
      const manifest = await readFile(join(dir, 'bundle', 'bento.yaml'), 'utf8');
      await writeFile(join(dir, 'bundle', 'bento.yaml'), manifest.replace('tensor: features', 'tensor: inputs'));
    },
    job: (dir) => job(penguinsCsv).replace(model, join(dir, 'bundle')),
    exit: 4,
    error: 'error: Manifest <dir>/bundle/bento.yaml does not match the model <dir>/bundle/model.onnx: 2 problems:\n  - inputs.0.tensor: the model has no input "inputs" (it has [features]); it would be filled from columns [bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g]\n  - inputs: the model\'s input "features" is not fed by any entry; add one with tensor: features\nhint: Run `bento-batch inspect` on the bundle to see the model\'s real inputs and outputs, and fix bento.yaml.',
  },
  {
    name: 'an activation on an integer output: a manifest problem, not an internal error',
    setup: async (dir) => {
      await mkdir(join(dir, 'bundle'));
      await cp(join(fixtures, 'models', 'shapes', 'mixed.onnx'), join(dir, 'bundle', 'model.onnx'));
      await writeFile(join(dir, 'bundle', 'bento.yaml'), [
        'bento: 1', 'name: mixed', 'version: "1"', 'batch: { max_size: 64 }', 'inputs:',
        '  - { tensor: x, dtype: float32, shape: [batch, 2], columns: [bill_length_mm, bill_depth_mm] }',
        '  - { tensor: count, dtype: int64, shape: [batch, 1], columns: [flipper_length_mm] }',
        '  - { tensor: flag, dtype: bool, shape: [batch, 1], columns: [flipper_length_mm] }',
        '  - { tensor: word, dtype: string, shape: [batch, 1], columns: [species] }',
        'outputs:', '  - { tensor: word_id, activation: sigmoid, columns: { values: [word_id] } }'].join('\n'));
    },
    job: (dir) => job(penguinsCsv).replace(model, join(dir, 'bundle')),
    exit: 4,
    error: 'error: Manifest <dir>/bundle/bento.yaml does not match the model <dir>/bundle/model.onnx: outputs.0: the model\'s output "word_id" is int64; activation: sigmoid needs a float output (leave it out)',
  },
  {
    name: 'a CSV file named .parquet',
    setup: async (dir) => cp(penguinsCsv, join(dir, 'data.parquet')),
    job: () => job('data.parquet'),
    exit: 3,
    error: 'hint: Check that the file is Parquet (not CSV or JSON renamed), complete, and not still being written; or set input.format.',
  },
  {
    name: 'a gzipped Parquet file',
    setup: async (dir) => writeFile(join(dir, 'data.parquet.gz'), gzipSync(await readFile(join(fixtures, 'data', 'penguins.parquet')))),
    job: () => job('data.parquet.gz'),
    exit: 3,
    error: 'error: Input file <dir>/data.parquet.gz is gzipped Parquet, which cannot be read in place\nhint: Decompress it first (gunzip -k <dir>/data.parquet.gz); a Parquet file compresses its own pages (snappy, gzip or zstd), so the writer need not gzip it.',
  },
  {
    name: 'an empty input file',
    setup: async (dir) => writeFile(join(dir, 'data.csv'), ''),
    job: () => job('data.csv'),
    exit: 3,
    error: 'error: Input file <dir>/data.csv is empty\nhint: Remove the file from the input, or check the step that writes it.',
  },
  {
    name: 'a header-only CSV',
    setup: async (dir) => writeFile(join(dir, 'data.csv'), 'species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex\n'),
    job: () => job('data.csv'),
    exit: 3,
    error: 'error: Input file <dir>/data.csv has a header but no rows\nhint: Remove the file from the input, or check the step that writes it.',
  },
  {
    name: 'a truncated .gz',
    setup: async (dir) => {
      const gz = await readFile(join(fixtures, 'data', 'penguins.csv.gz'));
      await writeFile(join(dir, 'data.csv.gz'), gz.subarray(0, gz.length - 200));
    },
    job: () => job('data.csv.gz'),
    exit: 3,
    error: 'error: Input file <dir>/data.csv.gz is not a complete gzip file: unexpected end of file\nhint: The file is truncated or corrupt; copy it again.',
  },
  {
    name: 'a truncated Parquet file',
    setup: async (dir) => {
      const parquet = await readFile(join(fixtures, 'data', 'penguins.parquet'));
      await writeFile(join(dir, 'data.parquet'), parquet.subarray(0, parquet.length - 100));
    },
    job: () => job('data.parquet'),
    exit: 3,
    error: 'hint: Check that the file is Parquet (not CSV or JSON renamed), complete, and not still being written; or set input.format.',
  },
  {
    // Parquet output: its encoder threads start while the model loads, and must not outlive the failure.
    name: 'a model file onnxruntime cannot load, Parquet output',
    setup: async (dir) => {
      await cp(model, join(dir, 'model'), { recursive: true });
      const onnx = await readFile(join(model, 'model.onnx'));
      await writeFile(join(dir, 'model', 'model.onnx'), onnx.subarray(0, 300));
    },
    job: (dir) => `input: { path: ${penguinsCsv} }\nmodel: ${join(dir, 'model')}\noutput: { path: out/result.parquet }\n`,
    exit: 4,
    error: 'hint: Check that the file is an ONNX model (re-export it, e.g. with torch.onnx.export) and that the bundle is complete.',
  },
  {
    name: 'an input scored before: every column it shares with the predictions at once, and a keep list without them',
    setup: async (dir) => {
      const lines = (await readFile(penguinsCsv, 'utf8')).trim().split('\n');
      await writeFile(join(dir, 'scored.csv'), [`${lines[0]},species_pred,prob_Gentoo`, ...lines.slice(1).map((l) => `${l},Adelie,0.5`)].join('\n'));
    },
    job: () => job('scored.csv'),
    exit: 2,
    error: 'error: Job file <dir>/job.yaml: output columns "species_pred", "prob_Gentoo" are both input columns and columns the run writes (predictions of model penguins-species); an input scored before, perhaps\nhint: Leave them out of output.keep: keep: [species, island, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, sex].',
  },
  {
    name: 'an output path under a file, found before the run (validate finds it too)',
    setup: async (dir) => writeFile(join(dir, 'data.csv'), 'a file'),
    job: () => job(penguinsCsv, '', 'data.csv/scored/result.csv'),
    exit: 5,
    error: 'error: Cannot write output <dir>/data.csv/scored/result.csv: <dir>/data.csv is a file, not a folder\nhint: Check output.path and that its directory is writable.',
    args: [],
  },
  {
    name: 'output.path /dev/stdout: refused (it would be replaced by a file), not written through',
    setup: async () => {},
    job: () => job(penguinsCsv, '', '/dev/stdout').replace('output: { path: /dev/stdout }', 'output: { path: /dev/stdout, format: csv }'),
    exit: 5,
    error: 'error: Cannot write output /dev/stdout: it is not a regular file (a device, pipe or stream)\nhint: output.path names a file that bento-batch writes whole and moves into place; write a file and read it from there (cat, a pipe) once the run is done.',
  },
  {
    name: 'output directory is a file',
    setup: async (dir) => writeFile(join(dir, 'out'), 'a file, not a directory'),
    job: () => job(penguinsCsv),
    exit: 5,
    error: 'hint: Check output.path and that its directory is writable.',
  },
];

for (const c of cases) {
  test(c.name, () => withTempDir(async (dir) => {
    await c.setup(dir);
    await writeFile(join(dir, 'job.yaml'), c.job(dir));
    const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', ...(c.args ?? [])], { cwd: dir });
    const stderr = result.stderr.replaceAll(dir, '<dir>');
    assert.equal(result.code, c.exit, stderr);
    assert.ok(stderr.includes(c.error), `stderr should contain:\n${c.error}\n--- got:\n${stderr}`);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace for a user mistake');
    const out = await readdir(join(dir, 'out')).catch(() => [] as string[]);
    assert.deepEqual(out, [], 'nothing is left in the output directory');
  }));
}

test('a checkpoint.path that names a folder holding other files, or a file, is refused before the run, and nothing there is removed, with --restart too', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'notes.txt'), 'keep me');
  await writeFile(join(dir, 'job.yaml'), job(penguinsCsv, 'checkpoint: { path: . }'));
  for (const args of [[], ['--restart']]) {
    const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', ...args], { cwd: dir });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.replaceAll(dir, '<dir>'), 'error: Job file <dir>/job.yaml: checkpoint.path <dir> is a directory holding other files ("job.yaml", "notes.txt"); a run empties its checkpoint directory when it starts over or finishes with new inputs\nhint: Set checkpoint.path to a directory of its own (it is created), e.g. <dir>/job.bento-batch, or leave it out to use <output.path>.bento-batch.\n');
    assert.deepEqual((await readdir(dir)).sort(), ['job.yaml', 'notes.txt']);
  }
  const validate = await runCli(['--log-format', 'text', 'validate', 'job.yaml'], { cwd: dir });
  assert.equal(validate.code, 2, validate.stderr);
  await writeFile(join(dir, 'job.yaml'), job(penguinsCsv, 'checkpoint: { path: notes.txt }'));
  const file = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(file.code, 2, file.stderr);
  assert.match(file.stderr, /^error: Job file .*job\.yaml: checkpoint\.path .*notes\.txt is a file, not a checkpoint directory$/m);
  assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'keep me');
}));

test('a finished job rerun on new input empties its checkpoint folder of what runs write there, and nothing else', () => withTempDir(async (dir) => {
  await cp(penguinsCsv, join(dir, 'in.csv'));
  await writeFile(join(dir, 'job.yaml'), job('in.csv', 'checkpoint: { path: ck }'));
  const first = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(await readdir(join(dir, 'ck')), ['state.json']);
  // Only a file a run writes may be there when a run starts; one put there during a run stays.
  const { removeCheckpoint } = await import('../../src/checkpoint/state.js');
  await writeFile(join(dir, 'ck', 'partial.csv'), 'stale');
  await writeFile(join(dir, 'ck', 'mine.txt'), 'keep me');
  await removeCheckpoint(join(dir, 'ck'));
  assert.deepEqual(await readdir(join(dir, 'ck')), ['mine.txt']);
  await rm(join(dir, 'ck', 'mine.txt'));
  await writeFile(join(dir, 'in.csv'), (await readFile(penguinsCsv, 'utf8')).split('\n').slice(0, 101).join('\n'));
  const second = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(second.code, 0, second.stderr);
  assert.equal((await readFile(join(dir, 'out', 'result.csv'), 'utf8')).trim().split('\n').length, 101);
}));

test('bad cells: the row goes to the errors file, the rest is scored, rows_in = rows_out + rows_failed', () => withTempDir(async (dir) => {
  const lines = (await readFile(penguinsCsv, 'utf8')).split('\n');
  lines[5] = lines[5]!.replace(/^(\w+,\w+,)[^,]+/, '$1abc');
  lines[300] = lines[300]!.replace(/^(\w+,)\w+/, '$1Atlantis');
  await writeFile(join(dir, 'data.csv'), lines.join('\n'));
  await writeFile(join(dir, 'job.yaml'), job('data.csv', 'batch: { size: 16 }').replace(model, join(fixtures, 'models', 'penguins-mass')));
  const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--summary-json', 'summary.json'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^warn: 2 of 344 rows could not be scored; they are listed in .*out\/result\.csv\.errors\.jsonl$/m);
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { input: { rows: number }; output: { rows: number }; rows_failed: number };
  assert.deepEqual([summary.input.rows, summary.output.rows, summary.rows_failed], [344, 342, 2]);
  const errors = (await readFile(join(dir, 'out', 'result.csv.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const offset = (line: number) => lines.slice(0, line).reduce((a, l) => a + Buffer.byteLength(l) + 1, 0);
  assert.deepEqual(errors, [
    { file: join(dir, 'data.csv'), row: 5, byte: offset(5), column: 'bill_length_mm', value: 'abc', code: 'INVALID_VALUE', reason: `Invalid value: column "bill_length_mm" expects float32 (tensor "measurements"), got "abc" at ${join(dir, 'data.csv')} row 5`, hint: 'Fix or remove the value in the input.' },
    { file: join(dir, 'data.csv'), row: 300, byte: offset(300), column: 'island', value: 'Atlantis', code: 'INVALID_VALUE', reason: `Invalid value: column "island" expects one of [Biscoe, Dream, Torgersen] (tensor "island"), got "Atlantis" at ${join(dir, 'data.csv')} row 300`, hint: 'Fix or remove the value in the input.' },
  ]);
  const out = (await readFile(join(dir, 'out', 'result.csv'), 'utf8')).trim().split('\n');
  assert.equal(out.length, 1 + 342);
}));

test('errors.emit: null-row keeps the bad row with null predictions and the reason', () => withTempDir(async (dir) => {
  const lines = (await readFile(penguinsCsv, 'utf8')).split('\n');
  lines[5] = lines[5]!.replace(/^(\w+,\w+,)[^,]+/, '$1abc');
  await writeFile(join(dir, 'data.csv'), lines.join('\n'));
  await writeFile(join(dir, 'job.yaml'), job('data.csv', 'errors: { emit: null-row }', 'out/result.jsonl'));
  const result = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const rows = (await readFile(join(dir, 'out', 'result.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rows.length, 344);
  assert.deepEqual([rows[4]!.bill_length_mm, rows[4]!.species_pred, rows[4]!.prob_Adelie], ['abc', null, null]);
  assert.match(rows[4]!.error as string, /^Invalid value: column "bill_length_mm" expects float32/);
  assert.equal(rows[3]!.error, null);
}));

test('past errors.max_count the run fails (exit 6), keeps an existing output untouched, and shows the bad rows', () => withTempDir(async (dir) => {
  const lines = (await readFile(penguinsCsv, 'utf8')).split('\n');
  for (const i of [100, 200, 300]) lines[i] = lines[i]!.replace(/^(\w+,\w+,)[^,]+/, '$1oops');
  await writeFile(join(dir, 'data.csv'), lines.join('\n'));
  await mkdir(join(dir, 'out'));
  await writeFile(join(dir, 'out', 'result.csv'), 'yesterday\n');
  await writeFile(join(dir, 'job.yaml'), job('data.csv', 'batch: { size: 16 }\nerrors: { max_count: 2 }'));
  const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--summary-json', 'summary.json'], { cwd: dir });
  assert.equal(result.code, 6, result.stderr);
  assert.ok(result.stderr.includes(`error: 3 of 304 rows could not be scored and errors.max_count is 2; stopped. The bad rows are listed in ${join(dir, 'out', 'result.csv.errors.jsonl')}`), result.stderr);
  // A failed run writes its summary too: how it ended and how far it got.
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { status: string; exit_code: number; error: { code: string }; input: { rows: number }; rows_failed: number };
  assert.deepEqual([summary.status, summary.exit_code, summary.error.code, summary.rows_failed], ['failed', 6, 'TOO_MANY_ERRORS', 3]);
  assert.ok(summary.input.rows >= 300, JSON.stringify(summary));
  assert.equal(await readFile(join(dir, 'out', 'result.csv'), 'utf8'), 'yesterday\n');
  assert.equal((await readFile(join(dir, 'out', 'result.csv.errors.jsonl'), 'utf8')).trim().split('\n').length, 3);
}));

test('errors.max_rate holds over every row at the end of an input shorter than the 1,000 rows it waits for while running', () => withTempDir(async (dir) => {
  const lines = (await readFile(penguinsCsv, 'utf8')).split('\n');
  for (const i of [100, 200, 300]) lines[i] = lines[i]!.replace(/^(\w+,\w+,)[^,]+/, '$1oops');
  await writeFile(join(dir, 'data.csv'), lines.join('\n'));
  // 3 of 344 rows is 0.87%: over a limit of 0.5%, under one of 2%.
  for (const [rate, code] of [[0.005, 6], [0.02, 0]] as const) {
    await writeFile(join(dir, 'job.yaml'), job('data.csv', `errors: { max_rate: ${rate} }`));
    const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--restart'], { cwd: dir });
    assert.equal(result.code, code, result.stderr);
    if (code === 6) {
      assert.ok(result.stderr.includes(`error: 3 of 344 rows could not be scored and errors.max_rate is 0.005 (0.87% failed); stopped. The bad rows are listed in ${join(dir, 'out', 'result.csv.errors.jsonl')}`), result.stderr);
      assert.equal(existsSync(join(dir, 'out', 'result.csv')), false);
    } else assert.equal((await readFile(join(dir, 'out', 'result.csv'), 'utf8')).trim().split('\n').length, 1 + 341);
  }
}));

test('with no error limits set, a run where every row fails stops (exit 6) after 1,000 rows, quoting the first row\'s hint; max_rate: 1 lets it finish', () => withTempDir(async (dir) => {
  // A European Excel export read with input.csv.decimal set to a point: every measurement has a decimal comma.
  const lines = (await readFile(penguinsCsv, 'utf8')).trim().split('\n');
  const rows = lines.slice(1).filter((l) => l.split(',').slice(2, 6).some((v) => v.includes('.'))).map((l) => l.split(',').map((v) => v.replace('.', ',')).join(';'));
  const body = Array.from({ length: 2000 }, (_, i) => rows[i % rows.length]!);
  await writeFile(join(dir, 'data.csv'), `${lines[0]!.split(',').join(';')}\n${body.join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), job('data.csv, csv: { decimal: "." }', 'batch: { size: 100 }'));
  const errors = join(dir, 'out', 'result.csv.errors.jsonl');
  const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(result.code, 6, result.stderr);
  const first = JSON.parse((await readFile(errors, 'utf8')).split('\n')[0]!) as { reason: string; hint: string };
  assert.match(first.hint, /decimal comma/);
  assert.ok(result.stderr.includes(`error: All 1,000 rows read so far could not be scored; stopped. The bad rows are listed in ${errors}; the first: ${first.reason}\nhint: ${first.hint} A run with no errors.max_count or errors.max_rate stops when every row fails (rows without a value the model reads aside)`), result.stderr);
  assert.equal((await readFile(errors, 'utf8')).trim().split('\n').length, 1000);
  assert.equal(existsSync(join(dir, 'out', 'result.csv')), false);
  // Shorter than 1,000 rows: held at the end.
  await writeFile(join(dir, 'short.csv'), `${lines[0]!.split(',').join(';')}\n${body.slice(0, 10).join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), job('short.csv, csv: { decimal: "." }'));
  const short = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--restart'], { cwd: dir });
  assert.equal(short.code, 6, short.stderr);
  assert.ok(short.stderr.includes('error: All 10 rows could not be scored; stopped.'), short.stderr);
  // Rows without any value the model reads, scored from the manifest's fills alone, are not rows scored (the fixture's rows 3 and 339).
  const withFills = lines.slice(1).flatMap((l, i) => (i === 3 || i === 339 ? [l.replace(/,/g, ';')] : []));
  await writeFile(join(dir, 'filled.csv'), `${lines[0]!.split(',').join(';')}\n${[...rows.slice(0, 100), ...withFills, ...rows.slice(100, 200)].join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), job('filled.csv, csv: { decimal: "." }'));
  const filled = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--restart'], { cwd: dir });
  assert.equal(filled.code, 6, filled.stderr);
  assert.ok(filled.stderr.includes('error: 200 of 202 rows could not be scored, and the other 2 have no value in any column the model reads (scored from the manifest\'s fills alone); stopped.'), filled.stderr);
  // A limit set by hand replaces the rule; one bad row among good ones never trips it.
  await writeFile(join(dir, 'job.yaml'), job('data.csv, csv: { decimal: "." }', 'errors: { max_rate: 1 }'));
  const allowed = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--restart'], { cwd: dir });
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal((await readFile(errors, 'utf8')).trim().split('\n').length, 2000);
  await writeFile(join(dir, 'mixed.csv'), `${lines[0]}\n${lines[1]!.replace(/^(\w+,\w+,)[^,]+/, '$1oops')}\n${lines.slice(2, 1200).join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), job('mixed.csv'));
  const mixed = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none', '--restart'], { cwd: dir });
  assert.equal(mixed.code, 0, mixed.stderr);
}));

test('--debug shows the stack of a user error', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'job.yaml'), job('nope.csv'));
  const result = await runCli(['--debug', '--log-format', 'text', 'run', 'job.yaml'], { cwd: dir });
  assert.equal(result.code, 3);
  assert.match(result.stderr, /^\s+at /m);
}));

test('json log format: the error is one machine-readable line with the job, code and location', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'job.yaml'), job('nope.csv'));
  const result = await runCli(['--log-format', 'json', 'run', 'job.yaml'], { cwd: dir });
  assert.equal(result.code, 3);
  const event = JSON.parse(result.stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.deepEqual({ ...event, time: undefined }, {
    time: undefined, level: 'error', event: 'error', job: 'job', code: 'INPUT_NOT_FOUND', exit_code: 3,
    message: `Input file ${join(dir, 'nope.csv')} does not exist`, file: join(dir, 'nope.csv'),
    hint: 'Check input.path; relative paths resolve against the job file\'s directory (given with --set, against the current one).',
  });
}));

test('a model call that fails is retried, then split until the failing rows are alone; the rest are scored', () => withTempDir(async (dir) => {
  // penguins-mass fed a raw island index: 7 is out of range for its embedding, and onnxruntime fails the whole call.
  await cp(join(fixtures, 'models', 'penguins-mass'), join(dir, 'bundle'), { recursive: true });
  const manifest = await readFile(join(dir, 'bundle', 'bento.yaml'), 'utf8');
  await writeFile(join(dir, 'bundle', 'bento.yaml'), manifest.replace('    columns: [island]\n    categories: [Biscoe, Dream, Torgersen]\n', '    columns: [island_idx]\n'));
  const index: Record<string, number> = { Biscoe: 0, Dream: 1, Torgersen: 2 };
  const rows = (await readFile(join(fixtures, 'data', 'penguins.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const bad = new Set([10, 200, 201]);
  await writeFile(join(dir, 'in.jsonl'), rows.map((r, i) => JSON.stringify({ ...r, island_idx: bad.has(i) ? 7 : index[r.island as string] })).join('\n'));
  await writeFile(join(dir, 'job.yaml'), 'input: { path: in.jsonl }\nmodel: bundle\nbatch: { size: 64 }\noutput: { path: out.jsonl, keep: [] }\n');
  const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /onnxruntime:/, 'the runtime\'s own logger stays quiet');
  const errors = (await readFile(join(dir, 'out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { row: number; code: string; reason: string });
  assert.deepEqual(errors.map((e) => [e.row, e.code]), [[11, 'MODEL_RUN'], [201, 'MODEL_RUN'], [202, 'MODEL_RUN']]);
  assert.match(errors[0]!.reason, /^Model penguins-mass failed on .*in\.jsonl row 11: .*Gather.*indices element out of data bounds, idx=7/);
  const reference = (await readJson<{ body_mass_pred: number }[]>(join(fixtures, 'reference', 'penguins-mass.json'))).filter((_, i) => !bad.has(i));
  const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { body_mass_pred: number });
  assertClose(out.map((r) => r.body_mass_pred), reference.map((r) => r.body_mass_pred), 1e-6);
}));

test('seeded random corruption: every corrupted row is reported exactly once, every other row is scored', () => withTempDir(async (dir) => {
  const rand = seededRandom(Number(process.env.BENTO_TEST_SEED ?? 7));
  const reference = await readJson<Record<string, unknown>[]>(join(fixtures, 'reference', 'penguins.json'));
  const lines = (await readFile(penguinsCsv, 'utf8')).trim().split('\n');
  const corrupted = new Set<number>();
  for (let k = 0; k < 40; k++) {
    const row = 1 + Math.floor(rand() * 344);
    const cells = lines[row]!.split(',');
    const column = 2 + Math.floor(rand() * 4); // one of the four measurements the model reads
    cells[column] = ['x?', 'N/A?', '1,2'.slice(0, 1) + 'e', '--'][Math.floor(rand() * 4)]!;
    lines[row] = cells.join(',');
    corrupted.add(row);
  }
  await writeFile(join(dir, 'data.csv'), `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), job('data.csv', 'batch: { size: 32 }', 'out/result.jsonl').replace('output: {', 'output: { keep: [],'));
  const result = await runCli(['run', 'job.yaml', '--progress', 'none', '--summary-json', 'summary.json'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const errors = (await readFile(join(dir, 'out', 'result.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { row: number }).row);
  assert.deepEqual(errors, [...corrupted].sort((a, b) => a - b), 'each corrupted row once, in order');
  const out = (await readFile(join(dir, 'out', 'result.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assertClose(out, reference.filter((_, i) => !corrupted.has(i + 1)), 1e-5);
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { input: { rows: number }; output: { rows: number }; rows_failed: number };
  assert.equal(summary.input.rows, summary.output.rows + summary.rows_failed);
}));

test('disk full (a file-size limit) fails with exit 5, keeps the checkpoint, and the rerun resumes to the same bytes', () => withTempDir(async (dir) => {
  const lines = (await readFile(penguinsCsv, 'utf8')).trim().split('\n');
  await writeFile(join(dir, 'big.csv'), `${[lines[0], ...Array.from({ length: 60 }, () => lines.slice(1)).flat()].join('\n')}\n`);
  const body = `input: { path: big.csv }\nmodel: ${model}\nbatch: { size: 64 }\noutput: { path: out/r.csv }\ncheckpoint: { every: 1000 }\n`;
  await writeFile(join(dir, 'job.yaml'), body);
  await writeFile(join(dir, 'clean.yaml'), body.replace('out/r.csv', 'clean/r.csv').replace('checkpoint: { every: 1000 }', 'checkpoint: false'));
  assert.equal((await runCli(['run', 'clean.yaml', '--progress', 'none'], { cwd: dir })).code, 0);
  // SIGXFSZ ignored, so writing past the limit fails with EFBIG as a full disk fails with ENOSPC.
  const { spawnSync } = await import('node:child_process');
  const full = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 300; exec "${process.execPath}" "${bin}" --log-format text run job.yaml --progress none`], { cwd: dir, encoding: 'utf8' });
  assert.equal(full.status, 5, full.stderr);
  assert.ok(full.stderr.includes(`error: Cannot write output ${join(dir, 'out', 'r.csv.bento-batch', 'partial.csv')}: the file is larger than allowed\nhint: The file system, or the shell's limit (ulimit -f), caps a file's size below the output's: raise it or write elsewhere, and run the same command again (with a checkpoint, it resumes from the last commit).`), full.stderr);
  assert.deepEqual(await readdir(join(dir, 'out')), ['r.csv.bento-batch']);
  const resumed = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /^resuming job at row [1-9][\d,]* /m);
  assert.ok((await readFile(join(dir, 'out', 'r.csv'))).equals(await readFile(join(dir, 'clean', 'r.csv'))));
}));

test('a job over its limits.memory stops with MEMORY_LIMIT (exit 2) and what to raise; the rerun with more memory completes', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  // A chunk of 300,000 rows with a distinct text cell each: strings live on the scoring thread's
  // heap, and ~25 MB of them are more than its 17 MB (60% of 28 MB) holds. (Numbers, dictionary
  // text and timestamps travel in typed arrays, outside the heap the limit sets.)
  let text = 'distance,note\n';
  for (let i = 0; i < 300_000; i++) text += `${100 + (i % 2000)},note ${i} ${'x'.repeat(40)}\n`;
  await writeFile(join(dir, 'notes.csv'), text);
  await writeFile(join(dir, 'job.yaml'), [
    'input: { path: notes.csv, chunk_rows: 300000 }',
    `model: ${join(fixtures, 'models', 'flights-delay')}`,
    'batch: { size: 4096 }',
    'output: { path: out/notes.csv }',
    'limits: { memory: 28 }',
  ].join('\n'));
  const failed = await runCli(['--log-format', 'text', 'run', join(dir, 'job.yaml'), '--progress', 'none']);
  assert.equal(failed.code, 2, failed.stderr);
  assert.match(failed.stderr, /error: The scoring thread ran out of memory: limits\.memory is 28 MB\nhint: Raise limits\.memory in the job file \(e\.g\. --set limits\.memory=56\); for an input with many columns or long lists, read or keep fewer \(input\.columns, output\.keep\); for a Parquet output, lower output\.parquet\.row_group_rows\. A rerun resumes from the last checkpoint\./);
  assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace');
  // Nothing at the output path (the first chunk stopped it: no checkpoint yet either), and no lock
  // of the dead thread's (released by the main thread).
  assert.equal(existsSync(join(dir, 'out', 'notes.csv')), false);
  assert.equal(existsSync(join(dir, 'out', 'notes.csv.bento-batch.lock')), false);
  const rerun = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none', '--set', 'limits.memory=256', '--summary-json', join(dir, 'summary.json')]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.equal((await readJson<{ output: { rows: number } }>(join(dir, 'summary.json'))).output.rows, 300_000);
  // Cells of millions of characters (documents kept beside their scores) to CSV: past the cap, the
  // same clean stop, not a V8 abort (exit 134) on one allocation of the batch's whole text; within it, written.
  await duckdb(`COPY (SELECT i, 40.1 AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g, repeat('ab€', 3000000 + i) AS doc FROM range(6) t(i)) TO '${join(dir, 'docs.parquet')}' (FORMAT parquet)`);
  await writeFile(join(dir, 'docs.yaml'), `input: { path: docs.parquet }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out/docs.csv, keep: [i, doc] }\n`);
  const long = await runCli(['--log-format', 'text', 'run', join(dir, 'docs.yaml'), '--progress', 'none', '--set', 'limits.memory=96']);
  assert.equal(long.code, 2, long.stderr);
  assert.match(long.stderr, /error: The scoring thread ran out of memory: limits\.memory is 96 MB/);
  assert.equal(existsSync(join(dir, 'out', 'docs.csv.bento-batch.lock')), false);
  // Written a piece at a time, they fit the default 256 MB (once, quoted whole, they aborted it).
  const roomy = await runCli(['run', join(dir, 'docs.yaml'), '--progress', 'none']);
  assert.equal(roomy.code, 0, roomy.stderr);
  const lines = (await readFile(join(dir, 'out', 'docs.csv'), 'utf8')).split('\n');
  assert.deepEqual(lines.slice(1, 7).map((l) => l.split(',')[1]!.length), [0, 1, 2, 3, 4, 5].map((i) => 3 * (3_000_000 + i)));
}));

test('a struct holding a 64-bit integer where the model wants a number is a bad row with its JSON text, not an internal error', () => withTempDir(async (dir) => {
  await duckdb(`COPY (SELECT {'v': 39::BIGINT} AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g FROM range(3)) TO '${join(dir, 'in.parquet')}' (FORMAT parquet)`);
  await writeFile(join(dir, 'job.yaml'), job('in.parquet', 'errors: { max_rate: 1 }'));
  const result = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const errors = (await readFile(join(dir, 'out', 'result.csv.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(errors.map((e) => [e.row, e.value, e.reason]), [1, 2, 3].map((row) => [row, '{"v":39}',
    `Invalid value: column "bill_length_mm" expects float32 (tensor "features"), got {"v":39} at ${join(dir, 'in.parquet')} row ${row}`]));
}));

test('a Parquet DATE or TIMESTAMP column the model reads stops the run before a row is scored (exit 3), naming the column and how to derive a feature; validate says the same', () => withTempDir(async (dir) => {
  for (const [type, value] of [['timestamp', `TIMESTAMP '2024-05-01 12:00:00'`], ['timestamp', `TIMESTAMP_NS '2024-05-01 12:00:00'`], ['date', `DATE '2024-05-01'`]] as const) {
    await duckdb(`COPY (SELECT 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, ${value} AS flipper_length_mm, 3750 AS body_mass_g FROM range(3)) TO '${join(dir, 'in.parquet')}' (FORMAT parquet)`);
    await writeFile(join(dir, 'job.yaml'), job('in.parquet'));
    for (const command of ['run', 'validate']) {
      const result = await runCli(['--log-format', 'text', command, 'job.yaml', ...(command === 'run' ? ['--progress', 'none'] : [])], { cwd: dir });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, new RegExp(`error: Column "flipper_length_mm" of .*in\\.parquet is a ${type}, but model penguins-species reads it, and a model reads numbers and text\nhint: Derive the feature`));
    }
    assert.equal(existsSync(join(dir, 'out', 'result.csv')), false);
  }
}));

test('path mistakes destroy nothing: errors.path or a checkpoint on the output, a summary, errors file or output named onto someone else\'s file, a lock beside a user file, another tool\'s state.json, an export onto a data file', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const penguins = join(fixtures, 'data', 'penguins.csv');
  const original = await readFile(penguins);
  await mkdir(join(dir, 'data'));
  await cp(penguins, join(dir, 'data', 'a.csv'));
  await cp(penguins, join(dir, 'data', 'b.csv'));
  const yaml = join(dir, 'job.yaml');
  const run = async (text: string, ...args: string[]) => {
    await writeFile(yaml, text);
    return runCli(['--log-format', 'text', 'run', yaml, '--progress', 'none', ...args]);
  };
  const refused = async (result: { code: number | null; stderr: string }, message: RegExp) => {
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
  };
  await refused(await run(job(penguins, 'errors: { path: out/result.csv }\n')), /errors\.path: ".*out\/result\.csv" is also output\.path; the errors file would replace the output/);
  await refused(await run(job(penguins, 'checkpoint: { path: out/result.csv }\n')), /checkpoint\.path: ".*out\/result\.csv" is output\.path; the finished output could not be moved there/);
  await refused(await run(job(penguins, 'checkpoint: { path: ck }\nerrors: { path: ck/errors.jsonl }\n')), /errors\.path: ".*ck\/errors\.jsonl" is inside checkpoint\.path ".*ck", a folder that holds a run's own files only/);
  // --summary-json onto the job's own files, or any file that is not a summary: refused, untouched.
  await cp(penguins, join(dir, 'in.csv'));
  for (const target of ['in.csv', 'job.yaml']) {
    const result = await run(job(join(dir, 'in.csv')), '--summary-json', join(dir, target));
    await refused({ ...result, code: result.code }, target === 'job.yaml' ? /--summary-json .*job\.yaml is the job file: the summary would replace it/ : /--summary-json .*in\.csv exists and is not a summary: the summary would replace it/);
  }
  assert.ok((await readFile(join(dir, 'in.csv'))).equals(original));
  // An earlier summary there is replaced.
  const ok = await run(job(join(dir, 'in.csv')), '--summary-json', join(dir, 's.json'));
  assert.equal(ok.code, 0, ok.stderr);
  const again = await run(job(join(dir, 'in.csv'), '', 'out/second.csv'), '--summary-json', join(dir, 's.json'));
  assert.equal(again.code, 0, again.stderr);
  assert.match(await readFile(join(dir, 's.json'), 'utf8'), /second\.csv/);
  // errors.path or output.path onto a file of the input folder that no run wrote: refused, the file kept.
  await refused(await run(job(join(dir, 'data'), `errors: { path: ${join(dir, 'data', 'b.csv')} }\n`)), /errors\.path .*data\/b\.csv exists and is not an errors file bento-batch wrote/);
  await refused(await run(job(join(dir, 'data'), '', join(dir, 'data', 'b.csv'))), /output\.path .*data\/b\.csv is one of the input files \(input\.path .* matches it\), and no finished run of this job wrote it/);
  assert.ok((await readFile(join(dir, 'data', 'b.csv'))).equals(original));
  // A dated output of an earlier run in the input folder is not read again.
  const d1 = await run(job(join(dir, 'data', '*.csv'), '', join(dir, 'data', 'scored-d1.csv')));
  assert.equal(d1.code, 0, d1.stderr);
  const d2 = await run(job(join(dir, 'data', '*.csv'), '', join(dir, 'data', 'scored-d2.csv')));
  assert.equal(d2.code, 0, d2.stderr);
  assert.match(d2.stderr, /scored-d1\.csv, which a run writes \(this job's files, or another run's finished output\): it is not read/);
  assert.match(d2.stderr, /688 rows read/);
  // A checkpoint whose lock would be a user's file; a folder holding another tool's state.json (also with --restart).
  await writeFile(join(dir, 'poetry.lock'), '[[package]]\nname = "numpy"\n');
  await refused(await run(job(penguins, `checkpoint: { path: ${join(dir, 'poetry')} }\n`)), /poetry\.lock exists and is not a bento-batch lock/);
  assert.equal(await readFile(join(dir, 'poetry.lock'), 'utf8'), '[[package]]\nname = "numpy"\n');
  await mkdir(join(dir, 'tf'));
  await writeFile(join(dir, 'tf', 'state.json'), '{"version":4,"serial":12}');
  for (const args of [[], ['--restart']]) await refused(await run(job(penguins, `checkpoint: { path: ${join(dir, 'tf')} }\n`), ...args), /tf\/state\.json is not a bento-batch checkpoint/);
  assert.equal(await readFile(join(dir, 'tf', 'state.json'), 'utf8'), '{"version":4,"serial":12}');
  // models export onto a data file.
  const home = { BENTO_BATCH_HOME: join(dir, 'home') };
  assert.equal((await runCli(['pack', join(fixtures, 'models', 'penguins', 'model.onnx'), '--name', 'p', '--version', '1', '--columns', 'features=bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g'], { env: home })).code, 0);
  const exported = await runCli(['--log-format', 'text', 'models', 'export', 'p:1', join(dir, 'in.csv')], { env: home });
  assert.equal(exported.code, 2, exported.stderr);
  assert.ok((await readFile(join(dir, 'in.csv'))).equals(original));
  // … a gzipped one, or another tar.gz; an earlier export is replaced.
  const gz = await readFile(join(fixtures, 'data', 'penguins.csv.gz'));
  await writeFile(join(dir, 'in.csv.gz'), gz);
  execFileSync('tar', ['-czf', join(dir, 'backup.tar.gz'), '-C', join(fixtures, 'data'), 'penguins.csv']);
  const backup = await readFile(join(dir, 'backup.tar.gz'));
  for (const [name, kept] of [['in.csv.gz', gz], ['backup.tar.gz', backup]] as const) {
    const onGzip = await runCli(['--log-format', 'text', 'models', 'export', 'p:1', join(dir, name)], { env: home });
    assert.equal(onGzip.code, 2, onGzip.stderr);
    assert.ok(onGzip.stderr.includes(`${name}: the file exists and is not a bundle archive`), onGzip.stderr);
    assert.ok((await readFile(join(dir, name))).equals(kept));
  }
  for (let i = 0; i < 2; i++) assert.equal((await runCli(['models', 'export', 'p:1', join(dir, 'p.tar.gz')], { env: home })).code, 0);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')));
}));

test('a job keeping its output beside the model (model: .) is finished on the rerun; a checkpoint.path that is a link to a folder restarts; an error mid-run with the model on worker threads ends with its own exit code, not an abort', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  await cp(join(fixtures, 'models', 'penguins'), join(dir, 'bundle'), { recursive: true });
  await writeFile(join(dir, 'bundle', 'job.yaml'), `input: { path: ${join(fixtures, 'data', 'penguins.csv')} }\nmodel: .\noutput: { path: scored.csv }\n`);
  for (const expected of ['summary', 'already-finished']) {
    const result = await runCli(['--log-format', 'json', 'run', join(dir, 'bundle', 'job.yaml'), '--progress', 'none']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`"event":"${expected}"`));
  }
  const { symlink } = await import('node:fs/promises');
  await mkdir(join(dir, 'real'));
  await symlink(join(dir, 'real'), join(dir, 'cklink'));
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(fixtures, 'data', 'penguins.csv')} }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv }\ncheckpoint: { path: cklink }\n`);
  for (const args of [[], ['--restart']]) {
    const result = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none', ...args]);
    assert.equal(result.code, 0, result.stderr);
  }
  // A bad row past errors.max_count 0, the model on workers: exit 6 with its error line.
  const lines = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trim().split('\n');
  const rows = Array.from({ length: 40 }, () => lines.slice(1)).flat();
  rows[5000] = rows[5000]!.replace(/^([^,]*,[^,]*,)[^,]*/, '$1abc');
  await writeFile(join(dir, 'bad.csv'), `${[lines[0], ...rows].join('\n')}\n`);
  await writeFile(join(dir, 'bad.yaml'), `input: { path: bad.csv }\nmodel: ${join(fixtures, 'models', 'deep-mlp')}\nmodel.placement: workers\noutput: { path: bad-out.csv }\nerrors: { max_count: 0 }\n`.replace('model.placement: workers\n', ''));
  const failed = await runCli(['--log-format', 'json', 'run', join(dir, 'bad.yaml'), '--progress', 'none', '--set', 'model.placement=workers']);
  assert.equal(failed.code, 6, failed.stderr);
  assert.match(failed.stderr, /"code":"TOO_MANY_ERRORS"/);
}));

test('the checks on paths refuse nothing legitimate: a killed rerun with the output in the input folder resumes (and restarts), an upstream job\'s output is read, an empty summary or errors file is written over, a re-export replaces its archive, a Spark JSON Lines file without a filled column is read', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const penguins = join(fixtures, 'data', 'penguins.csv');
  await mkdir(join(dir, 'data'));
  await cp(penguins, join(dir, 'data', 'a.csv'));
  const yaml = join(dir, 'job.yaml');
  await writeFile(yaml, job(join(dir, 'data'), 'checkpoint: { every: 32 }\n', join(dir, 'data', 'scored.csv')));
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['--log-format', 'text', ...args], { env });
  assert.equal((await cli(['run', yaml, '--progress', 'none'])).code, 0);
  await cp(penguins, join(dir, 'data', 'b.csv'));
  const killed = await cli(['run', yaml, '--progress', 'none'], { BENTO_BATCH_FAILPOINT: 'state-renamed:3' });
  assert.equal(killed.code, null, killed.stderr);
  const resumed = await cli(['run', yaml, '--progress', 'none']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming job at row/);
  assert.equal((await readFile(join(dir, 'data', 'scored.csv'), 'utf8')).trim().split('\n').length, 689);
  assert.equal((await cli(['run', yaml, '--progress', 'none', '--restart'])).code, 0);
  // Stage 2 reads stage 1's output, which has its checkpoint beside it.
  await mkdir(join(dir, 'stage1'));
  await writeFile(join(dir, 'stage1.yaml'), job(penguins, '', join(dir, 'stage1', 'part-1.csv')));
  assert.equal((await cli(['run', join(dir, 'stage1.yaml'), '--progress', 'none'])).code, 0);
  await writeFile(join(dir, 'stage2.yaml'), job(join(dir, 'stage1'), '', join(dir, 'stage2.csv')).replace(/model: .*/, `model: ${join(fixtures, 'models', 'penguins')}`));
  const stage2 = await cli(['run', join(dir, 'stage2.yaml'), '--progress', 'none', '--set', 'output.keep=[species]']);
  assert.equal(stage2.code, 0, stage2.stderr);
  assert.match(stage2.stderr, /stage2: scoring .*stage1\/part-1\.csv with/);
  assert.match(stage2.stderr, /344 rows read, 344 written/);
  // An empty --summary-json (mktemp) and an empty errors file (copytruncate) are written over.
  await writeFile(join(dir, 'summary.json'), '');
  await writeFile(join(dir, 'errors.jsonl'), '');
  await writeFile(join(dir, 'plain.yaml'), job(penguins, `errors: { path: ${join(dir, 'errors.jsonl')} }\n`, join(dir, 'plain.csv')));
  const plain = await cli(['run', join(dir, 'plain.yaml'), '--progress', 'none', '--summary-json', join(dir, 'summary.json')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(await readFile(join(dir, 'summary.json'), 'utf8'), /"status": "completed"/);
  // A re-export replaces the archive it wrote, whatever its name.
  const home = { BENTO_BATCH_HOME: join(dir, 'home') };
  assert.equal((await cli(['pack', join(fixtures, 'models', 'penguins', 'model.onnx'), '--name', 'p', '--version', '1', '--columns', 'features=bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g'], home)).code, 0);
  for (let i = 0; i < 2; i++) assert.equal((await cli(['models', 'export', 'p:1', join(dir, 'p.bento')], home)).code, 0);
  // Spark leaves null fields out: a file without a column the manifest fills is read, the fill used.
  await mkdir(join(dir, 'spark'));
  const rows = (await readFile(join(fixtures, 'data', 'penguins.jsonl'), 'utf8')).trim().split('\n');
  await writeFile(join(dir, 'spark', 'part-00000.jsonl'), `${rows.slice(0, 200).join('\n')}\n`);
  await writeFile(join(dir, 'spark', 'part-00001.jsonl'), `${rows.slice(200).map((l) => { const r = JSON.parse(l) as Record<string, unknown>; delete r.body_mass_g; return JSON.stringify(r); }).join('\n')}\n`);
  await writeFile(join(dir, 'spark.yaml'), job(join(dir, 'spark'), '', join(dir, 'spark.csv')));
  const spark = await cli(['run', join(dir, 'spark.yaml'), '--progress', 'none']);
  assert.equal(spark.code, 0, spark.stderr);
  assert.match(spark.stderr, /344 rows read, 344 written/);
}));

