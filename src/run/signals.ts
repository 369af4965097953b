/**
 * @file SIGINT/SIGTERM → an AbortSignal the pipeline checks between batches. A second signal
 * stops the process at once with the signal's default action.
 */

export interface SignalScope {
  readonly signal: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

/** Routes the first SIGINT/SIGTERM to `signal` (its reason is the signal name) and calls `onFirst`. */
export function trapSignals(onFirst: (name: 'SIGINT' | 'SIGTERM') => void): SignalScope {
  const controller = new AbortController();
  const handler = (name: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) {
      dispose();
      // The default action ends the process now, with the exit status a shell expects for the signal.
      process.kill(process.pid, name);
      // As PID 1 (a container's entrypoint) the kernel ignores a signal with its default action: exit with its status.
      setTimeout(() => process.exit(name === 'SIGINT' ? 130 : 143), 50);
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
  return { signal: controller.signal, dispose };
}
