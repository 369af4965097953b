/**
 * The CLI around a run: validate, inspect, env interpolation and --set, the summary, the
 * progress events, and stopping on SIGTERM.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { bin, duckdb, fixtures, penguinsCsv, readJson, readRows, root, runCli, runCliInShell, withTempDir } from '../helpers.js';
import { STALE_MS } from '../../src/checkpoint/lock.js';

const penguinsJob = join(root, 'jobs', 'penguins.yaml');

/** One event a line of a `--log-format json` run's stderr. */
interface LogEvent {
  readonly event: string;
  readonly level: string;
  readonly message: string;
  readonly code?: string;
  readonly summary?: { output: { rows: number }; model: { providers: string[]; placement?: string } };
  readonly [key: string]: unknown;
}
const logEvents = (stderr: string): LogEvent[] => stderr.trim().split('\n').map((l) => JSON.parse(l) as LogEvent);

test('validate checks job, model and first rows, and writes nothing', () => withTempDir(async (dir) => {
  const result = await runCli(['--log-format', 'text', 'validate', penguinsJob, '--set', `output.path=${join(dir, 'x.csv')}`]);
  assert.equal(result.code, 0, result.stderr);
  const text = result.stderr.replace(/\(.*?\)/g, '(…)');
  assert.match(text, /^job {6}penguins-species/m);
  assert.match(text, /^columns +species:string, island:string, bill_length_mm:float64, bill_depth_mm:float64, flipper_length_mm:float64, body_mass_g:float64$/m);
  assert.match(text, /^writes +species, island, species_pred, species_score, prob_Adelie, prob_Chinstrap, prob_Gentoo$/m);
  assert.match(text, /^check +model ran on the first 8 row/m);
  assert.equal(existsSync(join(dir, 'x.csv')), false);
}));

test('--log-format and --debug after the command, as most people type them; a usage error after it in the format asked for', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'job.yaml'), `input: { path: missing.csv }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv }\n`);
  const text = await runCli(['run', 'job.yaml', '--log-format', 'text', '--debug'], { cwd: dir });
  assert.equal(text.code, 3);
  assert.match(text.stderr, /^error: Input file .*missing\.csv does not exist\nhint: /);
  assert.match(text.stderr, /^BentoError: .*\n +at /m);
  const json = await runCli(['validate', 'job.yaml', '--log-format', 'json'], { cwd: dir });
  assert.equal(logEvents(json.stderr).at(-1)!.code, 'INPUT_NOT_FOUND');
  const usage = await runCli(['run', '--bogus', '--log-format=json'], { cwd: dir });
  assert.equal(usage.code, 2);
  assert.deepEqual(logEvents(usage.stderr).map((e) => [e.code, e.message]), [['USAGE', "unknown option '--bogus'"]]);
}));

test('run --dry-run reports a bad cell in the first rows without writing', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'in.jsonl'), '{"bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181, "body_mass_g": "heavy"}\n');
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.jsonl }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv }\n`);
  const result = await runCli(['--log-format', 'text', 'run', '--dry-run', 'job.yaml'], { cwd: dir });
  assert.equal(result.code, 3);
  assert.match(result.stderr, /error: Invalid value: column "body_mass_g" expects float32 \(tensor "features"\), got "heavy" at .*in\.jsonl row 1/);
  assert.deepEqual(await readdir(dir), ['in.jsonl', 'job.yaml']);
}));

test('run --dry-run --summary-json writes a summary of what a run would read and write, or of the failure', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(fixtures, 'data', 'penguins.csv')} }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv, keep: [species] }\n`);
  const ok = await runCli(['run', '--dry-run', 'job.yaml', '--summary-json', 'summary.json'], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(await readJson(join(dir, 'summary.json')), {
    job: 'job', status: 'dry-run', exit_code: 0,
    input: { files: [join(fixtures, 'data', 'penguins.csv')], format: 'csv', columns: ['species', 'bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'] },
    model: 'penguins-species:1.0.0', batch_size: 256,
    output: { path: join(dir, 'out.csv'), format: 'csv', columns: ['species', 'species_pred', 'species_score', 'prob_Adelie', 'prob_Chinstrap', 'prob_Gentoo'] },
    checked_rows: 8, bad_rows: 0,
  });
  const failed = await runCli(['run', '--dry-run', 'job.yaml', '--summary-json', 'summary.json', '--set', 'input.path=missing.csv'], { cwd: dir });
  assert.equal(failed.code, 3, failed.stderr);
  const summary = await readJson<{ status: string; exit_code: number; error: { code: string } }>(join(dir, 'summary.json'));
  assert.deepEqual([summary.status, summary.exit_code, summary.error.code], ['failed', 3, 'INPUT_NOT_FOUND']);
  assert.deepEqual((await readdir(dir)).sort(), ['job.yaml', 'summary.json']);
}));

test('run --dry-run fails where the run would refuse the checkpoint (exit 2), unless --restart; validate warns of it', () => withTempDir(async (dir) => {
  const { header, lines } = await penguinsCsv();
  await writeFile(join(dir, 'in.csv'), [header, ...Array.from({ length: 10 }, () => lines).flat()].join('\n'));
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.csv }\nmodel: ${join(fixtures, 'models', 'penguins')}\nbatch: { size: 16 }\noutput: { path: out.parquet }\n`);
  const killed = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir, env: { ...process.env, BENTO_BATCH_FAILPOINT: 'batch-written:20' } });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  await writeFile(join(dir, 'in.csv'), `${header}\n${lines[0]}\n`);
  const dry = await runCli(['--log-format', 'text', 'run', '--dry-run', 'job.yaml'], { cwd: dir });
  assert.equal(dry.code, 2, dry.stderr);
  assert.match(dry.stderr, /^error: Cannot resume job job: input .*in\.csv changed size .* since the checkpoint in .*out\.parquet\.bento-batch \(0 rows committed\)\nhint: Run with --restart/m);
  const validate = await runCli(['--log-format', 'text', 'validate', 'job.yaml'], { cwd: dir });
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stderr, /^warn: Cannot resume job job: input .*in\.csv changed size .*: a run now would stop there \(exit 2\)\. Run with --restart/m);
  const restart = await runCli(['run', '--dry-run', '--restart', 'job.yaml'], { cwd: dir });
  assert.equal(restart.code, 0, restart.stderr);
  // Nothing was touched: the checkpoint is still there for the real run to refuse or discard.
  assert.ok(existsSync(join(dir, 'out.parquet.bento-batch', 'state.json')));
}));

test('validate warns of a bad row in its sample, as a run lists it and goes on, and exits 0', () => withTempDir(async (dir) => {
  const lines = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).split('\n');
  lines[5] = lines[5]!.replace(/^(\w+,\w+,)[^,]+/, '$1abc');
  await writeFile(join(dir, 'in.csv'), lines.join('\n'));
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.csv }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv }\n`);
  for (const args of [['validate', 'job.yaml'], ['run', '--dry-run', 'job.yaml']]) {
    const result = await runCli(['--log-format', 'text', ...args], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^warn: Invalid value: column "bill_length_mm" expects float32 \(tensor "features"\), got "abc" at .*in\.csv row 5; a run lists the row in .*out\.csv\.errors\.jsonl and scores the others$/m);
    assert.match(result.stderr, /^check +model ran on the first 8 row\(s\): ok \(1 bad, see above\)$/m);
  }
  // Its first 20 rows bad, the sample reads on to rows that score (a run of this file exits 0), and names the first 8.
  const first20 = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).split('\n').map((l, i) => (i >= 1 && i <= 20 ? l.split(',').map((c, k) => (k === 2 ? 'abc' : c)).join(',') : l));
  await writeFile(join(dir, 'first20.csv'), first20.join('\n'));
  for (const args of [['validate', 'job.yaml'], ['run', '--dry-run', 'job.yaml']]) {
    const result = await runCli(['--log-format', 'text', ...args, '--set', `input.path=${join(dir, 'first20.csv')}`], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.match(/^warn: Invalid value: column "bill_length_mm"/gm)?.length, 8, result.stderr);
    assert.match(result.stderr, /^warn: … and 12 more bad rows of the first 24$/m);
    assert.match(result.stderr, /^check +model ran on the first 24 row\(s\): ok \(20 bad, see above\)$/m);
  }
  // A hint the rows share is said once: here, numbers with a decimal comma read with decimal ".".
  const { header, lines: rows } = await penguinsCsv();
  await writeFile(join(dir, 'comma.csv'), [header, ...rows.slice(0, 8)].map((l) => l.replace(/,/g, ';').replace(/(\d)\.(\d)/g, '$1,$2')).join('\n'));
  const comma = await runCli(['--log-format', 'text', 'validate', 'job.yaml', '--set', `input.path=${join(dir, 'comma.csv')}`, '--set', 'input.csv={delimiter: ";", decimal: "."}'], { cwd: dir });
  assert.equal(comma.code, 0, comma.stderr);
  assert.equal(comma.stderr.match(/^hint: The number has a decimal comma: set input\.csv\.decimal: ","/gm)?.length, 1, comma.stderr);
  assert.deepEqual((await readdir(dir)).sort(), ['comma.csv', 'first20.csv', 'in.csv', 'job.yaml']);
}));

// onnxruntime-node 1.30 uploads telemetry from Linux and macOS unless ORT_DISABLE_TELEMETRY is
// set, keeping a device id and an event cache under ~/.cache/Microsoft (model/telemetry.ts).
test('a run leaves onnxruntime\'s telemetry off: no device id or event cache in the home directory', () => withTempDir(async (dir) => {
  const home = join(dir, 'home');
  const result = await runCli(['run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'out.parquet')}`],
    { env: { HOME: home, XDG_CACHE_HOME: undefined, ORT_DISABLE_TELEMETRY: undefined } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(existsSync(join(dir, 'out.parquet')), true);
  assert.equal(existsSync(join(home, '.cache', 'Microsoft')), false, 'onnxruntime wrote its telemetry files');
}));

test('inspect prints the signature and the manifest mapping', async () => {
  const result = await runCli(['inspect', join(fixtures, 'models', 'penguins-mass')]);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  assert.equal(lines[0], `bundle   penguins-mass:1.0.0  (${join(fixtures, 'models', 'penguins-mass')})`);
  assert.ok(lines.includes('batch    dynamic; manifest max_size 4096'), result.stdout);
  assert.ok(lines.includes('  measurements: float32 [batch, 3]  ← columns [bill_length_mm, bill_depth_mm, flipper_length_mm], missing → [43.92,17.15,200.92]'), result.stdout);
  assert.ok(lines.includes('  island: int64 [batch]  ← columns [island] as categories [Biscoe, Dream, Torgersen], missing → error'), result.stdout);
  assert.ok(lines.includes('  body_mass: float32 [batch, 1]  → [body_mass_pred]'), result.stdout);
  const json = JSON.parse((await runCli(['inspect', '--json', join(fixtures, 'models', 'penguins', 'model.onnx')])).stdout) as { signature: { inputs: unknown[] } };
  assert.deepEqual(json.signature.inputs, [{ name: 'features', isTensor: true, type: 'float32', shape: ['batch', 4] }]);
  const notModel = await runCli(['--log-format', 'text', 'inspect', join(root, 'README.md')]);
  assert.equal(notModel.code, 4);
  assert.match(notModel.stderr, /^error: .*README\.md is not a model: inspect takes an \.onnx file, a bundle directory, a bundle archive \(\.tar\.gz\) or a store tag$/m);
});

test('${VAR} in the job file and --set on the command line', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'job.yaml'), [
    'input: { path: "${DATA_DIR}/penguins.${EXT:-csv}" }',
    `model: ${join(fixtures, 'models', 'penguins')}`,
    'output: { path: "out/${RUN_DATE}.csv", keep: [species] }',
  ].join('\n'));
  const result = await runCli(['run', 'job.yaml', '--progress', 'none', '--set', 'output.keep=[island]', '--set', 'batch.size=10', '--summary-json', 'summary.json'],
    { cwd: dir, env: { DATA_DIR: join(fixtures, 'data'), RUN_DATE: '2026-11-24' } });
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'out', '2026-11-24.csv'));
  assert.equal(rows.length, 344);
  assert.deepEqual(Object.keys(rows[0]!).slice(0, 2), ['island', 'species_pred']);
  const summary = await readJson<Record<string, unknown>>(join(dir, 'summary.json'));
  assert.deepEqual({ ...summary, seconds: 0, rows_per_second: 0 }, {
    job: 'job', status: 'completed', exit_code: 0, seconds: 0, rows_per_second: 0,
    input: { files: 1, format: 'csv', rows: 344 },
    output: { path: join(dir, 'out', '2026-11-24.csv'), format: 'csv', rows: 344, columns: ['island', 'species_pred', 'species_score', 'prob_Adelie', 'prob_Chinstrap', 'prob_Gentoo'] },
    // No row failed: no errors file was written, and none is named.
    rows_failed: 0, errors: null,
    // auto starts a small model file on the scoring thread; this one's batches are cheap, so it stays.
    model: { name: 'penguins-species', version: '1.0.0', providers: ['cpu'], placement: 'inline' },
    batch: { size: 10, concurrency: 2, count: 35 },
  });
  // Exit 2, every time: the scoring thread, started before the job file is read, must not be
  // stopped while it loads onnxruntime (that aborted the process, exit 134, in ~1 run of 10).
  let missing!: Awaited<ReturnType<typeof runCli>>;
  for (let i = 0; i < 17; i++) {
    missing = await runCli(['--log-format', 'text', 'run', 'job.yaml'], { cwd: dir, env: { DATA_DIR: '', RUN_DATE: '' } });
    assert.equal(missing.code, 2, missing.stderr);
  }
  assert.match(missing.stderr, /input\.path: environment variable DATA_DIR is not set \(used as \$\{DATA_DIR\}\); set it, or give a default with \$\{DATA_DIR:-value\}/);
  assert.match(missing.stderr, /output\.path: environment variable RUN_DATE is not set/);
}));

test('model.placement: inline scores on the scoring thread and writes the bytes the workers write', () => withTempDir(async (dir) => {
  const outputs: Record<string, string> = {};
  for (const placement of ['workers', 'inline']) {
    const output = join(dir, `${placement}.parquet`);
    const result = await runCli(['run', penguinsJob, '--progress', 'none', '--set', `output.path=${output}`, '--set', `model.placement=${placement}`, '--set', 'batch.size=16', '--summary-json', join(dir, `${placement}.json`)]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readJson<{ model: { placement: string } }>(join(dir, `${placement}.json`))).model.placement, placement);
    outputs[placement] = (await readFile(output)).toString('base64');
  }
  assert.equal(outputs.inline, outputs.workers);
}));

// A machine with onnxruntime's CUDA provider fetched (README, GPU) runs on it instead.
const cudaFetched = existsSync(join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));

test('model.providers [cuda, cpu] without the CUDA provider: one warning that says how to get it, JSON lines only, the CPU run\'s bytes', { skip: cudaFetched && 'the CUDA provider is installed here' }, () => withTempDir(async (dir) => {
  const outputs: Record<string, string> = {};
  for (const [name, providers] of [['cpu', '[cpu]'], ['cuda', '[cuda, cpu]']] as const) {
    for (const placement of ['auto', 'workers']) {
      const output = join(dir, `${name}-${placement}.parquet`);
      const result = await runCli(['--log-format', 'json', 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${output}`, '--set', `model.providers=${providers}`, '--set', `model.placement=${placement}`, '--summary-json', join(dir, `${name}.json`)]);
      assert.equal(result.code, 0, result.stderr);
      // onnxruntime's own logger would print a coloured line here when the provider fails to load.
      const events = logEvents(result.stderr);
      const warnings = events.filter((e) => e.level === 'warn');
      if (name === 'cpu') assert.deepEqual(warnings, []);
      else {
        assert.equal(warnings.length, 1, placement);
        assert.match(warnings[0]!.message, /^execution provider cuda could not start \(.+\); running on CPU\. For CUDA 12, fetch onnxruntime's CUDA provider where bento-batch is installed: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
      }
      assert.deepEqual((await readJson<{ model: { providers: string[] } }>(join(dir, `${name}.json`))).model.providers, ['cpu']);
      outputs[`${name}-${placement}`] = (await readFile(output)).toString('base64');
    }
  }
  assert.equal(outputs['cuda-auto'], outputs['cpu-auto']);
  assert.equal(outputs['cuda-workers'], outputs['cpu-workers']);
}));

test('model.placement: auto moves a costly model from the scoring thread to the workers, and says so', () => withTempDir(async (dir) => {
  const job = join(dir, 'wide.yaml');
  // wide-mlp: ~2.4 MFLOP a row, so a batch of 256 takes milliseconds, 10× over the threshold; 60
  // copies of the penguins make enough batches to go on after the workers have loaded. Gzipped,
  // the input gives no row count or estimate, so the move does not hang on this machine's speed.
  const { header, lines } = await penguinsCsv();
  await writeFile(join(dir, 'penguins60.csv.gz'), gzipSync([header, ...Array.from({ length: 60 }, () => lines).flat()].join('\n')));
  await writeFile(job, [`input: { path: ${join(dir, 'penguins60.csv.gz')} }`, `model: ${join(fixtures, 'models', 'wide-mlp')}`, 'batch: { size: 256 }', `output: { path: ${join(dir, 'wide.csv')} }`].join('\n'));
  const auto = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none', '--summary-json', join(dir, 'auto.json')]);
  assert.equal(auto.code, 0, auto.stderr);
  const placement = logEvents(auto.stderr).find((e) => e.event === 'placement');
  assert.match(placement?.message ?? '', /^model wide-mlp runs on 2 worker threads: a batch took \d+ µs on the scoring thread, more than handing it to a worker costs/);
  assert.equal((await readJson<{ model: { placement: string } }>(join(dir, 'auto.json'))).model.placement, 'workers');
  const rows = await readRows(join(dir, 'wide.csv'));
  assert.equal(rows.length, 60 * 344);
}));

test('model.placement: auto keeps a costly model on the scoring thread when the input is too short for workers to pay', () => withTempDir(async (dir) => {
  // 10 copies: 14 batches of ~3.5 ms here, ~35 ms left after the first four, far under the 0.5 s
  // two workers take to load (on a machine 10× slower too). Parquet says its row count at open;
  // a CSV file's is estimated from its first rows.
  for (const format of ['parquet', 'csv']) {
    const input = join(dir, `penguins10.${format}`);
    await duckdb(`COPY (SELECT p.* FROM range(10) t(i) CROSS JOIN read_csv('${join(fixtures, 'data', 'penguins.csv')}') p) TO '${input}' (FORMAT ${format})`);
    const job = join(dir, `wide-${format}.yaml`);
    await writeFile(job, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'wide-mlp')}`, 'batch: { size: 256 }', `output: { path: ${join(dir, 'wide.csv')} }`].join('\n'));
    const auto = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none', '--summary-json', join(dir, 'auto.json')]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.deepEqual(logEvents(auto.stderr).map((e) => e.event), ['start', 'summary'], format);
    assert.equal((await readJson<{ model: { placement: string } }>(join(dir, 'auto.json'))).model.placement, 'inline', format);
    assert.equal((await readRows(join(dir, 'wide.csv'))).length, 10 * 344, format);
  }
}));

test('machine-readable log: start, progress and summary events as JSON lines, each naming its job', { timeout: 60_000 }, () => withTempDir(async (dir) => {
  const result = await runCli(['--log-format', 'json', 'run', join(root, 'jobs', 'flights.yaml'), '--progress', 'log', '--set', `output.path=${join(dir, 'f.csv')}`, '--set', 'output.keep=[]']);
  assert.equal(result.code, 0, result.stderr);
  const events = logEvents(result.stderr);
  assert.equal(events[0]!.event, 'start');
  assert.equal(events.at(-1)!.event, 'summary');
  // Every line names its job: a log stream shared by many jobs is filtered by it.
  assert.deepEqual([...new Set(events.map((e) => e.job))], ['flights-delay']);
  assert.equal(events.at(-1)!.summary!.output.rows, 3_000_000);
  for (const e of events.filter((x) => x.event === 'progress')) {
    assert.equal(typeof e.rows_written, 'number');
    assert.ok((e.percent as number) > 0 && (e.percent as number) <= 100);
  }
}));

test('SIGTERM commits and exits 143 with no output at output.path; the rerun resumes; a second signal stops at once', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const output = join(dir, 'f.parquet');
  // The flights file four times (12M rows), so the signal 2.5 s in lands mid-run on a fast machine
  // too: 6M rows ended in ~2.2 s here once 64-bit columns were written as words.
  const inputs = join(dir, 'flights');
  await mkdir(inputs);
  for (const name of ['a.parquet', 'b.parquet', 'c.parquet', 'd.parquet']) await symlink(join(root, 'node_modules', 'vega-datasets', 'data', 'flights-3m.parquet'), join(inputs, name));
  const sets = ['--set', `input.path=${inputs}`, '--set', `output.path=${output}`];
  const start = () => {
    const child = spawn(process.execPath, [bin, '--log-format', 'json', 'run', join(root, 'jobs', 'flights.yaml'), '--progress', 'none', ...sets, '--set', 'output.parquet.row_group_rows=100000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const started = new Promise<void>((resolve) => child.stderr.on('data', () => stderr.includes('"event":"start"') && resolve()));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    return { child, started, done, stderr: () => stderr };
  };
  const run = start();
  await run.started;
  await new Promise((r) => setTimeout(r, 2000));
  const during = await runCli(['status', join(root, 'jobs', 'flights.yaml'), ...sets, '--set', 'output.parquet.row_group_rows=100000', '--json']);
  const now = JSON.parse(during.stdout) as { state: string; running?: { pid: number; host: string } };
  assert.deepEqual([now.state, now.running?.pid, now.running?.host], ['in-progress', run.child.pid, hostname()], during.stdout);
  const sent = performance.now();
  run.child.kill('SIGTERM');
  const { code } = await run.done;
  assert.ok(performance.now() - sent < 5000, 'stops within a few seconds');
  assert.equal(code, 143, run.stderr());
  assert.match(run.stderr(), /"event":"stopping".*"signal":"SIGTERM"/);
  const error = JSON.parse(run.stderr().trim().split('\n').at(-1)!) as { code: string; message: string; hint: string };
  assert.equal(error.code, 'INTERRUPTED');
  assert.match(error.message, /^Interrupted by SIGTERM: [\d,]+ rows are committed in /);
  assert.equal(error.hint, 'Run the same command again to resume where it stopped.');
  assert.equal(existsSync(output), false);
  const state = await readJson<{ status: string; committed: { rows: number } }>(join(`${output}.bento-batch`, 'state.json'));
  assert.equal(state.status, 'running');
  assert.ok(state.committed.rows > 0 && state.committed.rows % 102_400 === 0, `commits at row-group boundaries (the first batch boundary past 100,000 rows): ${state.committed.rows}`);

  const status = await runCli(['status', join(root, 'jobs', 'flights.yaml'), ...sets, '--set', 'output.parquet.row_group_rows=100000', '--json']);
  const progress = JSON.parse(status.stdout) as { state: string; rows_committed: number; total_rows: number };
  assert.deepEqual([progress.state, progress.rows_committed, progress.total_rows], ['in-progress', state.committed.rows, 12_000_000]);
  // Another job setting than the checkpoint's: reported stale, and a run refuses to resume.
  const stale = await runCli(['status', join(root, 'jobs', 'flights.yaml'), ...sets]);
  assert.match(stale.stdout, /^flights-delay: stale, the checkpoint \([\d,]+ rows\) no longer matches: the job file changed/);

  const twice = start();
  await twice.started;
  await new Promise((r) => setTimeout(r, 300));
  twice.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 400));
  twice.child.kill('SIGINT');
  const second = await twice.done;
  assert.ok(second.code === 130 || second.signal === 'SIGINT', `exit ${second.code} / ${second.signal}`);

  const resumed = await runCli(['--log-format', 'json', 'run', join(root, 'jobs', 'flights.yaml'), '--progress', 'none', ...sets, '--set', 'output.parquet.row_group_rows=100000']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /"event":"resume".*resuming flights-delay at row [\d,]+/);
  const { duckdb } = await import('../helpers.js');
  assert.deepEqual(await duckdb(`SELECT count(*)::INT AS n FROM '${output}'`), [{ n: 12_000_000 }]);
}));

test('an input folder glob that holds the output: a rerun reads the input, not the last output', () => withTempDir(async (dir) => {
  // The nightly layout: data/*.csv scored to data/scored.csv. Before, the second run scored the
  // first run's output as a third input file (1,376 rows, and a stale checkpoint).
  await mkdir(join(dir, 'data'));
  for (const name of ['a.csv', 'b.csv']) await writeFile(join(dir, 'data', name), await readFile(join(fixtures, 'data', 'penguins.csv')));
  const job = join(dir, 'job.yaml');
  await writeFile(job, ['input: { path: data/*.csv }', `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: data/scored.csv }'].join('\n'));
  const first = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(logEvents(first.stderr).at(-1)!.summary!.output.rows, 688);
  const again = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(logEvents(again.stderr).at(-1)!.event, 'already-finished');
  // Its summary says where the finished run ran the model, as that run's did.
  assert.deepEqual(logEvents(again.stderr).at(-1)!.summary!.model, logEvents(first.stderr).at(-1)!.summary!.model);
  assert.deepEqual(logEvents(first.stderr).at(-1)!.summary!.model.providers, ['cpu']);
  assert.match((await runCli(['status', job])).stdout, /^job: finished at /);
  // Tomorrow's file: the finished job runs again on its own, and status says so (not --restart).
  await writeFile(join(dir, 'data', 'c.csv'), await readFile(join(fixtures, 'data', 'penguins.csv')));
  assert.match((await runCli(['status', job])).stdout, /^job: stale, finished \(688 rows\) but changed since: .*\. Run the job to score it again\.$/m);
  await rm(join(dir, 'data', 'c.csv'));
  const restarted = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none', '--restart']);
  assert.equal(restarted.code, 0, restarted.stderr);
  const log = logEvents(restarted.stderr);
  assert.equal(log.at(-1)!.summary!.output.rows, 688);
  assert.ok(log.some((e) => e.event === 'warning' && e.message === `input.path ${join(dir, 'data', '*.csv')} also matches ${join(dir, 'data', 'scored.csv')}, which a run writes (this job's files, or another run's finished output): it is not read`), restarted.stderr);
  assert.equal((await readRows(join(dir, 'data', 'scored.csv'))).length, 688);
}));

/** A penguins job writing out/scored.csv, and its lock as another run left it, naming `holder`. */
async function lockedJob(dir: string, holder: { pid?: number; host: string; started: string }): Promise<{ job: string; lock: string }> {
  const job = join(dir, 'job.yaml');
  await writeFile(job, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out/scored.csv }'].join('\n'));
  const lock = join(dir, 'out', 'scored.csv.bento-batch.lock');
  await mkdir(join(dir, 'out'));
  await writeFile(lock, JSON.stringify(holder));
  return { job, lock };
}

test('a second run of a job while the first is alive stops at once (exit 7, no start event); once it is gone the job runs', () => withTempDir(async (dir) => {
  // The first run, as its lock says: a live process on this host (cron started the next run early).
  const first = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await new Promise((resolve) => first.once('spawn', resolve));
  const { job, lock } = await lockedJob(dir, { pid: first.pid, host: hostname(), started: '2026-12-06T02:00:00.000Z' });
  const second = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none']);
  assert.equal(second.code, 7, second.stderr);
  const events = logEvents(second.stderr);
  assert.deepEqual(events.map((e) => [e.event, e.code]), [['error', 'JOB_RUNNING']]);
  assert.equal(events[0]!.message, `Job job is already running: process ${first.pid} on ${hostname()} holds ${lock} since 2026-12-06T02:00:00.000Z`);
  assert.equal(existsSync(join(dir, 'out', 'scored.csv')), false);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const third = await runCli(['run', job, '--progress', 'none']);
  assert.equal(third.code, 0, third.stderr);
  assert.equal((await readRows(join(dir, 'out', 'scored.csv'))).length, 344);
  assert.equal(existsSync(lock), false, 'released');
}));

test('a lock from another host that is not renewed (the pod before a rescheduled one) is waited for and taken over once stale', () => withTempDir(async (dir) => {
  const { job, lock } = await lockedJob(dir, { pid: 1, host: 'nightly-job-x7k2p', started: '2026-12-06T02:00:00.000Z' });
  const last = new Date(Date.now() - STALE_MS + 2000);
  await utimes(lock, last, last);
  const run = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const events = logEvents(run.stderr);
  assert.deepEqual(events.map((e) => e.event).slice(0, 2), ['lock-wait', 'start']);
  assert.match(events[0]!.message, new RegExp(`^job: .* is held by process 1 on nightly-job-x7k2p, renewed 2\\d s ago; waiting up to [12] s`));
  assert.ok(Date.parse(events[1]!.time as string) >= last.getTime() + STALE_MS, 'started once the lock was stale');
  assert.equal((await readRows(join(dir, 'out', 'scored.csv'))).length, 344);
  assert.equal(existsSync(lock), false, 'released');
}));

test('status of a job with checkpoint: false says only whether its output is there, and that a run scores the input again', () => withTempDir(async (dir) => {
  const sets = ['--set', `output.path=${join(dir, 'out.csv')}`, '--set', 'checkpoint=false'];
  assert.equal((await runCli(['status', penguinsJob, ...sets])).stdout, `penguins-species: not started (output ${join(dir, 'out.csv')})\n`);
  assert.equal((await runCli(['run', penguinsJob, '--progress', 'none', ...sets])).code, 0);
  const after = await runCli(['status', penguinsJob, ...sets]);
  assert.equal(after.stdout, `penguins-species: ${join(dir, 'out.csv')} is there (checkpoint: false keeps no record of the run that wrote it; running the job again scores the input again)\n`);
  assert.equal((JSON.parse((await runCli(['status', penguinsJob, ...sets, '--json'])).stdout) as { no_checkpoint?: boolean }).no_checkpoint, true);
}));

test('--help lists the commands; an unknown command is a usage error', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['run', 'validate', 'inspect']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
  const bad = await runCli(['--log-format', 'text', 'runn', 'job.yaml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command 'runn'.*\n.*Did you mean run\?\)\nhint: See bento-batch --help, or bento-batch COMMAND --help\.\n$/);
  // Off a terminal (JSON logs) a usage error is one JSON line too.
  for (const args of [['runn', 'job.yaml'], ['run'], ['run', 'job.yaml', '--progress', 'fancy']]) {
    const json = await runCli(args);
    assert.equal(json.code, 2, json.stderr);
    const events = logEvents(json.stderr);
    assert.equal(events.length, 1, json.stderr);
    assert.deepEqual([events[0]!.level, events[0]!.code, events[0]!.exit_code], ['error', 'USAGE', 2]);
  }
  assert.match(logEvents((await runCli(['run'])).stderr)[0]!.message, /^missing required argument 'job'$/);
});

test('the bundled example job writes its Parquet output', () => withTempDir(async (dir) => {
  const result = await runCli(['run', penguinsJob, '--set', `output.path=${join(dir, 'p.parquet')}`]);
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'p.parquet'));
  assert.equal(rows.length, 344);
  assert.equal((await readFile(join(dir, 'p.parquet'))).subarray(0, 4).toString(), 'PAR1');
}));

test('--summary-json: a new folder is made for it; a folder as the file stops before the run with exit 5, nothing written', () => withTempDir(async (dir) => {
  const made = await runCli(['--log-format', 'text', 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'a.csv')}`, '--summary-json', join(dir, 'new', 'summary.json')]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal((JSON.parse(await readFile(join(dir, 'new', 'summary.json'), 'utf8')) as { output: { rows: number } }).output.rows, 344);
  await mkdir(join(dir, 'folder'));
  const refused = await runCli(['--log-format', 'text', 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'b.csv')}`, '--summary-json', join(dir, 'folder')]);
  assert.equal(refused.code, 5, refused.stderr);
  assert.equal(refused.stderr, `error: Cannot write the summary ${join(dir, 'folder')} (--summary-json): it is a directory\nhint: Give --summary-json a file in a writable folder.\n`);
  assert.equal(existsSync(join(dir, 'b.csv')), false);
}));

test('a log pipe closed mid-run (a log shipper gone) loses lines, not the run: exit 0 and the output in place', () => withTempDir(async (dir) => {
  const child = spawn(process.execPath, [bin, 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'out.csv')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  // The reader goes away after the first line; the run's later lines meet a closed pipe.
  child.stderr.once('data', () => child.stderr.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.equal((await readFile(join(dir, 'out.csv'), 'utf8')).trim().split('\n').length, 345);
}));

// As a container's entrypoint the run is PID 1, whose signals with a default action the kernel ignores.
const pidNamespace = (() => {
  try {
    return execFileSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }) !== undefined;
  } catch {
    return false;
  }
})();

test('as PID 1 (a container\'s entrypoint), a second SIGTERM still stops at once with exit 143', { skip: !pidNamespace && 'needs unshare --pid (root)', timeout: 60_000 }, () => withTempDir(async (dir) => {
  const lines = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trim().split('\n');
  await writeFile(join(dir, 'in.csv'), `${[lines[0], ...Array.from({ length: 4000 }, () => lines.slice(1)).flat()].join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.csv }\nmodel: ${join(fixtures, 'models', 'penguins')}\nbatch: { size: 8 }\noutput: { path: out.parquet, parquet: { row_group_rows: 1000000 } }\n`);
  // unshare forks the run as PID 1 of a new namespace; signals go to it by its outer pid.
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, bin, '--log-format', 'json', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  await new Promise<void>((resolve) => child.stderr.on('data', () => (/"event":"start"/.test(stderr) ? resolve() : undefined)));
  const inner = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]!;
  // Once rows are in the row group, the first signal reads on to its end (past the input's).
  await new Promise((resolve) => setTimeout(resolve, 500));
  process.kill(Number(inner), 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 400));
  const second = performance.now();
  process.kill(Number(inner), 'SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 143, stderr);
  assert.ok(performance.now() - second < 5000, 'stopped at once, not at the end of the input');
}));

test('a SIGTERM in the first moments (the code, threads, job and model still loading) stops the run with exit 143, as PID 1 too, where a signal finding no handler is dropped', { timeout: 60_000 }, () => withTempDir(async (dir) => {
  const summary = join(dir, 'summary.json');
  // Told where it stands by a failpoint (the run command's first line, or bin/bento-batch.js before it loads the code), and signalled there.
  for (const [pid1, point] of [[false, 'run-started'], [false, 'bin-started'], ...(pidNamespace ? [[true, 'run-started'] as const] : [])] as const) {
    const args = [bin, '--log-format', 'json', 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', summary];
    const env = { ...process.env, BENTO_BATCH_FAILPOINT: `${point}:1:wait` };
    const child = pid1 ? spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const reached = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => (stderr += d).includes(`failpoint ${point}`) && resolve()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await reached;
    const target = pid1 ? Number(execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]) : child.pid!;
    process.kill(target, 'SIGTERM');
    assert.equal(await closed, 143, stderr);
    assert.match(stderr, /"event":"stopping".*"signal":"SIGTERM"/);
    assert.match(stderr, /"code":"INTERRUPTED".*"message":"Interrupted by SIGTERM/);
    assert.doesNotMatch(stderr, /"event":"summary"/);
    assert.equal(existsSync(join(dir, 'out.csv')), false);
    assert.equal((JSON.parse(await readFile(summary, 'utf8')) as { status: string }).status, 'interrupted');
  }
}));

test('--summary-json /dev/stdout into a redirected file writes this process\'s stdout (appending to a >> log), and a link to a file is replaced at its target, the link kept', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'log.txt'), 'earlier\n');
  // /dev/stdout is a link to /proc/self/fd/1, which names the file the shell redirected to: removing
  // or renaming over it would replace the machine's /dev/stdout. Reached here through a link of the
  // test's own, so that a build that did so would replace that link, not the machine's.
  await symlink('/dev/stdout', join(dir, 'stdout'));
  const shell = (redirect: string) => execFileSync('sh', ['-c', `"$0" "$@" ${redirect}`, process.execPath, bin, 'run', penguinsJob, '--progress', 'none', '--restart', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', join(dir, 'stdout')], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
  shell('>> log.txt');
  const log = await readFile(join(dir, 'log.txt'), 'utf8');
  assert.ok(log.startsWith('earlier\n{\n  "job": "penguins-species"'), log);
  assert.ok(lstatSync(join(dir, 'stdout')).isSymbolicLink(), 'the link to /dev/stdout is still a link');
  shell('> fresh.json');
  assert.equal((JSON.parse(await readFile(join(dir, 'fresh.json'), 'utf8')) as { status: string }).status, 'completed');
  await writeFile(join(dir, 'target.json'), '');
  await symlink('target.json', join(dir, 'link.json'));
  const run = await runCli(['run', penguinsJob, '--progress', 'none', '--restart', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', join(dir, 'link.json')]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(lstatSync(join(dir, 'link.json')).isSymbolicLink(), 'the link is kept');
  assert.equal((JSON.parse(await readFile(join(dir, 'target.json'), 'utf8')) as { status: string }).status, 'completed');
}));

test('--summary-json in /dev/shm is a file like any other: a file there that is no summary is not replaced', { skip: !existsSync('/dev/shm') }, () => withTempDir(async (dir) => {
  const notes = `/dev/shm/bento-batch-test-${process.pid}.txt`;
  await writeFile(notes, 'precious\n');
  try {
    const run = await runCli(['--log-format', 'text', 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', notes]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /exists and is not a summary: the summary would replace it/);
    assert.equal(await readFile(notes, 'utf8'), 'precious\n');
  } finally {
    await rm(notes, { force: true });
  }
}));

test('a job file holding a control character (a Hive ^A delimiter pasted raw) is read as YAML, not taken for a binary file', () => withTempDir(async (dir) => {
  const { header, lines } = await penguinsCsv();
  await writeFile(join(dir, 'in.txt'), [header, ...lines].map((l) => l.replaceAll(',', '\x01')).join('\n'));
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.txt, format: csv, csv: { delimiter: "\x01" } }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv }\n`);
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
}));

test('--summary-json /dev/fd/N writes a descriptor the shell opened (9>file), and refuses one of node\'s own or one not open, before the run', { skip: !existsSync('/proc/self/fd') }, () => withTempDir(async (dir) => {
  const shell = (fd: number) => runCliInShell('exec "$0" "$@" 9>summary.json', ['--log-format', 'text', 'run', penguinsJob, '--progress', 'none', '--restart', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', `/dev/fd/${fd}`], { cwd: dir });
  const nine = await shell(9);
  assert.equal(nine.code, 0, nine.stderr);
  assert.equal((JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as { status: string }).status, 'completed');
  await rm(join(dir, 'out.csv'));
  // libuv's own pipes and event descriptors sit at the low numbers: writing a summary into one crashed the process.
  for (const fd of [0, 4, 5, 7, 8, 40]) {
    const refused = await shell(fd);
    assert.equal(refused.code, 2, `${fd}: ${refused.stderr}`);
    assert.match(refused.stderr, new RegExp(`^error: --summary-json /dev/fd/${fd}: descriptor ${fd} is (not open|open for reading only|one of bento-batch's own)`, 'm'));
  }
  assert.equal(existsSync(join(dir, 'out.csv')), false, 'refused before the run');
}));

test('--summary-json into a pipe (a FIFO, as >(jq …) gives one) is written through, not replaced by a file', () => withTempDir(async (dir) => {
  const fifo = join(dir, 'summary.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  let read = '';
  reader.stdout.on('data', (d: Buffer) => (read += d));
  const closed = new Promise((resolve) => reader.on('close', resolve));
  const run = await runCli(['run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', fifo]);
  assert.equal(run.code, 0, run.stderr);
  await closed;
  assert.equal((JSON.parse(read) as { status: string }).status, 'completed');
  assert.ok(statSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  // A run whose job file cannot be read says so through the pipe too.
  const again = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  let failed = '';
  again.stdout.on('data', (d: Buffer) => (failed += d));
  const done = new Promise((resolve) => again.on('close', resolve));
  assert.equal((await runCli(['run', join(dir, 'missing.yaml'), '--summary-json', fifo])).code, 2);
  await done;
  assert.deepEqual([(JSON.parse(failed) as { status: string; job: unknown }).status, (JSON.parse(failed) as { job: unknown }).job], ['failed', null]);
}));

test('--summary-json names how this run ended, also when the job file cannot be read: an earlier run\'s summary is never left to stand for it', () => withTempDir(async (dir) => {
  const summary = join(dir, 'summary.json');
  const ok = await runCli(['run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'out.csv')}`, '--summary-json', summary]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(await readFile(summary, 'utf8')) as { status: string }).status, 'completed');
  await writeFile(join(dir, 'bad.yaml'), 'input: [unclosed\n');
  const bad = await runCli(['run', join(dir, 'bad.yaml'), '--progress', 'none', '--summary-json', summary]);
  assert.equal(bad.code, 2, bad.stderr);
  const failed = JSON.parse(await readFile(summary, 'utf8')) as Record<string, unknown>;
  assert.deepEqual([failed.job, failed.job_file, failed.status, failed.exit_code, (failed.error as { code: string }).code], [null, join(dir, 'bad.yaml'), 'failed', 2, 'JOB_INVALID']);
}));

test('a shell standing in a deleted folder gets a usage error saying so, not a crash', () => withTempDir(async (dir) => {
  const gone = join(dir, 'gone');
  await mkdir(gone);
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('sh', ['-c', `cd "${gone}" && rmdir "${gone}" && exec "${process.execPath}" "${bin}" --log-format text run job.yaml`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stderr, 'error: The current directory no longer exists (it was deleted or moved after the shell entered it)\nhint: cd to an existing directory and run the command again.\n');
}));


test('temporaries of killed runs are removed by the next: a lock\'s (hidden, and as earlier versions named it beside the output) and a summary\'s; the start line and validate\'s name at most 100 input files and count them', () => withTempDir(async (dir) => {
  // A process id that is no process: one that ran and ended.
  const dead = spawn(process.execPath, ['-e', '0']);
  const pid = dead.pid!;
  await new Promise((resolve) => dead.on('close', resolve));
  const parts = join(dir, 'parts');
  await mkdir(parts);
  const rows = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trim().split('\n');
  for (let i = 0; i < 101; i++) await writeFile(join(parts, `part-${String(i).padStart(3, '0')}.csv`), `${rows[0]}\n${rows[1 + (i % (rows.length - 1))]}\n`);
  await writeFile(join(dir, 'job.yaml'), `input: { path: parts }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv, keep: [species] }\n`);
  const left = [`.out.csv.bento-batch.lock.${pid}-1.bento-batch.tmp`, `out.csv.bento-batch.lock-${pid}-1.bento-batch.tmp`, `.out.csv.bento-batch.takeover.lock.${pid}-2.bento-batch.tmp`, `.summary.json.${pid}.bento-batch.tmp`];
  for (const name of left) await writeFile(join(dir, name), '{}');
  // A summary's temporary goes once a minute old (a run on another host may be writing its own).
  const old = new Date(Date.now() - 120_000);
  await utimes(join(dir, left[3]!), old, old);
  const result = await runCli(['--log-format', 'json', 'run', 'job.yaml', '--progress', 'none', '--summary-json', 'summary.json'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
  const start = logEvents(result.stderr).find((e) => e.event === 'start')!;
  assert.equal((start.input as string[]).length, 100);
  assert.equal(start.input_files, 101);
  assert.equal(((await readJson(join(dir, 'summary.json'))) as { input: { files: number } }).input.files, 101);
  // validate's line names as many, with the count.
  const validated = await runCli(['--log-format', 'json', 'validate', 'job.yaml'], { cwd: dir });
  assert.equal(validated.code, 0, validated.stderr);
  const valid = logEvents(validated.stderr).find((e) => e.event === 'valid')!;
  assert.equal((valid.files as string[]).length, 100);
  assert.equal(valid.input_files, 101);
}));

test('an input file named with brackets (data [2024].csv) is read as itself, not as a glob; with --log-format json --debug the stack is a field of the error line; validate\'s error line names the job', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'data [2024].csv'), await readFile(join(fixtures, 'data', 'penguins.csv')));
  await writeFile(join(dir, 'job.yaml'), `name: brackets\ninput: { path: "data [2024].csv" }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: out.csv, keep: [] }\n`);
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const failed = await runCli(['--log-format', 'json', '--debug', 'validate', 'job.yaml', '--set', 'input.path=missing.csv'], { cwd: dir });
  assert.equal(failed.code, 3, failed.stderr);
  const lines = failed.stderr.trim().split('\n').map((l) => JSON.parse(l) as LogEvent);
  const error = lines.find((e) => e.event === 'error')!;
  assert.equal(error.job, 'brackets');
  assert.match(String(error.stack), /^BentoError: Input file/);
}));

test('output.path an existing directory without an extension is said as that, with the file to name, not as a format that cannot be inferred', () => withTempDir(async (dir) => {
  await mkdir(join(dir, 'adir'));
  const result = await runCli(['--log-format', 'text', 'run', penguinsJob, '--progress', 'none', '--set', `output.path=${join(dir, 'adir')}`]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, new RegExp(`output\\.path: ${join(dir, 'adir')} is an existing directory; output\\.path names the file to write, e\\.g\\. ${join(dir, 'adir', 'scored.csv')}`));
}));
