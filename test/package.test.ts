/**
 * The dependency policy: runtime dependencies stay inside an allowlist, every version is
 * pinned, and the package ships only what it needs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { root, withTempDir } from './helpers.js';

const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>; devDependencies: Record<string, string>; files: string[]; bin: Record<string, string>; type: string; engines: { node: string }; main: string; types: string;
};

test('runtime dependencies stay inside the allowlist', () => {
  // @bokuweb/zstd-wasm: the zstd library as WebAssembly (no install script, no native code), for ZSTD Parquet output.
  const allowed = ['@bokuweb/zstd-wasm', '@huggingface/tokenizers', 'commander', 'hyparquet', 'hyparquet-compressors', 'hyparquet-writer', 'onnxruntime-node', 'p-queue', 'yaml', 'zod'];
  assert.deepEqual(Object.keys(pkg.dependencies).filter((d) => !allowed.includes(d)), []);
});

test('every dependency is pinned to an exact version', () => {
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert.match(version, /^\d+\.\d+\.\d+(-[\w.]+)?$/, `${name}@${version} is not pinned`);
  }
});

test('ESM package with a bin, Node 20+', () => {
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.bin['bento-batch'], 'bin/bento-batch.js');
  assert.equal(pkg.engines.node, '>=20');
  // src: the source maps (tsc's and the bundle's) point there; the build's own bookkeeping stays out.
  assert.deepEqual(pkg.files, ['bin', 'dist', '!dist/test', '!dist/.tsbuildinfo', 'src', 'README.md']);
  // For TypeScript's classic node10 resolution too, which reads no "exports".
  assert.deepEqual([pkg.main, pkg.types], ['./dist/src/index.js', './dist/src/index.d.ts']);
});

test('.npmrc skips the onnxruntime CUDA download (CI has no network beyond npm)', async () => {
  assert.match(await readFile(join(root, '.npmrc'), 'utf8'), /^onnxruntime-node-install=skip$/m);
});

test('the package name resolves to the library API, with its types beside it', async () => {
  // Self-reference: resolved through package.json "exports", as a dependent project would.
  const api = (await import('bento-batch' as string)) as Record<string, unknown>;
  for (const name of ['loadJob', 'prepareJob', 'runPrepared', 'openBundle', 'exitCodeFor']) assert.equal(typeof api[name], 'function', name);
  const exported = (pkg as unknown as { exports: { '.': { types: string; default: string } } }).exports['.'];
  await readFile(join(root, exported.types));
});

test('the published types compile in a strict project without @types/node', () => withTempDir(async (dir) => {
  await mkdir(join(dir, 'node_modules'));
  await symlink(root, join(dir, 'node_modules', 'bento-batch'), 'dir');
  await writeFile(join(dir, 'main.ts'), "import { loadJob, prepareJob, runPrepared, type RunSummary } from 'bento-batch';\nexport const api: unknown[] = [loadJob, prepareJob, runPrepared];\nexport type Summary = RunSummary;\n");
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [], noEmit: true }, files: ['main.ts'] }));
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
}));
