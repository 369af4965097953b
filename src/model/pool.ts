/**
 * @file A fixed set of model worker threads, one session each. `run` waits for an idle
 * worker, so at most `size` batches are in the model at once.
 */
import { Worker } from 'node:worker_threads';
import PQueue from 'p-queue';
import { BentoError } from '../errors.js';
import type { Signature, SessionOptions, TensorData } from './session.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.js';

interface Pending {
  resolve(outputs: Record<string, TensorData>): void;
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
      if (reply.type === 'result') pending?.resolve(reply.outputs);
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

  run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, TensorData>> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    const transfer = [...new Set(Object.values(feeds).flatMap((t) => (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer ? [t.data.buffer] : [])))];
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, feeds, fetch } satisfies WorkerRequest, transfer);
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

/** Worker threads each holding one session of the same model. */
export class ModelPool {
  readonly #workers: ModelWorker[];
  readonly #load: number[];
  readonly #queue: PQueue;
  readonly signature: Signature;
  readonly providers: readonly string[];
  readonly note: string | undefined;

  private constructor(workers: ModelWorker[], ready: Extract<WorkerReply, { type: 'ready' }>) {
    this.#workers = workers;
    this.#load = workers.map(() => 0);
    this.#queue = new PQueue({ concurrency: workers.length * depth });
    this.signature = ready.signature;
    this.providers = ready.providers;
    this.note = ready.note;
  }

  /** Starts `size` workers and loads the model in each; throws MODEL_LOAD naming the file. */
  static async create(modelFile: string, options: SessionOptions, size: number): Promise<ModelPool> {
    const started = await Promise.allSettled(Array.from({ length: size }, () => ModelWorker.start({ modelFile, options })));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.worker.stop()] : [])));
      const message = (failed.reason as Error).message;
      throw new BentoError('MODEL_LOAD', `Model file ${modelFile} cannot be loaded by onnxruntime: ${message.split('\n')[0]}`, {
        file: modelFile, hint: 'Check that the file is an ONNX model (re-export it, e.g. with torch.onnx.export) and that the bundle is complete.',
      });
    }
    const ok = started as PromiseFulfilledResult<Awaited<ReturnType<typeof ModelWorker.start>>>[];
    return new ModelPool(ok.map((s) => s.value.worker), ok[0]!.value.ready);
  }

  /** Batches the pool can usefully hold at once (running plus queued in the workers). */
  get capacity(): number {
    return this.#workers.length * depth;
  }

  /** Runs a batch on the next idle worker. Rejects with the runtime's own message. */
  run(feeds: Record<string, TensorData>, fetch: readonly string[]): Promise<Record<string, TensorData>> {
    return this.#queue.add(async () => {
      const k = this.#load.indexOf(Math.min(...this.#load));
      this.#load[k]!++;
      try {
        return await this.#workers[k]!.run(feeds, fetch);
      } finally {
        this.#load[k]!--;
      }
    });
  }

  /** Stops every worker; pending runs reject. */
  async dispose(): Promise<void> {
    this.#queue.clear();
    await Promise.all(this.#workers.map((w) => w.stop()));
  }
}
