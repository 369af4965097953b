#!/usr/bin/env node
// Where a run's threads spend their time (Linux): runs a command and samples every thread's
// /proc/PID/task/TID/schedstat every 20 ms, then prints each busy thread's time on a core, its
// wait for one (run queue) and its sleep (lifetime less both), and the process's CPU. A thread
// that sleeps while it is the run's busiest is waiting on another stage: this found the Parquet
// reading thread waiting for its encoder (docs/performance.md, "Threads, writes and posts").
//   node bench/threads.js -- node bin/bento-batch.js run job.yaml --progress none --restart
// Threads are shown by id in the order they started (main, V8's helpers, then the run's own:
// scoring, writer or encoders, model workers); node names them all "node".
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const at = process.argv.indexOf('--');
const command = at >= 0 ? process.argv.slice(at + 1) : [];
if (command.length === 0) {
  console.error('usage: node bench/threads.js -- COMMAND [ARGS...]');
  process.exit(2);
}
const started = Date.now();
const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => (stderr += d));
/** Per thread id: when first seen (ms), and the last sample (ns on a core, ns waiting). */
const threads = new Map();
const sample = () => {
  let tids;
  try {
    tids = readdirSync(`/proc/${child.pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const [run, wait] = readFileSync(`/proc/${child.pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      const t = threads.get(tid) ?? { first: Date.now() };
      threads.set(tid, { ...t, last: Date.now(), run, wait });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
};
const timer = setInterval(sample, 20);
child.on('exit', (code) => {
  clearInterval(timer);
  const wall = (Date.now() - started) / 1000;
  const rows = [...threads].sort((a, b) => Number(a[0]) - Number(b[0]));
  const cpu = rows.reduce((sum, [, t]) => sum + t.run, 0) / 1e9;
  if (code !== 0) process.stderr.write(stderr);
  console.log(`wall ${wall.toFixed(2)} s, CPU ${cpu.toFixed(2)} s (${(cpu / wall).toFixed(2)} cores), exit ${code}`);
  console.log('thread     on a core   waiting   sleeping   (seconds)');
  for (const [tid, t] of rows) {
    if (t.run < 20e6) continue;
    const life = (t.last - t.first) / 1000;
    const sleep = Math.max(0, life - t.run / 1e9 - t.wait / 1e9);
    console.log(`${tid.padEnd(8)} ${(t.run / 1e9).toFixed(2).padStart(10)} ${(t.wait / 1e9).toFixed(2).padStart(9)} ${sleep.toFixed(2).padStart(10)}`);
  }
});
