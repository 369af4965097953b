// I/O ceiling: bento-batch's own reader → batcher → writer with the model replaced by nothing
// at all: every batch gets made-up prediction columns of the names and types the model's
// predictions have, so the output has the same shape (all input columns kept + predictions) and
// format as the real run. Read as a real run reads (CSV to CSV: records passed through whole,
// only the model's cells as values) and written off the reading thread as a real run writes
// (CSV/JSONL: the writer thread; Parquet: row groups on encoder threads). No
// preprocess, no postprocess, no model threads, no checkpoint. `--writer inline` writes on the
// main thread instead (the bench takes the faster of the two as the ceiling). The prediction
// values are full-precision doubles, as a real model's are: constants like 0.5 would make
// number formatting and Parquet encoding unrealistically cheap.
import { args, contract, report, seededRandom } from './common.js';

const root = new URL('../../dist/src/', import.meta.url);
const { openSource } = await import(new URL('source/index.js', root));
const { openSinkThread } = await import(new URL('sink/thread.js', root));
const { openSink } = await import(new URL('sink/index.js', root));
const { lineColumn } = await import(new URL('source/types.js', root));
const { batches } = await import(new URL('batch/batcher.js', root));
const { openBundle } = await import(new URL('model/bundle.js', root));
const { predictionFields } = await import(new URL('model/postprocess.js', root));

const a = args();
const size = Number(a.batch);
const format = a.output.endsWith('.csv') ? 'csv' : a.output.endsWith('.jsonl') ? 'jsonl' : 'parquet';
const bundle = await openBundle(a.model);
const k = contract(a.model);

// Prediction columns for each batch: labels cycle, scores are distinct doubles in (0, 1) (not
// repeated soon, or V8's number-to-string cache would make CSV formatting nearly free, and
// Parquet would dictionary-encode them). They are made once, before the timer, and copied out
// per batch: making them per batch cost the reading thread more than a real run's
// postprocessing does, and a ceiling must not be the slower one.
const next = seededRandom(42);
const labels = k.labels ?? ['0'];
const POOL = 1 << 20;
// Two draws per value: full 53-bit doubles, as long in text (and as slow to format) as a real
// model's probabilities.
const scores = Float64Array.from({ length: POOL + size }, () => Math.floor(next() * 2 ** 26) / 2 ** 26 + Math.floor(next() * 2 ** 27) / 2 ** 53);
const labelPool = Array.from({ length: POOL + size }, (_, i) => labels[i % labels.length]);
const started = performance.now();
const csvOut = format === 'csv';
const source = await openSource({ path: a.input, format: undefined, columns: undefined, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: Number(a.chunk ?? 8192) },
  { rawText: csvOut, ...(csvOut ? { linesFor: ',', valuesOf: k.columns } : {}) });
// Output tensors are float32 in every bench model; with an activation the columns are float64 as in a real run.
const predictions = predictionFields(bundle.manifest, [{ name: k.outputName, isTensor: true, type: 'float32', shape: [] }]);
const sink = await (a.writer === 'inline' ? openSink : openSinkThread)({ path: a.output, format, keep: undefined, csv: { delimiter: ',' }, parquet: { rowGroupRows: 65536, compression: 'snappy' } }, [...source.schema, ...predictions], { partial: a.output });
let at = 0;
// Typed float columns, as postprocess hands the sink.
const predicted = (length) => predictions.map((f, c) => {
  const from = (at + c * 7919) % POOL;
  return [f.name, f.type === 'string' ? labelPool.slice(from, from + length) : scores.slice(from, from + length)];
});
let rows = 0;
for await (const batch of batches(source.chunks(), size)) {
  const lines = batch.columns.get(lineColumn);
  const columns = lines ? new Map([[lineColumn, lines]]) : new Map(batch.columns);
  for (const [name, values] of predicted(batch.length)) columns.set(name, values);
  await sink.write({ length: batch.length, columns });
  rows += batch.length;
  at += batch.length;
}
await sink.seal();
report({ rows, seconds: (performance.now() - started) / 1000 });
