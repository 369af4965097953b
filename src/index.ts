/**
 * @file The library API: load a job, check it, run it. Re-exports only.
 */
export { BentoError, type BentoErrorCode, ExitCode, exitCodeFor } from './errors.js';
export { loadJob, type LoadOptions } from './job/load.js';
export type { JobSpec, DataFormat } from './job/spec.js';
export { prepareJob, runPrepared, type PreparedJob, type RunHooks, type RunSummary, type RunStats } from './run/pipeline.js';
export { openBundle, type Bundle } from './model/bundle.js';
export type { Manifest } from './model/manifest.js';
