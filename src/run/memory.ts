/**
 * @file How `limits.memory` is shared between the threads of a run. Its own module so the main
 * thread can size the scoring thread without loading the pipeline (sources, sinks, models),
 * which only the scoring thread needs.
 */

/** Shares of `limits.memory` (V8 old-generation caps) for the thread that reads and scores, and the writer (or Parquet encoder) threads. */
export const scoringShare = 0.6;
export const writerShare = 0.4;
/**
 * Young generation of each of those threads (MB), also from `limits.memory`: a larger one means
 * fewer scavenges of the short-lived row values, and more resident memory once a long run has
 * grown into it. Measured on penguins 3.1M rows, 3–4 interleaved pairs on 2 cores, 16 MB against
 * 32: peak RSS 229 against 263 MB (CSV) and 293 against 345 MB (Parquet), time within the
 * VM's noise (CSV median ~2% slower, Parquet the same). At 8 MB CSV was ~17% slower.
 */
export const youngMb = (memoryMb: number) => Math.min(64, Math.max(8, Math.round(memoryMb / 16)));
