// Reads one Parquet file to the end, all columns, and reports rows/s: `--reader ours` is
// bento-batch's source (flat columns decoded page by page, chunks of 8,192 rows; `--typed emb`
// reads list column emb as typed rows, as a run reads a list only its model takes); `--reader
// hyparquet` is hyparquet's own columnar parquetRead, one row group at a time, as the careful
// script reads. Nothing is scored or written: this isolates the reader.
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { args, report } from './common.js';

const a = args();
const started = performance.now();
let rows = 0;
if (a.reader === 'ours') {
  const { openParquet } = await import(new URL('../../dist/src/source/parquet.js', import.meta.url));
  // --typed COLUMNS: lists read as a run reads the model's own (typed rows), comma-separated.
  const typedLists = a.typed ? new Set(a.typed.split(',')) : undefined;
  const source = await openParquet([a.input], { columns: undefined, chunkRows: 8192, ...(typedLists ? { typedLists } : {}) });
  for await (const chunk of source.chunks()) rows += chunk.length;
} else {
  const file = await asyncBufferFromFile(a.input);
  const metadata = await parquetMetadataAsync(file);
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupEnd = groupStart + Number(group.num_rows);
    await parquetRead({ file, metadata, compressors, rowStart: groupStart, rowEnd: groupEnd, onChunk: () => undefined });
    rows += groupEnd - groupStart;
    groupStart = groupEnd;
  }
}
report({ rows, seconds: (performance.now() - started) / 1000 });
