/**
 * @file Runs a job on the scoring thread (run/scoring-worker.ts) and relays what it reports: the start,
 * live counters for the progress bar, log lines, and the summary or the error.
 */
import { Worker } from 'node:worker_threads';
import { releaseOrphanedLock } from '../checkpoint/lock.js';
import { deserializeError, memoryLimitError } from '../errors.js';
import { compileOnOwnThread, defaultMemoryMb, scoringShare, scoringYoungMb } from './memory.js';
import type { RunStats, RunSummary } from './pipeline.js';
import type { JobReply, JobRequest, JobWorkerInit } from './scoring-worker.js';

export interface JobThreadHooks {
  readonly stats: RunStats;
  readonly signal?: AbortSignal;
  /** Stop at the next batch, without finishing a Parquet row group (signals.ts, PID 1). */
  readonly now?: AbortSignal;
  /** The job is prepared (inputs opened, model loaded) and starts reading. */
  readonly started?: (job: Extract<JobReply, { type: 'started' }>) => void;
  readonly info?: (message: string, event: string) => void;
  readonly warn?: (message: string) => void;
}

/** A scoring thread, started before its job is known (startScoringThread). */
export interface ScoringThread {
  /** The `limits.memory` its heap caps were set from. */
  readonly memoryMb: number;
  readonly worker: Worker;
  /** Resolves when its imports are done (or it died): only then can it be stopped safely. */
  readonly loaded: Promise<void>;
  /** Given a job (runJobThread), ended unused (discard), or died while it waited. */
  done: boolean;
}

/**
 * Starts a scoring thread for a job whose `limits.memory` is `memoryMb`, before the job file is
 * read: the thread's imports (the pipeline, onnxruntime, the Parquet libraries: ~100 ms) then
 * run while the main thread loads and checks the job, instead of after. Until it is given a job
 * it does not keep the process alive.
 */
export function startScoringThread(memoryMb: number = defaultMemoryMb): ScoringThread {
  compileOnOwnThread();
  const worker = new Worker(new URL('./scoring-worker.js', import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: Math.round(memoryMb * scoringShare), maxYoungGenerationSizeMb: scoringYoungMb(memoryMb) },
  });
  worker.unref();
  let loadedNow!: () => void;
  const thread: ScoringThread = { memoryMb, worker, loaded: new Promise<void>((resolve) => (loadedNow = resolve)), done: false };
  worker.once('message', loadedNow);
  // A thread that dies before it has a job is replaced then; its error has no one to go to yet.
  const died = () => {
    thread.done = true;
    loadedNow();
  };
  worker.once('error', died);
  worker.once('exit', died);
  return thread;
}

/**
 * Ends a scoring thread that was not given a job, once its imports are done: stopped while
 * onnxruntime-node's native module was loading, the process aborted (exit 134, "terminate called
 * after throwing an instance of 'Napi::Error'") instead of exiting with the job's error, in ~1
 * of 10 runs of a job file that fails its checks.
 */
export async function discard(thread: ScoringThread | undefined): Promise<void> {
  if (!thread || thread.done) return;
  thread.done = true;
  thread.worker.ref();
  await thread.loaded;
  await thread.worker.terminate();
}

/**
 * Runs the job on a scoring thread: `early` when its heap caps fit the job, else a new one. The
 * job's errors reject as thrown there.
 */
export function runJobThread(init: JobWorkerInit, hooks: JobThreadHooks, early?: ScoringThread): Promise<RunSummary> {
  const memoryMb = init.spec.limits.memoryMb;
  let thread = early;
  if (thread && (thread.done || thread.memoryMb !== memoryMb)) {
    void discard(thread);
    thread = undefined;
  }
  thread ??= startScoringThread(memoryMb);
  thread.done = true;
  const { worker } = thread;
  worker.ref();
  worker.postMessage({ type: 'job', init } satisfies JobRequest);
  // This thread only relays from here on: it makes onnxruntime's process-wide environment while
  // the scoring thread finishes its imports, so the scoring thread's first session does not.
  void import('../model/session.js').then((s) => s.initRuntime(), () => undefined);
  const abort = () => worker.postMessage({ type: 'abort', signal: hooks.signal!.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT' } satisfies JobRequest);
  if (hooks.signal?.aborted) abort();
  hooks.signal?.addEventListener('abort', abort, { once: true });
  hooks.now?.addEventListener('abort', () => worker.postMessage({ type: 'abort', signal: hooks.now!.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT', now: true } satisfies JobRequest), { once: true });
  let progress = hooks.stats.sourceProgress?.();
  hooks.stats.sourceProgress = () => progress;
  return new Promise<RunSummary>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', abort);
      f();
    };
    worker.on('message', (reply: JobReply) => {
      switch (reply.type) {
        case 'started': hooks.started?.(reply); break;
        case 'stats': {
          const { sourceProgress, ...counts } = reply.stats;
          Object.assign(hooks.stats, counts);
          progress = sourceProgress;
          break;
        }
        case 'log':
          if (reply.level === 'warn') hooks.warn?.(reply.message);
          else hooks.info?.(reply.message, reply.event);
          break;
        case 'done': settle(() => resolve(reply.summary)); break;
        case 'failed': settle(() => reject(deserializeError(reply.error))); break;
      }
    });
    // A thread that dies took no part in its job's end: its lock is released here.
    const orphaned = (error: unknown) => settle(() => {
      const checkpoint = init.spec.checkpoint?.path;
      void (checkpoint ? releaseOrphanedLock(checkpoint) : Promise.resolve()).then(() => reject(error));
    });
    worker.on('error', (error) => orphaned(memoryLimitError(error, memoryMb, 'scoring thread')));
    worker.on('exit', (code) => orphaned(new Error(`the scoring thread exited (code ${code}) before the job finished`)));
  });
}
