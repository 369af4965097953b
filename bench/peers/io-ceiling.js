// I/O ceiling: bento-batch's own reader → batcher → writer with the model replaced by nothing
// at all: every batch gets constant prediction columns of the names and types the model's
// predictions have, so the output has the same shape (all input columns kept + predictions) and
// format as the real run. No preprocess, no postprocess, no worker threads, no checkpoint.
import { args, contract, report } from './common.js';

const root = new URL('../../dist/src/', import.meta.url);
const { openSource } = await import(new URL('source/index.js', root));
const { openSink } = await import(new URL('sink/index.js', root));
const { batches } = await import(new URL('batch/batcher.js', root));
const { openBundle } = await import(new URL('model/bundle.js', root));
const { predictionFields } = await import(new URL('model/postprocess.js', root));

const a = args();
const size = Number(a.batch);
const format = a.output.endsWith('.csv') ? 'csv' : a.output.endsWith('.jsonl') ? 'jsonl' : 'parquet';
const bundle = await openBundle(a.model);
const k = contract(a.model);

const started = performance.now();
const source = await openSource({ path: a.input, format: undefined, columns: undefined, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: Number(a.chunk ?? 8192) });
// Output tensors are float32 in every bench model; with an activation the columns are float64 as in a real run.
const predictions = predictionFields(bundle.manifest, [{ name: k.outputName, isTensor: true, type: 'float32', shape: [] }]);
const sink = await openSink({ path: a.output, format, keep: undefined, csv: { delimiter: ',' }, parquet: { rowGroupRows: 65536, compression: 'snappy' } }, [...source.schema, ...predictions], { partial: a.output });
const constants = new Map();
const constant = (length) => {
  let columns = constants.get(length);
  if (!columns) {
    // Plain arrays, as postprocess hands the sink.
    columns = predictions.map((f) => [f.name, new Array(length).fill(f.type === 'string' ? (k.labels?.[0] ?? '0') : 0.5)]);
    constants.set(length, columns);
  }
  return columns;
};
let rows = 0;
for await (const batch of batches(source.chunks(), size)) {
  const columns = new Map(batch.columns);
  for (const [name, values] of constant(batch.length)) columns.set(name, values);
  await sink.write({ length: batch.length, columns });
  rows += batch.length;
}
await sink.seal();
report({ rows, seconds: (performance.now() - started) / 1000 });
