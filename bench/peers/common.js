// Shared bits of the benchmark's stand-alone scripts (ceilings and hand-written peers).
// Each script prints one JSON line on stdout: { rows, seconds, ... }; `seconds` is measured
// inside the script (after imports and model loading), so startup never counts against a peer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** `--key value` pairs from argv. */
export function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

/**
 * The one-input, one-output float32 contract the bench models share (penguins, wide-mlp,
 * flights-delay), read from the bundle's bento.yaml as a hand-written script would hard-code it.
 */
export function contract(modelDir) {
  const m = parseYaml(readFileSync(join(modelDir, 'bento.yaml'), 'utf8'));
  const input = m.inputs[0];
  const output = m.outputs[0];
  const columns = input.columns;
  const fill = Array.isArray(input.fill) ? input.fill : columns.map(() => input.fill ?? 0);
  const c = output.columns;
  const predictionNames = [
    ...(c.label ? [c.label] : []), ...(c.score ? [c.score] : []),
    ...(c.probabilities ? output.labels.map((l) => `${c.probabilities}${l}`) : []), ...(c.values ?? []),
  ];
  return { modelFile: join(modelDir, m.model), inputName: input.tensor, outputName: output.tensor, shape: input.shape, columns, fill, activation: output.activation ?? 'none', labels: output.labels, out: c, predictionNames };
}

/**
 * Output tensor → prediction values per row, as bento-batch's postprocess defines them:
 * activation, then label / score / probabilities / values. Calls `emit(row, values[])`.
 */
export function predictions(k, data, rows, emit) {
  const width = data.length / rows;
  const p = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    if (k.activation === 'softmax') {
      let max = -Infinity;
      for (let j = 0; j < width; j++) if (data[o + j] > max) max = data[o + j];
      let sum = 0;
      for (let j = 0; j < width; j++) sum += p[j] = Math.exp(data[o + j] - max);
      for (let j = 0; j < width; j++) p[j] /= sum;
    } else if (k.activation === 'sigmoid') {
      for (let j = 0; j < width; j++) p[j] = 1 / (1 + Math.exp(-data[o + j]));
    } else for (let j = 0; j < width; j++) p[j] = data[o + j];
    const values = [];
    if (k.out.label || k.out.score) {
      let best = 0;
      for (let j = 1; j < width; j++) if (p[j] > p[best]) best = j;
      if (k.out.label) values.push(k.labels?.[best] ?? String(best));
      if (k.out.score) values.push(p[best]);
    }
    if (k.out.probabilities || k.out.values) for (let j = 0; j < width; j++) values.push(p[j]);
    emit(r, values);
  }
}

const missing = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '#N/A']);
/** A CSV cell or Parquet value as a model feature; missing → the bundle's fill. */
export function feature(value, fill) {
  if (value === null || value === undefined) return fill;
  if (typeof value === 'number') return Number.isNaN(value) ? fill : value;
  if (typeof value === 'bigint') return Number(value);
  return missing.has(value) ? fill : Number(value);
}

/** RFC 4180 quoting for a text cell. */
export const csvCell = (v) => (v === null || v === undefined ? '' : typeof v !== 'string' ? String(v) : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * CPU seconds (user + system, every thread of the process) since this was called: what the timed
 * part of a script cost the machine's cores, which its wall time alone does not say.
 */
export function cpuClock() {
  const from = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(from);
    return (d.user + d.system) / 1e6;
  };
}

export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
