/**
 * @file SIGINT/SIGTERM → an AbortSignal the pipeline checks between batches. A second signal
 * stops the process at once with the signal's default action (as PID 1: at the next batch).
 */

export interface SignalScope {
  readonly signal: AbortSignal;
  /** A second signal to PID 1 (see trapSignals): stop at the next batch, without finishing a Parquet row group. */
  readonly now: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

/** Routes the first SIGINT/SIGTERM to `signal` (its reason is the signal name) and calls `onFirst`. */
export function trapSignals(onFirst: (name: 'SIGINT' | 'SIGTERM') => void): SignalScope {
  const controller = new AbortController();
  const now = new AbortController();
  const handler = (name: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) {
      // As PID 1 (a container's entrypoint) the kernel ignores a signal left to its default
      // action, and exiting from here under a running onnxruntime session aborts the process: the
      // run stops at its next batch instead, with the signal's exit status.
      if (process.pid === 1) {
        now.abort(name);
        return;
      }
      dispose();
      // The default action ends the process now, with the exit status a shell expects for the signal.
      process.kill(process.pid, name);
      return;
    }
    controller.abort(name);
    onFirst(name);
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const dispose = () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  return { signal: controller.signal, now: now.signal, dispose };
}
