/** trapSignals (src/run/signals.ts) in this process: a first signal stops the run, its repeat within a quarter of a second (GNU timeout's) is the same request, one after the run has ended changes nothing. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { trapSignals } from '../../src/run/signals.js';

test('a first SIGTERM aborts the run\'s signal and is told; once the run has ended (settle), a SIGTERM is taken without a word and the process lives on to exit with the run\'s status', async () => {
  const told: string[] = [];
  const scope = trapSignals((name) => told.push(name));
  try {
    process.kill(process.pid, 'SIGTERM');
    await sleep(50);
    assert.deepEqual([scope.signal.aborted, scope.signal.reason, told], [true, 'SIGTERM', ['SIGTERM']]);
  } finally {
    scope.dispose();
  }
  // A run that finished just as a SIGTERM came: the summary says completed, and so must the exit status.
  const finished = trapSignals((name) => told.push(`late ${name}`));
  try {
    finished.settle();
    process.kill(process.pid, 'SIGTERM');
    await sleep(50);
    assert.deepEqual([finished.signal.aborted, told], [false, ['SIGTERM']]);
  } finally {
    finished.dispose();
  }
});

test('the same signal twice at once (GNU timeout signals the command, then its process group) is one request: the run stops gracefully, not at once', async () => {
  const told: string[] = [];
  const scope = trapSignals((name) => told.push(name), (name) => told.push(`again ${name}`));
  try {
    process.kill(process.pid, 'SIGTERM');
    process.kill(process.pid, 'SIGTERM');
    await sleep(50);
    // Still alive: a second request would have ended this process with the signal's default action.
    assert.deepEqual([scope.signal.aborted, told], [true, ['SIGTERM']]);
  } finally {
    scope.dispose();
  }
});
