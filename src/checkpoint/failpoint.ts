/**
 * @file Crash injection for the checkpoint tests: `BENTO_BATCH_FAILPOINT=name:n` kills the
 * process with SIGKILL the n-th time it passes the named point, so a test can crash between
 * exactly the two system calls it wants to; `name:n:stop` stops it with SIGSTOP instead (a paused
 * VM, a frozen node), for a test to let it go on later; `name:n:wait` says `failpoint NAME` on
 * stderr and blocks for a second, for a test to signal it at that point.
 */
const [name, nth, how] = (process.env.BENTO_BATCH_FAILPOINT ?? '').split(':');
let hits = 0;

/** Dies here if the environment says so; otherwise a no-op. */
export function failpoint(point: string): void {
  if (point !== name) return;
  hits++;
  if (hits !== Number(nth ?? 1)) return;
  if (how === 'wait') {
    process.stderr.write(`failpoint ${point}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  } else process.kill(process.pid, how === 'stop' ? 'SIGSTOP' : 'SIGKILL');
}
