#!/usr/bin/env node
// A signal in the first moments, while node loads the bundle, is held for the run (src/run/signals.ts,
// holdSignals takes it over): a Kubernetes pod stopped as its job starts still stops cleanly.
const held = { signal: undefined, off() {} };
if (process.argv.includes('run')) {
  const hold = (name) => (held.signal ??= name);
  process.on('SIGINT', hold).on('SIGTERM', hold);
  held.off = () => process.off('SIGINT', hold).off('SIGTERM', hold);
  globalThis[Symbol.for('bento-batch.held-signal')] = held;
  // A test signals the process here, the bundle not yet loaded (as src/checkpoint/failpoint.ts's `name:1:wait`).
  if (process.env.BENTO_BATCH_FAILPOINT === 'bin-started:1:wait') {
    process.stderr.write('failpoint bin-started\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
}
// The bundle of dist/src/cli/main.js (scripts/bundle.js, run by `npm run build`): it starts faster.
await import('../dist/bundle/main.js');
