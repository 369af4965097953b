// Usage: node write.mjs <lib> <codec> <outfile>
//   lib: hyparquet-writer | parquet-wasm-stream | parquet-wasm-whole | dsnp
// Writes 1,000,000 rows x (id int64, f1..f3 float64, s nullable string, emb list<float32>[8]) in row groups of 100k.
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
import { chunk, TOTAL, RG, EMB } from './gendata.mjs';
const require = createRequire(import.meta.url);
const [lib, codec, out] = process.argv.slice(2);
let t0, err = null, incremental = null, notes = [];
try {
  if (lib === 'none') { // baseline: data generation only
    t0 = performance.now(); let x = 0;
    for (let start = 0; start < TOTAL; start += RG) x += chunk(start, Math.min(RG, TOTAL - start)).n;
    incremental = 'n/a'; notes.push(x);
  } else if (lib === 'hyparquet-writer') {
    const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
    const zlib = await import('node:zlib');
    const compressors = {
      GZIP: (b) => new Uint8Array(zlib.gzipSync(b)),
      BROTLI: (b) => new Uint8Array(zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })),
    };
    if (codec === 'ZSTD') {
      const zw = await import('@bokuweb/zstd-wasm'); await zw.init();
      compressors.ZSTD = (b) => zw.compress(b, 3);
    }
    t0 = performance.now();
    const schema = [
      { name: 'root', num_children: 6 },
      { name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
      { name: 'f1', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'f2', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'f3', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'emb', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
    ];
    const pq = new ParquetWriter({ writer: fileWriter(out), schema, codec, compressors });
    for (let start = 0; start < TOTAL; start += RG) {
      const c = chunk(start, Math.min(RG, TOTAL - start));
      const emb = new Array(c.n); // LIST rows must be plain JS arrays (Array.isArray check in dremel.js)
      for (let j = 0; j < c.n; j++) emb[j] = Array.from(c.embFlat.subarray(j * EMB, (j + 1) * EMB));
      await pq.write({ rowGroupSize: RG, columnData: [
        { name: 'id', data: c.id }, { name: 'f1', data: c.f1 }, { name: 'f2', data: c.f2 }, { name: 'f3', data: c.f3 },
        { name: 's', data: c.s }, { name: 'emb', data: emb },
      ] });
    }
    await pq.finish();
    incremental = 'ParquetWriter.write() per row group; fileWriter flushes every ~1MB (sync appends)';
  } else if (lib === 'parquet-wasm-stream' || lib === 'parquet-wasm-whole') {
    const pw = await import('parquet-wasm');
    const arrow = await import('apache-arrow');
    const { makeData, makeVector, vectorFromArray, Int64, Float64, Float32, Utf8, List, Field, Table, tableToIPC } = arrow;
    const fs = await import('node:fs');
    t0 = performance.now();
    const toArrow = (c) => new Table({
      id: makeVector(makeData({ type: new Int64(), length: c.n, data: c.id })),
      f1: makeVector(c.f1), f2: makeVector(c.f2), f3: makeVector(c.f3),
      s: vectorFromArray(c.s, new Utf8()),
      emb: makeVector(makeData({ type: new List(new Field('item', new Float32(), false)), length: c.n, valueOffsets: c.embOffsets,
        child: makeData({ type: new Float32(), length: c.n * EMB, data: c.embFlat }) })),
    });
    const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression[codec]).setMaxRowGroupSize(RG).build();
    if (lib === 'parquet-wasm-stream') {
      let start = 0;
      const batches = new ReadableStream({
        pull(ctrl) {
          if (start >= TOTAL) { ctrl.close(); return; }
          const c = chunk(start, Math.min(RG, TOTAL - start)); start += c.n;
          const wt = pw.Table.fromIPCStream(tableToIPC(toArrow(c), 'stream'));
          for (const rb of wt.recordBatches()) ctrl.enqueue(rb);
          if (process.env.FREE) wt.free(); // release the wasm-side Table handle explicitly (batches are Arc-shared)
        },
      }, { highWaterMark: 1 });
      const bytes = await pw.transformParquetStream(batches, props);
      const fd = fs.openSync(out, 'w');
      for await (const part of bytes) fs.writeSync(fd, part);
      fs.closeSync(fd);
      incremental = 'transformParquetStream(ReadableStream<wasm RecordBatch>, WriterProperties) -> ReadableStream<Uint8Array>';
    } else {
      const parts = [];
      for (let start = 0; start < TOTAL; start += RG) parts.push(toArrow(chunk(start, Math.min(RG, TOTAL - start))));
      const all = parts.reduce((a, b) => a.concat(b));
      const wt = pw.Table.fromIPCStream(tableToIPC(all, 'stream'));
      fs.writeFileSync(out, pw.writeParquet(wt, props));
      incremental = 'no (writeParquet(Table) on the whole table)';
    }
  } else if (lib === 'dsnp') {
    const { ParquetWriter, ParquetSchema } = require('dsnp188');
    t0 = performance.now();
    const compression = codec;
    const schema = new ParquetSchema({
      id: { type: 'INT64', compression }, f1: { type: 'DOUBLE', compression }, f2: { type: 'DOUBLE', compression }, f3: { type: 'DOUBLE', compression },
      s: { type: 'UTF8', optional: true, compression },
      emb: { type: 'FLOAT', repeated: true, compression },
    });
    const w = await ParquetWriter.openFile(schema, out, { rowGroupSize: RG });
    for (let start = 0; start < TOTAL; start += RG) {
      const c = chunk(start, Math.min(RG, TOTAL - start));
      for (let j = 0; j < c.n; j++) {
        await w.appendRow({ id: c.id[j], f1: c.f1[j], f2: c.f2[j], f3: c.f3[j], s: c.s[j] ?? undefined, emb: Array.from(c.embFlat.subarray(j * EMB, (j + 1) * EMB)) });
      }
    }
    await w.close();
    incremental = 'appendRow(row) per row, flushes a row group every rowGroupSize rows';
  } else throw new Error('unknown lib ' + lib);
} catch (e) { err = (e && (e.stack || e.message)) || String(e); }
const ms = performance.now() - t0;
let size = null; try { size = statSync(out).size; } catch {}
console.log(JSON.stringify({ lib, codec, out, ok: !err, ms: Math.round(ms), size, incremental, err: err && err.split('\n').slice(0, 3).join(' | ') }));
