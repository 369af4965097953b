#!/usr/bin/env node
// Where the scoring pipeline allocates, garbage included: runs a job's reading, batching,
// pre/post-processing (model workers and writer threads as in a real run) on this thread under
// V8's sampling heap profiler, keeping samples of objects the GC has since collected, and prints
// the bytes allocated per function. A --cpu-prof shows GC time; this shows what made it.
//   npm run build && node bench/alloc-profile.js job.yaml [--top 30] [--interval 8192]
// Allocation on the writer and encoder threads is not sampled (they are other isolates).
import { Session } from 'node:inspector/promises';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv.splice(at, 2)[1]) : fallback;
};
const top = option('--top', 30);
const interval = option('--interval', 8192);
const jobFile = argv[0];
if (!jobFile) {
  console.error('usage: node bench/alloc-profile.js job.yaml [--top 30] [--interval 8192]');
  process.exit(2);
}

const root = new URL('../dist/src/', import.meta.url);
const { loadJob } = await import(new URL('job/load.js', root));
const { prepareJob, runPrepared } = await import(new URL('run/pipeline.js', root));

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
const prepared = await prepareJob(await loadJob(jobFile, { overrides: [] }));
await session.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const summary = await runPrepared(prepared, { restart: true, stats: { rowsRead: 0, rowsWritten: 0, batches: 0 } });
const { profile } = await session.post('HeapProfiler.stopSampling');

const bytes = new Map();
let total = 0;
const frame = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'}  ${url ? `${url.replace(/^.*\/(src|node_modules)\//, '')}:${lineNumber + 1}` : '(native)'}`;
// A builtin (slice, next, ...) is named with the function that called it: alone it says little.
const walk = (node, caller) => {
  const key = node.callFrame.url || !caller ? frame(node.callFrame) : `${frame(node.callFrame)}  ← ${frame(caller)}`;
  bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const child of node.children) walk(child, node.callFrame.url ? node.callFrame : caller);
};
walk(profile.head);
const rows = summary.input.rows;
console.log(`${(total / 1e6).toFixed(0)} MB allocated (sampled) for ${rows.toLocaleString('en-US')} rows: ${Math.round(total / Math.max(1, rows))} bytes a row`);
for (const [key, size] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(size / 1e6).toFixed(1).padStart(8)} MB  ${key}`);
