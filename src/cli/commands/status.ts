/**
 * @file `bento-batch status job.yaml`: not started, in progress (rows committed, of how many
 * where known, last commit), finished (the run's manifest), or stale (inputs or model changed).
 */
import { existsSync } from 'node:fs';
import { lockHolder } from '../../checkpoint/lock.js';
import { differences, fingerprint, partialFile, readState } from '../../checkpoint/state.js';
import { BentoError, thousands } from '../../errors.js';
import { loadJob } from '../../job/load.js';
import { resolveBundle } from '../../model/bundle.js';
import { Logger } from '../../run/progress.js';
import { jobInputFiles } from '../../source/files.js';
import { hivePartitions, partitionRoot } from '../../source/partitions.js';
import { writtenByRuns } from '../../job/spec.js';

export interface StatusOptions {
  readonly job: string;
  readonly set: readonly string[];
  readonly json: boolean;
}

export interface JobStatus {
  readonly job: string;
  readonly state: 'not-started' | 'in-progress' | 'finished' | 'stale';
  readonly checkpoint: string | undefined;
  readonly output: string;
  readonly rows_committed?: number;
  readonly total_rows?: number;
  readonly last_commit?: string;
  readonly finished?: unknown;
  readonly changes?: readonly string[];
  /** checkpoint: false: the output is there, and nothing says which run wrote it. */
  readonly no_checkpoint?: boolean;
  /** Finished, but its output is still in the checkpoint (a rename failed or was cut short): a run moves it. */
  readonly unpublished?: boolean;
  /** Finished, but nothing is at output.path any more: a run scores the job again. */
  readonly output_missing?: boolean;
  /** The run going on now, if one holds the job's lock. */
  readonly running?: { readonly pid: number; readonly host: string; readonly started: string };
}

export async function status(options: StatusOptions, out: NodeJS.WritableStream = process.stdout): Promise<JobStatus> {
  const spec = await loadJob(options.job, { overrides: options.set });
  Logger.job = spec.name;
  const base = { job: spec.name, checkpoint: spec.checkpoint?.path, output: spec.output.path };
  let result: JobStatus;
  if (!spec.checkpoint) {
    // No record of the run: the output's being there is all there is to say, and a run scores the input again.
    if (existsSync(spec.output.path)) result = { ...base, state: 'finished', no_checkpoint: true };
    else result = { ...base, state: 'not-started' };
  } else {
    const state = await readState(spec.checkpoint.path);
    if (!state) result = { ...base, state: 'not-started' };
    else {
      const files = await jobInputFiles(spec.input, writtenByRuns(spec)).catch((e: unknown) => {
        if (e instanceof BentoError) return [] as string[];
        throw e;
      });
      // The partition keys the folders' names give (a run may take fewer: a key the files hold too): compared where an earlier version's checkpoint has none.
      const earlier = state.fingerprint.settings === undefined;
      let keys: string[] = [];
      try {
        keys = hivePartitions(partitionRoot(spec.input.path, files), files, spec.input.partitioning ?? 'auto', spec.input.path)?.fields.map((f) => f.name) ?? [];
      } catch {
        keys = [];
      }
      const print = await fingerprint(spec, files, await resolveBundle(spec.model.ref, spec.model.baseDir), undefined, keys);
      const changes = differences(state.fingerprint, print, { typeRowsUnknown: true, partitionsUnknown: !earlier || keys.length === 0, finishedEarlier: state.status === 'finished' });
      if (changes.length > 0) result = { ...base, state: 'stale', changes, rows_committed: state.committed?.rows ?? state.finished?.rows ?? 0, ...(state.status === 'finished' ? { finished: state.finished } : {}) };
      else if (state.status === 'finished') {
        // Finished is only done once the output is at output.path: a failed rename leaves it in the checkpoint.
        const unpublished = existsSync(partialFile(spec.checkpoint.path, spec.output.format));
        const gone = !unpublished && !existsSync(spec.output.path);
        result = { ...base, state: 'finished', finished: state.finished, ...(unpublished ? { unpublished: true } : gone ? { output_missing: true } : {}) };
      }
      else {
        const running = await lockHolder(spec.checkpoint.path);
        result = { ...base, state: 'in-progress', rows_committed: state.committed?.rows ?? 0, total_rows: state.total_rows, last_commit: state.committed?.at, ...(running ? { running } : {}) };
      }
    }
  }
  if (options.json) out.write(`${JSON.stringify(result, null, 2)}\n`);
  else out.write(`${describe(result)}\n`);
  return result;
}

function describe(s: JobStatus): string {
  switch (s.state) {
    case 'not-started': return `${s.job}: not started (output ${s.output})`;
    case 'finished': {
      const f = s.finished as { rows?: number; finished?: string; seconds?: number } | undefined;
      const done = `${s.job}: finished${f ? ` at ${f.finished}: ${f.rows === undefined ? '?' : thousands(f.rows)} rows in ${f.seconds}s` : ''}`;
      if (s.unpublished) return `${done}, but not yet moved to ${s.output} (it is in the checkpoint); run the job again to put it there`;
      if (s.output_missing) return `${done}, but ${s.output} is gone; running the job again scores it afresh`;
      if (s.no_checkpoint) return `${s.job}: ${s.output} is there (checkpoint: false keeps no record of the run that wrote it; running the job again scores the input again)`;
      return `${done} → ${s.output}`;
    }
    case 'in-progress': return `${s.job}: in progress, ${thousands(s.rows_committed!)}${s.total_rows ? ` of ${thousands(s.total_rows)}` : ''} rows committed${s.last_commit ? `, last commit ${s.last_commit}` : ''}; ${s.running ? `running now: process ${s.running.pid} on ${s.running.host} since ${s.running.started}` : 'run the job again to resume'}`;
    // A finished job whose input changed (tomorrow's file) simply runs again; an unfinished one is not resumed over the change.
    case 'stale': return s.finished
      ? `${s.job}: stale, finished (${thousands(s.rows_committed!)} rows) but changed since: ${s.changes!.join('; ')}. Run the job to score ${s.changes!.some((c) => c.endsWith(' is gone')) && s.changes!.every((c) => c.endsWith(' is gone')) ? 'its input again once it is back' : 'it again'}.`
      : `${s.job}: stale, the checkpoint (${thousands(s.rows_committed!)} rows) no longer matches: ${s.changes!.join('; ')}. Run with --restart to start over.`;
  }
}
