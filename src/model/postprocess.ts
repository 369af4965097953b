/**
 * @file Output tensors → prediction columns, as the manifest says: activation (softmax or
 * sigmoid), then argmax label, top score, per-class probabilities, raw values or a list column.
 */
import { BentoError } from '../errors.js';
import { blockArray } from '../source/blocks.js';
import { CodedColumn, type Column, type Field, type FieldType } from '../source/types.js';
import { type Manifest, type OutputTensor, poolingMask } from './manifest.js';
import type { PreContext } from './preprocess.js';
import type { TensorData, TensorInfo } from './session.js';
import type { TokenInfo } from './text.js';

/** The prediction columns' names and types, fixed before the first batch (sinks need a schema). */
export function predictionFields(manifest: Manifest, outputs: readonly TensorInfo[]): Field[] {
  return manifest.outputs.flatMap((output) => {
    const onnxType = outputs.find((o) => o.name === output.tensor)?.type;
    const raw = elementType(onnxType);
    const valueType: FieldType = (output.activation ?? 'none') === 'none' ? raw : 'float64';
    // The model's width and sign, as a Parquet output keeps an input's: a uint64 past 2^63 is written only so.
    const integer = valueType === raw ? integerOf(onnxType) : undefined;
    const c = output.columns;
    const continuous = valueType === 'float32' || valueType === 'float64' ? { continuous: true } : {};
    return [
      ...(c.entities ? [{ name: c.entities, type: 'list' as const, items: 'struct' as const, fields: entityFields }] : []),
      ...(c.label ? [{ name: c.label, type: 'string' as const }] : []),
      ...(c.score ? [{ name: c.score, type: valueType, ...continuous, ...integer }] : []),
      ...(c.probabilities ? output.labels!.map((l) => ({ name: `${c.probabilities}${l}`, type: valueType, ...continuous })) : []),
      ...(c.values ?? []).map((name) => ({ name, type: valueType, ...continuous, ...integer })),
      ...(c.list ? [{ name: c.list, type: 'list' as const, items: output.normalize || (output.pooling ?? 'none') !== 'none' ? 'float64' as const : valueType }] : []),
      ...(c.top_k ? [{ name: c.top_k, type: 'list' as const, items: 'struct' as const, fields: [{ name: 'label', type: 'string' as const }, { name: 'score', type: 'float64' as const }] }] : []),
    ];
  });
}

/** An entity as the NER output column holds it: the tutorial's {entity, label} plus score and offsets. */
const entityFields: Field[] = [
  { name: 'entity', type: 'string' }, { name: 'label', type: 'string' }, { name: 'score', type: 'float64' },
  { name: 'start', type: 'int32' }, { name: 'end', type: 'int32' },
];

function integerOf(type: string | undefined): { integer: { bits: 8 | 16 | 64; signed: boolean } } | undefined {
  switch (type) {
    case 'int8': return { integer: { bits: 8, signed: true } };
    case 'int16': return { integer: { bits: 16, signed: true } };
    case 'uint8': return { integer: { bits: 8, signed: false } };
    case 'uint16': return { integer: { bits: 16, signed: false } };
    case 'uint64': return { integer: { bits: 64, signed: false } };
    default: return undefined;
  }
}

function elementType(type: string | undefined): FieldType {
  switch (type) {
    case 'float32': case 'float16': return 'float32';
    case 'int32': case 'int16': case 'int8': case 'uint8': case 'uint16': return 'int32';
    case 'int64': case 'uint32': case 'uint64': return 'int64';
    case 'bool': return 'bool';
    case 'string': return 'string';
    default: return 'float64';
  }
}

/** Turns one batch's outputs into prediction columns for its first `length` rows (padding dropped). */
export function postprocess(manifest: Manifest, outputs: Readonly<Record<string, TensorData>>, length: number, modelFile: string, context: PreContext = {}): Map<string, Column> {
  const columns = new Map<string, Column>();
  for (const output of manifest.outputs) {
    let tensor = outputs[output.tensor]!;
    // The batch's rows (a fixed batch: its padded size): fewer or more (a constant, a transposed or reshaped output) are not one value a row.
    if (tensor.dims.length === 0 || Number(tensor.dims[0]) !== (manifest.batch.fixed ? manifest.batch.max_size : length)) {
      const rows = manifest.batch.fixed ? manifest.batch.max_size : length;
      // Read as rows, a constant (a torch tuple's per-model value) filled the first rows and NaN the rest.
      throw new BentoError('MODEL_MISMATCH', `Output tensor "${output.tensor}" has dims [${tensor.dims.join(', ')}] for a batch of ${rows} row(s): its first dimension is not the batch, so it holds no value per row`, {
        file: modelFile, hint: `Leave "${output.tensor}" out of outputs in bento.yaml, or re-export the model with the batch as the first dimension of that output.`,
      });
    }
    // Flags come as bytes: as true and false, as a kept boolean column is written.
    if (tensor.type === 'bool') tensor = { ...tensor, data: Array.from(tensor.data as Uint8Array, (v) => v !== 0) as never };
    if (output.task === 'token-classification') {
      columns.set(output.columns.entities!, entities(output, tensor, length, context, modelFile));
      continue;
    }
    if ((output.pooling ?? 'none') !== 'none') tensor = pool(manifest, output, tensor, length, context, modelFile);
    const width = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
    checkWidth(output, tensor, width, modelFile);
    // Softmax is over the last dimension: per token of a [batch, sequence, labels] output, say.
    const last = tensor.dims.length > 2 ? Number(tensor.dims.at(-1)) || width : width;
    if (last === width && fused(columns, output, tensor.data, length, width)) continue;
    let values = activate(output, tensor.data, length * (width / last), last);
    if (output.normalize) values = l2normalize(values as ArrayLike<number>, length, width);
    // A [batch, sequence, …] output of a text model holds the batch's padding past each row's own
    // tokens: a list keeps the row's tokens only, so a row's values do not depend on its batch.
    const text = context.text;
    const perToken = text && tensor.dims.length >= 3 && tensor.dims[1] === text.sequence ? width / text.sequence : undefined;
    const rowWidth = perToken === undefined ? undefined : (r: number) => {
      let tokens = 0;
      for (let t = 0; t < text!.sequence; t++) if (text!.mask[r * text!.sequence + t] !== 0n) tokens = t + 1;
      return tokens * perToken;
    };
    writeColumns(columns, output, values, length, width, rowWidth);
  }
  return columns;
}

/**
 * The manifest's labels and value columns against the values a row has: probabilities and value
 * columns read one value each, so their count must be the row's; a label alone beside a list may
 * name fewer classes (a class past them is named by its index), never more.
 */
function checkWidth(output: OutputTensor, tensor: TensorData, width: number, modelFile: string): void {
  const c = output.columns;
  const labels = output.labels?.length;
  const problems = [
    ...(labels !== undefined && (c.probabilities || !c.list) && labels !== width ? [`${labels} label(s)`] : []),
    ...(labels !== undefined && c.list && !c.probabilities && labels > width ? [`${labels} label(s), more than the values`] : []),
    ...(c.values && c.values.length !== width ? [`${c.values.length} column(s) in columns.values`] : []),
    ...(output.activation === 'softmax' && width === 1 ? ['softmax over that one value (always 1: leave the activation out, or use sigmoid for a logit)'] : []),
  ];
  if (problems.length === 0) return;
  throw new BentoError('MODEL_MISMATCH', `Output tensor "${output.tensor}" has ${width} value(s) per row (dims [${tensor.dims.join(', ')}]), but the manifest maps ${problems.join(' and ')}`, {
    file: modelFile, hint: 'Make outputs.labels / outputs.columns.values in bento.yaml match the model\'s output shape (see `bento-batch inspect`).',
  });
}

type Numeric = ArrayLike<number | bigint | boolean | string>;

function activate(output: OutputTensor, data: TensorData['data'], length: number, width: number): Numeric {
  const activation = output.activation ?? 'none';
  if (activation === 'none') return data as Numeric;
  const x = data as ArrayLike<number>;
  const out = new Float64Array(length * width);
  for (let r = 0; r < length; r++) activateRow(activation, x, r * width, width, out, r * width);
  return out;
}

/** The values of the row at `x[from]`, activated, into `out` from `at`. */
function activateRow(activation: 'none' | 'softmax' | 'sigmoid', x: ArrayLike<number>, from: number, width: number, out: Float64Array, at: number): void {
  if (activation === 'softmax') {
    let max = -Infinity;
    for (let k = 0; k < width; k++) max = Math.max(max, x[from + k]!);
    let sum = 0;
    for (let k = 0; k < width; k++) sum += out[at + k] = Math.exp(x[from + k]! - max);
    for (let k = 0; k < width; k++) out[at + k]! /= sum;
  } else if (activation === 'sigmoid') for (let k = 0; k < width; k++) out[at + k] = 1 / (1 + Math.exp(-x[from + k]!));
  else for (let k = 0; k < width; k++) out[at + k] = x[from + k]!;
}

/**
 * `scratch`: a batch's activated values, class by class (`act[k * length + r]` in fused), kept
 * from batch to batch up to 32,768 values (256 KB); a wider output gets an array of its own each
 * batch, so that it does not stay allocated. `rowMax`, `rowSum`: per-row scratch.
 */
const scratchValues = 32768;
let scratch = new Float64Array(0);
let rowMax = new Float64Array(0);
let rowSum = new Float64Array(0);

/** Each output's per-value columns (valueColumns), made once rather than for every batch. */
const valueColumnsOf = new WeakMap<OutputTensor, { readonly names: readonly string[]; readonly at: readonly number[] }>();

/**
 * The usual classifier and regressor outputs (labels, scores, per-value columns of float
 * tensors, no list or top-k), a class at a time over all the batch's rows: a row at a time, the
 * short loops over its few classes cost twice the arithmetic itself (a 3-class softmax of
 * 3.1M rows: 154 ms against 71 ms unrolled, in a loop alone). Each value goes through the
 * arithmetic of activateRow() in the same order (a row's maximum, then its exponentials summed
 * from the first class, then each divided by the sum), and ties go to the first class as in
 * argmax(), so the values are the same to the bit. False when the output needs the general path.
 */
function fused(columns: Map<string, Column>, output: OutputTensor, data: TensorData['data'], length: number, width: number): boolean {
  const c = output.columns;
  if (c.list || c.top_k || output.normalize || !(data instanceof Float32Array || data instanceof Float64Array)) return false;
  const activation = output.activation ?? 'none';
  const values = length * width;
  if (values <= scratchValues && scratch.length < values) scratch = new Float64Array(scratchValues);
  const act = values <= scratchValues ? scratch : new Float64Array(values);
  if (rowMax.length < length) {
    rowMax = new Float64Array(length);
    rowSum = new Float64Array(length);
  }
  if (activation === 'softmax') {
    rowMax.fill(-Infinity, 0, length);
    for (let k = 0; k < width; k++) for (let r = 0, i = k; r < length; r++, i += width) rowMax[r] = Math.max(rowMax[r]!, data[i]!);
    rowSum.fill(0, 0, length);
    for (let k = 0; k < width; k++) {
      for (let r = 0, i = k, a = k * length; r < length; r++, i += width, a++) {
        const e = Math.exp(data[i]! - rowMax[r]!);
        act[a] = e;
        rowSum[r] = rowSum[r]! + e;
      }
    }
    for (let k = 0; k < width; k++) for (let r = 0, a = k * length; r < length; r++, a++) act[a]! /= rowSum[r]!;
  } else if (activation === 'sigmoid') {
    for (let k = 0; k < width; k++) for (let r = 0, i = k, a = k * length; r < length; r++, i += width, a++) act[a] = 1 / (1 + Math.exp(-data[i]!));
  } else {
    for (let k = 0; k < width; k++) for (let r = 0, i = k, a = k * length; r < length; r++, i += width, a++) act[a] = data[i]!;
  }
  // Activated values are float64; raw ones keep the tensor's type (floatColumn).
  const Values = activation === 'none' && data instanceof Float32Array ? Float32Array : Float64Array;
  if (c.label || c.score) {
    // argmax() over the activated values, a class at a time: the best so far in rowMax (free again).
    const best = blockArray(Int32Array, length).fill(0);
    rowMax.set(act.subarray(0, length));
    for (let k = 1; k < width; k++) {
      for (let r = 0, a = k * length; r < length; r++, a++) {
        if (act[a]! > rowMax[r]!) {
          rowMax[r] = act[a]!;
          best[r] = k;
        }
      }
    }
    // A row whose values hold a NaN (an input of ±Infinity through a softmax, say) has no best class: its label is null, not the first class.
    for (let k = 0; k < width; k++) {
      for (let r = 0, a = k * length; r < length; r++, a++) {
        if (act[a]! !== act[a]!) {
          best[r] = -1;
          rowMax[r] = NaN;
        }
      }
    }
    if (c.label) columns.set(c.label, new CodedColumn(best, labelsOf(output, width)));
    if (c.score) {
      const scores = blockArray<Float32Array | Float64Array>(Values, length);
      scores.set(rowMax.subarray(0, length));
      columns.set(c.score, scores);
    }
  }
  let value = valueColumnsOf.get(output);
  if (!value) {
    const list = valueColumns(output);
    valueColumnsOf.set(output, (value = { names: list.map(([name]) => name), at: list.map(([, k]) => k) }));
  }
  for (let j = 0; j < value.names.length; j++) {
    const column = blockArray<Float32Array | Float64Array>(Values, length);
    column.set(act.subarray(value.at[j]! * length, (value.at[j]! + 1) * length));
    columns.set(value.names[j]!, column);
  }
  return true;
}

/** Index of the largest of the `width` values from `x[from]`; a tie goes to the first; -1 when one is NaN (no best class). */
function argmax(x: Numeric, from: number, width: number): number {
  let b = 0;
  for (let k = 0; k < width; k++) {
    const v = Number(x[from + k]);
    if (v !== v) return -1;
    if (v > Number(x[from + b])) b = k;
  }
  return b;
}

/** The per-value columns an output maps (probabilities, then values), each with its index in a row. */
function valueColumns(output: OutputTensor): [name: string, k: number][] {
  const c = output.columns;
  return [...(c.probabilities ? output.labels!.map((l, k): [string, number] => [`${c.probabilities}${l}`, k]) : []), ...(c.values ?? []).map((name, k): [string, number] => [name, k])];
}

/**
 * Float columns stay typed arrays: they cross to the writer thread as one copy instead of a
 * value at a time, and the Parquet writer takes them as they are.
 */
function floatColumn(values: Numeric, length: number): { [i: number]: unknown; length: number } {
  if (values instanceof Float64Array) return new Float64Array(length);
  if (values instanceof Float32Array) return new Float32Array(length);
  return new Array<unknown>(length);
}

function writeColumns(columns: Map<string, Column>, output: OutputTensor, values: Numeric, length: number, width: number, rowWidth?: (r: number) => number): void {
  const c = output.columns;
  if (c.label || c.score) {
    // A label column is the best class's index into the labels: no string a row to look up again.
    const best = new Int32Array(length);
    const scores = floatColumn(values, length);
    for (let r = 0; r < length; r++) {
      const b = (best[r] = argmax(values, r * width, width));
      scores[r] = b < 0 ? NaN : values[r * width + b];
    }
    if (c.label) columns.set(c.label, new CodedColumn(best, labelsOf(output, width)));
    if (c.score) columns.set(c.score, scores);
  }
  for (const [name, k] of valueColumns(output)) {
    const column = floatColumn(values, length);
    for (let r = 0; r < length; r++) column[r] = values[r * width + k];
    columns.set(name, column);
  }
  if (c.list) {
    const column: unknown[] = new Array(length);
    for (let r = 0; r < length; r++) column[r] = Array.from({ length: rowWidth?.(r) ?? width }, (_, k) => values[r * width + k]);
    columns.set(c.list, column);
  }
  if (c.top_k && output.top_k && output.labels) {
    const labels = output.labels;
    const column: unknown[] = new Array(length);
    // The k best a row, kept in order as the classes go by (a tie keeps the earlier class, NaN
    // ranks last): sorting every class a row took 1.3 ms a row of 5,000 classes.
    const k = Math.min(output.top_k, labels.length);
    const best = new Int32Array(k);
    const rank = new Float64Array(k);
    // NaN ranks below every number, -Infinity too.
    const above = (v: number, than: number) => (than !== than ? v === v : v > than);
    for (let r = 0; r < length; r++) {
      let n = 0;
      for (let j = 0; j < labels.length; j++) {
        const v = Number(values[r * width + j]);
        if (n === k && !above(v, rank[k - 1]!)) continue;
        let at = n < k ? n++ : k - 1;
        for (; at > 0 && above(v, rank[at - 1]!); at--) {
          rank[at] = rank[at - 1]!;
          best[at] = best[at - 1]!;
        }
        rank[at] = v;
        best[at] = j;
      }
      column[r] = Array.from({ length: n }, (_, i) => ({ label: labels[best[i]!]!, score: Number(values[r * width + best[i]!]) }));
    }
    columns.set(c.top_k, column);
  }
}

const indexLabels = new WeakMap<OutputTensor, readonly string[]>();

/** The output's labels, with "k" for a class k it has none for (one array per output, so batches share it). */
function labelsOf(output: OutputTensor, width: number): readonly string[] {
  if (output.labels && output.labels.length >= width) return output.labels;
  let labels = indexLabels.get(output);
  if (labels?.length !== width) indexLabels.set(output, (labels = Array.from({ length: width }, (_, k) => output.labels?.[k] ?? String(k))));
  return labels;
}

/** [batch, seq, dim] → [batch, dim]: mean over the attention mask, or the first token. */
function pool(manifest: Manifest, output: OutputTensor, tensor: TensorData, length: number, context: PreContext, modelFile: string): TensorData {
  const [, sequence, dim] = tensor.dims;
  if (tensor.dims.length !== 3 || sequence === undefined || dim === undefined) {
    throw new BentoError('MODEL_MISMATCH', `Output tensor "${output.tensor}" has dims [${tensor.dims.join(', ')}]; pooling needs [batch, sequence, dim]`, { file: modelFile, hint: 'Remove `pooling` from this output in bento.yaml, or map a [batch, sequence, dim] output.' });
  }
  const x = tensor.data as ArrayLike<number>;
  const out = new Float64Array(length * dim);
  const maskName = context.text ? undefined : poolingMask(manifest, output);
  const mask = context.text ? { data: context.text.mask, sequence: context.text.sequence } : maskName === undefined ? undefined : context.masks?.get(maskName);
  if (mask && mask.sequence !== sequence && output.pooling === 'mean') {
    throw new BentoError('MODEL_MISMATCH', `Output tensor "${output.tensor}" has ${sequence} positions a row, its mask${maskName ? ` "${maskName}"` : ''} ${mask.sequence}: pooling: mean cannot tell which positions are tokens`, { file: modelFile, hint: 'Set outputs.mask in bento.yaml to the input that holds this output\'s attention mask.' });
  }
  for (let r = 0; r < length; r++) {
    if (output.pooling === 'cls') {
      for (let d = 0; d < dim; d++) out[r * dim + d] = x[r * sequence * dim + d]!;
      continue;
    }
    let count = 0;
    for (let t = 0; t < sequence; t++) {
      // 0 and 0n: padding.
      if (mask && !mask.data[r * sequence + t]) continue;
      count++;
      for (let d = 0; d < dim; d++) out[r * dim + d]! += x[(r * sequence + t) * dim + d]!;
    }
    for (let d = 0; d < dim; d++) out[r * dim + d]! /= Math.max(count, 1);
  }
  return { type: 'float64', data: out, dims: [tensor.dims[0]!, dim] };
}

function l2normalize(values: ArrayLike<number>, length: number, width: number): Float64Array {
  const out = Float64Array.from(values);
  for (let r = 0; r < length; r++) {
    let sum = 0;
    for (let k = 0; k < width; k++) sum += out[r * width + k]! ** 2;
    const norm = Math.sqrt(sum) || 1;
    for (let k = 0; k < width; k++) out[r * width + k]! /= norm;
  }
  return out;
}

interface Entity {
  entity: string;
  label: string;
  score: number;
  start: number;
  end: number;
}

/**
 * BIO tags → entity spans, at word level (Hugging Face's "first" aggregation): a word takes its
 * first token's tag and score; a word joins the current group when its type matches and its tag
 * is not B-; groups of O are dropped; the entity text is the original text between the group's
 * first and last word, and its score the mean of the word scores.
 */
function entities(output: OutputTensor, tensor: TensorData, length: number, context: PreContext, modelFile: string): Entity[][] {
  const text = context.text;
  const labels = output.labels!;
  const [, sequence, width] = tensor.dims;
  if (!text || tensor.dims.length !== 3 || width !== labels.length) {
    throw new BentoError('MODEL_MISMATCH', `Output tensor "${output.tensor}" has dims [${tensor.dims.join(', ')}]; token classification needs [batch, sequence, ${labels.length}] (one logit per BIO label)`, {
      file: modelFile, hint: 'Make outputs.labels list one BIO tag per logit, in the model\'s order.',
    });
  }
  const x = tensor.data as ArrayLike<number>;
  const out: Entity[][] = new Array(length);
  for (let r = 0; r < length; r++) {
    const info = text.info[r]!;
    const words: { tag: string; score: number; start: number; end: number }[] = [];
    let previous = -1;
    for (let t = 0; t < info.tokens.length && t < sequence!; t++) {
      const word = info.words[t]!;
      if (word < 0) continue;
      const [start, end] = info.spans[t]!;
      if (word === previous) {
        words[words.length - 1]!.end = end;
        continue;
      }
      previous = word;
      const o = (r * sequence! + t) * width;
      let best = 0;
      let max = -Infinity;
      for (let k = 0; k < width; k++) if (x[o + k]! > max) { max = x[o + k]!; best = k; }
      let sum = 0;
      for (let k = 0; k < width; k++) sum += Math.exp(x[o + k]! - max);
      words.push({ tag: labels[best]!, score: 1 / sum, start, end });
    }
    const groups: { type: string; words: typeof words }[] = [];
    for (const w of words) {
      const bi = w.tag.startsWith('B-') ? 'B' : 'I';
      const type = /^[BI]-/.test(w.tag) ? w.tag.slice(2) : w.tag;
      const current = groups.at(-1);
      if (current && current.type === type && bi !== 'B') current.words.push(w);
      else groups.push({ type, words: [w] });
    }
    const source = sourceText(info);
    out[r] = groups.filter((g) => g.type !== 'O').map((g) => {
      const start = g.words[0]!.start;
      const end = g.words.at(-1)!.end;
      return { entity: source(start, end), label: g.type, score: g.words.reduce((a, w) => a + w.score, 0) / g.words.length, start, end };
    });
  }
  return out;
}

function sourceText(info: TokenInfo): (start: number, end: number) => string {
  return (start, end) => info.text.slice(start, end);
}
