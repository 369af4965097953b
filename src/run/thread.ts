/**
 * @file Runs a job on the scoring thread (run/worker.ts) and relays what it reports: the start,
 * live counters for the progress bar, log lines, and the summary or the error.
 */
import { Worker } from 'node:worker_threads';
import { deserializeError, memoryLimitError } from '../errors.js';
import { scoringShare, scoringYoungMb } from './memory.js';
import type { RunStats, RunSummary } from './pipeline.js';
import type { JobReply, JobRequest, JobWorkerInit } from './worker.js';

export interface JobThreadHooks {
  readonly stats: RunStats;
  readonly signal?: AbortSignal;
  /** The job is prepared (inputs opened, model loaded) and starts reading. */
  readonly started?: (job: Extract<JobReply, { type: 'started' }>) => void;
  readonly info?: (message: string, event: string) => void;
  readonly warn?: (message: string) => void;
}

/** Runs the job on its own thread; the job's errors reject as thrown there. */
export function runJobThread(init: JobWorkerInit, hooks: JobThreadHooks): Promise<RunSummary> {
  const memoryMb = init.spec.limits.memoryMb;
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: init,
    resourceLimits: { maxOldGenerationSizeMb: Math.round(memoryMb * scoringShare), maxYoungGenerationSizeMb: scoringYoungMb(memoryMb) },
  });
  const abort = () => worker.postMessage({ type: 'abort', signal: hooks.signal!.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT' } satisfies JobRequest);
  if (hooks.signal?.aborted) abort();
  hooks.signal?.addEventListener('abort', abort, { once: true });
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
    worker.on('error', (error) => settle(() => reject(memoryLimitError(error, memoryMb, 'scoring thread'))));
    worker.on('exit', (code) => settle(() => reject(new Error(`the scoring thread exited (code ${code}) before the job finished`))));
  });
}
