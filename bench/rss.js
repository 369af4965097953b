// Loaded with `node --import`: on exit, appends this process's peak RSS (KB, all threads) and CPU
// time so far (µs, user + system, all threads) to the file named by BENCH_RSS_FILE, so the
// benchmark can read both without parsing /usr/bin/time.
import { appendFileSync } from 'node:fs';

process.on('exit', () => {
  if (!process.env.BENCH_RSS_FILE) return;
  const usage = process.resourceUsage();
  appendFileSync(process.env.BENCH_RSS_FILE, `${usage.maxRSS} ${usage.userCPUTime + usage.systemCPUTime}\n`);
});
