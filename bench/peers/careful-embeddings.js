// The careful hand-written script for an embedding column (a list of floats a row), as a
// competent engineer writes it with the libraries at hand: one long-lived session (intra_op =
// cores); Parquet read with hyparquet a row group at a time (only the columns it needs, as
// objects), JSON Lines a line at a time (readline + JSON.parse); one Float32Array a batch of the
// same size as bento-batch; `id` and the predictions written as CSV with backpressure. No
// checkpoints, no worker threads, no overlap of reading and inference.
//   --model DIR --input F.parquet|F.jsonl --output F.csv --batch N [--id id]
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import * as ort from 'onnxruntime-node';
import { args, contract, csvCell, predictions, report } from './common.js';

const a = args();
const k = contract(a.model);
const [column] = k.columns;
const width = k.shape[1];
const id = a.id ?? 'id';
const size = Number(a.batch);
const session = await ort.InferenceSession.create(k.modelFile, { intraOpNumThreads: availableParallelism(), graphOptimizationLevel: 'all' });
const out = createWriteStream(a.output);
out.write(`${[id, ...k.predictionNames].join(',')}\n`);
const started = performance.now();
let rows = 0;

/** Scores `batch` (row objects) and writes id + predictions. */
async function flush(batch) {
  const n = batch.length;
  const data = new Float32Array(n * width);
  for (let r = 0; r < n; r++) data.set(batch[r][column], r * width);
  const result = await session.run({ [k.inputName]: new ort.Tensor('float32', data, [n, width]) }, [k.outputName]);
  let text = '';
  predictions(k, result[k.outputName].data, n, (r, values) => {
    text += `${csvCell(batch[r][id])},${values.map(csvCell).join(',')}\n`;
  });
  rows += n;
  if (!out.write(text)) await once(out, 'drain');
}

if (a.input.endsWith('.parquet')) {
  const file = await asyncBufferFromFile(a.input);
  const metadata = await parquetMetadataAsync(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const objects = await parquetReadObjects({ file, metadata, compressors, columns: [id, column], rowStart, rowEnd });
    for (let i = 0; i < objects.length; i += size) await flush(objects.slice(i, i + size));
    rowStart = rowEnd;
  }
} else {
  let batch = [];
  for await (const line of createInterface({ input: createReadStream(a.input), crlfDelay: Infinity })) {
    if (line.length === 0) continue;
    batch.push(JSON.parse(line));
    if (batch.length === size) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
}
out.end();
await once(out, 'finish');
report({ rows, seconds: (performance.now() - started) / 1000 });
