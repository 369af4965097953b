/**
 * @file The only module that imports onnxruntime-node: load a model, describe its signature,
 * run it on plain typed arrays, release it. Runs inside a model worker thread.
 */
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';

// onnxruntime-node is CommonJS. Imported, node first scans its files for their exports; required,
// it loaded ~10 ms sooner (34-37 ms against 24-29 ms, 5 alternating runs), on each thread that loads it.
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof Ort;
// onnxruntime's own logger writes coloured lines to stderr, in among a run's JSON log lines (a
// CUDA provider that failed to load printed one), and what it reports reaches us as an exception
// anyway. Its level is the process's, taken by the thread that makes the environment first.
ort.env.logLevel = 'fatal';

/** How to get the CUDA provider, for the note of a run that falls back to CPU (README, GPU). */
const cudaHint = 'For CUDA 12, fetch onnxruntime\'s CUDA provider where bento-batch is installed: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node (the machine needs CUDA 12 and cuDNN 9).';

/** A tensor as our stages see it: a typed array (or strings) plus its dims. */
export interface TensorData {
  readonly type: string;
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | string[];
  readonly dims: readonly number[];
}

/** The tensors' buffers, each once: posted to another thread, they move instead of being copied. */
export function transferables(tensors: Readonly<Record<string, TensorData>>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) {
    if (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer) out.add(t.data.buffer);
  }
  return [...out];
}

export interface TensorInfo {
  readonly name: string;
  /** False for sequence/map outputs (e.g. sklearn's ZipMap), which cannot be fetched. */
  readonly isTensor: boolean;
  readonly type: string | undefined;
  /** Numbers for fixed dims, names for symbolic ones, -1 when unnamed. */
  readonly shape: readonly (number | string)[];
}

export interface Signature {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
}

export interface SessionOptions {
  readonly intraOp: number | undefined;
  readonly interOp: number | undefined;
  readonly graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
  /** Execution providers in order of preference; CPU is always appended as the fallback. */
  readonly providers: readonly string[];
}

export class Session {
  readonly #session: Ort.InferenceSession;
  readonly signature: Signature;
  /** Providers actually in use, and a note when a requested one was not available. */
  readonly providers: readonly string[];
  readonly fallbackNote: string | undefined;

  private constructor(session: Ort.InferenceSession, providers: readonly string[], fallbackNote: string | undefined) {
    this.#session = session;
    this.providers = providers;
    this.fallbackNote = fallbackNote;
    this.signature = {
      inputs: session.inputMetadata.map(info),
      outputs: session.outputMetadata.map(info),
    };
  }

  /** Loads `file`; a provider that cannot start (no CUDA build installed) falls back to CPU with a note. */
  static async create(file: string, options: SessionOptions): Promise<Session> {
    const wanted = [...new Set([...options.providers.map((p) => p.toLowerCase()), 'cpu'])];
    const base: Ort.InferenceSession.SessionOptions = {
      // The session's own logging, off for the reason ort.env.logLevel is (top of this file).
      logSeverityLevel: 4,
      graphOptimizationLevel: options.graphOptimization,
      ...(options.intraOp !== undefined ? { intraOpNumThreads: options.intraOp } : {}),
      ...(options.interOp !== undefined ? { interOpNumThreads: options.interOp } : {}),
    };
    if (wanted.length > 1) {
      try {
        return new Session(await ort.InferenceSession.create(file, { ...base, executionProviders: wanted }), wanted, undefined);
      } catch (error) {
        const message = (error as Error).message;
        if (!/provider|cuda|tensorrt|dml|coreml|backend/i.test(message)) throw error;
        return new Session(await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] }), ['cpu'],
          `execution provider${wanted.length > 2 ? 's' : ''} ${wanted.filter((p) => p !== 'cpu').join(', ')} could not start (${message.split('\n')[0]}); running on CPU. ${cudaHint}`);
      }
    }
    return new Session(await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] }), ['cpu'], undefined);
  }

  /**
   * Runs one batch and fetches only `fetch` (non-tensor outputs cannot be fetched by
   * onnxruntime-node). Throws if the runtime hands back other names than asked for.
   */
  async run(feeds: Readonly<Record<string, TensorData>>, fetch: readonly string[]): Promise<Record<string, TensorData>> {
    const input: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor(t.type as Ort.Tensor.Type, t.data as never, t.dims);
    const result = await this.#session.run(input, [...fetch]);
    const out: Record<string, TensorData> = {};
    for (const name of fetch) {
      const value = result[name];
      if (value === undefined) {
        throw new Error(`onnxruntime returned outputs [${Object.keys(result).join(', ')}] when asked for [${fetch.join(', ')}]`);
      }
      out[name] = { type: value.type, data: value.data as TensorData['data'], dims: [...value.dims] };
    }
    return out;
  }

  /**
   * `run`, with the time the model took (ms). onnxruntime-node runs a batch synchronously inside
   * a setImmediate callback (microsoft/onnxruntime#19611); the clock starts in the callback queued
   * just before it, so what else this thread does before it yields is not counted, as it would be
   * by a clock started here.
   */
  async timedRun(feeds: Readonly<Record<string, TensorData>>, fetch: readonly string[]): Promise<{ outputs: Record<string, TensorData>; runMs: number }> {
    let started = performance.now();
    setImmediate(() => { started = performance.now(); });
    const outputs = await this.run(feeds, fetch);
    return { outputs, runMs: performance.now() - started };
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

/**
 * Creates onnxruntime's environment now rather than with the first session. It is made once per
 * process, whichever thread asks first (~50 ms here; a later thread's first session then skips
 * it), so a thread that would otherwise wait can make it while another imports. The function is
 * internal to onnxruntime-node (pinned in package.json); if a release moves it, the first session
 * makes the environment as before.
 */
export function initRuntime(): void {
  try {
    (require('onnxruntime-node/dist/binding.js') as { initOrt(): void }).initOrt();
  } catch {
    // The first session creates it.
  }
}

function info(meta: Ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, isTensor: false, type: undefined, shape: [] };
  return { name: meta.name, isTensor: true, type: meta.type, shape: meta.shape.map((d) => d) };
}
