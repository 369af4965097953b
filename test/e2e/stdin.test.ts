/**
 * Input from a pipe: `input.path: -` (standard input, as `zcat data.csv.gz | bento-batch run`)
 * and a named pipe. Read once, it must give the bytes the same rows give from a file, resume
 * after a kill when fed the same bytes again, and refuse other bytes rather than skip rows.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { bin, type CliResult, fixtures, penguinsCsv, readJson, runCli, withTempDir } from '../helpers.js';

/** `bento-batch …args` with `input` written to its standard input (a pipe), then closed; `open`: left open. */
function runPiped(args: readonly string[], input: Buffer | 'open', env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--log-format', 'text', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    // A run that stops early (refused, killed) closes the pipe before it is all written.
    child.stdin.on('error', () => undefined);
    if (input !== 'open') child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** 51,600 penguin rows (the fixture 150 times), as CSV. */
async function manyRows(): Promise<Buffer> {
  const { header, lines } = await penguinsCsv();
  return Buffer.from(`${header}\n${Array.from({ length: 150 }, () => lines.join('\n')).join('\n')}\n`);
}

async function job(dir: string, input: string, output = 'out.csv'): Promise<string> {
  const file = join(dir, 'job.yaml');
  await writeFile(file, [
    `input: { path: "${input}", chunk_rows: 1000 }`,
    `model: ${join(fixtures, 'models', 'penguins')}`,
    'batch: { size: 64 }',
    `output: { path: ${output}, keep: [species, island] }`,
    'checkpoint: { every: 2000 }',
  ].join('\n'));
  return file;
}

describe('input from a pipe', { timeout: 300_000 }, () => {
  test('CSV and gzipped JSON Lines on standard input (format sniffed) score to the bytes of the same rows from a file', () => withTempDir(async (dir) => {
    const rows = await manyRows();
    await writeFile(join(dir, 'in.csv'), rows);
    const file = await job(dir, 'in.csv', 'file.csv');
    assert.equal((await runCli(['run', file, '--progress', 'none'])).code, 0);
    const expected = await readFile(join(dir, 'file.csv'));

    const piped = await runPiped(['run', file, '--progress', 'none', '--set', 'input.path=-', '--set', `output.path=${join(dir, 'piped.csv')}`], rows);
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stderr, /scoring \/dev\/stdin/);
    assert.ok((await readFile(join(dir, 'piped.csv'))).equals(expected));

    // A gzipped file given with `<`: standard input is read as a stream even so, gunzipped by its bytes.
    await writeFile(join(dir, 'in.gz'), gzipSync(rows));
    const fd = openSync(join(dir, 'in.gz'), 'r');
    const redirected = await runCli(['run', file, '--progress', 'none', '--set', 'input.path=-', '--set', `output.path=${join(dir, 'redirected.csv')}`], { stdin: fd });
    closeSync(fd);
    assert.equal(redirected.code, 0, redirected.stderr);
    assert.ok((await readFile(join(dir, 'redirected.csv'))).equals(expected));

    const jsonl = (await readFile(join(fixtures, 'data', 'penguins.jsonl'), 'utf8')).trimEnd();
    const lines = Buffer.from(`${Array.from({ length: 150 }, () => jsonl).join('\n')}\n`);
    const gz = await runPiped(['run', file, '--progress', 'none', '--set', 'input.path=-', '--set', `output.path=${join(dir, 'jsonl.csv')}`], gzipSync(lines));
    assert.equal(gz.code, 0, gz.stderr);
    assert.ok((await readFile(join(dir, 'jsonl.csv'))).equals(expected), 'gunzipped and read as JSON Lines, by its first bytes');
  }));

  test('killed after a commit, the run resumes from the same bytes piped again (gzipped or not) and refuses others', () => withTempDir(async (dir) => {
    const rows = await manyRows();
    await writeFile(join(dir, 'in.csv'), rows);
    const clean = await runCli(['run', await job(dir, 'in.csv', 'clean.csv'), '--progress', 'none']);
    assert.equal(clean.code, 0, clean.stderr);
    const file = await job(dir, '-');
    const args = ['run', file, '--progress', 'none'];
    const killed = await runPiped(args, rows, { BENTO_BATCH_FAILPOINT: 'sink-committed:6' });
    assert.equal(killed.signal, 'SIGKILL');
    const state = await readJson<{ committed: { rows: number; source: { byte: number; prefix: { bytes: number; sha256: string } } } }>(join(dir, 'out.csv.bento-batch', 'state.json'));
    const { byte, prefix } = state.committed.source;
    // Committed past the first chunk, which the readers look at before the run starts.
    assert.ok(state.committed.rows >= 2000 && byte > 64 * 1024, JSON.stringify(state.committed));
    assert.equal(prefix.bytes, byte, 'the prefix checked is all the run read');

    // A byte changed in the first line: the rows committed are not these rows.
    const changed = Buffer.from(rows);
    const at = rows.indexOf('\n') + 1;
    assert.equal(changed.toString('latin1', at, at + 16), 'Adelie,Torgersen');
    changed.write('X', at, 'latin1');
    // A dry run reads on to where the run stopped, as the run would, and says so too.
    const dry = await runPiped([...args, '--dry-run'], changed);
    assert.equal(dry.code, 2, dry.stderr);
    assert.match(dry.stderr, /its first [\d,]+ bytes differ/);
    assert.equal((await runPiped([...args, '--dry-run'], rows)).code, 0);
    const other = await runPiped(args, changed);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, new RegExp(`Cannot resume: input /dev/stdin is not the input the interrupted run read: its first ${prefix.bytes.toLocaleString('en-US')} bytes differ`));
    // A line dropped just before where the run stopped: the rows after it would be read from the middle of one.
    const before = rows.lastIndexOf('\n', byte - 2);
    const dropped = Buffer.concat([rows.subarray(0, rows.lastIndexOf('\n', before - 1) + 1), rows.subarray(before + 1)]);
    const gap = await runPiped(args, dropped);
    assert.equal(gap.code, 2, gap.stderr);
    assert.match(gap.stderr, /bytes differ/);
    // Cut short before where the run stopped.
    const short = await runPiped(args, rows.subarray(0, byte - 10));
    assert.equal(short.code, 2, short.stderr);
    assert.match(short.stderr, /ended after [\d,]+ bytes, before byte [\d,]+ where the interrupted run stopped reading/);
    assert.equal((await readJson<typeof state>(join(dir, 'out.csv.bento-batch', 'state.json'))).committed.rows, state.committed.rows, 'the refused runs left the checkpoint as it was');

    const resumed = await runPiped(args, gzipSync(rows));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming job at row ${state.committed.rows.toLocaleString('en-US')}`));
    assert.ok((await readFile(join(dir, 'out.csv'))).equals(await readFile(join(dir, 'clean.csv'))), 'the resumed output is the uninterrupted run\'s');

    // Its bytes cannot be known before they are read: a finished run over a pipe runs again.
    const next = await runPiped(args, Buffer.from(rows.subarray(0, rows.indexOf('\n', 5000) + 1)));
    assert.equal(next.code, 0, next.stderr);
    assert.doesNotMatch(next.stderr, /already finished/);
    assert.equal((await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n').length, rows.subarray(0, rows.indexOf('\n', 5000)).toString().split('\n').length);
  }));

  test('a signal stops a run whose pipe gives nothing for now, before the run starts and mid-way; the rerun resumes', () => withTempDir(async (dir) => {
    const rows = await manyRows();
    await writeFile(join(dir, 'in.csv'), rows);
    assert.equal((await runCli(['run', await job(dir, 'in.csv', 'clean.csv'), '--progress', 'none'])).code, 0);
    const file = await job(dir, '-');
    /** The CLI with `first` on its standard input, then nothing until it is signalled once `ready` says so; resolves with how it ended and how long after the signal. */
    const stalled = (first: Buffer, ready: () => Promise<boolean>) => new Promise<CliResult & { after: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, '--log-format', 'text', 'run', file, '--progress', 'none'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      let signalled = 0;
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.stdin.on('error', () => undefined);
      child.stdin.write(first);
      const poll = setInterval(() => void ready().then((yes) => {
        if (!yes || signalled) return;
        signalled = performance.now();
        child.kill('SIGTERM');
        // One that does not stop fails the test rather than hang it.
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }), 100);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearInterval(poll);
        child.stdin.destroy();
        resolve({ code, signal, stdout: '', stderr, after: performance.now() - signalled });
      });
    });
    const started = performance.now();
    const before = await stalled(Buffer.alloc(0), async () => performance.now() - started > 1500);
    assert.equal(before.code, 143, before.stderr);
    assert.match(before.stderr, /Interrupted by SIGTERM before the run started; nothing was done/);
    assert.ok(before.after < 10_000, `stopped ${before.after} ms after the signal`);

    const state = join(dir, 'out.csv.bento-batch', 'state.json');
    // Signalled once it has scored what it was given and waits: its commits have stopped for a second.
    const seen: number[] = [];
    const idle = async () => {
      seen.push((await readJson<{ committed?: { rows: number } }>(state).catch(() => undefined))?.committed?.rows ?? 0);
      return seen.length > 10 && seen.at(-1)! > 0 && seen.at(-1) === seen.at(-11);
    };
    const midway = await stalled(rows.subarray(0, rows.length / 2), idle);
    assert.equal(midway.code, 143, midway.stderr);
    assert.match(midway.stderr, /Interrupted by SIGTERM: [\d,]+ rows are committed/);
    assert.ok(midway.after < 10_000, `stopped ${midway.after} ms after the signal`);
    const resumed = await runPiped(['run', file, '--progress', 'none'], rows);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming job at row/);
    assert.ok((await readFile(join(dir, 'out.csv'))).equals(await readFile(join(dir, 'clean.csv'))));
  }));

  test('JSON Lines on standard input whose first line is bad: read as JSON Lines, the line a bad row', () => withTempDir(async (dir) => {
    const lines = (await readFile(join(fixtures, 'data', 'penguins.jsonl'), 'utf8')).trimEnd().split('\n');
    const piped = await runPiped(['run', await job(dir, '-'), '--progress', 'none'], Buffer.from(`this is not json\n${lines.slice(1).join('\n')}\n`));
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal((await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n').length, lines.length);
    assert.match(await readFile(join(dir, 'out.csv.errors.jsonl'), 'utf8'), /"row":1,/);
  }));

  test('a named pipe is read once, by its extension\'s format, and a signal stops a run waiting for its writer; Parquet is refused; a `[id]` CSV header is CSV; status does not read standard input', () => withTempDir(async (dir) => {
    const fifo = join(dir, 'in.csv');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const { header, lines } = await penguinsCsv();
    const file = await job(dir, fifo);
    const run = runCli(['run', file, '--progress', 'none']);
    // Gzipped: its descriptor is closed by the thread that opened it (Node warned where a socket closed it).
    createWriteStream(fifo).end(gzipSync(`${header}\n${lines.join('\n')}\n`));
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    assert.doesNotMatch(done.stderr, /Warning/);
    assert.equal((await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n').length, lines.length + 1);

    // No writer yet: a signal stops the run at once (an open waiting for one held up the exit).
    const waiting = spawn(process.execPath, [bin, '--log-format', 'text', 'run', file, '--progress', 'none', '--restart'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    waiting.stderr.on('data', (d: Buffer) => (said += d));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const signalled = performance.now();
    waiting.kill('SIGTERM');
    const killer = setTimeout(() => waiting.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => waiting.on('close', resolve));
    clearTimeout(killer);
    assert.equal(code, 143, said);
    assert.ok(performance.now() - signalled < 5000, `stopped ${performance.now() - signalled} ms after the signal`);

    // A CSV header as SQL Server quotes its names starts with `[`: CSV all the same.
    const bracketed = Buffer.from(`[id],${header}\n${lines.map((l, i) => `${i},${l}`).join('\n')}\n`);
    const sql = await runPiped(['run', await job(dir, '-'), '--progress', 'none', '--restart'], bracketed);
    assert.equal(sql.code, 0, sql.stderr);

    const parquet = await runPiped(['run', await job(dir, '-'), '--progress', 'none'], await readFile(join(fixtures, 'data', 'penguins.parquet')));
    assert.equal(parquet.code, 3, parquet.stderr);
    assert.match(parquet.stderr, /Input \/dev\/stdin is Parquet, which cannot be read from a pipe or standard input/);
    assert.match(parquet.stderr, /hint: Write the data to a file first/);

    // Left open: status returns all the same, as it looks at the checkpoint alone.
    const status = await runPiped(['status', await job(dir, '-')], 'open');
    assert.equal(status.code, 0, status.stderr);
  }));
});
