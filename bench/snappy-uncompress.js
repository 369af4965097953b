// Snappy decompression of real Parquet pages: ours (dist/src/source/snappy.js) against hysnappy
// (hyparquet-compressors' WebAssembly, as it is called: an instance a page) and hyparquet's own
// JavaScript decoder. Median MB/s (of output) of 5 rounds, per column of each file's first two
// row groups; every decoder's bytes are checked equal first. Run after `npm run build`:
//   node bench/snappy-uncompress.js FILE.parquet…   (Snappy-compressed, e.g. DuckDB's default)
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { snappyUncompress as hyparquetJs } from 'hyparquet/src/snappy.js';
import { snappyUncompress as hysnappy } from 'hysnappy';
import { snappyUncompress as ours } from '../dist/src/source/snappy.js';

const decoders = {
  ours,
  hysnappy,
  'hyparquet js': (input, length) => {
    const out = new Uint8Array(length);
    hyparquetJs(input, out);
    return out;
  },
};
const columns = new Map();
for (const path of process.argv.slice(2)) {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  for (const group of metadata.row_groups.slice(0, 2)) {
    for (const { meta_data: m } of group.columns) {
      if (m.codec !== 'SNAPPY') continue;
      const start = Number(m.dictionary_page_offset || m.data_page_offset);
      const buffer = await file.slice(start, start + Number(m.total_compressed_size));
      const reader = { view: new DataView(buffer), offset: 0 };
      const key = `${path.split('/').at(-1)}:${m.path_in_schema.join('.')}`;
      while (reader.offset < buffer.byteLength) {
        const header = parquetHeader(reader);
        const pages = columns.get(key) ?? columns.set(key, []).get(key);
        pages.push({ bytes: new Uint8Array(buffer, reader.offset, header.compressed_page_size), length: header.uncompressed_page_size });
        reader.offset += header.compressed_page_size;
      }
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(['column', 'pages', 'MB', 'stored/page', ...Object.keys(decoders).map((d) => `${d} MB/s`)].join('\t'));
for (const [key, pages] of columns) {
  const total = pages.reduce((n, p) => n + p.length, 0);
  for (const p of pages) {
    const want = Buffer.from(decoders.ours(p.bytes, p.length));
    for (const [name, f] of Object.entries(decoders)) if (!want.equals(Buffer.from(f(p.bytes, p.length)))) throw new Error(`${key}: ${name} decodes other bytes`);
  }
  const reps = Math.max(1, Math.min(20, Math.round(3e8 / total)));
  const rates = Object.fromEntries(Object.keys(decoders).map((d) => [d, []]));
  for (let round = 0; round < 5; round++) {
    for (const [name, f] of Object.entries(decoders)) {
      const started = performance.now();
      for (let r = 0; r < reps; r++) for (const p of pages) f(p.bytes, p.length);
      rates[name].push((reps * total) / 1e6 / ((performance.now() - started) / 1000));
    }
  }
  const stored = pages.reduce((n, p) => n + p.bytes.length, 0) / total;
  console.log([key, pages.length, (total / 1e6).toFixed(1), stored.toFixed(2), ...Object.values(rates).map((r) => median(r).toFixed(0))].join('\t'));
}
