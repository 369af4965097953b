/**
 * @file A model worker thread: one long-lived session, runs batches sent by the pool.
 * onnxruntime-node's run blocks its thread, so it runs here and the main thread stays free for
 * reading, writing, progress and signals.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Session, type SessionOptions, type TensorData, transferables } from './session.js';

export interface WorkerInit {
  readonly modelFile: string;
  readonly options: SessionOptions;
}

export type WorkerRequest = { readonly id: number; readonly feeds: Record<string, TensorData>; readonly fetch: readonly string[] } | { readonly id: -1; readonly dispose: true };

export type WorkerReply =
  | { readonly type: 'ready'; readonly signature: Session['signature']; readonly providers: readonly string[]; readonly note: string | undefined }
  | { readonly type: 'load-error'; readonly message: string }
  /** `runMs`: the session.run call alone, so the pool can tell the model's cost from the hand-over's. */
  | { readonly type: 'result'; readonly id: number; readonly outputs: Record<string, TensorData>; readonly runMs: number }
  | { readonly type: 'run-error'; readonly id: number; readonly message: string };

const port = parentPort!;
const init = workerData as WorkerInit;

try {
  const session = await Session.create(init.modelFile, init.options);
  port.postMessage({ type: 'ready', signature: session.signature, providers: session.providers, note: session.fallbackNote } satisfies WorkerReply);
  port.on('message', async (request: WorkerRequest) => {
    if ('dispose' in request) {
      await session.dispose();
      port.close();
      return;
    }
    try {
      const { outputs, runMs } = await session.timedRun(request.feeds, request.fetch);
      // Output buffers belong to this thread's session results; copy-free hand-over by transfer.
      port.postMessage({ type: 'result', id: request.id, outputs, runMs } satisfies WorkerReply, transferables(outputs));
    } catch (error) {
      port.postMessage({ type: 'run-error', id: request.id, message: (error as Error).message } satisfies WorkerReply);
    }
  });
} catch (error) {
  port.postMessage({ type: 'load-error', message: (error as Error).message } satisfies WorkerReply);
}
