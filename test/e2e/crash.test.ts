/**
 * Exactly-once output after a hard kill at any instant: the real CLI is killed with SIGKILL at
 * seeded random moments (and at chosen points inside a commit), resumed until it finishes, and
 * its output compared byte for byte with an uninterrupted run's (gzipped outputs too). Every input/output format
 * pair, gzip input and a multi-file glob.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bin, duckdb, fixtures, runCli, runCliInShell, withTempDir } from '../helpers.js';

const seed = Number(process.env.BENTO_TEST_SEED ?? 20261124);
/** mulberry32: a tiny seeded PRNG so a failing trial can be replayed with BENTO_TEST_SEED. */
function random(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Output formats by extension: gzipped CSV and JSON Lines too, whose bytes must match as well. */
type Output = 'csv' | 'jsonl' | 'parquet' | 'csv.gz' | 'jsonl.gz';

let dir = '';
const copies = 150; // 150 × 344 = 51,600 rows
const inputs: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bento-batch-crash-'));
  const src = join(fixtures, 'data', 'penguins.csv');
  const rows = `SELECT * EXCLUDE (i, rn) FROM range(${copies}) t(i) CROSS JOIN (SELECT *, row_number() OVER () AS rn FROM read_csv('${src}')) ORDER BY i, rn`;
  await duckdb(`COPY (${rows}) TO '${join(dir, 'in.csv')}' (HEADER)`);
  await duckdb(`COPY (${rows}) TO '${join(dir, 'in.csv.gz')}' (HEADER, COMPRESSION gzip)`);
  await duckdb(`COPY (${rows}) TO '${join(dir, 'in.jsonl')}' (FORMAT json)`);
  await duckdb(`COPY (${rows}) TO '${join(dir, 'in.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)`);
  for (const part of [0, 1, 2]) {
    const slice = `SELECT * EXCLUDE (i, rn) FROM range(${part * 50}, ${(part + 1) * 50}) t(i) CROSS JOIN (SELECT *, row_number() OVER () AS rn FROM read_csv('${src}')) ORDER BY i, rn`;
    await duckdb(`COPY (${slice}) TO '${join(dir, `part-${part}.csv`)}' (HEADER)`);
  }
  // As Excel's "Unicode Text" saves it: UTF-16 little-endian with a byte-order mark, tabs, CRLF.
  const csv = (await readFile(join(dir, 'in.csv'), 'utf8')).trimEnd().split('\n');
  await writeFile(join(dir, 'in-utf16.csv'), Buffer.from(`\uFEFF${csv.map((l) => l.replaceAll(',', '\t')).join('\r\n')}\r\n`, 'utf16le'));
  // Every 997th line broken (bad JSON or a value that does not fit): the errors file must list each exactly once.
  const lines = (await readFile(join(dir, 'in.jsonl'), 'utf8')).split('\n');
  for (let i = 5; i < lines.length - 1; i += 997) lines[i] = i % 2 ? lines[i]!.slice(0, -3) : lines[i]!.replace(/"bill_length_mm":[^,]+/, '"bill_length_mm":"n/a?"');
  await writeFile(join(dir, 'bad.jsonl'), lines.join('\n'));
  Object.assign(inputs, { bad: join(dir, 'bad.jsonl'), csv: join(dir, 'in.csv'), gz: join(dir, 'in.csv.gz'), jsonl: join(dir, 'in.jsonl'), parquet: join(dir, 'in.parquet'), glob: join(dir, 'part-*.csv'), utf16: join(dir, 'in-utf16.csv'), 'csv-all': join(dir, 'in.csv'), 'glob-all': join(dir, 'part-*.csv'), 'jsonl-all': join(dir, 'in.jsonl'), 'bad-all': join(dir, 'bad.jsonl') });
});
after(() => rm(dir, { recursive: true, force: true }));

async function job(name: string, input: string, output: string, checkpoint: boolean): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, [
    `name: ${name}`,
    `input: { path: "${input}", chunk_rows: 1000 }`,
    `model: ${join(fixtures, 'models', 'penguins')}`,
    'batch: { size: 64, concurrency: 2 }',
    // "-all-" inputs keep every column: CSV records then go to a CSV output as the text read, JSON Lines lines to a JSON Lines output.
    // These inputs are small enough for output.writer: auto to write on the scoring thread; the
    // output's own threads are what large inputs use, so they are what most pairs crash, and
    // the Parquet input's pairs crash the scoring thread's writer.
    // The gzipped input's Parquet output is ZSTD, whose encoder threads load their compressor first.
    `output: { path: ${output}, ${name.includes('-all-') ? '' : 'keep: [species, island, sex, body_mass_g], '}parquet: { row_group_rows: 4096${input.endsWith('.gz') ? ', compression: zstd' : ''} }, writer: ${input.endsWith('.parquet') ? 'inline' : 'thread'} }`,
    checkpoint ? 'checkpoint: { every: 2000 }' : 'checkpoint: false',
  ].join('\n'));
  return file;
}

/** An uninterrupted run's output of `input` → `output`, made once. */
async function cleanRun(input: string, output: Output): Promise<Buffer> {
  const clean = join(dir, `clean-${input}-${output}.${output}`);
  const made = await readFile(clean).catch(() => undefined);
  if (made) return made;
  const ok = await runCli(['run', await job(`clean-${input}-${output}`, inputs[input]!, clean, false), '--progress', 'none']);
  assert.equal(ok.code, 0, ok.stderr);
  return readFile(clean);
}

/** The job run again from scratch without a checkpoint into clean.csv: `work/out.csv` must hold its bytes. */
async function assertCleanBytes(work: string, jobFile: string): Promise<void> {
  const clean = await runCli(['run', jobFile, '--progress', 'none', '--set', `output.path=${join(work, 'clean.csv')}`, '--set', 'checkpoint=false']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.ok((await readFile(join(work, 'out.csv'))).equals(await readFile(join(work, 'clean.csv'))));
}

/** `bento-batch run JOB` with a `name:n:wait` failpoint: resolves once the run is held there (it says so on stderr). */
async function runToFailpoint(jobFile: string, point: string, args: readonly string[] = []): Promise<{ child: ChildProcess; ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, '--log-format', 'text', 'run', jobFile, '--progress', 'none', ...args], { env: { ...process.env, BENTO_BATCH_FAILPOINT: point }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => (stderr += d).includes('failpoint ') && resolve()));
  return { child, ended, stderr: () => stderr };
}

/** Starts a run and kills it with SIGKILL after `ms` (if still running); resolves with how it ended. */
function runAndKill(jobFile: string, ms: number, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, '--log-format', 'json', 'run', jobFile, '--progress', 'none'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

const pairs: [string, Output][] = [];
for (const input of ['csv', 'jsonl', 'parquet']) for (const output of ['csv', 'jsonl', 'parquet'] as const) pairs.push([input, output]);
pairs.push(['gz', 'csv'], ['gz', 'parquet'], ['glob', 'jsonl'], ['glob', 'parquet'], ['bad', 'csv'], ['bad', 'parquet'], ['csv-all', 'csv'], ['glob-all', 'csv'], ['utf16', 'csv'], ['csv', 'csv.gz'], ['parquet', 'jsonl.gz'], ['jsonl-all', 'jsonl'], ['bad-all', 'jsonl.gz']);

describe(`SIGKILL at random moments, then resume (seed ${seed})`, { timeout: 600_000 }, () => {
  const rand = random(seed);
  for (const [input, output] of pairs) {
    test(`${input} → ${output}`, async () => {
      const clean = join(dir, `clean-${input}-${output}.${output}`);
      const started = performance.now();
      const ok = await runCli(['run', await job(`clean-${input}-${output}`, inputs[input]!, clean, false), '--progress', 'none']);
      assert.equal(ok.code, 0, ok.stderr);
      const duration = performance.now() - started;
      const expected = await readFile(clean);
      // The same rows in UTF-16 score to the same bytes as from UTF-8.
      if (input === 'utf16') assert.ok(expected.equals(await cleanRun('csv', 'csv')), 'UTF-16 input scores as its UTF-8 copy');

      const target = join(dir, `crash-${input}-${output}.${output}`);
      const file = await job(`crash-${input}-${output}`, inputs[input]!, target, true);
      const kills: number[] = [];
      // On a busy machine the clean run can take longer than the crash runs, so that every kill
      // lands after the end: then the job starts over, killed within its own last duration.
      let span = duration;
      for (let attempt = 0; attempt < 12; attempt++) {
        // Most kills land inside the run; the rest let it finish.
        const ms = attempt < 3 || kills.length === 0 ? Math.round((0.1 + 0.75 * rand()) * span) : 60_000;
        const begun = performance.now();
        const result = await runAndKill(file, ms);
        if (result.signal === 'SIGKILL') {
          kills.push(ms);
          continue;
        }
        assert.equal(result.code, 0, result.stderr);
        if (kills.length > 0) break;
        span = performance.now() - begun;
        await rm(target, { force: true });
        await rm(`${target}.bento-batch`, { recursive: true, force: true });
        await rm(`${target}.errors.jsonl`, { force: true });
      }
      assert.ok(kills.length > 0, 'at least one run was killed mid-way');
      assert.ok((await readFile(target)).equals(expected), `output after kills at ${kills.join(', ')} ms differs from the clean run`);
      if (input.startsWith('bad')) {
        const errors = await readFile(`${target}.errors.jsonl`, 'utf8');
        assert.equal(errors, await readFile(`${clean}.errors.jsonl`, 'utf8'), 'the errors file lists each bad row exactly once');
        assert.equal(errors.trim().split('\n').length, 52);
      }
      // A finished job's rerun does nothing and says so.
      const again = await runCli(['--log-format', 'json', 'run', file, '--progress', 'none']);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /"event":"already-finished"/);
    });
  }
});

describe('SIGKILL between chosen system calls of a commit, then resume', { timeout: 300_000 }, () => {
  const points = ['batch-written:7', 'sink-committed:1', 'sink-committed:3', 'state-written:2', 'state-renamed:2', 'output-sealed:1', 'finished-recorded:1'];
  for (const output of ['csv', 'parquet', 'csv.gz'] as const) {
    for (const point of points) {
      test(`${point}, csv → ${output}`, async () => {
        const expected = await cleanRun('csv', output);
        const target = join(dir, `fail-${point.replace(':', '-')}.${output}`);
        const file = await job(`fail-${point.replace(':', '-')}-${output}`, inputs.csv!, target, true);
        const died = await runAndKill(file, 60_000, { BENTO_BATCH_FAILPOINT: point });
        assert.equal(died.signal, 'SIGKILL', `the failpoint ${point} was reached`);
        const resumed = await runAndKill(file, 60_000);
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.ok((await readFile(target)).equals(expected), `output after a crash at ${point} differs from the clean run`);
        // The killed run's temporary files (state.json.<pid>-<n>.tmp at state-written) are gone from the finished checkpoint.
        assert.deepEqual((await readdir(`${target}.bento-batch`).catch(() => [] as string[])).filter((name) => name.endsWith('.tmp')), [], point);
      });
    }
  }
});

describe('a run paused past its lock\'s life (a frozen node), and the job taken over meanwhile', { timeout: 300_000 }, () => {
  /** Whether every thread of the process is stopped (/proc: state T): a stop reaches each thread in turn. */
  const stopped = async (pid: number) => {
    const { readdir } = await import('node:fs/promises');
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
    const states = await Promise.all(tasks.map(async (t) => (await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8').catch(() => '')).replace(/^.*\) /s, '')[0]));
    return states.length > 0 && states.every((s) => s === 'T');
  };
  for (const output of ['csv', 'parquet'] as const) {
    test(`csv → ${output}: the paused run, let go on, stops with exit 7 without writing; the taking-over run's output is the clean run's`, async () => {
      const expected = await cleanRun('csv', output);
      const target = join(dir, `paused.${output}`);
      const file = await job(`paused-${output}`, inputs.csv!, target, true);
      // Paused just after its third commit's fsync, before it records it in state.json.
      const paused = spawn(process.execPath, [bin, '--log-format', 'json', 'run', file, '--progress', 'none'], { env: { ...process.env, BENTO_BATCH_FAILPOINT: 'sink-committed:3:stop' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      paused.stderr.on('data', (d: Buffer) => (stderr += d));
      const ended = new Promise<number | null>((resolve) => paused.on('close', (code) => resolve(code)));
      try {
        for (const began = Date.now(); !(await stopped(paused.pid!)); await new Promise((r) => setTimeout(r, 50))) {
          assert.ok(Date.now() - began < 60_000 && paused.exitCode === null, `the run reached its third commit and paused: ${stderr}`);
        }
        // As a run on another host sees the paused one's lock once it is not renewed: taken over.
        const lock = `${target}.bento-batch.lock`;
        // A new file, as a takeover makes: the paused run may have the old one open, mid-read.
        await writeFile(`${lock}.new`, JSON.stringify({ pid: paused.pid, host: 'frozen-node', started: new Date().toISOString() }));
        const old = new Date(Date.now() - 11 * 60_000);
        await utimes(`${lock}.new`, old, old);
        await rename(`${lock}.new`, lock);
        const taken = await runCli(['--log-format', 'json', 'run', file, '--progress', 'none']);
        assert.equal(taken.code, 0, taken.stderr);
        assert.match(taken.stderr, /"event":"takeover".*took the job over from process \d+ on frozen-node/);
        assert.match(taken.stderr, /"event":"resume"/);
        assert.ok((await readFile(target)).equals(expected), 'the taking-over run\'s output is the clean run\'s');
      } finally {
        paused.kill('SIGCONT');
      }
      assert.equal(await ended, 7, stderr);
      assert.match(stderr, /"code":"JOB_RUNNING".*this run's lock \S+ was removed while it ran/);
      // It wrote nothing after it lost the job: the finished output and its record stand.
      assert.ok((await readFile(target)).equals(expected), 'the output after the paused run went on is the clean run\'s');
      const state = JSON.parse(await readFile(join(`${target}.bento-batch`, 'state.json'), 'utf8')) as { status: string };
      assert.equal(state.status, 'finished', 'the finished record was not replaced by the paused run\'s commit');
      assert.ok(!existsSync(`${target}.bento-batch.lock`));
      const again = await runCli(['--log-format', 'json', 'run', file, '--progress', 'none']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /"event":"already-finished"/);
    });
  }
});

describe('a resume over a change that alters the output is refused', () => {
  test('errors.emit, input.chunk_rows or the bundle\'s manifest (also behind links, as a ConfigMap volume holds it) changed since the checkpoint: exit 2 naming it; unchanged, the resume gives the clean bytes', () => withTempDir(async (work) => {
    const { cp } = await import('node:fs/promises');
    const write = writeFile;
    await cp(join(fixtures, 'models', 'penguins'), join(work, 'model'), { recursive: true });
    const jobFile = join(work, 'job.yaml');
    await write(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, 'model: model', 'batch: { size: 16 }', 'output: { path: out.csv }', 'checkpoint: { every: 32 }'].join('\n'));
    const killed = () => runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:3' });
    const resume = (...sets: string[]) => runCli(['--log-format', 'text', 'run', jobFile, '--progress', 'none', ...sets.flatMap((s) => ['--set', s])]);
    for (const [set, change] of [['errors.emit=null-row', 'a setting that decides which rows and columns are written changed \\(errors\\.emit "skip" → "null-row"\\)'], ['input.chunk_rows=100', 'a setting that decides which rows and columns are written changed \\(input\\.chunk_rows 2048 → 100\\)'], ['batch.size=8', 'the job file changed \\(batch\\.size 16 → 8\\)']] as const) {
      assert.equal((await killed()).signal, 'SIGKILL');
      const refused = await resume(set);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`^error: Cannot resume job job: ${change}`, 'm'));
      await rm(join(work, 'out.csv.bento-batch'), { recursive: true, force: true });
    }
    assert.equal((await killed()).signal, 'SIGKILL');
    const manifest = join(work, 'model', 'bento.yaml');
    const text = await readFile(manifest, 'utf8');
    await write(manifest, text.replace('labels: [Adelie, Chinstrap, Gentoo]', 'labels: [Gentoo, Chinstrap, Adelie]'));
    const bundle = await resume();
    assert.equal(bundle.code, 2, bundle.stderr);
    assert.match(bundle.stderr, /^error: Cannot resume job job: the bundle of penguins-species:1\.0\.0 changed \(bento\.yaml or the files beside it\)/m);
    await write(manifest, text);
    // The same bundle as a Kubernetes ConfigMap volume holds it: each file a link into a folder
    // that an update replaces. A manifest changed behind the links is still a change.
    const { mkdir, rename: move, symlink } = await import('node:fs/promises');
    await rm(join(work, 'out.csv.bento-batch'), { recursive: true, force: true });
    await mkdir(join(work, 'linked', '..v1'), { recursive: true });
    for (const name of ['bento.yaml', 'model.onnx']) await move(join(work, 'model', name), join(work, 'linked', '..v1', name));
    await symlink('..v1', join(work, 'linked', '..data'));
    for (const name of ['bento.yaml', 'model.onnx']) await symlink(join('..data', name), join(work, 'linked', name));
    await rm(join(work, 'model'), { recursive: true });
    await symlink('linked', join(work, 'model'));
    assert.equal((await killed()).signal, 'SIGKILL');
    const linked = join(work, 'linked', '..v1', 'bento.yaml');
    await write(linked, text.replace('labels: [Adelie, Chinstrap, Gentoo]', 'labels: [Gentoo, Chinstrap, Adelie]'));
    const behindLinks = await resume();
    assert.equal(behindLinks.code, 2, behindLinks.stderr);
    assert.match(behindLinks.stderr, /^error: Cannot resume job job: the bundle of penguins-species:1\.0\.0 changed \(bento\.yaml or the files beside it\)/m);
    await write(linked, text);
    const resumed = await resume();
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertCleanBytes(work, jobFile);
  }));
});

describe('a resume over changed weights in a subfolder of the bundle is refused', () => {
  test('external data at weights/… (as onnx.save_model(location=…) may name it): changed after the checkpoint, exit 2; restored, the resume gives the clean bytes', () => withTempDir(async (work) => {
    const { cp, mkdir } = await import('node:fs/promises');
    const packed = await runCli(['pack', join(fixtures, 'models', 'shapes', 'external', 'model.onnx'), '--name', 'ext', '--version', '1', '--columns', 'features=bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g', '--output', join(work, 'model')]);
    assert.equal(packed.code, 0, packed.stderr);
    // The graph's location "model.onnx.data" renamed in place to a name as long, in a subfolder.
    const graph = await readFile(join(work, 'model', 'model.onnx'));
    for (let at = graph.indexOf('model.onnx.data'); at !== -1; at = graph.indexOf('model.onnx.data', at)) graph.write('weights/w.bin.x', at);
    assert.equal(graph.indexOf('model.onnx.data'), -1);
    await writeFile(join(work, 'model', 'model.onnx'), graph);
    await mkdir(join(work, 'model', 'weights'));
    await cp(join(work, 'model', 'model.onnx.data'), join(work, 'model', 'weights', 'w.bin.x'));
    await rm(join(work, 'model', 'model.onnx.data'));
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, 'model: model', 'batch: { size: 16 }', 'output: { path: out.csv, keep: [] }', 'checkpoint: { every: 32 }'].join('\n'));
    assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:3' })).signal, 'SIGKILL');
    const weights = join(work, 'model', 'weights', 'w.bin.x');
    const original = await readFile(weights);
    const changed = Buffer.from(original);
    changed.writeFloatLE(changed.readFloatLE(0) + 1, 0);
    await writeFile(weights, changed);
    const refused = await runCli(['--log-format', 'text', 'run', jobFile, '--progress', 'none']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^error: Cannot resume job job: the bundle of ext:1 changed \(the weights or tokenizer in its subfolders\)/m);
    await writeFile(weights, original);
    const resumed = await runCli(['run', jobFile, '--progress', 'none']);
    assert.equal(resumed.code, 0, resumed.stderr);
    await assertCleanBytes(work, jobFile);
  }));
});

describe('the reader\'s warnings', () => {
  test('a JSON Lines key past the columns is warned of when met, before the run is killed, and again by the run that resumes past it', () => withTempDir(async (work) => {
    const penguins = (await readFile(join(fixtures, 'data', 'penguins.jsonl'), 'utf8')).trim().split('\n');
    const lines = Array.from({ length: 30_000 }, (_, i) => (i === 9_999 ? penguins[i % penguins.length]!.replace(/}$/, ',"late_note":"x"}') : penguins[i % penguins.length]!));
    await writeFile(join(work, 'in.jsonl'), `${lines.join('\n')}\n`);
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, ['input: { path: in.jsonl }', `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv }', 'checkpoint: { every: 4096 }'].join('\n'));
    const warning = /in\.jsonl line 10000 holds the key \\"late_note\\", which none of the first rows/;
    const killed = await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:4' });
    assert.equal(killed.signal, 'SIGKILL');
    assert.match(killed.stderr, warning);
    const state = JSON.parse(await readFile(join(work, 'out.csv.bento-batch', 'state.json'), 'utf8')) as { committed: { rows: number; notes: string[] } };
    assert.ok(state.committed.rows > 10_000 && state.committed.notes.length === 1);
    const resumed = await runCli(['--log-format', 'json', 'run', jobFile, '--progress', 'none']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, warning);
    assert.match(resumed.stderr, /\(said by the run this one resumes\)/);
    assert.equal(resumed.stderr.split('\n').filter((l) => l.includes('late_note')).length, 1);
  }));
});

test('a rerun refused its checkpoint (the input changed since) says rows_committed 0 in its summary: no plain rerun resumes from it', () => withTempDir(async (work) => {
  await writeFile(join(work, 'in.csv'), await readFile(join(fixtures, 'data', 'penguins.csv')));
  const jobFile = join(work, 'job.yaml');
  await writeFile(jobFile, ['input: { path: in.csv }', `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 16 }', 'output: { path: out.csv }', 'checkpoint: { every: 32 }'].join('\n'));
  assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:3' })).signal, 'SIGKILL');
  const later = new Date(Date.now() + 5_000);
  await utimes(join(work, 'in.csv'), later, later);
  const refused = await runCli(['run', jobFile, '--progress', 'none', '--summary-json', join(work, 'summary.json')]);
  assert.equal(refused.code, 2, refused.stderr);
  const summary = JSON.parse(await readFile(join(work, 'summary.json'), 'utf8')) as { error: { code: string }; rows_committed: number };
  assert.deepEqual([summary.error.code, summary.rows_committed], ['RESUME_REFUSED', 0]);
}));

describe('the checkpoint\'s files removed under a run', () => {
  test('the checkpoint folder removed mid-run (rm -rf): the run stops at its next commit (exit 5) saying so, and the rerun starts over to the clean bytes; a partial output gone or cut short under its record is refused on resume (exit 2)', () => withTempDir(async (work) => {
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 16 }', 'output: { path: out.csv }', 'checkpoint: { every: 32 }'].join('\n'));
    // Removed as a commit syncs the folder, or between commits (found by the next one, which would record files that are gone).
    for (const [point, message] of [['state-renamed:2:wait', 'Cannot write output .*out\\.csv\\.bento-batch: its folder was removed while the run wrote there'], ['batch-written:5:wait', 'Cannot record a checkpoint in .*out\\.csv\\.bento-batch: the folder was removed while the run wrote there, and its partial output with it']] as const) {
      const run = await runToFailpoint(jobFile, point);
      await rm(join(work, 'out.csv.bento-batch'), { recursive: true });
      assert.equal((await run.ended).code, 5, run.stderr());
      assert.match(run.stderr(), new RegExp(`error: ${message}`));
      assert.ok(!existsSync(join(work, 'out.csv')));
    }
    const again = await runCli(['run', jobFile, '--progress', 'none']);
    assert.equal(again.code, 0, again.stderr);
    await assertCleanBytes(work, jobFile);
    // A record whose partial output is gone, or shorter than it says.
    for (const damage of ['gone', 'short'] as const) {
      await rm(join(work, 'out.csv'));
      assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:3' })).signal, 'SIGKILL');
      const partial = join(work, 'out.csv.bento-batch', 'partial.csv');
      if (damage === 'gone') await rm(partial);
      else await writeFile(partial, (await readFile(partial)).subarray(0, 100));
      const refused = await runCli(['--log-format', 'text', 'run', jobFile, '--progress', 'none']);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`error: Cannot resume: the partial output .*partial\\.csv ${damage === 'gone' ? 'is gone' : 'holds 100 bytes'}, but the checkpoint has \\d+ bytes of it committed\\nhint: Run again with --restart`));
      const restarted = await runCli(['run', jobFile, '--progress', 'none', '--restart']);
      assert.equal(restarted.code, 0, restarted.stderr);
      assert.ok((await readFile(join(work, 'out.csv'))).equals(await readFile(join(work, 'clean.csv'))));
    }
  }));

  test('a folder of 150 small part files in each format (some CSV parts gzipped, some empty): the bytes of one file of the same rows, and again when killed partway and resumed', { timeout: 180_000 }, () => withTempDir(async (work) => {
    // Small files are read whole, on the reading thread or ahead of it (source/ahead.ts); a resume starts inside the folder.
    await duckdb(`CREATE OR REPLACE TABLE small AS SELECT *, row_number() OVER () AS rn FROM read_csv('${inputs.csv}') LIMIT 3000`);
    const sizes = Array.from({ length: 150 }, (_, i) => (i % 13 === 4 ? 0 : 1 + ((i * 7) % 19)));
    const formats = { csv: '(HEADER)', jsonl: '(FORMAT json)', parquet: '(FORMAT parquet)' } as const;
    const { mkdir } = await import('node:fs/promises');
    for (const [format, options] of Object.entries(formats)) {
      const folder = join(work, format);
      await mkdir(folder);
      let start = 0;
      for (const [i, size] of sizes.entries()) {
        const gzip = format === 'csv' && i % 10 === 3;
        const name = join(folder, `part-${String(i).padStart(5, '0')}.${format}${gzip ? '.gz' : ''}`);
        await duckdb(`COPY (SELECT * EXCLUDE rn FROM small WHERE rn > ${start} AND rn <= ${start + size} ORDER BY rn) TO '${name}' ${gzip ? '(HEADER, COMPRESSION gzip)' : options}`);
        start += size;
      }
      await duckdb(`COPY (SELECT * EXCLUDE rn FROM small WHERE rn <= ${start} ORDER BY rn) TO '${join(work, `one.${format}`)}' ${options}`);
      const jobFile = join(work, `${format}.yaml`);
      await writeFile(jobFile, [`input: { path: ${folder} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 16 }', `output: { path: out-${format}.csv, keep: [species, island, body_mass_g] }`, 'checkpoint: { every: 100 }'].join('\n'));
      const one = await runCli(['run', jobFile, '--progress', 'none', '--set', `input.path=${join(work, `one.${format}`)}`, '--set', `output.path=${join(work, `one-${format}.csv`)}`, '--set', 'checkpoint=false']);
      assert.equal(one.code, 0, one.stderr);
      const expected = await readFile(join(work, `one-${format}.csv`));
      assert.equal(expected.toString().trimEnd().split('\n').length, 1 + start, `${format}: every row scored`);
      const killed = await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:3' });
      assert.equal(killed.signal, 'SIGKILL', `${format}: ${killed.stderr}`);
      const resumed = await runCli(['--log-format', 'text', 'run', jobFile, '--progress', 'none']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /resum/i, `${format}: ${resumed.stderr}`);
      assert.ok((await readFile(join(work, `out-${format}.csv`))).equals(expected), `${format}: the resumed folder's bytes`);
      const clean = await runCli(['run', jobFile, '--progress', 'none', '--restart', '--set', 'checkpoint=false']);
      assert.equal(clean.code, 0, clean.stderr);
      assert.ok((await readFile(join(work, `out-${format}.csv`))).equals(expected), `${format}: the folder's bytes`);
    }
  }));

  test('thousands of input files (Spark\'s part files) under ulimit -n 256: the checkpoint\'s fingerprint opens a few at a time', { timeout: 120_000 }, () => withTempDir(async (work) => {
    const { header, lines } = await import('../helpers.js').then((h) => h.penguinsCsv());
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(work, 'parts'));
    for (let i = 0; i < 600; i++) await writeFile(join(work, 'parts', `part-${String(i).padStart(5, '0')}.csv`), `${header}\n${lines[i % lines.length]}\n`);
    await writeFile(join(work, 'job.yaml'), [`input: { path: parts }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv }'].join('\n'));
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync('bash', ['-c', `ulimit -n 256; exec "${process.execPath}" "${bin}" --log-format text run job.yaml --progress none`], { cwd: work, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /600 rows read, 600 written/);
    const status = spawnSync('bash', ['-c', `ulimit -n 256; exec "${process.execPath}" "${bin}" status job.yaml`], { cwd: work, encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /finished/);
  }));
});

describe('a takeover cut short before it parted from the partial files', () => {
  test('its marker left in the checkpoint: the next run, which sees no other host\'s lock, copies the partial files first (a paused run that lost the job writes into a file no one reads), and ends with the clean bytes', () => withTempDir(async (work) => {
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 16 }', 'output: { path: out.csv }', 'checkpoint: { every: 32 }'].join('\n'));
    assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:3' })).signal, 'SIGKILL');
    // As a takeover that ran out of disk mid-copy leaves it.
    const partial = join(work, 'out.csv.bento-batch', 'partial.csv');
    await writeFile(join(work, 'out.csv.bento-batch', 'detach.pending'), '');
    const { statSync } = await import('node:fs');
    const before = statSync(partial).ino;
    const resumed = await runCli(['--log-format', 'text', 'run', jobFile, '--progress', 'none']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /an earlier run took the job over and stopped before it parted from the partial files; the partial files are copied first/);
    assert.notEqual(statSync(join(work, 'out.csv')).ino, before, 'the output is a copy, not the file the paused run may hold');
    await assertCleanBytes(work, jobFile);
    assert.ok(!existsSync(join(work, 'out.csv.bento-batch', 'detach.pending')), 'the marker goes once the files are parted from');
  }));
});

describe('a model replaced while a run starts', () => {
  test('swapped between the checkpoint\'s hash and the sessions\' load (models delete and import, or cp over it): exit 4 naming it, and nothing scored by the other model', () => withTempDir(async (work) => {
    const { cp } = await import('node:fs/promises');
    await cp(join(fixtures, 'models', 'penguins'), join(work, 'model'), { recursive: true });
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, 'model: model', 'output: { path: out.csv }'].join('\n'));
    for (const swap of ['rename', 'rewrite'] as const) {
      const run = await runToFailpoint(jobFile, 'model-hashed:1:wait');
      const other = await readFile(join(fixtures, 'models', 'deep-mlp', 'model.onnx'));
      if (swap === 'rename') {
        await writeFile(join(work, 'new.onnx'), other);
        await rename(join(work, 'new.onnx'), join(work, 'model', 'model.onnx'));
      } else await writeFile(join(work, 'model', 'model.onnx'), other);
      assert.equal((await run.ended).code, 4, run.stderr());
      assert.match(run.stderr(), /error: Model file .*model\.onnx changed while the run loaded it \(replaced or rewritten\)/);
      assert.ok(!existsSync(join(work, 'out.csv')));
      await cp(join(fixtures, 'models', 'penguins', 'model.onnx'), join(work, 'model', 'model.onnx'));
    }
    const clean = await runCli(['run', jobFile, '--progress', 'none']);
    assert.equal(clean.code, 0, clean.stderr);
  }));
});

describe('a run killed after recording "finished" but before its output is moved', () => {
  test('the rerun moves the new output over yesterday\'s (not "already finished" beside it), status says it is waiting, and no errors file appears when no row failed', () => withTempDir(async (work) => {
    const lines = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trim().split('\n');
    const input = join(work, 'today.csv');
    await writeFile(input, `${lines.slice(0, 101).join('\n')}\n`);
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv, keep: [species] }'].join('\n'));
    const run = () => runCli(['--log-format', 'json', 'run', jobFile, '--progress', 'none', '--summary-json', join(work, 'summary.json')]);
    assert.equal((await run()).code, 0);
    const yesterday = await readFile(join(work, 'out.csv'), 'utf8');
    // Tomorrow's file, every row; the run dies between recording "finished" and the renames.
    await writeFile(input, `${lines.join('\n')}\n`);
    assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'finished-recorded:1' })).signal, 'SIGKILL');
    assert.equal(await readFile(join(work, 'out.csv'), 'utf8'), yesterday);
    const waiting = await runCli(['status', jobFile]);
    assert.match(waiting.stdout, /^job: finished at .*: 344 rows in .*s, but not yet moved to .*out\.csv \(it is in the checkpoint\); run the job again to put it there$/m);
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(await readFile(join(work, 'summary.json'), 'utf8')) as { status: string; input: { rows: number }; output: { rows: number; columns: string[] }; batch: { count: number } };
    assert.deepEqual([summary.status, summary.input.rows, summary.output.rows, summary.output.columns, summary.batch.count],
      ['already-finished', 344, 344, ['species', 'species_pred', 'species_score', 'prob_Adelie', 'prob_Chinstrap', 'prob_Gentoo'], 2]);
    const today = await readFile(join(work, 'out.csv'), 'utf8');
    assert.equal(today.trim().split('\n').length, 345);
    assert.equal(existsSync(join(work, 'out.csv.errors.jsonl')), false, 'no row failed: no errors file');
    assert.match((await runCli(['status', jobFile])).stdout, /^job: finished at .* → .*out\.csv$/m);
  }));
  test('a finished record whose output in the checkpoint is not the file it was made of (another run wrote there since) is refused, not moved into place short', () => withTempDir(async (work) => {
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv, keep: [species] }'].join('\n'));
    assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'finished-recorded:1' })).signal, 'SIGKILL');
    const partial = join(work, 'out.csv.bento-batch', 'partial.csv');
    const whole = await readFile(partial, 'utf8');
    // As a run that took the job over and died would leave it: part of the rows.
    await writeFile(partial, whole.slice(0, whole.length >> 1));
    const refused = await runCli(['--log-format', 'text', 'run', jobFile, '--progress', 'none']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^error: Cannot finish job job: its checkpoint says the run finished with \d+ bytes of output, but .*partial\.csv holds \d+: another run of the job wrote there since$/m);
    assert.equal(existsSync(join(work, 'out.csv')), false, 'nothing short was published');
    const restarted = await runCli(['run', jobFile, '--progress', 'none', '--restart']);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(await readFile(join(work, 'out.csv'), 'utf8'), whole);
  }));
});

describe('a stop asked for while a Parquet run reads on to its row group\'s end', () => {
  test('when the input ends first, every row is scored and the output is finished, not thrown away', () => withTempDir(async (work) => {
    const lines = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trim().split('\n');
    const input = join(work, 'in.csv');
    await writeFile(input, `${[lines[0], ...Array.from({ length: 174 }, () => lines.slice(1)).flat()].join('\n')}\n`);
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 2 }', 'output: { path: out.parquet, keep: [species], writer: thread }'].join('\n'));
    const child = spawn(process.execPath, [bin, '--log-format', 'json', 'run', jobFile, '--progress', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    // The row group (65,536 rows) is larger than the input (59,856 rows): a stop once rows are in it reads to the end.
    await new Promise<void>((resolve) => child.stderr.on('data', () => (/"event":"start"/.test(stderr) ? resolve() : undefined)));
    await new Promise((resolve) => setTimeout(resolve, 400));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /"event":"stop-at-end"/);
    assert.equal((await duckdb(`SELECT count(*)::INT AS n FROM '${join(work, 'out.parquet')}'`))[0]!.n, 174 * (lines.length - 1));
  }));
});

describe('checkpoint: false', () => {
  test('hidden temp files that killed runs left beside the output are removed by the next run; a live run\'s is not', () => withTempDir(async (work) => {
    const { utimes } = await import('node:fs/promises');
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv }', 'checkpoint: false'].join('\n'));
    // What SIGKILLed runs leave (their process ids gone), an hour old; and one of this test's own process, alive.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.on('close', resolve));
    const stale = [join(work, `.out.csv.${dead.pid}.bento-batch.tmp`), join(work, `.out.csv.errors.jsonl.${dead.pid}.bento-batch.tmp`)];
    const live = join(work, `.out.csv.${process.pid}.bento-batch.tmp`);
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const file of [...stale, live]) {
      await writeFile(file, 'partial rows');
      await utimes(file, hourAgo, hourAgo);
    }
    const run = await runCli(['run', jobFile, '--progress', 'none']);
    assert.equal(run.code, 0, run.stderr);
    for (const file of stale) assert.equal(existsSync(file), false, `${file} is left`);
    assert.equal(existsSync(live), true, 'a live process\'s file is kept');
    // A fresh one (a copy killed a moment ago): kept without a checkpoint (a run on another host may
    // be writing it); removed at once by a run holding the job's lock, as no other run of it is alive.
    for (const [checkpoint, kept] of [['false', true], ['{ every: 5s }', false]] as const) {
      await writeFile(stale[0]!, 'partial rows');
      const again = await runCli(['run', jobFile, '--progress', 'none', '--set', `checkpoint=${checkpoint}`]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(existsSync(stale[0]!), kept, `checkpoint ${checkpoint}`);
    }
  }));
});

describe('Parquet statistics across a resume', () => {
  test('a column whose minimum is -0 or maximum Infinity: the resumed file is the clean run\'s bytes (the footer\'s statistics too)', () => withTempDir(async (work) => {
    let csv = 'z,w,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n';
    for (let i = 0; i < 1000; i++) csv += `${i % 5 === 0 ? '-0' : i % 5},${i % 50 === 0 ? '1e400' : i},${30 + (i % 30)},${15 + (i % 6)},${170 + (i % 60)},${3000 + (i % 3000)}\n`;
    await writeFile(join(work, 'in.csv'), csv);
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(work, 'in.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 64 }', 'output: { path: out.parquet, parquet: { row_group_rows: 250 } }', 'checkpoint: { every: 100 }'].join('\n'));
    const clean = await runCli(['run', jobFile, '--progress', 'none', '--set', `output.path=${join(work, 'clean.parquet')}`]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: 'state-renamed:2' })).signal, 'SIGKILL');
    const resumed = await runCli(['run', jobFile, '--progress', 'none']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok((await readFile(join(work, 'out.parquet'))).equals(await readFile(join(work, 'clean.parquet'))));
  }));
});

describe('Parquet row groups ended by their values\' size across a resume', () => {
  test('an input whose columns are null for its first chunks (plain arrays there, masked after): every resume writes the clean run\'s bytes', () => withTempDir(async (work) => {
    // One input row group, read in chunks of 2,048 rows from its start, or from the row a resume starts at.
    const doubles = Array.from({ length: 40 }, (_, k) => `CASE WHEN i < 30000 THEN NULL ELSE i * ${k + 1} / 7.0 END AS d${k}`).join(', ');
    await duckdb(`COPY (SELECT 30.0 + i % 30 AS bill_length_mm, 15.0 + i % 6 AS bill_depth_mm, 170.0 + i % 60 AS flipper_length_mm, 3000.0 + i % 3000 AS body_mass_g, ${doubles} FROM range(60000) t(i)) TO '${join(work, 'in.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 100000)`);
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(work, 'in.parquet')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 100, concurrency: 1 }', 'output: { path: out.parquet, writer: inline, parquet: { row_group_memory: 1MB } }', 'checkpoint: { every: 500 }'].join('\n'));
    const clean = await runCli(['run', jobFile, '--progress', 'none', '--set', `output.path=${join(work, 'clean.parquet')}`]);
    assert.equal(clean.code, 0, clean.stderr);
    const groups = await duckdb(`SELECT count(DISTINCT row_group_id)::INT AS n FROM parquet_metadata('${join(work, 'clean.parquet')}')`);
    assert.ok((groups[0]!.n as number) > 3, 'row groups of 1 MB of values');
    for (const commit of [2, 3, 4]) {
      await rm(join(work, 'out.parquet'), { force: true });
      await rm(join(work, 'out.parquet.bento-batch'), { recursive: true, force: true });
      assert.equal((await runAndKill(jobFile, 60_000, { BENTO_BATCH_FAILPOINT: `state-renamed:${commit}` })).signal, 'SIGKILL');
      const resumed = await runCli(['run', jobFile, '--progress', 'none']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.ok((await readFile(join(work, 'out.parquet'))).equals(await readFile(join(work, 'clean.parquet'))), `killed at commit ${commit}`);
    }
  }));
});

describe('logs and summaries an operator relies on', () => {
  test('a second SIGINT stops at once, says so, and still writes the --summary-json a scheduler reads (interrupted, 130)', () => withTempDir(async (work) => {
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'batch: { size: 16 }', 'output: { path: out.csv }'].join('\n'));
    const run = await runToFailpoint(jobFile, 'batch-written:3:wait', ['--summary-json', join(work, 'summary.json')]);
    run.child.kill('SIGINT');
    // A repeat within a quarter of a second is taken as the same request (GNU timeout sends one twice).
    await new Promise((resolve) => setTimeout(resolve, 400));
    run.child.kill('SIGINT');
    assert.equal((await run.ended).signal, 'SIGINT', run.stderr());
    assert.match(run.stderr(), /^error: SIGINT again: stopped at once; run the same command to resume from the last checkpoint$/m);
    const summary = JSON.parse(await readFile(join(work, 'summary.json'), 'utf8')) as { status: string; exit_code: number; error: { code: string }; rows_committed: number };
    assert.deepEqual([summary.status, summary.exit_code, summary.error.code], ['interrupted', 130, 'INTERRUPTED']);
    assert.equal(typeof summary.rows_committed, 'number');
    const rerun = await runCli(['run', jobFile, '--progress', 'none']);
    assert.equal(rerun.code, 0, rerun.stderr);
  }));

  test('a log that cannot be written (stderr on a full disk) loses its lines, not the run; a command\'s own output that cannot be written is exit 5', () => withTempDir(async (work) => {
    const jobFile = join(work, 'job.yaml');
    await writeFile(jobFile, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv }'].join('\n'));
    const status = (args: string[], redirect: string) => runCliInShell(`exec "$0" "$@" ${redirect}`, args, { cwd: work });
    const run = await status(['--log-format', 'json', 'run', jobFile, '--summary-json', 'summary.json'], '2>/dev/full');
    assert.equal(run.code, 0);
    assert.equal((JSON.parse(await readFile(join(work, 'summary.json'), 'utf8')) as { status: string }).status, 'completed');
    assert.ok(existsSync(join(work, 'out.csv')));
    // validate prints nothing on stdout: a stdout on /dev/full loses nothing of it.
    assert.equal((await status(['--log-format', 'text', 'validate', jobFile], '>/dev/full')).code, 0);
    const full = await status(['--log-format', 'text', 'status', jobFile, '--json'], '>/dev/full');
    assert.equal(full.code, 5, full.stderr);
    assert.equal(full.stderr, 'error: Cannot write to standard output: the disk is full\nhint: Send the output where it can be written (a file on a disk with room, a pipe).\n');
  }));
});
