/**
 * loadJob: YAML → interpolation → `--set` overrides → schema → normalized JobSpec, with every
 * problem reported at once and prefixed by its dot-path.
 */
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BentoError } from '../../src/errors.js';
import { loadJob } from '../../src/job/load.js';
import { rejectsWith, withTempDir } from '../helpers.js';

async function writeJob(dir: string, body: string, name = 'job.yaml'): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, body);
  return file;
}


const minimal = ['input: { path: data/in.csv }', 'model: models/m', 'output: { path: out/scored.parquet }'].join('\n');

describe('loadJob: a valid job normalizes', () => {
  test('paths resolve against the job file directory and defaults are filled in', () => withTempDir(async (dir) => {
    await mkdir(join(dir, 'jobs'));
    const file = await writeJob(join(dir, 'jobs'), minimal, 'nightly.yaml');
    // cwd differs from the job's directory: job-file paths must not resolve against it.
    const spec = await loadJob(file, { cwd: '/', env: {} });
    assert.deepEqual(spec, {
      name: 'nightly',
      jobFile: join(dir, 'jobs', 'nightly.yaml'),
      input: {
        path: join(dir, 'jobs', 'data', 'in.csv'),
        format: undefined,
        columns: undefined,
        csv: { delimiter: undefined, header: true, quote: '"' },
        chunkRows: 2048,
      },
      model: {
        ref: 'models/m',
        baseDir: join(dir, 'jobs'),
        path: join(dir, 'jobs', 'models', 'm'),
        threads: { intraOp: undefined, interOp: undefined },
        graphOptimization: 'all',
        providers: ['cpu'],
        placement: 'auto',
      },
      batch: { size: undefined, concurrency: 2 },
      output: {
        path: join(dir, 'jobs', 'out', 'scored.parquet'),
        format: 'parquet',
        keep: undefined,
        csv: { delimiter: ',' },
        gzip: false,
        parquet: { rowGroupRows: 65536, compression: 'snappy' },
        writer: 'auto',
      },
      errors: { path: join(dir, 'jobs', 'out', 'scored.parquet.errors.jsonl'), maxCount: undefined, maxRate: undefined, emit: 'skip' },
      checkpoint: { path: join(dir, 'jobs', 'out', 'scored.parquet.bento-batch'), everyRows: undefined, everySeconds: 5 },
      limits: { memoryMb: 256 },
    });
  }));

  test('a relative job file path resolves against options.cwd', () => withTempDir(async (dir) => {
    await mkdir(join(dir, 'jobs'));
    await writeJob(join(dir, 'jobs'), minimal);
    const spec = await loadJob('jobs/job.yaml', { cwd: dir, env: {} });
    assert.equal(spec.jobFile, join(dir, 'jobs', 'job.yaml'));
    assert.equal(spec.input.path, join(dir, 'jobs', 'data', 'in.csv'));
  }));

  test('explicit values are kept, absolute paths stay as written', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, [
      'name: scoring',
      'input:',
      '  path: /data/in/*.tsv',
      '  format: csv',
      '  columns: [a, b]',
      '  csv: { delimiter: ";", header: false, quote: "\'" }',
      '  chunk_rows: 100',
      'model:',
      '  path: /models/m',
      '  threads: { intra_op: 4, inter_op: 1 }',
      '  graph_optimization: basic',
      '  providers: [cuda, cpu]',
      '  placement: inline',
      'batch: { size: 32, concurrency: 3 }',
      'output:',
      '  path: out.data',
      '  format: jsonl',
      '  keep: []',
      '  csv: { delimiter: "|" }',
      '  parquet: { row_group_rows: 10, row_group_memory: 64MB, compression: gzip }',
      '  writer: inline',
      'checkpoint: { path: state, every: 1.5m }',
      'limits: { memory: 1GB }',
    ].join('\n'));
    const spec = await loadJob(file, { env: {} });
    assert.deepEqual(spec, {
      name: 'scoring',
      jobFile: file,
      input: { path: '/data/in/*.tsv', format: 'csv', columns: ['a', 'b'], csv: { delimiter: ';', header: false, quote: "'" }, chunkRows: 100, chunkRowsSet: true },
      model: { ref: '/models/m', baseDir: dir, path: '/models/m', threads: { intraOp: 4, interOp: 1 }, graphOptimization: 'basic', providers: ['cuda', 'cpu'], placement: 'inline' },
      batch: { size: 32, concurrency: 3 },
      output: { path: join(dir, 'out.data'), format: 'jsonl', keep: [], csv: { delimiter: '|' }, gzip: false, parquet: { rowGroupRows: 10, rowGroupMemoryMb: 64, compression: 'gzip' }, writer: 'inline' },
      errors: { path: join(dir, 'out.data.errors.jsonl'), maxCount: undefined, maxRate: undefined, emit: 'skip' },
      checkpoint: { path: join(dir, 'state'), everyRows: undefined, everySeconds: 90 },
      limits: { memoryMb: 1024 },
    });
  }));

  test('output format is inferred from every known extension', () => withTempDir(async (dir) => {
    const cases: [string, string][] = [['a.csv', 'csv'], ['a.TSV', 'csv'], ['a.jsonl', 'jsonl'], ['a.ndjson', 'jsonl'], ['a.parquet', 'parquet'], ['a.pq', 'parquet']];
    for (const [path, format] of cases) {
      const file = await writeJob(dir, `input: { path: in.csv }\nmodel: m\noutput: { path: ${path} }\n`);
      assert.equal((await loadJob(file, { env: {} })).output.format, format, path);
    }
  }));

  test('the name defaults to the job file name without .yml', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal, 'daily-run.yml');
    assert.equal((await loadJob(file, { env: {} })).name, 'daily-run');
  }));
});

describe('loadJob: checkpoint', () => {
  test('checkpoint: false turns checkpoints off', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, `${minimal}\ncheckpoint: false\n`);
    assert.equal((await loadJob(file, { env: {} })).checkpoint, undefined);
  }));

  test('every: a row count, or seconds, minutes, hours', () => withTempDir(async (dir) => {
    const cases: [string, { everyRows: number | undefined; everySeconds: number | undefined }][] = [
      ['500', { everyRows: 500, everySeconds: undefined }],
      ['30s', { everyRows: undefined, everySeconds: 30 }],
      ['5m', { everyRows: undefined, everySeconds: 300 }],
      ['"2 h"', { everyRows: undefined, everySeconds: 7200 }],
    ];
    for (const [every, expected] of cases) {
      const file = await writeJob(dir, `${minimal}\ncheckpoint: { every: ${every} }\n`);
      const { checkpoint } = await loadJob(file, { env: {} });
      assert.deepEqual(checkpoint, { path: join(dir, 'out', 'scored.parquet.bento-batch'), ...expected }, every);
    }
  }));

  test('a bad every value names the accepted forms', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, `${minimal}\ncheckpoint: { every: 10 minutes }\n`);
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: checkpoint.every: expected a row count such as 10000, or a duration such as 30s, 5m, 1h, got \`"10 minutes"\` (string)`);
  }));
});

describe('loadJob: the output is not the input', () => {
  test('output.path or errors.path equal to input.path is JOB_INVALID, suggesting another name', () => withTempDir(async (dir) => {
    const same = await writeJob(dir, ['input: { path: data/in.csv }', 'model: models/m', 'output: { path: data/in.csv }'].join('\n'));
    await rejectsWith(loadJob(same, { env: {} }), 'JOB_INVALID',
      `Job file ${same}: output.path: "${join(dir, 'data', 'in.csv')}" is also input.path; the output would replace the input it is read from. Write it to another file, e.g. "${join(dir, 'data', 'in.scored.csv')}"`);
    const gz = await writeJob(dir, ['input: { path: in.csv.gz }', 'model: models/m', 'output: { path: in.csv.gz }'].join('\n'));
    await rejectsWith(loadJob(gz, { env: {} }), 'JOB_INVALID',
      `Job file ${gz}: output.path: "${join(dir, 'in.csv.gz')}" is also input.path; the output would replace the input it is read from. Write it to another file, e.g. "${join(dir, 'in.scored.csv.gz')}"`);
    const errors = await writeJob(dir, ['input: { path: bad.jsonl }', 'model: models/m', 'output: { path: out.csv }', 'errors: { path: bad.jsonl }'].join('\n'));
    await rejectsWith(loadJob(errors, { env: {} }), 'JOB_INVALID',
      `Job file ${errors}: errors.path: "${join(dir, 'bad.jsonl')}" is also input.path; set errors.path to another file`);
    // A --set path resolves in the shell's directory, the job file's against its own: the same file either way.
    const job = await writeJob(dir, minimal);
    await rejectsWith(loadJob(job, { env: {}, cwd: join(dir, 'data'), overrides: ['output.path=in.csv'] }), 'JOB_INVALID',
      `Job file ${job}: output.path: "${join(dir, 'data', 'in.csv')}" is also input.path; the output would replace the input it is read from. Write it to another file, e.g. "${join(dir, 'data', 'in.scored.csv')}"`);
  }));

  test('the same file through a link (a folder linked under another name) is JOB_INVALID too, naming both paths', () => withTempDir(async (dir) => {
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'in.csv'), 'x\n1\n');
    await symlink(join(dir, 'data'), join(dir, 'current'));
    const linked = await writeJob(dir, ['input: { path: current/in.csv }', 'model: models/m', 'output: { path: data/in.csv }'].join('\n'));
    await rejectsWith(loadJob(linked, { env: {} }), 'JOB_INVALID',
      `Job file ${linked}: output.path: "${join(dir, 'data', 'in.csv')}" is input.path "${join(dir, 'current', 'in.csv')}" through a link; the output would replace the input it is read from. Write it to another file, e.g. "${join(dir, 'data', 'in.scored.csv')}"`);
    const other = await writeJob(dir, ['input: { path: current/in.csv }', 'model: models/m', 'output: { path: data/in.scored.csv }'].join('\n'));
    assert.equal((await loadJob(other, { env: {} })).output.path, join(dir, 'data', 'in.scored.csv'));
  }));
});

describe('loadJob: limits', () => {
  test('memory: MB as a number, or a size with MB / MiB / GB / GiB', () => withTempDir(async (dir) => {
    for (const [memory, mb] of [['300', 300], ['512MB', 512], ['"768 MiB"', 768], ['2GB', 2048], ['1.5GiB', 1536]] as const) {
      const file = await writeJob(dir, `${minimal}\nlimits: { memory: ${memory} }\n`);
      assert.deepEqual((await loadJob(file, { env: {} })).limits, { memoryMb: mb }, memory);
    }
  }));

  test('a bad memory value names the accepted forms', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, `${minimal}\nlimits: { memory: lots }\n`);
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: limits.memory: expected a size in MB such as 256, or a string such as 512MB or 1GB, got \`"lots"\` (string)`);
  }));
});

describe('loadJob: output.compression_level', () => {
  test('a gzip or zstd level within its range is kept; one out of range, for a codec without levels or for an uncompressed output, is JOB_INVALID saying why', () => withTempDir(async (dir) => {
    const job = (output: string) => writeJob(dir, ['input: { path: data/in.csv }', 'model: models/m', `output: ${output}`].join('\n'));
    assert.equal((await loadJob(await job('{ path: out/s.csv.gz, compression_level: 1 }'), { env: {} })).output.compressionLevel, 1);
    assert.equal((await loadJob(await job('{ path: out/s.parquet, parquet: { compression: zstd }, compression_level: 19 }'), { env: {} })).output.compressionLevel, 19);
    assert.equal((await loadJob(await job('{ path: out/s.parquet }'), { env: {} })).output.compressionLevel, undefined);
    for (const [output, why] of [
      ['{ path: out/s.parquet, parquet: { compression: zstd }, compression_level: 23 }', 'zstd levels are 1 to 22, got 23'],
      ['{ path: out/s.parquet, parquet: { compression: gzip }, compression_level: 0 }', 'gzip levels are 1 to 9, got 0'],
      ['{ path: out/s.parquet, compression_level: 3 }', 'snappy has no levels; set output.parquet.compression to zstd or gzip, or leave the level out'],
      ['{ path: out/s.csv, compression_level: 3 }', `the output is not compressed; name it "${join(dir, 'out', 's.csv')}.gz" to gzip it, or leave the level out`],
    ] as const) {
      const file = await job(output);
      await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID', `Job file ${file}: output.compression_level: ${why}`);
    }
  }));
});

describe('loadJob: ${VAR} interpolation', () => {
  test('a default may hold a variable, as in a shell: ${ERRORS:-${OUT}.errors.jsonl}', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, ['input: { path: in.csv }', 'model: m', 'output: { path: "${OUT}" }', 'errors: { path: "${ERRORS:-${OUT}.errors.jsonl}" }', 'batch: { size: "${SIZE:-${DEFAULT_SIZE:-32}}" }'].join('\n'));
    const spec = await loadJob(file, { env: { OUT: 'scored.csv' } });
    assert.equal(spec.errors.path, join(dir, 'scored.csv.errors.jsonl'));
    assert.equal(spec.batch.size, 32);
    assert.equal((await loadJob(file, { env: { OUT: 'scored.csv', ERRORS: 'bad.jsonl' } })).errors.path, join(dir, 'bad.jsonl'));
    // Braces of a glob in a default, as before defaults could nest.
    const glob = await writeJob(dir, ['input: { path: "${IN:-data/*.{csv,tsv}}" }', 'model: m', 'output: { path: out.csv }'].join('\n'), 'glob.yaml');
    assert.equal((await loadJob(glob, { env: {} })).input.path, join(dir, 'data', '*.{csv,tsv}'));
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID', `Job file ${file} has 2 problems:\n  - output.path: environment variable OUT is not set (used as \${OUT}); set it, or give a default with \${OUT:-value}\n  - errors.path: environment variable OUT is not set (used as \${OUT}); set it, or give a default with \${OUT:-value}`);
  }));

  test('${VAR} and ${VAR:-default} are replaced, $${VAR} stays literal', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, [
      'name: run-${RUN_ID}-$${NOT_ME}',
      'input: { path: "${DATA_DIR}/in.csv", columns: ["${COL:-bill_length_mm}", "x${SUFFIX:-}y"] }',
      'model: ${MODEL_DIR:-models/default}',
      'output: { path: "out/${RUN_ID}.csv" }',
    ].join('\n'));
    const spec = await loadJob(file, { env: { RUN_ID: '42', DATA_DIR: '/srv/data', NOT_ME: 'oops' } });
    assert.equal(spec.name, 'run-42-${NOT_ME}');
    assert.equal(spec.input.path, '/srv/data/in.csv');
    assert.deepEqual(spec.input.columns, ['bill_length_mm', 'xy']);
    assert.equal(spec.model.path, join(dir, 'models', 'default'));
    assert.equal(spec.output.path, join(dir, 'out', '42.csv'));
  }));

  test('a set variable wins over its default; an empty one falls back to the default', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: "${IN:-a.csv}" }\nmodel: "${M:-m1}"\noutput: { path: o.csv }\n');
    const spec = await loadJob(file, { env: { IN: '/x/b.csv', M: '' } });
    assert.equal(spec.input.path, '/x/b.csv');
    assert.equal(spec.model.path, join(dir, 'm1'));
  }));

  test('an unset variable without a default is JOB_INVALID naming the variable and key path', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: "${DATA_DIR}/in.csv" }\nmodel: m\noutput: { path: o.csv }\n');
    const error = await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: input.path: environment variable DATA_DIR is not set (used as \${DATA_DIR}); set it, or give a default with \${DATA_DIR:-value}`);
    assert.equal(error.file, file);
    assert.equal(error.hint, 'Fix the job file and run again.');
  }));

  test('every unset variable is reported, with list indices in the path', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: "${MODEL}"\noutput: { path: o.csv, keep: [a, "${KEEP2}"] }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID', [
      `Job file ${file} has 2 problems:`,
      '  - model: environment variable MODEL is not set (used as ${MODEL}); set it, or give a default with ${MODEL:-value}',
      '  - output.keep.1: environment variable KEEP2 is not set (used as ${KEEP2}); set it, or give a default with ${KEEP2:-value}',
    ].join('\n'));
  }));

  test('defaults nest to any depth, the outermost set variable winning; a ${ of another form, or never closed, is a problem, not text; a quoted ${VAR} holding a number is text where the key takes text', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, ['name: "${RUN_DATE}"', 'input: { path: in.csv }', 'model: m', 'output: { path: "${OUT:-${OUT_DIR:-${BASE:-out}/daily}/scored.csv}" }', 'batch: { size: "${SIZE:-64}" }'].join('\n'));
    const spec = await loadJob(file, { env: { OUT: '/srv/wanted.csv', RUN_DATE: '20261206' } });
    assert.equal(spec.output.path, '/srv/wanted.csv');
    assert.equal(spec.name, '20261206');
    assert.equal(spec.batch.size, 64);
    assert.equal((await loadJob(file, { env: { RUN_DATE: 'x' } })).output.path, join(dir, 'out', 'daily', 'scored.csv'));
    assert.equal((await loadJob(file, { env: { RUN_DATE: 'x', BASE: '/b' } })).output.path, '/b/daily/scored.csv');
    const odd = await writeJob(dir, ['input: { path: in.csv }', 'model: m', 'output: { path: "${OUT-x.csv}" }', 'errors: { path: "e${UNTERM" }'].join('\n'), 'odd.yaml');
    await rejectsWith(loadJob(odd, { env: {} }), 'JOB_INVALID', [
      `Job file ${odd} has 2 problems:`,
      '  - output.path: "${OUT-x.csv}" is no variable this file can use; write ${NAME} or ${NAME:-default} (and $${NAME} for the text ${NAME})',
      '  - errors.path: "${UNTERM" is a ${ never closed; write ${NAME} or ${NAME:-default} (and $${NAME} for the text ${NAME})',
    ].join('\n'));
  }));

  test('a default ends at its first brace, as a shell reads it; --set wins over a quoted ${VAR} (refused as a number where text is wanted, not replaced by the variable)', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, ['name: "${N}"', 'input: { path: "${U:-a{b}" }', 'model: "${U:-x{y}z}"', 'output: { path: "${U:-{a,b}}.csv" }'].join('\n'));
    const spec = await loadJob(file, { env: { N: '123' } });
    assert.equal(spec.input.path, join(dir, 'a{b'));
    assert.equal(spec.model.path, join(dir, 'x{yz}'));
    assert.equal(spec.output.path, join(dir, '{a,b}.csv'));
    assert.equal(spec.name, '123');
    assert.equal((await loadJob(file, { env: { N: '123' }, overrides: ['name=nightly'] })).name, 'nightly');
    await rejectsWith(loadJob(file, { env: { N: '123' }, overrides: ['name=456'] }), 'JOB_INVALID', `Job file ${file}: --set name: expected a non-empty string, got \`456\` (number)`);
  }));

  test('a job file that is not UTF-8 (saved as Latin-1) is refused naming the line, not read with U+FFFD in a path (a comment may hold such bytes); merge keys (<<: *defaults) are read; limits.memory of 0 MB is refused', () => withTempDir(async (dir) => {
    const latin = join(dir, 'latin.yaml');
    await writeFile(latin, Buffer.concat([Buffer.from('input: { path: in.csv }\nmodel: m\noutput: { path: out/l'), Buffer.from([0xe9]), Buffer.from('.csv }\n')]));
    await rejectsWith(loadJob(latin, { env: {} }), 'JOB_INVALID', `Job file ${latin} is not UTF-8 text: line 3 holds bytes that are not`);
    await writeFile(latin, Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\ninput: { path: in.csv }\nmodel: m\noutput: { path: out.csv }\n')]));
    assert.equal((await loadJob(latin, { env: {} })).output.path, join(dir, 'out.csv'));
    // A merge key takes the anchored mapping's keys, the section's own winning.
    const merged = await writeJob(dir, ['input: &in { path: in.csv, format: csv }', 'model: m', 'output:', '  <<: *in', '  path: o.jsonl', '  format: jsonl'].join('\n'), 'merged.yaml');
    const spec = await loadJob(merged, { env: {} });
    assert.deepEqual([spec.output.path, spec.output.format], [join(dir, 'o.jsonl'), 'jsonl']);
    const zero = await writeJob(dir, ['input: { path: in.csv }', 'model: m', 'output: { path: o.csv }', 'limits: { memory: "0MB" }'].join('\n'), 'zero.yaml');
    await rejectsWith(loadJob(zero, { env: {} }), 'JOB_INVALID', `Job file ${zero}: limits.memory: expected a size in MB such as 256, or a string such as 512MB or 1GB, got \`"0MB"\` (string)`);
    const group = await writeJob(dir, ['input: { path: in.csv }', 'model: m', 'output: { path: o.parquet, parquet: { row_group_memory: 16KB } }'].join('\n'), 'group.yaml');
    await rejectsWith(loadJob(group, { env: {} }), 'JOB_INVALID', `Job file ${group}: output.parquet.row_group_memory: expected a size in MB such as 256, or a string such as 512MB or 1GB, got \`"16KB"\` (string)`);
  }));

  test('a whole-value ${VAR} in a numeric field gives a number', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\nbatch:\n  size: ${BATCH_SIZE:-64}\noutput: { path: o.csv }\n');
    assert.equal((await loadJob(file, { env: {} })).batch.size, 64);
  }));
});

describe('loadJob: --set overrides', () => {
  test('a --set key misspelt in its section (bacth.size) is the --set\'s problem, and two letters swapped are one edit for "did you mean"', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['bacth.size=32'] }), 'JOB_INVALID',
      `Job file ${file}: --set bacth.size: bacth: unknown key (did you mean \`batch\`?); expected one of [name, input, model, batch, output, errors, checkpoint, limits]`);
    const error = await rejectsWith(loadJob(file, { env: {}, overrides: ['batch.szie=32'] }), 'JOB_INVALID',
      `Job file ${file}: --set batch.szie: unknown key (did you mean \`batch.size\`?); expected one of [size, concurrency]`);
    assert.equal(error.hint, 'Fix the --set value and run again.');
  }));


  test('values are parsed as YAML scalars and flow lists', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const spec = await loadJob(file, { env: {}, overrides: ['batch.size=1024', 'output.keep=[a, b]', 'input.csv.header=false', 'name=a=b'] });
    assert.equal(spec.batch.size, 1024);
    assert.deepEqual(spec.output.keep, ['a', 'b']);
    assert.equal(spec.input.csv.header, false);
    assert.equal(spec.name, 'a=b');
  }));

  test('a bad --set value is named as one, beside the job file\'s own problems; a key --set replaces needs no ${VAR} the file used there', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const one = await rejectsWith(loadJob(file, { env: {}, overrides: ['batch.size=abc'] }), 'JOB_INVALID', `Job file ${file}: --set batch.size: expected a positive integer, got \`"abc"\` (string)`);
    assert.equal(one.hint, 'Fix the --set value and run again.');
    const mixed = await writeJob(dir, `${minimal}\nbatch: { concurrency: 0 }\n`);
    const both = await rejectsWith(loadJob(mixed, { env: {}, overrides: ['batch.size=abc'] }), 'JOB_INVALID', `Job file ${mixed} has 2 problems:\n  - --set batch.size: expected a positive integer, got \`"abc"\` (string)\n  - batch.concurrency: expected a positive integer, got \`0\` (number)`);
    assert.equal(both.hint, 'Fix the job file and the --set values and run again.');
    const env = await writeJob(dir, 'input: { path: "${DATA_DIR}/in.csv" }\nmodel: m\noutput: { path: o.csv }\n');
    assert.equal((await loadJob(env, { env: {}, cwd: dir, overrides: ['input.path=in.csv'] })).input.path, join(dir, 'in.csv'));
    await rejectsWith(loadJob(env, { env: {}, overrides: ['output.path=x.csv'] }), 'JOB_INVALID', `Job file ${env}: input.path: environment variable DATA_DIR is not set (used as \${DATA_DIR}); set it, or give a default with \${DATA_DIR:-value}`);
  }));

  test('model.providers: a name onnxruntime-node has no provider of is a job error, not a quiet CPU run', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['model.providers=[cdua, cpu]'] }), 'JOB_INVALID',
      `Job file ${file}: --set model.providers.0: expected an execution provider: one of [cpu, cuda, tensorrt, dml, coreml, webgpu, qnn], got \`"cdua"\` (string)`);
    assert.deepEqual((await loadJob(file, { env: {}, overrides: ['model.providers=[CUDA, cpu]'] })).model.providers, ['CUDA', 'cpu']);
  }));

  test('output.csv.delimiter: a .tsv output is tab-separated by default; a character numbers, dates or timestamps hold is refused', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    assert.equal((await loadJob(file, { env: {}, overrides: ['output.path=out/x.tsv'] })).output.csv.delimiter, '\t');
    assert.equal((await loadJob(file, { env: {}, overrides: ['output.path=out/x.csv'] })).output.csv.delimiter, ',');
    for (const d of [':', '.', '-', '5', ' ']) {
      await rejectsWith(loadJob(file, { env: {}, overrides: ['output.path=out/x.csv', `output.csv.delimiter="${d}"`] }), 'JOB_INVALID',
        `Job file ${file}: --set output.csv.delimiter: expected one character that no number, date or timestamp holds, e.g. "," ";" "|" or a tab, got \`${JSON.stringify(d)}\` (string)`);
    }
  }));

  test('model.threads.intra_op turns a string model into a mapping', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const spec = await loadJob(file, { env: {}, cwd: '/elsewhere', overrides: ['model.threads.intra_op=2'] });
    assert.deepEqual(spec.model, {
      // model.path itself was not overridden, so it still resolves against the job file.
      ref: 'models/m',
      baseDir: dir,
      path: join(dir, 'models', 'm'),
      threads: { intraOp: 2, interOp: undefined },
      graphOptimization: 'all',
      providers: ['cpu'],
      placement: 'auto',
    });
  }));

  test('a path given with --set resolves against options.cwd, not the job directory', () => withTempDir(async (dir) => {
    await mkdir(join(dir, 'jobs'));
    const file = await writeJob(join(dir, 'jobs'), minimal);
    const spec = await loadJob(file, { env: {}, cwd: join(dir, 'shell'), overrides: ['input.path=other/in.jsonl', 'output.path=res.csv', 'model.path=bundle'] });
    assert.equal(spec.input.path, join(dir, 'shell', 'other', 'in.jsonl'));
    assert.equal(spec.output.path, join(dir, 'shell', 'res.csv'));
    assert.equal(spec.output.format, 'csv');
    assert.equal(spec.model.path, join(dir, 'shell', 'bundle'));
  }));

  test('paths inside a mapping given with --set resolve against options.cwd too; a key beside a path leaves it the job file\'s', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const spec = await loadJob(file, { env: {}, cwd: '/shell', overrides: ['input={path: data/in.csv}', 'output={path: out/res.jsonl}', 'model={path: b2}'] });
    assert.deepEqual([spec.input.path, spec.output.path, spec.model.path], ['/shell/data/in.csv', '/shell/out/res.jsonl', '/shell/b2']);
    const beside = await loadJob(file, { env: {}, cwd: '/shell', overrides: ['output.format=csv'] });
    assert.equal(beside.output.path, join(dir, 'out', 'scored.parquet'));
  }));

  test('--set model=… on a string model resolves against options.cwd', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const spec = await loadJob(file, { env: {}, cwd: '/shell', overrides: ['model=b2'] });
    assert.equal(spec.model.path, '/shell/b2');
  }));

  test('an assignment without = and a path through a scalar are reported together', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const error = await rejectsWith(loadJob(file, { env: {}, overrides: ['batch.size', 'input.path.x=1'] }), 'JOB_INVALID', [
      `Job file ${file} has 2 problems:`,
      '  - --set "batch.size": expected key.path=value',
      '  - --set input.path.x: path is not a mapping',
    ].join('\n'));
    assert.equal(error.hint, 'Fix the --set values (--set key.path=value) and run again.');
    // A tab typed as \t arrives as two characters: how to write one.
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.delimiter=\\t'] }), 'JOB_INVALID',
      `Job file ${file}: --set input.csv.delimiter: expected a single character (a tab is written "\\t", in double quotes: --set 'input.csv.delimiter="\\t"'), got \`"\\t"\` (string)`);
    assert.equal((await loadJob(file, { env: {}, overrides: ['input.csv.delimiter="\\t"'] })).input.csv.delimiter, '\t');
    // A job file that is a list is the file's fault, with --set or without.
    const list = await writeJob(dir, '- a\n');
    const notMapping = await rejectsWith(loadJob(list, { env: {}, overrides: ['batch.size=3'] }), 'JOB_INVALID', `Job file ${list}: (top level): expected a mapping, got \`["a"]\` (list)`);
    assert.equal(notMapping.hint, 'Fix the job file and run again.');
  }));

  test('an overridden value is validated like one in the file', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['batch.size=0'] }), 'JOB_INVALID',
      `Job file ${file}: --set batch.size: expected a positive integer, got \`0\` (number)`);
  }));

  test('a quoted --set value is a YAML string: quotes go, a comma stays', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const spec = await loadJob(file, { env: {}, overrides: ['input.csv.decimal=","', "input.csv.delimiter=';'", 'name="a b"'] });
    assert.equal(spec.input.csv.decimal, ',');
    assert.equal(spec.input.csv.delimiter, ';');
    assert.equal(spec.name, 'a b');
  }));

  test('input.csv.decimal: "," or "."; a decimal comma cannot share the comma delimiter', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    // A point set by hand is kept (it turns the sniffing of a decimal comma off); left out, it is sniffed.
    assert.equal((await loadJob(file, { env: {}, overrides: ['input.csv.decimal=.'] })).input.csv.decimal, '.');
    assert.equal((await loadJob(file, { env: {}, overrides: [] })).input.csv.decimal, undefined);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.decimal=,', 'input.csv.delimiter=,'] }), 'JOB_INVALID',
      `Job file ${file}: input.csv.decimal: a decimal comma needs another delimiter between fields; set input.csv.delimiter (Excel writes ";" with a decimal comma) or leave it out to have it sniffed`);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.decimal=;'] }), 'JOB_INVALID', `Job file ${file}: --set input.csv.decimal: expected "." or ",", got \`";"\` (string)`);
  }));

  test('input.csv.encoding: utf-8 is the default; windows-1252 and its labels latin1, cp1252, iso-8859-1 read as windows-1252; utf-16 is little-endian', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    assert.equal((await loadJob(file, { env: {}, overrides: ['input.csv.encoding=utf-8'] })).input.csv.encoding, undefined);
    for (const label of ['windows-1252', 'latin1', 'cp1252', 'iso-8859-1']) {
      assert.equal((await loadJob(file, { env: {}, overrides: [`input.csv.encoding=${label}`] })).input.csv.encoding, 'windows-1252', label);
    }
    for (const [label, encoding] of [['utf-16', 'utf-16le'], ['utf-16le', 'utf-16le'], ['utf-16be', 'utf-16be']]) {
      assert.equal((await loadJob(file, { env: {}, overrides: [`input.csv.encoding=${label}`] })).input.csv.encoding, encoding, label);
    }
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.encoding=shift_jis'] }), 'JOB_INVALID', `Job file ${file}: --set input.csv.encoding: expected utf-8, windows-1252 (latin1), utf-16le or utf-16be, got \`"shift_jis"\` (string)`);
    // Labels in any case and Python's spellings, as browsers and Python match them.
    for (const [label, encoding] of [['UTF-8', undefined], ['utf_8_sig', undefined], ['ISO-8859-1', 'windows-1252'], ['Latin-1', 'windows-1252'], ['Windows-1252', 'windows-1252'], ['UTF-16LE', 'utf-16le'], ['utf_16_be', 'utf-16be']]) {
      assert.equal((await loadJob(file, { env: {}, overrides: [`input.csv.encoding=${label!}`] })).input.csv.encoding, encoding, label);
    }
    // A line break cannot part fields, nor quote them; nor can the delimiter quote.
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.delimiter="\\n"'] }), 'JOB_INVALID', `Job file ${file}: input.csv.delimiter: a line break ends a record and cannot also be the delimiter between fields; use "," ";" "|" or a tab ("\\t")`);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.delimiter=;', 'input.csv.quote=;'] }), 'JOB_INVALID', `Job file ${file}: input.csv.quote: ";" is also the delimiter between fields; set another quote character, or leave it out (it is '"')`);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.quote=","'] }), 'JOB_INVALID', `Job file ${file}: input.csv.quote: "," is also the delimiter between fields (a comma, unless another is sniffed); set another quote character, or leave it out (it is '"')`);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.delimiter=\'"\''] }), 'JOB_INVALID', `Job file ${file}: input.csv.delimiter: '"' is the quote character; set input.csv.quote to another character, or choose another delimiter`);
  }));

  test('input.csv.thousands: one character, not the decimal mark', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    assert.equal((await loadJob(file, { env: {}, overrides: ['input.csv.thousands=","'] })).input.csv.thousands, ',');
    assert.equal((await loadJob(file, { env: {}, overrides: ['input.csv.thousands=.', 'input.csv.decimal=","'] })).input.csv.thousands, '.');
    assert.equal((await loadJob(file, { env: {}, overrides: [] })).input.csv.thousands, undefined);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.thousands=.'] }), 'JOB_INVALID',
      `Job file ${file}: input.csv.thousands: "." is also the decimal mark; the separator between groups of digits is the other one (Excel in Germany writes 1.234,5: thousands ".", decimal ",")`);
  }));

  test('input.csv.names: a list of distinct names', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    assert.deepEqual((await loadJob(file, { env: {}, overrides: ['input.csv.names=[a, b]', 'input.csv.header=false'] })).input.csv.names, ['a', 'b']);
    await rejectsWith(loadJob(file, { env: {}, overrides: ['input.csv.names=[a, b, a]'] }), 'JOB_INVALID', `Job file ${file}: input.csv.names: "a" is named twice; give each column its own name`);
  }));

  test('--set input.csv.delimiter=| sets a pipe delimiter', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, minimal);
    const spec = await loadJob(file, { env: {}, overrides: ['input.csv.delimiter=|', 'output.csv.delimiter=#'] });
    assert.equal(spec.input.csv.delimiter, '|');
    assert.equal(spec.output.csv.delimiter, '#');
  }));
});

describe('loadJob: problems', () => {
  test('a job file that is a folder, is tens of megabytes, or expands aliases past reason is refused before it takes the memory', () => withTempDir(async (dir) => {
    await rejectsWith(loadJob(dir, { env: {} }), 'USAGE', `Job file ${dir} is a folder`);
    const big = await writeJob(dir, `${minimal}\n# ${'x'.repeat(33 * 1024 ** 2)}\n`, 'big.yaml');
    await rejectsWith(loadJob(big, { env: {} }), 'JOB_INVALID', `Job file ${big} is 33 MB, more than the 32 MB a YAML file here may be`);
    const laughs = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...'bcdefghi'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`)].join('\n');
    const bomb = await writeJob(dir, laughs, 'bomb.yaml');
    await rejectsWith(loadJob(bomb, { env: {} }), 'JOB_INVALID', `Job file ${bomb} is not valid here: Excessive alias count indicates a resource exhaustion attack`);
  }));

  test('unknown key `bach` suggests `batch`', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, `${minimal}\nbach: { size: 8 }\n`);
    const error = await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: bach: unknown key (did you mean \`batch\`?); expected one of [name, input, model, batch, output, errors, checkpoint, limits]`);
    assert.ok(error.message.includes('did you mean `batch`'));
  }));

  test('unknown nested key suggests the full dot-path', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\noutput: { path: o.csv, fromat: csv }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: output.fromat: unknown key (did you mean \`output.format\`?); expected one of [path, format, keep, csv, parquet, compression_level, writer]`);
  }));

  test('output.writer takes auto, thread or inline', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\noutput: { path: o.csv, writer: main }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: output.writer: expected one of [auto, thread, inline], got \`"main"\` (string)`);
    assert.equal((await loadJob(file, { env: {}, overrides: ['output.writer=thread'] })).output.writer, 'thread');
  }));

  test('model.placement takes auto, workers or inline', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: { path: m, placement: main }\noutput: { path: o.csv }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: model.placement: expected one of [auto, workers, inline], got \`"main"\` (string)`);
    const spec = await loadJob(file, { env: {}, overrides: ['model.placement=workers'] });
    assert.equal(spec.model.placement, 'workers');
    // A mistake inside the model mapping is named there, not as "model: expected a bundle directory, or a mapping".
    const typo = await writeJob(dir, 'input: { path: in.csv }\nmodel: { path: m, placment: inline }\noutput: { path: o.csv }\n');
    await rejectsWith(loadJob(typo, { env: {} }), 'JOB_INVALID',
      `Job file ${typo}: model.placment: unknown key (did you mean \`model.placement\`?); expected one of [path, threads, graph_optimization, providers, placement]`);
  }));

  test('model.threads.allow_spinning is true or false, and left out when not set', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: { path: m, threads: { intra_op: 2, allow_spinning: false } }\noutput: { path: o.csv }\n');
    assert.deepEqual((await loadJob(file, { env: {} })).model.threads, { intraOp: 2, interOp: undefined, allowSpinning: false });
    assert.deepEqual((await loadJob(file, { env: {}, overrides: ['model.threads.allow_spinning=true'] })).model.threads, { intraOp: 2, interOp: undefined, allowSpinning: true });
    await rejectsWith(loadJob(file, { env: {}, overrides: ['model.threads.allow_spinning=no'] }), 'JOB_INVALID',
      `Job file ${file}: --set model.threads.allow_spinning: expected true or false, got \`"no"\` (string)`);
    const plain = await writeJob(dir, 'input: { path: in.csv }\nmodel: { path: m, threads: { intra_op: 2 } }\noutput: { path: o.csv }\n');
    assert.equal('allowSpinning' in (await loadJob(plain, { env: {} })).model.threads, false);
  }));

  test('several problems are reported at once, each with its dot-path', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, [
      'bach: { size: 2 }',
      'input: { path: in.csv, chunk_rows: 0 }',
      'model: m',
      'batch: { concurrency: "two" }',
      'output: { format: xlsx }',
    ].join('\n'));
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID', [
      `Job file ${file} has 5 problems:`,
      '  - input.chunk_rows: expected a positive integer, got `0` (number)',
      '  - batch.concurrency: expected a positive integer, got `"two"` (string)',
      '  - output.path: is required, expected an output file path',
      '  - output.format: expected one of [csv, jsonl, parquet], got `"xlsx"` (string)',
      '  - bach: unknown key (did you mean `batch`?); expected one of [name, input, model, batch, output, errors, checkpoint, limits]',
    ].join('\n'));
  }));

  test('a bad output format names the allowed ones', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\noutput: { path: out.xlsx, format: xlsx }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: output.format: expected one of [csv, jsonl, parquet], got \`"xlsx"\` (string)`);
  }));

  test('an output extension that cannot be inferred', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\noutput: { path: out/scores.txt }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: output.format: cannot be inferred from the extension ".txt"; expected one of [csv, jsonl, parquet] (set output.format, or name the file .csv, .jsonl or .parquet)`);
  }));

  test('a .gz output is gzipped CSV or JSON Lines; a gzipped Parquet path is refused, saying how Parquet compresses; an output path without extension', () => withTempDir(async (dir) => {
    for (const [path, format] of [['out/scores.csv.gz', 'csv'], ['out/scores.JSONL.GZ', 'jsonl'], ['out/scores.csv', 'csv']] as const) {
      const job = await loadJob(await writeJob(dir, `input: { path: in.csv }\nmodel: m\noutput: { path: ${path} }\n`), { env: {} });
      assert.deepEqual([job.output.format, job.output.gzip], [format, path.toLowerCase().endsWith('.gz')], path);
    }
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\noutput: { path: out/scores.parquet.gz }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: output.path: a Parquet file compresses its own pages and is not gzipped; remove the .gz extension and set output.parquet.compression (snappy, gzip, zstd or uncompressed)`);
    const bare = await writeJob(dir, 'input: { path: in.csv }\nmodel: m\noutput: { path: out/scores }\n', 'bare.yaml');
    await rejectsWith(loadJob(bare, { env: {} }), 'JOB_INVALID',
      `Job file ${bare}: output.format: cannot be inferred from the extension "(none)"; expected one of [csv, jsonl, parquet] (set output.format, or name the file .csv, .jsonl or .parquet)`);
  }));

  test('a model that is neither a string nor a mapping', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv }\nmodel: 3\noutput: { path: o.csv }\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file}: model: expected a bundle directory, or a mapping with \`path\`, got \`3\` (number)`);
  }));

  test('a missing job file is USAGE', () => withTempDir(async (dir) => {
    await rejectsWith(loadJob('nope.yaml', { cwd: dir, env: {} }), 'USAGE', `Job file ${join(dir, 'nope.yaml')} does not exist`);
  }));

  test('invalid YAML names line and column', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'input: { path: in.csv\nmodel: m\n');
    await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file} is not valid YAML at line 2, column 1: Flow map in block collection must be sufficiently indented and end with a }`);
  }));

  test('a job file in UTF-16 with a byte-order mark (PowerShell 5\'s `>`), CRLF line ends, reads as the same job', () => withTempDir(async (dir) => {
    const file = join(dir, 'job.yaml');
    await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(minimal.replaceAll('\n', '\r\n'), 'utf16le')]));
    const spec = await loadJob(file, { env: {} });
    assert.equal(spec.output.path, join(dir, 'out', 'scored.parquet'));
  }));

  test('a second YAML document is named as such, not with the parser library\'s advice', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, `${minimal}\n---\nname: other\n`);
    const error = await rejectsWith(loadJob(file, { env: {} }), 'JOB_INVALID',
      `Job file ${file} is not valid YAML at line 4, column 1: it holds more than one YAML document (a line \`---\` starts another); the file is one document`);
    assert.equal(error.hint, 'Fix the job file and run again.');
  }));

  test('invalid YAML is JOB_INVALID with the parser message', () => withTempDir(async (dir) => {
    const file = await writeJob(dir, 'a: 1\nb: "x\n');
    const error = await captured(loadJob(file, { env: {} }));
    assert.ok(error instanceof BentoError);
    assert.equal(error.code, 'JOB_INVALID');
    assert.match(error.message, /^Job file \S+job\.yaml is not valid YAML\b.*: Missing closing "quote$/);
  }));
});

async function captured(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
