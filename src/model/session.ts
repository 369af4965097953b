/**
 * @file The only module that imports onnxruntime-node: load a model, describe its signature,
 * run it on plain typed arrays, release it. Runs inside a model worker thread.
 */
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import { keepRuntimeTelemetryOff } from './telemetry.js';

// Here too for the library (`import 'bento-batch'`); the command line sets it first thing.
keepRuntimeTelemetryOff();

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

/**
 * What to do about an output that is no tensor (onnxruntime-node cannot fetch a sequence or a
 * map): skl2onnx's ZipMap, a classifier's probabilities as a map a row, by default.
 */
export const notTensorFix = "a classifier's probabilities as skl2onnx's ZipMap writes them, a map a row: re-export with options={id(model): {'zipmap': False}} (one probabilities tensor, whose columns pack names after the classes) or {'zipmap': 'columns'} (a tensor a class), or map another tensor output";

/** A model tensor's shape for a message: an unnamed open dimension (skl2onnx's None, -1 here) as ?. */
export const shapeText = (shape: readonly (number | string)[]) => `[${shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : d)).join(', ')}]`;

/** A tensor as our stages see it: a typed array (or strings) plus its dims. */
export interface TensorData {
  readonly type: string;
  readonly data: Float32Array | Float64Array | Int32Array | Int16Array | Uint16Array | Int8Array | BigInt64Array | Uint8Array | string[];
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
  /**
   * Whether the intra-op threads spin, waiting for work, after each parallel section
   * (onnxruntime's session.intra_op.allow_spinning, on by default); only a session with more than
   * one intra-op thread has any. Undefined leaves onnxruntime's default.
   */
  readonly allowSpinning?: boolean;
  readonly graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
  /** Execution providers in order of preference; CPU is always appended as the fallback. */
  readonly providers: readonly string[];
}

/**
 * A loaded model as Session drives it: onnxruntime-node's native session (nativeRunner), or its
 * public InferenceSession (publicRunner).
 */
interface Runner {
  readonly signature: Signature;
  /** The native session, which runs a batch at once. */
  readonly native: boolean;
  /** Synchronous on the native session: it returns the outputs, not a promise. */
  run(feeds: Record<string, Ort.Tensor>, fetch: readonly string[]): Record<string, Ort.OnnxValue> | Promise<Record<string, Ort.OnnxValue>>;
  release(): Promise<void>;
}

/** Which API loads models: `native` unless that is missing from the installed onnxruntime-node (tests compare the two). */
export type RunnerApi = 'native' | 'public';

/**
 * onnxruntime-node's native binding, which its public InferenceSession wraps (dist/backend.js).
 * That wrapper checks the arguments again and wraps each output anew, and runs a batch in a
 * setImmediate callback (microsoft/onnxruntime#19611: the run is synchronous anyway), so every
 * batch waited for a turn of the event loop: ~12 µs of a 4 → 3 MLP's ~26 µs call (14 µs
 * native). Per batch of one row (a model exported with a fixed batch of 1), the scoring thread
 * took 7.3–9.2 CPU-s for 310k rows against 8.8–11.2 (3 interleaved pairs); at 256 rows a batch
 * on the penguins 3.1M-row Parquet file, 1.55–1.63 against 1.62–1.67. The binding is internal to
 * onnxruntime-node (pinned in package.json; test/model/session.test.ts fails if it moves); if a
 * release changes it, models load through the public API as before.
 */
interface NativeBinding {
  initOrt(): void;
  binding: {
    InferenceSession: new () => {
      loadModel(path: string, options: Ort.InferenceSession.SessionOptions): void;
      readonly inputMetadata: readonly RawMetadata[];
      readonly outputMetadata: readonly RawMetadata[];
      run(feeds: Record<string, Ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, Ort.OnnxValue>;
      dispose(): void;
    };
  };
}

/** What the native session says of a tensor: `type` is ONNX's TensorProto.DataType, -1 a symbolic dim. */
interface RawMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type: number;
  readonly shape: readonly number[];
  readonly symbolicDimensions: readonly string[];
}

/** ONNX TensorProto.DataType numbers → onnxruntime-node's type names. */
const onnxTypes: Readonly<Record<number, string>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 21: 'uint4', 22: 'int4',
};

let native: NativeBinding | undefined | null = null;
function nativeBinding(): NativeBinding | undefined {
  if (native !== null) return native;
  try {
    const loaded = require('onnxruntime-node/dist/binding.js') as NativeBinding;
    const proto = loaded.binding.InferenceSession.prototype as unknown as Record<string, unknown>;
    native = typeof loaded.initOrt === 'function' && ['loadModel', 'run', 'dispose'].every((m) => typeof proto[m] === 'function') ? loaded : undefined;
  } catch {
    native = undefined;
  }
  return native;
}

function nativeRunner(api: NativeBinding, file: string, options: Ort.InferenceSession.SessionOptions): Runner {
  api.initOrt();
  const session = new api.binding.InferenceSession();
  session.loadModel(file, options);
  const describe = (m: RawMetadata): TensorInfo => {
    if (!m.isTensor) return { name: m.name, isTensor: false, type: undefined, shape: [] };
    const type = onnxTypes[m.type];
    // As onnxruntime-node's own wrapper refuses it.
    if (type === undefined) throw new Error(`Unsupported data type: ${m.type}`);
    return { name: m.name, isTensor: true, type, shape: m.shape.map((d, i) => (d === -1 ? m.symbolicDimensions[i] || -1 : d)) };
  };
  let signature: Signature;
  try {
    signature = { inputs: session.inputMetadata.map(describe), outputs: session.outputMetadata.map(describe) };
  } catch (error) {
    session.dispose();
    throw error;
  }
  return {
    signature,
    native: true,
    run: (feeds, fetch) => {
      const fetches: Record<string, null> = {};
      for (const name of fetch) fetches[name] = null;
      return session.run(feeds, fetches, {});
    },
    release: async () => session.dispose(),
  };
}

async function publicRunner(file: string, options: Ort.InferenceSession.SessionOptions): Promise<Runner> {
  const session = await ort.InferenceSession.create(file, options);
  return {
    signature: { inputs: session.inputMetadata.map(info), outputs: session.outputMetadata.map(info) },
    native: false,
    run: (feeds, fetch) => session.run(feeds, [...fetch]),
    release: () => session.release(),
  };
}

async function load(file: string, options: Ort.InferenceSession.SessionOptions, api: RunnerApi): Promise<Runner> {
  const binding = api === 'native' ? nativeBinding() : undefined;
  return binding ? nativeRunner(binding, file, options) : publicRunner(file, options);
}

/**
 * The event loop's last turn on this thread, as a setImmediate probe saw it. Run natively, batch
 * after batch can run in one chain of resolved promises without a turn (the input already read,
 * the output's writes queued), and messages wait: a model worker's "ready" (in a wide MLP run
 * the scoring thread went on scoring ~0.5 CPU-s of batches itself), a stop asked for, the
 * progress counters. So a run lets the loop turn once it has not for `turnEveryMs`; a cheap
 * model's batches (~26 µs) rarely need to, as the reading turns it.
 */
let turned = performance.now();
let probing = false;
const turnEveryMs = 5;

function turnDue(): Promise<void> | undefined {
  const now = performance.now();
  if (!probing) {
    probing = true;
    setImmediate(() => {
      probing = false;
      turned = performance.now();
    });
  }
  return now - turned > turnEveryMs ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined;
}

export class Session {
  readonly #runner: Runner;
  readonly signature: Signature;
  /** Providers actually in use, and a note when a requested one was not available. */
  readonly providers: readonly string[];
  readonly fallbackNote: string | undefined;

  private constructor(runner: Runner, providers: readonly string[], fallbackNote: string | undefined) {
    this.#runner = runner;
    this.providers = providers;
    this.fallbackNote = fallbackNote;
    this.signature = runner.signature;
  }

  /** Whether the native session runs it (RunnerApi). */
  get native(): boolean {
    return this.#runner.native;
  }

  /**
   * Loads `file`; a provider that cannot start (no CUDA build installed) falls back to CPU with a
   * note. `api`: see RunnerApi.
   */
  static async create(file: string, options: SessionOptions, api: RunnerApi = 'native'): Promise<Session> {
    const wanted = [...new Set([...options.providers.map((p) => p.toLowerCase()), 'cpu'])];
    const base: Ort.InferenceSession.SessionOptions = {
      // The session's own logging, off for the reason ort.env.logLevel is (top of this file).
      logSeverityLevel: 4,
      graphOptimizationLevel: options.graphOptimization,
      ...(options.intraOp !== undefined ? { intraOpNumThreads: options.intraOp } : {}),
      ...(options.interOp !== undefined ? { interOpNumThreads: options.interOp } : {}),
      // Config entries reach the binding as strings only ("extra value must be a string").
      ...(options.allowSpinning !== undefined ? { extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } } } : {}),
    };
    if (wanted.length > 1) {
      try {
        return new Session(await load(file, { ...base, executionProviders: wanted }, api), wanted, undefined);
      } catch (error) {
        const message = (error as Error).message;
        if (!/provider|cuda|tensorrt|dml|coreml|backend/i.test(message)) throw error;
        return new Session(await load(file, { ...base, executionProviders: ['cpu'] }, api), ['cpu'],
          `execution provider${wanted.length > 2 ? 's' : ''} ${wanted.filter((p) => p !== 'cpu').join(', ')} could not start (${message.split('\n')[0]}); running on CPU. ${cudaHint}`);
      }
    }
    return new Session(await load(file, { ...base, executionProviders: ['cpu'] }, api), ['cpu'], undefined);
  }

  /**
   * Runs one batch and fetches only `fetch` (non-tensor outputs cannot be fetched by
   * onnxruntime-node). Throws if the runtime hands back other names than asked for.
   */
  async run(feeds: Readonly<Record<string, TensorData>>, fetch: readonly string[]): Promise<Record<string, TensorData>> {
    return (await this.timedRun(feeds, fetch)).outputs;
  }

  /**
   * `run`, with the time the model took (ms), the run alone. Through the public API,
   * onnxruntime-node runs a batch synchronously inside a setImmediate callback
   * (microsoft/onnxruntime#19611): the clock starts in the callback queued just before it, so what
   * else this thread does before it yields is not counted, as it would be by a clock started here.
   */
  async timedRun(feeds: Readonly<Record<string, TensorData>>, fetch: readonly string[]): Promise<{ outputs: Record<string, TensorData>; runMs: number }> {
    const input: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor(t.type as Ort.Tensor.Type, t.data as never, t.dims);
    let started = performance.now();
    let result: Record<string, Ort.OnnxValue>;
    let runMs: number;
    if (this.#runner.native) {
      result = this.#runner.run(input, fetch) as Record<string, Ort.OnnxValue>;
      runMs = performance.now() - started;
      await turnDue();
    } else {
      setImmediate(() => { started = performance.now(); });
      result = await this.#runner.run(input, fetch);
      runMs = performance.now() - started;
    }
    const outputs: Record<string, TensorData> = {};
    for (const name of fetch) {
      const value = result[name] as Ort.Tensor | undefined;
      if (value === undefined) {
        throw new Error(`onnxruntime returned outputs [${Object.keys(result).join(', ')}] when asked for [${fetch.join(', ')}]`);
      }
      // float16 comes as its bit patterns (a Uint16Array; node 20 has no Float16Array): as float32, which holds every one.
      outputs[name] = value.type === 'float16'
        ? { type: 'float32', data: halfToFloat(value.data as Uint16Array), dims: [...value.dims] }
        : { type: value.type, data: value.data as TensorData['data'], dims: [...value.dims] };
    }
    return { outputs, runMs };
  }

  async dispose(): Promise<void> {
    await this.#runner.release();
  }
}

/**
 * Creates onnxruntime's environment now rather than with the first session. It is made once per
 * process, whichever thread asks first (~50 ms here; a later thread's first session then skips
 * it), so a thread that would otherwise wait can make it while another imports. Through the
 * native binding (nativeBinding); without it, the first session makes the environment.
 */
export function initRuntime(): void {
  nativeBinding()?.initOrt();
}

function info(meta: Ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) return { name: meta.name, isTensor: false, type: undefined, shape: [] };
  // An unnamed open dimension comes as "" here: -1, as the native binding's reads it.
  return { name: meta.name, isTensor: true, type: meta.type, shape: meta.shape.map((d) => (d === '' ? -1 : d)) };
}

/** IEEE 754 half-precision bit patterns as the float32 values they stand for, exactly. */
export function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    out[i] = exponent === 0 ? sign * fraction * 2 ** -24
      : exponent === 0x1f ? (fraction ? Number.NaN : sign * Infinity)
        : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

