// Loaded with `node --import`: on exit, appends this process's peak RSS (all threads) to the
// file named by BENCH_RSS_FILE, so the benchmark can read it without parsing /usr/bin/time.
import { appendFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) appendFileSync(process.env.BENCH_RSS_FILE, `${process.resourceUsage().maxRSS}\n`);
});
