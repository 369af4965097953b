/**
 * @file A batch through the model and back into output columns: preprocess, a model call (retried
 * once, then bisected until the rows that make it fail are alone), postprocess, and the output
 * batch with failed rows dropped or nulled as `errors.emit` says.
 */
import { type Batch, sliceBatch } from '../batch/batcher.js';
import { BentoError, oneLine } from '../errors.js';
import type { Bundle } from '../model/bundle.js';
import type { ModelPool } from '../model/pool.js';
import { postprocess } from '../model/postprocess.js';
import { type PreContext, type Preprocessor, type RowErrors } from '../model/preprocess.js';
import type { TensorData } from '../model/session.js';
import type { OutputBatch } from '../sink/index.js';
import { cell, type Column, type Field, lineColumn } from '../source/types.js';

/** A batch's model results: one part normally; several when failing rows had to be isolated. */
interface Part {
  readonly offset: number;
  readonly length: number;
  readonly outputs: Record<string, TensorData> | undefined;
  readonly context: PreContext;
}

export interface Scored {
  readonly batch: Batch;
  readonly parts: readonly Part[];
  /** Rows (by index in the batch) that failed, in preprocessing or in the model. */
  readonly errors: RowErrors;
}

export class Scorer {
  readonly #fetch: string[];
  /** The tensor's batch dim when the model takes a fixed size (batches are padded to it). */
  readonly #rows: number | undefined;
  #scoredAny: boolean;

  constructor(
    private readonly bundle: Bundle,
    private readonly pre: Preprocessor,
    private readonly pool: ModelPool,
    /** True on a resume: rows were scored before, so a first batch failing whole is the data's fault. */
    scoredBefore: boolean,
  ) {
    const m = bundle.manifest;
    this.#fetch = [...new Set(m.outputs.map((o) => o.tensor))];
    this.#rows = m.batch.fixed ? m.batch.max_size : undefined;
    this.#scoredAny = scoredBefore;
  }

  /**
   * Runs a batch; a call that fails is retried once, then the batch is split in halves until
   * the rows that make it fail are alone: those go to `errors` with the runtime's message, the
   * others are scored.
   */
  async score(batch: Batch): Promise<Scored> {
    const errors: RowErrors = new Map(batch.errors);
    const parts = await this.#attempt(batch, 0, errors);
    // Every row of the first batch failing before any row ever scored is the model's problem, not
    // the data's. The first in input order: batches in flight end in any order, and a short last
    // batch of one bad row can end before the first.
    if (parts.every((p) => !p.outputs) && !this.#scoredAny && batch.index === 0) {
      throw errors.get(0) ?? new BentoError('MODEL_RUN', `Model ${this.bundle.manifest.name} failed on every row of the first batch`, { file: this.bundle.modelFile });
    }
    this.#scoredAny = true;
    return { batch, parts, errors };
  }

  async #attempt(part: Batch, offset: number, errors: RowErrors): Promise<Part[]> {
    const local: RowErrors = new Map();
    const { feeds, context } = this.pre.run(part, this.#rows ?? part.length, local);
    for (const [i, e] of local) if (!errors.has(offset + i)) errors.set(offset + i, e);
    try {
      return [{ offset, length: part.length, outputs: await this.pool.run(feeds, this.#fetch), context }];
    } catch (first) {
      try {
        const again = this.pre.run(part, this.#rows ?? part.length, new Map());
        return [{ offset, length: part.length, outputs: await this.pool.run(again.feeds, this.#fetch), context: again.context }];
      } catch (error) {
        if (part.length === 1) {
          if (!errors.has(offset)) errors.set(offset, modelRunError(error ?? first, part, this.bundle));
          return [{ offset, length: 1, outputs: undefined, context: {} }];
        }
        const half = Math.ceil(part.length / 2);
        return [...(await this.#attempt(sliceBatch(part, 0, half), offset, errors)), ...(await this.#attempt(sliceBatch(part, half, part.length), offset + half, errors))];
      }
    }
  }
}

export interface OutputShape {
  /** Input columns written, unless the batch carries whole records (`lineColumn`). */
  readonly keep: readonly Field[];
  /** With whole records: the kept columns written after them, which no record holds (partition columns, source/partitions.ts). */
  readonly afterLine?: readonly Field[];
  readonly predictions: readonly Field[];
  /** errors.emit: null-row (failed rows kept with null predictions and an `error` column) or skip. */
  readonly nullRows: boolean;
}

/** The output rows of a scored batch: kept input columns (or whole records) and predictions. */
export function outputBatch(scored: Scored, bundle: Bundle, shape: OutputShape): OutputBatch {
  const { batch, errors } = scored;
  let columns = new Map<string, Column>();
  const lines = batch.columns.get(lineColumn);
  if (lines) {
    columns.set(lineColumn, lines);
    for (const field of shape.afterLine ?? []) columns.set(field.name, batch.columns.get(field.name)!);
  } else for (const field of shape.keep) columns.set(field.name, batch.columns.get(field.name)!);
  const predicted = joinParts(scored.parts.map((p) => p.outputs
    ? postprocess(bundle.manifest, p.outputs, p.length, bundle.modelFile, p.context)
    : new Map(shape.predictions.map((f) => [f.name, new Array(p.length).fill(null)]))), batch.length);
  for (const [name, column] of predicted) columns.set(name, column);
  let length = batch.length;
  if (errors.size > 0 && shape.nullRows) {
    for (const name of predicted.keys()) {
      const column = columns.get(name)!;
      columns.set(name, Array.from({ length }, (_, i) => (errors.has(i) ? null : cell(column, i))));
    }
    columns.set('error', Array.from({ length }, (_, i) => errors.get(i)?.message ?? null));
  } else if (errors.size > 0) {
    const keep = Array.from({ length }, (_, i) => i).filter((i) => !errors.has(i));
    columns = new Map([...columns].map(([name, column]) => [name, keep.map((i) => cell(column, i))]));
    length = keep.length;
  } else if (shape.nullRows) columns.set('error', new Array(length).fill(null));
  return { length, columns };
}

/** The row a model call failed on, alone: the runtime's own message, where the row is. */
function modelRunError(error: unknown, batch: Batch, bundle: Bundle): BentoError {
  const first = batch.segments[0]!;
  const message = oneLine((error as Error).message);
  return new BentoError('MODEL_RUN', `Model ${bundle.manifest.name} failed on ${first.file} row ${first.fileRow + 1}: ${message}`, {
    file: first.file, row: first.fileRow + 1, ...(batch.starts ? { byte: batch.starts[0]! } : {}), cause: error,
    hint: 'The model cannot score this row; check its values against what the model was trained on.',
  });
}

/** Prediction columns of consecutive parts of a batch, joined into full-length columns. */
function joinParts(parts: Map<string, Column>[], length: number): Map<string, Column> {
  if (parts.length === 1) return parts[0]!;
  const out = new Map<string, Column>();
  for (const name of parts[0]!.keys()) {
    const column = new Array<unknown>(length);
    let o = 0;
    for (const part of parts) {
      const values = part.get(name)!;
      for (let i = 0; i < values.length; i++) column[o++] = cell(values, i);
    }
    out.set(name, column);
  }
  return out;
}
