/**
 * @file How `limits.memory` is shared between the threads of a run. Its own module so the main
 * thread can size the scoring thread without loading the pipeline (sources, sinks, models),
 * which only the scoring thread needs.
 */

/** `limits.memory` (MB) when the job file leaves it out; the README's memory section says what it buys. */
export const defaultMemoryMb = 256;

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
 * Since rows became typed arrays (numbers, dictionary codes) the scoring thread allocates little
 * on its heap, and what a scavenge frees is mostly their buffers, outside it: at 8 MB against 16
 * (limits.memory 256), 4 interleaved pairs: 2.94–3.33 s against 2.94–3.18 s and 204–211 MB
 * against 217–220 MB peak RSS; on CSV → CSV the same CPU (7.9–8.2 s) and 209 against 218–222 MB.
 */
const young = (mb: number) => Math.min(64, Math.max(8, Math.round(mb)));
export const scoringYoungMb = (memoryMb: number) => young(memoryMb / 32);
export const writerYoungMb = (memoryMb: number) => young(memoryMb / 8);
