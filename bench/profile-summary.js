#!/usr/bin/env node
// Summarizes V8 .cpuprofile files (from `node --cpu-prof --cpu-prof-dir=DIR …`): for each
// thread's profile, self time grouped by module (csv-parse, hyparquet, our source / sink /
// batcher / preprocess / postprocess, GC, …) and the top self-time functions.
//   node bench/profile-summary.js DIR|FILE… [--top 15]
// Profiles are named CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main
// thread, the others are worker threads (bento-batch's model workers).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

const argv = process.argv.slice(2);
const topAt = argv.indexOf('--top');
const top = topAt >= 0 ? Number(argv.splice(topAt, 2)[1]) : 15;
const files = argv.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(p, f)) : [p]));
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.js DIR|FILE… [--top N]');
  process.exit(2);
}

/** Which module a frame belongs to. */
export function moduleOf(frame) {
  const { functionName: fn, url } = frame;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8/native (program)';
  if (fn === '(root)') return 'root';
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (nm) return nm[1];
  const ours = url.match(/dist\/src\/(.+?)\.js/);
  if (ours) {
    const path = ours[1];
    if (path.startsWith('source/')) return `src/source (${path.slice(7)})`;
    if (path.startsWith('sink/')) return `src/sink (${path.slice(5)})`;
    if (path === 'batch/batcher') return 'src/batch/batcher';
    if (path === 'model/preprocess') return 'src/model/preprocess';
    if (path === 'model/postprocess') return 'src/model/postprocess';
    if (path.startsWith('model/')) return `src/model (${path.slice(6)})`;
    if (path.startsWith('run/')) return `src/run (${path.slice(4)})`;
    return `src/${path}`;
  }
  if (url.includes('/bench/')) return `bench (${basename(url)})`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(14).split('/')[0] : url.slice(5)}`;
  if (url === '') return 'V8 builtins / native';
  return url;
}

function summarize(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const { samples, timeDeltas } = profile;
  // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const total = profile.endTime - profile.startTime;
  const byModule = new Map();
  const byFunction = new Map();
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id).callFrame;
    const module = moduleOf(frame);
    if (module === 'idle') idle += us;
    byModule.set(module, (byModule.get(module) ?? 0) + us);
    const key = `${frame.functionName || '(anonymous)'}\u0000${frame.url}\u0000${frame.lineNumber}`;
    const f = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', module, where: frame.url ? `${basename(frame.url)}:${frame.lineNumber + 1}` : '', us: 0 };
    f.us += us;
    byFunction.set(key, f);
  }
  return { file, total, idle, byModule, byFunction };
}

function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (align[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(headers));
  for (const r of rows) console.log(line(r));
}

const pct = (x, of) => `${((100 * x) / of).toFixed(1)}%`;
const ms = (us) => (us / 1000).toFixed(0);

for (const file of files) {
  const s = summarize(file);
  const thread = basename(file).split('.')[4];
  const busy = s.total - s.idle;
  console.log(`\n### ${basename(file)} (${thread === '0' ? 'main thread' : `worker thread ${thread}`}): ${(s.total / 1e6).toFixed(2)} s profiled, ${pct(busy, s.total)} busy`);
  console.log('\nself time by module (% of profiled time; % of busy time)');
  table(['module', 'ms', '% total', '% busy'],
    [...s.byModule].filter(([m]) => m !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, 20).map(([m, us]) => [m, ms(us), pct(us, s.total), pct(us, busy)]), ['l', 'r', 'r', 'r']);
  console.log(`\ntop ${top} functions by self time`);
  table(['#', 'function', 'module', 'where', 'ms', '% total', '% busy'],
    [...s.byFunction.values()].filter((f) => f.module !== 'idle').sort((a, b) => b.us - a.us).slice(0, top).map((f, i) => [i + 1, f.name, f.module, f.where, ms(f.us), pct(f.us, s.total), pct(f.us, busy)]), ['r', 'l', 'l', 'l', 'r', 'r', 'r']);
}
