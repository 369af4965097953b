/**
 * The command line runs dist/bundle (scripts/bundle.js); these check that the bundle has every
 * worker thread the sources start, is built from the current sources, and refuses two worker
 * files of one name. The e2e tests run the bundle itself, through bin/bento-batch.js.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { bin, root, runCli, withTempDir } from './helpers.js';

type WorkerEntries = (dir?: string) => Map<string, string>;
const { workerEntries } = (await import(pathToFileURL(join(root, 'scripts', 'bundle.js')).href)) as { workerEntries: WorkerEntries };
const src = join(root, 'dist', 'src');
const bundle = join(root, 'dist', 'bundle');

test('the bin runs the bundle, which has an entry for every worker thread the sources start', () => {
  const workers = workerEntries(src);
  assert.deepEqual([...workers.keys()].sort(), ['encoder-worker.js', 'json-worker.js', 'model-worker.js', 'scoring-worker.js', 'writer-worker.js']);
  for (const name of ['main.js', ...workers.keys()]) assert.ok(existsSync(join(bundle, name)), `dist/bundle/${name} is missing: run npm run build`);
  assert.match(readFileSync(bin, 'utf8'), /^await import\('\.\.\/dist\/bundle\/main\.js'\);$/m);
});

test('the bundle is newer than every file tsc wrote', () => {
  const files = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.js')).map((f) => join(dir, f));
  const newestSource = Math.max(...files(src).map((f) => statSync(f).mtimeMs));
  const oldestBundle = Math.min(...files(bundle).map((f) => statSync(f).mtimeMs));
  assert.ok(oldestBundle >= newestSource, 'dist/bundle is older than dist/src: run npm run build (tsc alone does not bundle)');
});

test('the bundle holds only the parts of zod it uses: of its locales, English alone', () => {
  // `import * as z from 'zod'` lets esbuild drop what no schema reaches; `import { z }` kept all
  // of zod, ~60 locales included (the main thread's zod and yaml chunk: 1,022 KB against 450 KB).
  const bundled = readdirSync(bundle).filter((f) => f.endsWith('.js')).flatMap((f) => [...readFileSync(join(bundle, f), 'utf8').matchAll(/^\/\/ node_modules\/zod\/v4\/locales\/([\w-]+)\.js$/gm)].map((m) => m[1]));
  assert.deepEqual(bundled, ['en']);
});

test('two worker files of one name are refused, naming both', () => withTempDir(async (dir) => {
  for (const sub of ['a', 'b']) {
    await mkdir(join(dir, sub));
    await writeFile(join(dir, sub, 'start.js'), "new Worker(new URL('./worker.js', import.meta.url));\n");
  }
  assert.throws(() => workerEntries(dir), /two worker files are named worker\.js \((a\/worker\.js, b\/worker\.js|b\/worker\.js, a\/worker\.js)\)/);
  await rm(join(dir, 'b'), { recursive: true });
  assert.deepEqual([...workerEntries(dir)], [['worker.js', join(dir, 'a', 'worker.js')]]);
}));

test('--debug stack traces name the bundle, and map back to src/*.ts under --enable-source-maps', async () => {
  const missing = join(tmpdir(), 'bento-no-such-job.yaml');
  const plain = await runCli(['--debug', 'run', missing]);
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /at readYaml \(file:\/\/\S*\/dist\/bundle\/chunk-\w+\.js:\d+:\d+\)/);
  const mapped = await runCli(['--debug', 'run', missing], { env: { NODE_OPTIONS: '--enable-source-maps' } });
  assert.equal(mapped.code, 2);
  assert.match(mapped.stderr, /at readYaml \(\S*\/src\/config\.ts:\d+:\d+\)/);
});
