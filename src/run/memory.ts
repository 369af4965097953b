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
 * fewer scavenges of the short-lived row values (bench, penguins 3.1M CSV: 16 MB 208k rows/s and
 * 258 MB peak RSS; 32 MB 239k and 290 MB; 64 MB 265k and 360 MB).
 */
export const youngMb = (memoryMb: number) => Math.min(64, Math.max(8, Math.round(memoryMb / 8)));
