/**
 * @file How `limits.memory` is shared between the threads of a run. Its own module so the main
 * thread can size the scoring thread without loading the pipeline (sources, sinks, models),
 * which only the scoring thread needs.
 */
import v8 from 'node:v8';
import { usableCores } from '../cores.js';

/** `limits.memory` (MB) when the job file leaves it out; the README's memory section says what it buys. */
export const defaultMemoryMb = 256;

/** What a run holds besides its capped heaps: node, onnxruntime, buffers outside the heaps (README, Memory: ~150 MB for the bundled models with their weights; their 10k-row runs peaked at 111–160 MB). */
const baseMb = 100;

/**
 * A warning where the process's memory limit (a cgroup's: Kubernetes `limits.memory`, `docker run
 * --memory`; node's process.constrainedMemory) is below what the run may take: its heaps filled to
 * `limits.memory`, the base, and the model's weights in each session. The kernel then kills the
 * run with SIGKILL (exit 137, "OOMKilled"), no message of its own, mid-batch.
 */
export function memoryLimitWarning(memoryMb: number, modelBytes: number, sessions: number, constrained = memoryLimit()): string | undefined {
  if (constrained === undefined || !limiting(constrained)) return undefined;
  const mb = (bytes: number) => Math.round(bytes / 1024 ** 2);
  const weightsMb = mb(modelBytes) * sessions;
  const limitMb = mb(constrained);
  if (limitMb >= memoryMb + baseMb + weightsMb) return undefined;
  const fits = limitMb - baseMb - weightsMb;
  return `the process may use ${limitMb} MB (its cgroup's memory limit), less than limits.memory (${memoryMb} MB) + ~${baseMb} MB for node and onnxruntime${weightsMb ? ` + the model's weights in ${sessions} session(s) (${weightsMb} MB)` : ''}: the kernel may kill the run (exit 137, OOMKilled; it resumes from its checkpoint). `
    + (fits >= 64 ? `Set limits.memory to ${fits}MB or less, or raise the container's memory limit.` : `Raise the container's memory limit${sessions > 1 ? ', or lower batch.concurrency (a model session each)' : ''}.`);
}

/** A limit is one below 2^60 bytes: an unlimited cgroup v1 says 2^63 rounded down to a page, node 2^64 where none is known. */
const limiting = (bytes: number | undefined) => bytes !== undefined && bytes > 0 && Number.isFinite(bytes) && bytes < 2 ** 60;

/** The process's memory limit (its cgroup's), where one is set. */
export function memoryLimit(): number | undefined {
  const bytes = process.constrainedMemory?.();
  return limiting(bytes) ? bytes : undefined;
}

/** Shares of `limits.memory` (V8 old-generation caps) for the thread that reads and scores, and the writer (or Parquet encoder) threads. */
export const scoringShare = 0.6;
export const writerShare = 0.4;
/**
 * Young generations (MB) of the scoring thread and of the writer (or all encoder threads
 * together), also from `limits.memory`: a larger one means fewer scavenges of the short-lived row
 * values, and more resident memory once a long run has grown into it. Measured on penguins 3.1M
 * rows Parquet → Parquet, 3–4 interleaved runs each on 2 cores (young MB scoring/writer: seconds,
 * peak RSS): 32/32 7.5–8.4 s, 338–350 MB; 16/32 7.7–9.0 s, 324 MB; 32/16 8.4–9.6 s, 305–317 MB;
 * 16/16 7.9–8.8 s, 291 MB. The encoder is the busiest thread there and pays for a small one.
 * Since rows became typed arrays the scoring thread allocates little on its heap, and a smaller
 * young generation frees their buffers sooner: 8 MB against 16 took ~10 MB off peak RSS at the
 * same speed on penguins 3.1M Parquet, but cost CSV → CSV ~5% CPU (penguins 1M, 6 interleaved
 * pairs: median 3.6 against 3.4 user CPU-s; its cells are strings), so it stays at 16.
 */
const young = (mb: number) => Math.min(64, Math.max(8, Math.round(mb)));
export const scoringYoungMb = (memoryMb: number) => young(memoryMb / 16);
export const writerYoungMb = (memoryMb: number) => young(memoryMb / 8);

/**
 * V8's heap growing factor for the run's threads, as `--heap-growing-percent` (factor 1 + p/100).
 * Each thread's live heap is small (~8 MB on the scoring thread), and V8 starts a full
 * mark-compact once the old generation plus the ArrayBuffer memory allocated since the last one
 * outgrow max(live × factor, live + 8 MB): at its default factor for heaps capped under 256 MB
 * (1.3), the column arrays a run allocates and drops forced a mark-compact every ~70 ms on the
 * scoring thread, each also marking on the other core. Mark-compacts in a run at 0 / 200 / 300 /
 * 400 (`--trace-gc`): penguins 3.1M Parquet → Parquet 49 / 20 / 7 / 5, CSV → CSV 112 / 47 / 31 /
 * 21. Peak RSS rises as the heaps fill more of their caps between collections (Parquet 218 / 224
 * / 232 / 240 MB, CSV 215 / 245 / 270 / 285 MB). 200 and 300 ran Parquet → Parquet as fast (5
 * interleaved pairs: 2.88–3.50 against 2.72–3.82 s; at 0, 4.01–4.26 s in another set), and 200
 * cost CSV half the RSS. The caps stay as `limits.memory` sets them.
 */
export const heapGrowingPercent = 200;

/**
 * Sets the growing factor for every thread of the process, unless node was given one on its
 * command line. V8 reads it whenever it sets a heap's next limit, so it holds for threads already
 * running (a run sets it once its threads have started: mark-compacts as many as when set before,
 * 16 Parquet and 50–51 CSV in a pair of runs), and should be set late: V8 checks its flags
 * against those node's built-in code caches were made with, and a thread started after a change
 * compiles node's own modules afresh (a bare worker came up in 77–103 ms against 48–63 ms).
 */
export function setHeapGrowing(): void {
  if (process.execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}

/**
 * On two cores or fewer, every thread started after this compiles its hot functions itself
 * instead of on V8's helper threads. A run keeps both cores busy (reading and scoring, encoding),
 * so a helper's compile only takes a core from them, and costs more CPU in all: penguins 3.1M
 * rows Parquet -> Parquet used 3.84-4.03 CPU-s against 4.14-4.52 (5 interleaved pairs, same wall
 * time or less), CSV -> CSV and the wide MLP the same as before. V8 reads the flag when it makes a
 * thread's isolate, and it is not among those its code caches check (a bare worker starts as fast).
 */
export function compileOnOwnThread(): void {
  if (usableCores().cores > 2 || process.execArgv.some((a) => /^--(no-)?concurrent[-_]recompilation/.test(a))) return;
  v8.setFlagsFromString('--no-concurrent-recompilation');
}
