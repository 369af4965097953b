// What array types does hyparquet's onChunk give for REQUIRED vs OPTIONAL columns and a LIST column?
import { parquetRead, parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
for (const f of ['out/hyparquet-writer_ZSTD.parquet', 'out/parquet-wasm-stream_ZSTD.parquet', 'data/duck_zstd.parquet']) {
  const file = await asyncBufferFromFile(f);
  const metadata = await parquetMetadataAsync(file);
  const rep = Object.fromEntries(metadata.schema.slice(1).map(s => [s.name, s.repetition_type]));
  const seen = {};
  await parquetRead({ file, metadata, rowStart: 0, rowEnd: 10, compressors, onChunk: ({ columnName, columnData }) => {
    seen[columnName] ??= `${rep[columnName]} -> ${columnData.constructor.name}` + (Array.isArray(columnData) ? `<${columnData[0]?.constructor?.name}>` : '');
  } });
  console.log(f, JSON.stringify(seen));
}
