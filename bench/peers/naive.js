// The naive hand-written script: row objects (csv-parse `columns: true`; hyparquet
// `parquetReadObjects`), one `session.run` per row on a [1, n] tensor, results kept as objects
// and written at the end (CSV: one string; Parquet: hyparquet-writer from the objects).
// Default session options, as a first script has them.
import { writeFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteFile } from 'hyparquet-writer';
import * as ort from 'onnxruntime-node';
import { args, contract, csvCell, feature, predictions, report } from './common.js';

const a = args();
const k = contract(a.model);
const session = await ort.InferenceSession.create(k.modelFile);
const started = performance.now();
const results = [];

async function scoreRow(row) {
  const data = Float32Array.from(k.columns, (c, j) => feature(row[c], k.fill[j]));
  const out = await session.run({ [k.inputName]: new ort.Tensor('float32', data, [1, data.length]) });
  predictions(k, out[k.outputName].data, 1, (_, values) => {
    const scored = { ...row };
    k.predictionNames.forEach((name, p) => { scored[name] = values[p]; });
    results.push(scored);
  });
}

if (a.input.endsWith('.csv')) {
  for await (const row of createReadStream(a.input).pipe(parse({ columns: true }))) await scoreRow(row);
  const names = Object.keys(results[0]);
  writeFileSync(a.output, `${names.join(',')}\n${results.map((r) => names.map((n) => csvCell(r[n])).join(',')).join('\n')}\n`);
} else {
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(a.input), compressors });
  for (const row of rows) await scoreRow(row);
  const names = Object.keys(results[0]);
  parquetWriteFile({
    filename: a.output,
    columnData: names.map((name) => {
      const data = results.map((r) => r[name] ?? null);
      return { name, data, type: typeof data.find((v) => v !== null) === 'string' ? 'STRING' : 'DOUBLE', nullable: true };
    }),
  });
}
report({ rows: results.length, seconds: (performance.now() - started) / 1000 });
