// Bundles the command line and its worker threads from tsc's output (dist/src) into dist/bundle,
// which bin/bento-batch.js runs. Why: node resolves, reads and compiles every ES module file on
// its own, on the main thread and again on each worker thread; ~60 modules of ours plus yaml's,
// zod's and commander's took ~150 ms of a run's start (`--cpu-prof`), and a bundled run of a
// 10k-row job ended ~150 ms sooner (docs/performance.md, Start-up). The library (`import 'bento-batch'`)
// stays unbundled: dist/src.
//
// Each worker thread is started with `new URL('./<name>.js', import.meta.url)`; in the bundle the
// module that starts it lives in dist/bundle too, so every such file becomes an entry of that
// name, found by scanning dist/src, and names must be unique across the source tree.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'dist', 'src');
const out = join(root, 'dist', 'bundle');

/** The worker entry files that dist/src starts, by name. */
export function workerEntries(dir = src) {
  const entries = new Map();
  for (const file of readdirSync(dir, { recursive: true })) {
    if (!file.endsWith('.js')) continue;
    const path = join(dir, file);
    for (const [, name] of readFileSync(path, 'utf8').matchAll(/new URL\('\.\/([\w-]+\.js)', import\.meta\.url\)/g)) {
      const target = join(path, '..', name);
      const known = entries.get(name);
      if (known && known !== target) throw new Error(`two worker files are named ${name} (${relative(dir, known)}, ${relative(dir, target)}): rename one, the bundle keeps them side by side`);
      entries.set(name, target);
    }
  }
  return entries;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const workers = workerEntries();
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: [{ in: join(src, 'cli', 'main.js'), out: 'main' }, ...[...workers].map(([name, path]) => ({ in: path, out: basename(name, '.js') }))],
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    // Native code and its loaders stay in node_modules; the tokenizer library loads only for text
    // models, and the ZSTD compressor (which reads its .wasm beside it) only for ZSTD output.
    external: ['onnxruntime-node', 'onnxruntime-node/*', '@huggingface/tokenizers', '@bokuweb/zstd-wasm'],
    // CommonJS dependencies (commander) require node's built-in modules, which an ES module bundle has no `require` for.
    banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
    // Stack traces map back to src/*.ts (through tsc's maps) under `node --enable-source-maps`.
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}
