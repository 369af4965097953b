/**
 * @file What a run does with the checkpoint it finds: resume it, refuse it (the job, input or
 * model changed since), finish publishing a finished run, or start over.
 */
import { rm, stat } from 'node:fs/promises';
import { BentoError } from '../errors.js';
import type { CheckpointSpec, JobSpec } from '../job/spec.js';
import type { Bundle } from '../model/bundle.js';
import { publish } from '../sink/atomic.js';
import { tidyPartial } from '../sink/index.js';
import { verifyStream } from '../source/stream.js';
import type { Field } from '../source/types.js';
import { type CheckpointState, type Commit, differences, type Fingerprint, fingerprint, partialErrorsFile, partialFile, readState, removeCheckpoint, stateFile } from './state.js';

export type ResumeDecision =
  /** The same job finished before and its output is in place: nothing to do (`moved`: but move it there, which this run did). */
  | { readonly kind: 'finished'; readonly state: CheckpointState; readonly moved: boolean }
  /** Run, from `resume` if given (a commit of the same job), else from the start. */
  | { readonly kind: 'run'; readonly fingerprint: Fingerprint; readonly resume: Commit | undefined };

export async function decideResume(spec: JobSpec, ckpt: CheckpointSpec, files: readonly string[], bundle: Bundle, restart: boolean, width?: number, partitions: readonly string[] = [], columns?: readonly Field[]): Promise<ResumeDecision> {
  const print = await fingerprint(spec, files, bundle, width, partitions, columns);
  if (restart) await removeCheckpoint(ckpt.path);
  const state = await readState(ckpt.path);
  const changed = state ? differences(state.fingerprint, print, { finishedEarlier: state.status === 'finished' }) : [];
  // A pipe's bytes cannot be known before they are read: a finished run over one is run again.
  const piped = print.inputs.some((input) => input.stream);
  if (state?.status === 'finished' && changed.length === 0 && !piped) {
    // A crash (or a full disk) between recording "finished" and the renames leaves the sealed
    // files in the checkpoint: they are the run's, whatever an earlier run left at output.path.
    const partial = partialFile(ckpt.path, spec.output.format);
    const recovering = await exists(partial);
    if (recovering) {
      // Only the file the record was made of: a paused run that lost the job may have written
      // this record over the run that took it, whose partial output is still unfinished.
      const bytes = (await stat(partial)).size;
      if (state.finished?.bytes !== undefined && bytes !== state.finished.bytes) {
        throw new BentoError('RESUME_REFUSED', `Cannot finish job ${spec.name}: its checkpoint says the run finished with ${state.finished.bytes} bytes of output, but ${partial} holds ${bytes}: another run of the job wrote there since`, {
          file: stateFile(ckpt.path), hint: 'Run again with --restart to score the input again; the checkpoint cannot tell which rows are done.',
        });
      }
    }
    // The errors file is written only when some row failed, as an uninterrupted run writes it; and before the output, as a run does.
    const failed = (state.finished?.failed ?? 0) > 0;
    if (failed && (await exists(partialErrorsFile(ckpt.path)))) await publish(partialErrorsFile(ckpt.path), spec.errors.path);
    else if (!failed) await Promise.all([rm(partialErrorsFile(ckpt.path), { force: true }), ...(recovering ? [rm(spec.errors.path, { force: true })] : [])]);
    if (recovering) await publish(partial, spec.output.path);
    await tidyPartial(partialFile(ckpt.path, spec.output.format));
    if (await exists(spec.output.path)) return { kind: 'finished', state, moved: recovering };
  }
  if (state?.status === 'running' && changed.length > 0) throw refusal(spec, ckpt, state, changed);
  // Finished with other inputs (the next day's data), or the output was removed: a new run.
  if (state?.status === 'finished') await removeCheckpoint(ckpt.path);
  return { kind: 'run', fingerprint: print, resume: state?.status === 'finished' ? undefined : state?.committed };
}

/** The error a run stops with where its checkpoint no longer matches the job, input or model. */
function refusal(spec: JobSpec, ckpt: CheckpointSpec, state: CheckpointState, changed: readonly string[]): BentoError {
  return new BentoError('RESUME_REFUSED', `Cannot resume job ${spec.name}: ${changed.join('; ')} since the checkpoint in ${ckpt.path} (${state.committed?.rows ?? 0} rows committed)`, {
    file: stateFile(ckpt.path), hint: 'Run with --restart to discard the checkpoint and start over, or restore what changed to resume.',
  });
}

/** What decideResume would refuse, without touching the checkpoint: for `run --dry-run` and `validate`, which write nothing. */
export async function resumeRefusal(spec: JobSpec, ckpt: CheckpointSpec, files: readonly string[], bundle: Bundle, width?: number, partitions: readonly string[] = [], columns?: readonly Field[]): Promise<BentoError | undefined> {
  const state = await readState(ckpt.path);
  if (state?.status !== 'running') return undefined;
  const changed = differences(state.fingerprint, await fingerprint(spec, files, bundle, width, partitions, columns), { finishedEarlier: false });
  if (changed.length > 0) return refusal(spec, ckpt, state, changed);
  // A pipe is checked as the run would: read on to where the interrupted run stopped.
  return state.committed ? verifyStream(files, state.committed.source) : undefined;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
