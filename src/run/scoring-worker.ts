/**
 * @file The scoring thread: loads, prepares and runs one job (run/pipeline.ts) off the main
 * thread, under the heap cap its share of `limits.memory` sets, so memory stays flat however
 * large the input. The main thread keeps the progress bar, the logs and the signals.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError, type SerializedError } from '../errors.js';
import type { JobSpec } from '../job/spec.js';
import type { Bundle } from '../model/bundle.js';
import type { SourceProgress } from '../source/types.js';
import { setHeapGrowing } from './memory.js';
import { prepareJob, runPrepared, type RunStats, type RunSummary, unlessStopped } from './pipeline.js';

/**
 * The job as the main thread loaded and checked it, and its model bundle, posted once the thread
 * has started (run/thread.ts): this thread does not parse YAML or run the schema checks again, so
 * it starts without loading them (~60 ms).
 */
export interface JobWorkerInit {
  readonly spec: JobSpec;
  readonly bundle: Bundle;
  readonly restart: boolean;
}

export interface StatsSnapshot {
  readonly rowsRead: number;
  readonly rowsDone: number | undefined;
  readonly rowsWritten: number;
  readonly rowsWrittenBefore: number | undefined;
  readonly rowsFailed: number | undefined;
  readonly batches: number;
  readonly sourceProgress: SourceProgress | undefined;
}

export type JobRequest =
  | { readonly type: 'job'; readonly init: JobWorkerInit }
  | { readonly type: 'abort'; readonly signal: 'SIGINT' | 'SIGTERM'; readonly now?: boolean };

export type JobReply =
  /** Its imports are done: from here it can be stopped (see discard in run/thread.ts). */
  | { readonly type: 'loaded' }
  | { readonly type: 'started'; readonly name: string; readonly files: readonly string[]; readonly model: string; readonly output: string }
  | { readonly type: 'stats'; readonly stats: StatsSnapshot }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly message: string; readonly event: string }
  | { readonly type: 'done'; readonly summary: RunSummary }
  | { readonly type: 'failed'; readonly error: SerializedError };

const port = parentPort!;
const post = (reply: JobReply) => port.postMessage(reply);
post({ type: 'loaded' });
const controller = new AbortController();
let start: (init: JobWorkerInit) => void;
const job = new Promise<JobWorkerInit>((resolve) => (start = resolve));
let now = false;
port.on('message', (request: JobRequest) => {
  if (request.type === 'job') start(request.init);
  else {
    now ||= request.now ?? false;
    if (!controller.signal.aborted) controller.abort(request.signal);
  }
});
const init = await job;

const stats: RunStats = { rowsRead: 0, rowsWritten: 0, batches: 0 };
const snapshot = (): StatsSnapshot => ({
  rowsRead: stats.rowsRead, rowsDone: stats.rowsDone, rowsWritten: stats.rowsWritten, rowsWrittenBefore: stats.rowsWrittenBefore, rowsFailed: stats.rowsFailed, batches: stats.batches,
  sourceProgress: stats.sourceProgress?.(),
});
let timer: NodeJS.Timeout | undefined;
try {
  const { spec } = init;
  const prepared = await unlessStopped(prepareJob(spec, init.bundle), controller.signal);
  const m = prepared.bundle.manifest;
  timer = setInterval(() => post({ type: 'stats', stats: snapshot() }), 100);
  const summary = await runPrepared(prepared, {
    signal: controller.signal, stopNow: () => now, stats, restart: init.restart,
    started: () => post({ type: 'started', name: spec.name, files: prepared.source.files, model: `${m.name}:${m.version}`, output: spec.output.path }),
    // Once the run's threads have started: setHeapGrowing says why.
    loaded: setHeapGrowing,
    info: (message, event) => post({ type: 'log', level: 'info', message, event }),
    warn: (message) => post({ type: 'log', level: 'warn', message, event: 'warning' }),
  });
  clearInterval(timer);
  post({ type: 'stats', stats: snapshot() });
  post({ type: 'done', summary });
} catch (error) {
  clearInterval(timer);
  // How far a failed run got, for its summary.
  post({ type: 'stats', stats: snapshot() });
  post({ type: 'failed', error: serializeError(error) });
}
port.close();
