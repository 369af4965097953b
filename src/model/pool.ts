/**
 * @file Where the model runs: a fixed set of worker threads, one session each (`run` waits for
 * an idle worker, so at most `size` batches are in the model at once), or one session on the
 * calling thread when the model is cheaper to run than to hand to a worker.
 */
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import { usableCores } from '../cores.js';
import { BentoError, oneLine } from '../errors.js';
import { compact } from '../source/blocks.js';
import { Session, type Signature, type SessionOptions, type TensorData, transferables } from './session.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './model-worker.js';

/**
 * `workers`: every batch on the model worker threads. `inline`: on the calling (scoring) thread,
 * no workers. `auto`: wherever the model's batches turn out to be cheaper, by timing the first
 * ones (see `windowsTimed`).
 */
export type Placement = 'auto' | 'workers' | 'inline';

/**
 * session.run time (ms a batch: the 10th percentile of a window, see `windowsTimed`) under which
 * `auto` keeps the model on the calling thread, or moves it there. Handing a batch to a worker
 * and taking its result back cost ~120 µs of CPU a batch in all, ~45 µs of it on the calling
 * thread (perf, tiny penguins model, batches of 256, 2 cores: the run's CPU fell by that much
 * inline). Where the workers have no cores of their own (2 or fewer), every thread pays for that
 * CPU, so a model under ~100 µs is cheaper to run than to send; with more cores, only the calling
 * thread's share counts.
 */
export function inlineBelowMs(cores: number): number {
  return cores <= 2 ? 0.1 : 0.045;
}

/** The rows of a batch's feeds: each has them first, so the first one read says. */
function feedRows(feeds: Record<string, TensorData>): number | undefined {
  for (const name in feeds) return feeds[name]!.dims[0];
  return undefined;
}

/**
 * Model files up to this size start `auto` on the calling thread, and go to the workers if their
 * batches prove costly: a run then starts scoring as soon as one session is loaded, and loads no
 * worker for a cheap model (on 2 cores, two workers' start-up took ~0.2 s of the scoring thread's
 * way into a run). Larger files start on the workers, so their weights are never loaded three
 * times at once while the model moves.
 */
export const inlineFirstMaxBytes = 64 * 2 ** 20;

/**
 * Scoring-thread time (ms) that the batches left must take for a move to the workers to pay: the
 * workers load while the batches go on here, and only then share the cores. On 2 cores, two
 * workers of the wide and deep MLPs were ready 0.40–0.50 s after the run's `start` event, the
 * first batches included (`placement` events); a 10,320-row wide MLP job ended 15–130 ms after
 * its move, which had only taken cores from it.
 */
export const workersPayAfterMs = 500;

export interface PoolOptions {
  /** Worker threads, one session each. */
  readonly size: number;
  /** Rows a batch holds (batch.size), which sets how many each worker is given ahead (workerDepth); default 2 batches. */
  readonly batchRows?: number;
  /** Default `workers`. */
  readonly placement?: Placement;
  /** Session options on the workers, and for a session on the calling thread (default: the same). */
  readonly workers: SessionOptions;
  readonly inline?: SessionOptions;
  /** `auto` moved the model (`to` the calling thread or the workers): a batch ran in `runMs` (10th percentile) where it was. */
  readonly moved?: (to: 'inline' | 'workers', runMs: number) => void;
  /** `auto` meant to move the model there, but it could not be loaded there: it stays where it is. */
  readonly notMoved?: (to: 'inline' | 'workers', error: Error) => void;
  /** Default inlineBelowMs(the cores here). */
  readonly inlineBelowMs?: number;
  /** Default inlineFirstMaxBytes. */
  readonly inlineFirstMaxBytes?: number;
  /** Batches the run will send, where the input's size says so: `auto` moves to the workers only if those left would take workersPayAfterMs here. */
  readonly expectedBatches?: number;
  /**
   * `expectedBatches` is an estimate (text inputs, from their first rows): a model kept here
   * because of it moves once the run has sent twice as many, as if no count had been given, so a
   * wrong guess costs at most about twice workersPayAfterMs on one core.
   */
  readonly expectedEstimated?: boolean;
  /** Default workersPayAfterMs. */
  readonly workersPayAfterMs?: number;
  /**
   * The model file's identity (fileIdentity) when the run hashed it for its checkpoint: every
   * session loaded, at the start or when `auto` moves the model, must come from that file. A model
   * replaced in the store or rewritten in its folder meanwhile would score part of the output.
   */
  readonly identity?: string;
}

/** A file's identity: the same path replaced (another inode) or rewritten in place (size, mtime) is another file. */
export async function fileIdentity(path: string): Promise<string> {
  const info = await stat(path);
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
}

/** The model file changed under a run that had hashed it: a BentoError naming it, or undefined when it did not. */
async function changedModel(modelFile: string, identity: string | undefined): Promise<BentoError | undefined> {
  if (identity === undefined || (await fileIdentity(modelFile).catch(() => undefined)) === identity) return undefined;
  return new BentoError('MODEL_LOAD', `Model file ${modelFile} changed while the run loaded it (replaced or rewritten): its checkpoint names one model, and its predictions would come from another`, {
    file: modelFile, hint: 'Run again once the model is in place; replace a stored model (models delete and import) while no job uses it.',
  });
}

/**
 * `auto` skips the first `warmup` batches (cold code, cold caches), then times windows of
 * `timedBatches` and moves the model at the first window whose 10th-percentile run is on the
 * other side of the threshold, for at most `windowsTimed` windows. A run is timed by the wall
 * clock, which counts the time its thread waits for a core: on 2 cores shared with reading and
 * encoding, the tiny penguins model's batches of 256 took 28–130 µs on a worker at the 10th
 * percentile of a window and 43–232 µs at the median (24 µs a batch of CPU in --cpu-prof), so
 * the median of one window kept it on the workers in most runs, at ~25% more wall time. A low
 * percentile is what the model costs when it has a core; further windows let the start-up's
 * contention (threads loading modules) pass.
 */
const warmup = 32;
const timedBatches = 64;
const windowsTimed = 8;

interface Pending {
  resolve(result: { outputs: Record<string, TensorData>; runMs: number }): void;
  reject(error: Error): void;
}

/** The feeds with each typed array owning its whole buffer (a view into a shared block copied), so moving the buffers to a worker moves nothing else. */
function ownBuffers(feeds: Record<string, TensorData>): Record<string, TensorData> {
  const own: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(feeds)) own[name] = ArrayBuffer.isView(t.data) ? { ...t, data: compact(t.data) } : t;
  return own;
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
    const worker = new Worker(new URL('./model-worker.js', import.meta.url), { workerData: init });
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
      const own = ownBuffers(feeds);
      this.#worker.postMessage({ id, feeds: own, fetch } satisfies WorkerRequest, transferables(own));
    });
  }

  /**
   * Disposes the worker's session, then ends the thread. Terminated in the middle of onnxruntime's
   * `run`, a worker threw a native error that aborted the whole process (exit 134, no message):
   * a run stopped by an error mid-batch lost its error line, summary and exit code. The session
   * is disposed after the batches already posted (each a synchronous run), bounded by a timeout.
   */
  async stop(): Promise<void> {
    if (!this.#exited) {
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      this.#worker.postMessage({ id: -1, dispose: true } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
    }
    await this.#worker.terminate();
  }
}

/**
 * Batches each worker holds: one running and the rest queued in its port, so a worker that
 * finishes starts the next batch at once instead of waiting for a busy scoring thread to hand it
 * one. Two, or up to four while that is at most 1,024 rows (batches of 256 or fewer), so that the
 * rows in flight never exceed what two batches of 512 hold. Small batches are quick, and on a
 * machine with more busy threads than cores the scoring thread is often off its core for longer
 * than two of them take: the wide MLP (~4 ms a batch of 256) on 1M penguins rows, 2 cores, depth
 * 4 against 2 in 10 interleaved pairs: Parquet 9.19–9.23 s against 9.32–9.68 s, CSV 9.69–10.62 s
 * against 10.36–11.18 s, and up to 6% less CPU (fewer sleeps and wake-ups of the scoring thread
 * and workers). Depth 8 was no faster; batches of 1,024 (16 ms) and the deep MLP's 256 (20 ms) gained
 * nothing from 4, nor did models run on the scoring thread.
 */
export function workerDepth(batchRows: number | undefined): number {
  return batchRows === undefined ? 2 : Math.max(2, Math.min(4, Math.floor(1024 / batchRows)));
}

/**
 * `auto`, started on the calling thread: the first batch warms up, and a model whose next
 * `quickBatches` all take 10× the threshold goes to the workers at once rather than after the
 * windows (a wide MLP's batch takes milliseconds; a window would be seconds on one core).
 */
const quickBatches = 3;

interface Timing {
  /** Where the batches being timed run. */
  readonly on: 'inline' | 'workers';
  readonly belowMs: number;
  seen: number;
  windows: number;
  quickMs: number;
  readonly runMs: number[];
  /** Kept here on an estimate of the batches left: moves at this batch, at this cost, if the run gets there. */
  recheck?: { readonly at: number; readonly runMs: number };
}

/** The model's sessions: on worker threads, or one on the calling thread (see Placement). */
export class ModelPool {
  #workers: ModelWorker[];
  #load: number[];
  readonly #queue: PQueue;
  readonly #capacity: number;
  #inline: Session | undefined;
  readonly #inlineRuns = new Set<Promise<unknown>>();
  /** Set while `auto` still times batches. */
  #timing: Timing | undefined;
  #moving: Promise<void> | undefined;
  #disposing = false;
  readonly #modelFile: string;
  readonly #options: PoolOptions;
  readonly signature: Signature;
  readonly providers: readonly string[];
  readonly note: string | undefined;

  private constructor(modelFile: string, options: PoolOptions, workers: ModelWorker[], inline: Session | undefined, ready: Pick<Extract<WorkerReply, { type: 'ready' }>, 'signature' | 'providers' | 'note'>) {
    this.#modelFile = modelFile;
    this.#options = options;
    this.#workers = workers;
    this.#inline = inline;
    this.#load = workers.map(() => 0);
    this.#capacity = Math.max(1, options.size * workerDepth(options.batchRows));
    this.#queue = new PQueue({ concurrency: this.#capacity });
    this.signature = ready.signature;
    this.providers = ready.providers;
    this.note = ready.note;
  }

  /** Starts `size` workers and loads the model in each, or one session here (see Placement); throws MODEL_LOAD naming the file. */
  static async create(modelFile: string, options: PoolOptions): Promise<ModelPool> {
    const { placement = 'workers' } = options;
    const loadFailed = (error: unknown) => {
      const message = (error as Error).message;
      return new BentoError('MODEL_LOAD', `Model file ${modelFile} cannot be loaded by onnxruntime: ${oneLine(message)}`, {
        file: modelFile, hint: 'Check that the file is an ONNX model (re-export it, e.g. with torch.onnx.export) and that the bundle is complete.',
      });
    };
    const timing = (on: Timing['on']): Timing => ({ on, belowMs: options.inlineBelowMs ?? inlineBelowMs(usableCores().cores), seen: 0, windows: 0, quickMs: Number.POSITIVE_INFINITY, runMs: [] });
    const inlineFirst = placement === 'auto' && (await stat(modelFile).then((s) => s.size, () => 0)) <= (options.inlineFirstMaxBytes ?? inlineFirstMaxBytes);
    let pool: ModelPool;
    if (placement === 'inline' || inlineFirst) {
      const session = await Session.create(modelFile, options.inline ?? options.workers).catch((error: unknown) => { throw loadFailed(error); });
      pool = new ModelPool(modelFile, options, [], session, { signature: session.signature, providers: session.providers, note: session.fallbackNote });
      if (inlineFirst) pool.#timing = timing('inline');
    } else {
      const { workers, ready } = await startWorkers(modelFile, options).catch((error: unknown) => { throw loadFailed(error); });
      pool = new ModelPool(modelFile, options, workers, undefined, ready);
      if (placement === 'auto') pool.#timing = timing('workers');
    }
    const changed = await changedModel(modelFile, options.identity);
    if (changed) {
      await pool.dispose();
      throw changed;
    }
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
    return this.#withBatchDim(feeds, await this.#run(feeds, fetch));
  }

  async #run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, TensorData>> {
    if (this.#inline) {
      if (!this.#timing) return this.#track(this.#inline.run(feeds, fetch));
      const { outputs, runMs } = await this.#track(this.#inline.timedRun(feeds, fetch));
      this.#time(runMs);
      return outputs;
    }
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

  /**
   * A one-row batch's outputs with their batch dimension back where the model squeezed it away:
   * torch's `.squeeze()` (ONNX Squeeze without axes) on a [batch, 1] regression output gives
   * [batch] for every batch but one of a single row, which gives a scalar. Only where the graph
   * declares the output with a dynamic first dimension and the rest is what came back: the one
   * value (or row of values) is then that row's.
   */
  #withBatchDim(feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): Record<string, TensorData> {
    if (feedRows(feeds) !== 1) return outputs;
    let fixed: Record<string, TensorData> | undefined;
    for (const [name, tensor] of Object.entries(outputs)) {
      const declared = this.signature.outputs.find((o) => o.name === name)?.shape;
      if (!declared || declared.length !== tensor.dims.length + 1 || (typeof declared[0] === 'number' && declared[0] !== -1)) continue;
      if (!declared.slice(1).every((d, i) => typeof d !== 'number' || d === -1 || d === tensor.dims[i])) continue;
      (fixed ??= { ...outputs })[name] = { ...tensor, dims: [1, ...tensor.dims] };
    }
    return fixed ?? outputs;
  }

  /** A run of the session here, tracked so that the session is released only once none is pending. */
  #track<T>(run: Promise<T>): Promise<T> {
    this.#inlineRuns.add(run);
    return run.finally(() => this.#inlineRuns.delete(run));
  }

  /**
   * `auto`'s decision. Waiting for a core only makes a batch look slower, so a window whose 10th
   * percentile is cheap decides at once (inline: stay; workers: move here), and a costly one
   * decides only after `windowsTimed` of them (inline: move to the workers; workers: stay). A
   * move to the workers needs the batches left to outlast their loading (#workersPay).
   */
  #time(runMs: number): void {
    const t = this.#timing;
    if (!t) return;
    const seen = ++t.seen;
    if (t.recheck) {
      if (seen >= t.recheck.at) this.#move(t.recheck.runMs);
      return;
    }
    if (t.on === 'inline' && seen > 1 && seen <= 1 + quickBatches) {
      t.quickMs = Math.min(t.quickMs, runMs);
      if (seen === 1 + quickBatches && t.quickMs >= 10 * t.belowMs) {
        if (this.#workersPay(seen, t.quickMs)) this.#move(t.quickMs);
        else this.#stay(t, t.quickMs);
      }
    }
    if (seen <= warmup || this.#timing !== t) return;
    t.runMs.push(runMs);
    if (t.runMs.length < timedBatches) return;
    const low = t.runMs.sort((a, b) => a - b)[Math.floor(timedBatches / 10)]!;
    t.runMs.length = 0;
    if (low < t.belowMs) {
      if (t.on === 'inline') this.#timing = undefined;
      else this.#move(low);
    } else if (++t.windows >= windowsTimed) {
      if (t.on === 'workers') this.#timing = undefined;
      else if (this.#workersPay(seen, low)) this.#move(low);
      else this.#stay(t, low);
    }
  }

  /** A costly model stays here, the batches left being too few for workers to pay: for good, or until an estimate of them proves short. */
  #stay(t: Timing, runMs: number): void {
    const { expectedBatches, expectedEstimated } = this.#options;
    if (expectedEstimated && expectedBatches !== undefined) t.recheck = { at: 2 * expectedBatches, runMs };
    else this.#timing = undefined;
  }

  /** Whether the batches left after `seen`, at `runMs` each here, outlast the workers' loading. */
  #workersPay(seen: number, runMs: number): boolean {
    const { expectedBatches } = this.#options;
    return expectedBatches === undefined || (expectedBatches - seen) * runMs >= (this.#options.workersPayAfterMs ?? workersPayAfterMs);
  }

  /**
   * Moves the batches to the other side: they go on where they are until it is loaded, then
   * switch, and the side they left is released once its runs are done. A run that ends while it
   * loads keeps its side (what loaded is released: stopping a worker mid-load can abort the process).
   */
  #move(runMs: number): void {
    const to = this.#timing!.on === 'inline' ? 'workers' : 'inline';
    this.#timing = undefined;
    const { moved = () => {}, notMoved = () => {} } = this.#options;
    this.#moving = (async () => {
      let release: () => Promise<unknown>;
      try {
        if (to === 'inline') {
          const session = await Session.create(this.#modelFile, this.#options.inline ?? this.#options.workers);
          const changed = this.#disposing ? undefined : await changedModel(this.#modelFile, this.#options.identity);
          if (this.#disposing || changed) {
            await session.dispose();
            // The sessions loaded before go on: they hold the model the checkpoint names.
            if (changed) notMoved(to, changed);
            return;
          }
          this.#inline = session;
          release = async () => {
            await this.#queue.onIdle();
            const workers = this.#workers;
            this.#workers = [];
            await Promise.all(workers.map((w) => w.stop()));
          };
        } else {
          const { workers } = await startWorkers(this.#modelFile, this.#options);
          const changed = this.#disposing ? undefined : await changedModel(this.#modelFile, this.#options.identity);
          if (this.#disposing || changed) {
            await Promise.all(workers.map((w) => w.stop()));
            if (changed) notMoved(to, changed);
            return;
          }
          const session = this.#inline!;
          this.#workers = workers;
          this.#load = workers.map(() => 0);
          this.#inline = undefined;
          release = async () => {
            await Promise.allSettled(this.#inlineRuns);
            await session.dispose();
          };
        }
      } catch (error) {
        notMoved(to, error as Error);
        return;
      }
      moved(to, runMs);
      await release();
    })();
  }

  /** Stops every worker and releases the session here; pending runs reject. */
  async dispose(): Promise<void> {
    this.#disposing = true;
    this.#queue.clear();
    await this.#moving;
    await Promise.allSettled(this.#inlineRuns);
    await Promise.all(this.#workers.map((w) => w.stop()));
    await this.#inline?.dispose();
  }
}

/** Starts `options.size` model workers; if any fails to load the model, stops the others and throws its error. */
async function startWorkers(modelFile: string, options: PoolOptions): Promise<{ workers: ModelWorker[]; ready: Extract<WorkerReply, { type: 'ready' }> }> {
  const started = await Promise.allSettled(Array.from({ length: options.size }, () => ModelWorker.start({ modelFile, options: options.workers })));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.worker.stop()] : [])));
    throw failed.reason;
  }
  const ok = started as PromiseFulfilledResult<Awaited<ReturnType<typeof ModelWorker.start>>>[];
  return { workers: ok.map((s) => s.value.worker), ready: ok[0]!.value.ready };
}
