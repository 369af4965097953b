/**
 * @file Shared by the tests: repo paths, spawning the real CLI, reading outputs back with
 * independent readers (csv-parse for CSV, JSON.parse for JSONL, DuckDB for Parquet), and a
 * tolerance matcher that reports the path of the first mismatch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { BentoError } from '../src/errors.js';

/** The repository root (tests run from dist/test/…). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixtures = join(root, 'fixtures');
export const bin = join(root, 'bin', 'bento-batch.js');

/** fixtures/data/penguins.csv's header line and its 344 data lines (LF-separated, no trailing newline), for tests that rewrite it. */
export async function penguinsCsv(): Promise<{ header: string; lines: string[] }> {
  const [header, ...lines] = (await readFile(join(fixtures, 'data', 'penguins.csv'), 'utf8')).trimEnd().split('\n');
  return { header: header!, lines };
}

/**
 * Seeded pseudo-random numbers in [0, 1): xorshift32 in exact 32-bit integer steps (period
 * 2^32 - 1). `(seed * a + c) % m` in doubles loses bits past 2^53 and cycles after ~10,000 draws.
 */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x / 4294967296;
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `bento-batch …args` as a user would, in `cwd`, and collects its output; `stdin`: a descriptor given as its standard input (`< file`). */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, env: { ...process.env, ...options.env }, stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs `bento-batch …args` from `sh -c SCRIPT`, where SCRIPT runs the CLI as `"$0" "$@"`: after
 * joining a cgroup, say, or with a redirection (`exec "$0" "$@" 2>/dev/full`). Collects stderr.
 */
export function runCliInShell(script: string, args: readonly string[], options: { cwd?: string } = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-c', script, process.execPath, bin, ...args], { cwd: options.cwd ?? root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stderr }));
  });
}

/** A fresh temporary directory, removed after `fn`. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bento-batch-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let duck: Promise<import('@duckdb/node-api').DuckDBConnection> | undefined;

/** Runs a query in an in-memory DuckDB (the independent Parquet reader) and returns JSON-friendly rows. */
export async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
  duck ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  const reader = await (await duck).runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** Reads an output file back as row objects, by extension, with a reader that is not ours. */
export async function readRows(file: string): Promise<Record<string, unknown>[]> {
  if (file.endsWith('.parquet')) {
    return (await duckdb(`SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`)).map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  }
  const text = await readFile(file, 'utf8');
  if (file.endsWith('.jsonl')) return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return parse(text, { columns: true, cast: (value) => (value === '' ? null : Number.isNaN(Number(value)) ? value : Number(value)) }) as Record<string, unknown>[];
}

/** Deep equality where numbers may differ by `tolerance` relative to max(1, |expected|); names the path of a mismatch. */
export function assertClose(actual: unknown, expected: unknown, tolerance = 1e-5, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const bound = tolerance * Math.max(1, Math.abs(expected));
    if (!(Math.abs(actual - expected) <= bound)) assert.fail(`${path}: expected ${expected} ± ${bound}, got ${actual}`);
    return;
  }
  if (Array.isArray(expected)) {
    // Float columns travel as typed arrays; compare their values.
    const list = actual instanceof Float32Array || actual instanceof Float64Array ? Array.from(actual) : actual;
    assert.ok(Array.isArray(list), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(list.length, expected.length, `${path}: expected ${expected.length} items, got ${list.length}`);
    expected.forEach((e, i) => assertClose(list[i], e, tolerance, `${path}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) assertClose((actual as Record<string, unknown>)[k], v, tolerance, `${path}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** Calls `fn`, expecting a BentoError with exactly this code and message. */
export function throwsWith(fn: () => unknown, code: string, message: string): BentoError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return expectBentoError(caught, code, message);
}

/** Awaits `run` (a promise or a function returning one), expecting a BentoError with exactly this code and message. */
export async function rejectsWith(run: Promise<unknown> | (() => Promise<unknown>), code: string, message: string): Promise<BentoError> {
  let caught: unknown;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (error) {
    caught = error;
  }
  return expectBentoError(caught, code, message);
}

function expectBentoError(caught: unknown, code: string, message: string): BentoError {
  assert.ok(caught instanceof BentoError, `expected a BentoError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.message, message);
  assert.equal(caught.code, code);
  return caught;
}
