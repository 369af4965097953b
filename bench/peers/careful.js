// The careful hand-written batched script a competent engineer writes in an afternoon:
// one long-lived session (intra_op = cores), records as arrays (CSV: csv-parse without
// `columns`/`info`; Parquet: hyparquet columnar, one row group at a time), one Float32Array per
// batch of the same size as bento-batch, `await session.run`, predictions appended beside all
// input columns, written with backpressure (CSV: one string per batch into a write stream;
// Parquet: hyparquet-writer, one row group per input row group). No checkpoints, no worker
// threads, no overlap of parsing and inference.
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import { fileWriter } from 'hyparquet-writer/src/node.js';
import * as ort from 'onnxruntime-node';
import { args, contract, csvCell, feature, predictions, report } from './common.js';

const a = args();
const k = contract(a.model);
const size = Number(a.batch);
const session = await ort.InferenceSession.create(k.modelFile, { intraOpNumThreads: Number(a.threads ?? availableParallelism()), graphOptimizationLevel: 'all' });
const width = k.columns.length;
const started = performance.now();
let rows = 0;

async function score(n, get) {
  const data = new Float32Array(n * width);
  for (let r = 0; r < n; r++) for (let j = 0; j < width; j++) data[r * width + j] = feature(get(r, j), k.fill[j]);
  const out = await session.run({ [k.inputName]: new ort.Tensor('float32', data, [n, width]) }, [k.outputName]);
  return out[k.outputName].data;
}

if (a.input.endsWith('.csv')) {
  const out = createWriteStream(a.output);
  const parser = createReadStream(a.input).pipe(parse());
  let header;
  let picks;
  let batch = [];
  const flush = async () => {
    const logits = await score(batch.length, (r, j) => batch[r][picks[j]]);
    let text = '';
    predictions(k, logits, batch.length, (r, values) => {
      text += `${batch[r].map(csvCell).join(',')},${values.map(csvCell).join(',')}\n`;
    });
    rows += batch.length;
    batch = [];
    if (!out.write(text)) await once(out, 'drain');
  };
  for await (const record of parser) {
    if (!header) {
      header = record;
      picks = k.columns.map((c) => header.indexOf(c));
      out.write(`${[...header, ...k.predictionNames].map(csvCell).join(',')}\n`);
      continue;
    }
    batch.push(record);
    if (batch.length === size) await flush();
  }
  if (batch.length > 0) await flush();
  out.end();
  await once(out, 'finish');
} else {
  const file = await asyncBufferFromFile(a.input);
  const metadata = await parquetMetadataAsync(file);
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  let writer;
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    const rowEnd = groupStart + groupRows;
    // Columnar read of one row group; pages may overhang the range, so place them by rowStart.
    const columns = new Map(names.map((n) => [n, new Array(groupRows)]));
    await parquetRead({
      file, metadata, compressors, rowStart: groupStart, rowEnd,
      onChunk: ({ columnName, columnData, rowStart }) => {
        const column = columns.get(columnName);
        for (let i = Math.max(0, groupStart - rowStart); i < columnData.length && rowStart + i < rowEnd; i++) column[rowStart + i - groupStart] = columnData[i];
      },
    });
    const features = k.columns.map((c) => columns.get(c));
    const preds = k.predictionNames.map(() => new Array(groupRows));
    for (let start = 0; start < groupRows; start += size) {
      const n = Math.min(size, groupRows - start);
      const logits = await score(n, (r, j) => features[j][start + r]);
      predictions(k, logits, n, (r, values) => {
        for (let p = 0; p < values.length; p++) preds[p][start + r] = values[p];
      });
    }
    const columnData = [
      ...names.map((n) => ({ name: n, data: columns.get(n) })),
      ...k.predictionNames.map((n, p) => ({ name: n, data: preds[p] })),
    ];
    if (!writer) {
      const typed = columnData.map((c) => ({ ...c, type: typeof c.data.find((v) => v !== null && v !== undefined) === 'string' ? 'STRING' : 'DOUBLE', nullable: true }));
      writer = new ParquetWriter({ writer: fileWriter(a.output), schema: schemaFromColumnData({ columnData: typed }) });
    }
    writer.write({ columnData, rowGroupSize: groupRows });
    rows += groupRows;
    groupStart = rowEnd;
  }
  writer.finish();
}
report({ rows, seconds: (performance.now() - started) / 1000 });
