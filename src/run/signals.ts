/**
 * @file SIGINT/SIGTERM → an AbortSignal the pipeline checks between batches. A second signal (a
 * quarter of a second after the first, or of the other name) stops the process at once with the
 * signal's default action (as PID 1: at the next batch).
 */
import { BentoError } from '../errors.js';

export interface SignalScope {
  readonly signal: AbortSignal;
  /** A second signal to PID 1 (see trapSignals): stop at the next batch, without finishing a Parquet row group. */
  readonly now: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
  /**
   * The run has ended (its summary is being written): a first signal now changes nothing, as the
   * exit status and summary already say how it ended, rather than killing the process with a
   * status that says it was stopped; a second one still ends the process at once.
   */
  settle(): void;
}

type Name = 'SIGINT' | 'SIGTERM';

/**
 * A second signal of the same name sooner than this after the first is the first one again (see
 * trapSignals): GNU timeout's two arrive within a millisecond; a person pressing Ctrl-C again
 * takes longer than this.
 */
const sameRequestMs = 250;

/** A signal that came while held (holdSignals), before trapSignals took over. */
let early: Name | undefined;
const holdInt = () => (early ??= 'SIGINT');
const holdTerm = () => (early ??= 'SIGTERM');

/**
 * Keeps the first SIGINT/SIGTERM from the process's first moments for trapSignals: a run loads
 * its threads, job and model before it can stop cleanly, and as PID 1 (a container's
 * entrypoint) a signal that finds no handler is dropped, so a pod told to stop then would run on
 * to the end of its grace period.
 */
export function holdSignals(): void {
  process.on('SIGINT', holdInt);
  process.on('SIGTERM', holdTerm);
  // bin/bento-batch.js held them while node loaded the bundle: one it caught is this one's now.
  const bin = (globalThis as Record<symbol, { signal?: Name; off(): void } | undefined>)[Symbol.for('bento-batch.held-signal')];
  if (bin) {
    bin.off();
    early ??= bin.signal;
  }
}

/** Ends holdSignals for a command that does not trap them: a signal held meanwhile takes its default action now. */
export function releaseSignals(): void {
  process.off('SIGINT', holdInt);
  process.off('SIGTERM', holdTerm);
  if (!early) return;
  // As PID 1 the default action is ignored: exit with the status a shell gives it.
  if (process.pid === 1) process.exit(early === 'SIGINT' ? 130 : 143);
  process.kill(process.pid, early);
}

/** Routes the first SIGINT/SIGTERM (one held since holdSignals too) to `signal` (its reason is the signal name) and calls `onFirst`; `onSecond` is called just before a second one ends the process. */
export function trapSignals(onFirst: (name: Name) => void, onSecond?: (name: Name) => void): SignalScope {
  const controller = new AbortController();
  const now = new AbortController();
  let settled = false;
  let late = 0;
  let first: { name: Name; at: number } | undefined;
  const handler = (name: Name) => {
    // GNU timeout sends its signal to the command and then to its own process group, which holds
    // the command: one SIGTERM arrives twice, microseconds apart, and stopped a cron job's run at
    // once instead of letting it finish its batches. A repeat so soon is that one request.
    if (first && first.name === name && performance.now() - first.at < sameRequestMs) return;
    if (settled && late++ === 0) return;
    if (settled) {
      dispose();
      if (process.pid === 1) process.exit(name === 'SIGINT' ? 130 : 143);
      process.kill(process.pid, name);
      return;
    }
    if (controller.signal.aborted) {
      // As PID 1 (a container's entrypoint) the kernel ignores a signal left to its default
      // action, and exiting from here under a running onnxruntime session aborts the process: the
      // run stops at its next batch instead, with the signal's exit status.
      if (process.pid === 1) {
        now.abort(name);
        return;
      }
      dispose();
      onSecond?.(name);
      // The default action ends the process now, with the exit status a shell expects for the signal.
      process.kill(process.pid, name);
      return;
    }
    first = { name, at: performance.now() };
    controller.abort(name);
    onFirst(name);
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.off('SIGINT', holdInt);
  process.off('SIGTERM', holdTerm);
  if (early) {
    const name = early;
    early = undefined;
    // Once the caller has its scope, as for a signal that comes now.
    queueMicrotask(() => handler(name));
  }
  const dispose = () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  return { signal: controller.signal, now: now.signal, dispose, settle: () => (settled = true) };
}

/** The error of a run stopped by `reason` (a signal's name) before it read a row. */
export function notStarted(reason: unknown): BentoError {
  const signal = reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
  return new BentoError('INTERRUPTED', `Interrupted by ${signal} before the run started; nothing was done`, { signal, hint: 'Run the same command again to start (or to resume, where an earlier run left a checkpoint).' });
}
