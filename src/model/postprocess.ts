/**
 * @file Output tensors → prediction columns, as the manifest says: activation (softmax or
 * sigmoid), then argmax label, top score, per-class probabilities, raw values or a list column.
 */
import { BentoError } from '../errors.js';
import type { Column, Field, FieldType } from '../source/types.js';
import type { Manifest, OutputTensor } from './manifest.js';
import type { TensorData, TensorInfo } from './session.js';

/** The prediction columns' names and types, fixed before the first batch (sinks need a schema). */
export function predictionFields(manifest: Manifest, outputs: readonly TensorInfo[]): Field[] {
  return manifest.outputs.flatMap((output) => {
    const raw = elementType(outputs.find((o) => o.name === output.tensor)?.type);
    const valueType: FieldType = (output.activation ?? 'none') === 'none' ? raw : 'float64';
    const c = output.columns;
    return [
      ...(c.label ? [{ name: c.label, type: 'string' as const }] : []),
      ...(c.score ? [{ name: c.score, type: valueType }] : []),
      ...(c.probabilities ? output.labels!.map((l) => ({ name: `${c.probabilities}${l}`, type: valueType })) : []),
      ...(c.values ?? []).map((name) => ({ name, type: valueType })),
      ...(c.list ? [{ name: c.list, type: 'list' as const, items: valueType }] : []),
    ];
  });
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
export function postprocess(manifest: Manifest, outputs: Readonly<Record<string, TensorData>>, length: number, modelFile: string): Map<string, Column> {
  const columns = new Map<string, Column>();
  for (const output of manifest.outputs) {
    const tensor = outputs[output.tensor]!;
    const width = tensor.dims.slice(1).reduce((a, b) => a * b, 1);
    const expected = output.labels?.length ?? output.columns.values?.length;
    if (expected !== undefined && !output.columns.list && width !== expected) {
      throw new BentoError('MODEL_MISMATCH', `Output tensor "${output.tensor}" has ${width} value(s) per row (dims [${tensor.dims.join(', ')}]), but the manifest maps ${expected}`, {
        file: modelFile, hint: 'Make outputs.labels / outputs.columns.values in bento.yaml match the model\'s output shape (see `bento-batch inspect`).',
      });
    }
    const values = activate(output, tensor.data, length, width);
    writeColumns(columns, output, values, length, width);
  }
  return columns;
}

type Numeric = ArrayLike<number | bigint | boolean | string>;

function activate(output: OutputTensor, data: TensorData['data'], length: number, width: number): Numeric {
  const activation = output.activation ?? 'none';
  if (activation === 'none') return data as Numeric;
  const x = data as ArrayLike<number>;
  const out = new Float64Array(length * width);
  if (activation === 'sigmoid') {
    for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]!));
    return out;
  }
  for (let r = 0; r < length; r++) {
    const o = r * width;
    let max = -Infinity;
    for (let k = 0; k < width; k++) max = Math.max(max, x[o + k]!);
    let sum = 0;
    for (let k = 0; k < width; k++) sum += out[o + k] = Math.exp(x[o + k]! - max);
    for (let k = 0; k < width; k++) out[o + k]! /= sum;
  }
  return out;
}

function writeColumns(columns: Map<string, Column>, output: OutputTensor, values: Numeric, length: number, width: number): void {
  const c = output.columns;
  if (c.label || c.score) {
    const labels: string[] = new Array(length);
    const scores: unknown[] = new Array(length);
    for (let r = 0; r < length; r++) {
      let best = 0;
      for (let k = 1; k < width; k++) if (Number(values[r * width + k]) > Number(values[r * width + best])) best = k;
      labels[r] = output.labels?.[best] ?? String(best);
      scores[r] = values[r * width + best];
    }
    if (c.label) columns.set(c.label, labels);
    if (c.score) columns.set(c.score, scores);
  }
  const perValue = (names: readonly string[]) => names.forEach((name, k) => {
    const column: unknown[] = new Array(length);
    for (let r = 0; r < length; r++) column[r] = values[r * width + k];
    columns.set(name, column);
  });
  if (c.probabilities) perValue(output.labels!.map((l) => `${c.probabilities}${l}`));
  if (c.values) perValue(c.values);
  if (c.list) {
    const column: unknown[] = new Array(length);
    for (let r = 0; r < length; r++) column[r] = Array.from({ length: width }, (_, k) => values[r * width + k]);
    columns.set(c.list, column);
  }
}
