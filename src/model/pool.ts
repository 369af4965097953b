/**
 * @file Where the model runs: a fixed set of worker threads, one session each (`run` waits for
 * an idle worker, so at most `size` batches are in the model at once), or one session on the
 * calling thread when the model is cheaper to run than to hand to a worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import { BentoError } from '../errors.js';
import { Session, type Signature, type SessionOptions, type TensorData, transferables } from './session.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.js';

/**
 * `workers`: every batch on the model worker threads. `inline`: on the calling (scoring) thread,
 * no workers. `auto`: workers, until the first batches show that the model runs faster than a
 * batch can be handed to a worker and back; then inline.
 */
export type Placement = 'auto' | 'workers' | 'inline';

/**
 * session.run time (ms a batch, timed on a worker: the 10th percentile of a window, see
 * `windowsTimed`) under which `auto` moves the model onto the calling thread. Handing a batch to a worker and taking its result back cost ~120 µs
 * of CPU a batch in all, ~45 µs of it on the calling thread (perf, tiny penguins model, batches
 * of 256, 2 cores: the run's CPU fell by that much inline). Where the workers have no cores of
 * their own (2 or fewer), every thread pays for that CPU, so a model under ~100 µs is cheaper to
 * run than to send; with more cores, only the calling thread's share counts.
 */
export function inlineBelowMs(cores: number): number {
  return cores <= 2 ? 0.1 : 0.045;
}

export interface PoolOptions {
  /** Worker threads, one session each. */
  readonly size: number;
  /** Default `workers`. */
  readonly placement?: Placement;
  /** Session options on the workers, and for a session on the calling thread (default: the same). */
  readonly workers: SessionOptions;
  readonly inline?: SessionOptions;
  /** `auto` moved the model onto the calling thread: a batch ran in `runMs` on the workers (10th percentile). */
  readonly moved?: (runMs: number) => void;
  /** Default inlineBelowMs(the cores here). */
  readonly inlineBelowMs?: number;
}

/**
 * `auto` skips the first `warmup` batches (cold code, cold caches), then times windows of
 * `timedBatches` and moves the model at the first window whose 10th-percentile run is under the
 * threshold, for at most `windowsTimed` windows. A run is timed by the wall clock, which counts
 * the time the worker waits for a core: on 2 cores shared with reading and encoding, the tiny
 * penguins model's batches of 256 took 28–130 µs at the 10th percentile of a window and 43–232
 * µs at the median (24 µs a batch of CPU in --cpu-prof), so the median of one window kept it on
 * the workers in most runs, at ~25% more wall time. A low percentile is what the model costs when it has a
 * core; further windows let the start-up's contention (threads loading modules) pass.
 */
const warmup = 32;
const timedBatches = 64;
const windowsTimed = 8;

interface Pending {
  resolve(result: { outputs: Record<string, TensorData>; runMs: number }): void;
  reject(error: Error): void;
}

class ModelWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #exited: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'run-error') return;
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.type === 'result') pending?.resolve(reply);
      else pending?.reject(new Error(reply.message));
    });
    const fail = (error: Error) => {
      this.#exited = error;
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the model worker exited (code ${code})`)));
  }

  static start(init: WorkerInit): Promise<{ worker: ModelWorker; ready: Extract<WorkerReply, { type: 'ready' }> }> {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the model worker exited (code ${code}) while loading`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (reply.type === 'ready') resolve({ worker: new ModelWorker(worker), ready: reply });
        else {
          void worker.terminate();
          reject(new Error(reply.type === 'load-error' ? reply.message : 'unexpected reply while loading'));
        }
      });
    });
  }

  run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<{ outputs: Record<string, TensorData>; runMs: number }> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, feeds, fetch } satisfies WorkerRequest, transferables(feeds));
    });
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * Batches each worker holds: one running and one queued in its port, so a worker that finishes
 * starts the next batch at once instead of waiting for a busy main thread to hand it one.
 */
const depth = 2;

/** The model's sessions: on worker threads, or one on the calling thread (see Placement). */
export class ModelPool {
  #workers: ModelWorker[];
  readonly #load: number[];
  readonly #queue: PQueue;
  readonly #capacity: number;
  #inline: Session | undefined;
  /** Set while `auto` still times batches on the workers. */
  #timing: { seen: number; windows: number; readonly runMs: number[]; readonly belowMs: number; readonly load: () => Promise<Session>; readonly moved: (runMs: number) => void } | undefined;
  #moving: Promise<void> | undefined;
  readonly signature: Signature;
  readonly providers: readonly string[];
  readonly note: string | undefined;

  private constructor(workers: ModelWorker[], inline: Session | undefined, ready: Pick<Extract<WorkerReply, { type: 'ready' }>, 'signature' | 'providers' | 'note'>, capacity: number) {
    this.#workers = workers;
    this.#inline = inline;
    this.#load = workers.map(() => 0);
    this.#capacity = capacity;
    this.#queue = new PQueue({ concurrency: Math.max(1, workers.length * depth) });
    this.signature = ready.signature;
    this.providers = ready.providers;
    this.note = ready.note;
  }

  /** Starts `size` workers and loads the model in each (or, `inline`, one session here); throws MODEL_LOAD naming the file. */
  static async create(modelFile: string, options: PoolOptions): Promise<ModelPool> {
    const { size, placement = 'workers' } = options;
    const inlineOptions = options.inline ?? options.workers;
    const loadFailed = (error: unknown) => {
      const message = (error as Error).message;
      return new BentoError('MODEL_LOAD', `Model file ${modelFile} cannot be loaded by onnxruntime: ${message.split('\n')[0]}`, {
        file: modelFile, hint: 'Check that the file is an ONNX model (re-export it, e.g. with torch.onnx.export) and that the bundle is complete.',
      });
    };
    if (placement === 'inline') {
      const session = await Session.create(modelFile, inlineOptions).catch((error: unknown) => { throw loadFailed(error); });
      return new ModelPool([], session, { signature: session.signature, providers: session.providers, note: session.fallbackNote }, size * depth);
    }
    const started = await Promise.allSettled(Array.from({ length: size }, () => ModelWorker.start({ modelFile, options: options.workers })));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.worker.stop()] : [])));
      throw loadFailed(failed.reason);
    }
    const ok = started as PromiseFulfilledResult<Awaited<ReturnType<typeof ModelWorker.start>>>[];
    const pool = new ModelPool(ok.map((s) => s.value.worker), undefined, ok[0]!.value.ready, size * depth);
    if (placement === 'auto') pool.#timing = { seen: 0, windows: 0, runMs: [], belowMs: options.inlineBelowMs ?? inlineBelowMs(availableParallelism()), load: () => Session.create(modelFile, inlineOptions), moved: options.moved ?? (() => {}) };
    return pool;
  }

  /** Batches the pool can usefully hold at once (running plus queued in the workers). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Where batches run now. */
  get placement(): 'workers' | 'inline' {
    return this.#inline ? 'inline' : 'workers';
  }

  /** Runs a batch on this thread or on the next idle worker. Rejects with the runtime's own message. */
  async run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, TensorData>> {
    if (this.#inline) return this.#inline.run(feeds, fetch);
    const { outputs, runMs } = await this.#queue.add(async () => {
      const k = this.#load.indexOf(Math.min(...this.#load));
      this.#load[k]!++;
      try {
        return await this.#workers[k]!.run(feeds, fetch);
      } finally {
        this.#load[k]!--;
      }
    });
    this.#time(runMs);
    return outputs;
  }

  #time(runMs: number): void {
    const timing = this.#timing;
    if (!timing) return;
    if (++timing.seen <= warmup) return;
    timing.runMs.push(runMs);
    if (timing.runMs.length < timedBatches) return;
    const low = timing.runMs.sort((a, b) => a - b)[Math.floor(timedBatches / 10)]!;
    timing.runMs.length = 0;
    if (low >= timing.belowMs) {
      if (++timing.windows >= windowsTimed) this.#timing = undefined;
      return;
    }
    this.#timing = undefined;
    // Batches go on to the workers until the session here is loaded; the workers stop once idle.
    this.#moving = (async () => {
      let session: Session;
      try {
        session = await timing.load();
      } catch {
        return; // it loaded on the workers; if it cannot here, they keep it
      }
      this.#inline = session;
      timing.moved(low);
      await this.#queue.onIdle();
      const workers = this.#workers;
      this.#workers = [];
      await Promise.all(workers.map((w) => w.stop()));
    })();
  }

  /** Stops every worker and releases the session here; pending runs reject. */
  async dispose(): Promise<void> {
    this.#queue.clear();
    await this.#moving;
    await Promise.all(this.#workers.map((w) => w.stop()));
    await this.#inline?.dispose();
  }
}
