// I/O ceiling: bento-batch's own reader → batcher → writer with the model replaced by nothing
// at all: every batch gets prediction columns copied from a pool made before the timer, so the
// output has the same shape (all input columns kept + predictions) and format as the real run.
// Read as a real run reads (CSV to CSV: records passed through whole, only the model's cells as
// values) and written off the reading thread as a real run writes (CSV/JSONL: the writer thread;
// Parquet: row groups on encoder threads). No preprocess, no postprocess, no model threads, no
// checkpoint. `--writer inline` writes on the main thread instead (the bench takes the faster of
// the two as the ceiling).
//
// The pool holds the model's own predictions for the input's first rows (up to 2^20, cycled):
// what is written costs what a real run's output costs. Made-up values did not: uniform random
// doubles are incompressible, so Snappy gave up on them at once (its share of Parquet encoding
// was 14x smaller than on real probabilities), and values from a generator with a short cycle
// let V8's number-to-string cache make CSV formatting ~3x cheaper than a real model's.
import { args, cpuClock, report } from './common.js';

const root = new URL('../../dist/src/', import.meta.url);
// The heap settings a run gives its threads (run/memory.ts), set as a run sets them (once its
// threads have started), so the ceiling's reader and writer collect garbage as bento-batch's do;
// and, as a run does, its threads compile on their own on two cores (compileOnOwnThread).
const { setHeapGrowing, compileOnOwnThread } = await import(new URL('run/memory.js', root));
compileOnOwnThread();
const { openSource } = await import(new URL('source/index.js', root));
const { openSinkThread } = await import(new URL('sink/thread.js', root));
const { openSink } = await import(new URL('sink/index.js', root));
const { CodedColumn, cell, lineColumn } = await import(new URL('source/types.js', root));
const { batches } = await import(new URL('batch/batcher.js', root));
const { openBundle } = await import(new URL('model/bundle.js', root));
const { Session } = await import(new URL('model/session.js', root));
const { preprocess } = await import(new URL('model/preprocess.js', root));
const { postprocess, predictionFields } = await import(new URL('model/postprocess.js', root));

const a = args();
const size = Number(a.batch);
const format = a.output.endsWith('.csv') ? 'csv' : a.output.endsWith('.jsonl') ? 'jsonl' : 'parquet';
const bundle = await openBundle(a.model);
const m = bundle.manifest;
// Chunks as a run reads them by default (input.chunk_rows).
const { defaultChunkRows } = await import(new URL('job/load.js', root));
const input = (read) => openSource({ path: a.input, format: undefined, columns: undefined, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: Number(a.chunk ?? defaultChunkRows) }, read);

const POOL = 1 << 20;
const session = await Session.create(bundle.modelFile, { providers: ['cpu'], graphOptimization: 'all' });
const fetch = m.outputs.map((o) => o.tensor);
const predictions = predictionFields(m, session.signature.outputs.filter((o) => fetch.includes(o.name)));
const parts = new Map(predictions.map((f) => [f.name, []]));
let pooled = 0;
for await (const batch of batches((await input({})).chunks(), 4096)) {
  const outputs = await session.run(preprocess(batch, m, batch.length), fetch);
  for (const [name, column] of postprocess(m, outputs, batch.length, bundle.modelFile)) parts.get(name)?.push(column);
  pooled += batch.length;
  if (pooled >= POOL) break;
}
await session.dispose();
// Each column with its first `size` values again at its end, so a batch that wraps around is one slice.
// Labels are coded as postprocess codes them (an index into the labels), numbers typed.
const pool = new Map([...parts].map(([name, list]) => {
  const coded = list[0] instanceof CodedColumn;
  const all = coded ? new Int32Array(pooled + size) : ArrayBuffer.isView(list[0]) ? new list[0].constructor(pooled + size) : new Array(pooled + size);
  let at = 0;
  for (const part of list) for (let i = 0; i < part.length; i++) all[at++] = coded ? part.codes[i] : cell(part, i);
  for (let i = 0; at < pooled + size; i++) all[at++] = all[i % pooled];
  return [name, coded ? { codes: all, dictionary: list[0].dictionary } : all];
}));

const started = performance.now();
const cpu = cpuClock();
const csvOut = format === 'csv';
const modelColumns = [...new Set(m.inputs.flatMap((i) => i.columns))];
const source = await input({ rawText: csvOut, ...(csvOut ? { linesFor: ',', valuesOf: modelColumns } : {}) });
const sink = await (a.writer === 'inline' ? openSink : openSinkThread)({ path: a.output, format, keep: undefined, csv: { delimiter: ',' }, parquet: { rowGroupRows: 65536, compression: 'snappy' } }, [...source.schema, ...predictions], { partial: a.output });
setHeapGrowing();
let at = 0;
// Typed float columns and coded labels, as postprocess hands the sink (fresh arrays, as a model's outputs are).
const predicted = (length) => {
  const from = at % pooled;
  return [...pool].map(([name, values]) => [name, values.codes ? new CodedColumn(values.codes.slice(from, from + length), values.dictionary) : values.slice(from, from + length)]);
};
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
report({ rows, seconds: (performance.now() - started) / 1000, cpuSeconds: cpu() });
