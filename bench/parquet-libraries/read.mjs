// Usage: node read.mjs <lib> <fileKey> [bench|full|seek]
//  bench: read [distance, delay, origin] one row group at a time, all rows, checksums
//  full : also read ratio (float64), delay_n (nullable int64), origin_n (nullable string) -- duck_* files only
//  seek : read only the LAST row group (rowStart = start of last RG) and report bytes fetched from the file
import { readFileSync, openAsBlob, statSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const [libArg, fileKey, mode = 'bench'] = process.argv.slice(2);
const STR = libArg.endsWith('+str'); // parquet-wasm: also materialise JS strings via Vector.toArray()
const lib = libArg.replace('+str', '');
const truth = JSON.parse(readFileSync(new URL('./data/truth.json', import.meta.url)))[fileKey];
const file = truth.file;
const COLS = mode === 'full' ? ['distance', 'delay', 'origin', 'ratio', 'delay_n', 'origin_n'] : ['distance', 'delay', 'origin'];

// checksum accumulators
const acc = { n: 0, sum_distance: 0, sum_delay: 0, n_origin: 0, len_origin: 0, sum_ratio: 0, null_delay_n: 0, sum_delay_n: 0, null_origin_n: 0 };
const types = {};
let bytesFetched = 0;
function addNum(col, arr) {
  types[col] ??= arr?.constructor?.name + (Array.isArray(arr) ? `<${typeof arr.find(x => x != null)}>` : '');
  let s = 0, nulls = 0;
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) { for (let i = 0; i < arr.length; i++) s += Number(arr[i]); }
  else { for (let i = 0; i < arr.length; i++) { const v = arr[i]; if (v === null || v === undefined) nulls++; else s += Number(v); } }
  if (col === 'distance') { acc.sum_distance += s; acc.n += arr.length; }
  else if (col === 'delay') acc.sum_delay += s;
  else if (col === 'ratio') acc.sum_ratio += s;
  else if (col === 'delay_n') { acc.sum_delay_n += s; acc.null_delay_n += nulls; }
}
function addStr(col, arr) {
  types[col] ??= arr?.constructor?.name + (arr?.length ? `<${typeof arr.find?.(x => x != null)}>` : '');
  let c = 0, len = 0, nulls = 0;
  for (let i = 0; i < arr.length; i++) { const v = arr[i]; if (v == null) nulls++; else { c++; len += v.length; } }
  if (col === 'origin') { acc.n_origin += c; acc.len_origin += len; }
  else if (col === 'origin_n') acc.null_origin_n += nulls;
}
const add = (col, arr) => (col === 'origin' || col === 'origin_n') ? addStr(col, arr) : addNum(col, arr);

let t0 = performance.now();
let rowGroupsRead = 0;
let rowGroups = truth.rgs;
let err = null;
const rss0 = process.memoryUsage().rss;
try {
  if (lib === 'hyparquet' || lib === 'hyparquet-bare') {
    const { parquetRead, parquetMetadataAsync, asyncBufferFromFile } = await import('hyparquet');
    const compressors = lib === 'hyparquet' ? (await import('hyparquet-compressors')).compressors : undefined;
    t0 = performance.now();
    const fb = await asyncBufferFromFile(file);
    const counting = { byteLength: fb.byteLength, slice: (s, e) => { bytesFetched += (e ?? fb.byteLength) - s; return fb.slice(s, e); } };
    const metadata = await parquetMetadataAsync(counting);
    let start = 0;
    const rgs = metadata.row_groups.map(rg => { const r = [start, start + Number(rg.num_rows)]; start = r[1]; return r; });
    const which = mode === 'seek' ? [rgs.length - 1] : rgs.map((_, i) => i);
    for (const i of which) {
      const [rowStart, rowEnd] = rgs[i];
      await parquetRead({ file: counting, metadata, columns: COLS, rowStart, rowEnd, compressors,
        onChunk: ({ columnName, columnData }) => add(columnName, columnData) });
      rowGroupsRead++;
    }
  } else if (lib === 'parquet-wasm' || lib === 'parquet-wasm-blob') {
    const pw = await import('parquet-wasm');
    const { tableFromIPC } = await import('apache-arrow');
    t0 = performance.now();
    const consume = (tbl) => { // apache-arrow Table
      for (const col of COLS) {
        const v = tbl.getChild(col);
        for (const d of v.data) {
          const tn = d.type.toString();
          types[col] ??= `${tn}/${d.values?.constructor?.name}`;
          // Utf8 without nulls: count via offsets (ASCII => bytes == chars), no JS string materialisation
          if (!STR && col === 'origin' && d.valueOffsets && d.nullCount === 0) { acc.n_origin += d.length; acc.len_origin += Number(d.valueOffsets[d.offset + d.length]) - Number(d.valueOffsets[d.offset]); }
        }
        if (col === 'origin' || col === 'origin_n') {
          if (STR || !(col === 'origin' && v.data.every(d => d.valueOffsets && d.nullCount === 0))) add(col, v.toArray()); // strings via toArray()
        } else {
          for (const d of v.data) {
            if (d.nullCount === 0) add(col, d.values.subarray(0, d.length));
            else { const a = []; for (let i = 0; i < d.length; i++) a.push(d.getValid(i) ? d.values[i] : null); add(col, a); }
          }
        }
      }
    };
    if (lib === 'parquet-wasm') {
      const buf = new Uint8Array(readFileSync(file));  // whole file in memory; readParquet needs a Uint8Array
      bytesFetched = buf.byteLength;
      const meta = pw.readParquet; // noop ref
      const nrg = rowGroups;
      const which = mode === 'seek' ? [nrg - 1] : [...Array(nrg).keys()];
      for (const i of which) {
        const wt = pw.readParquet(buf, { rowGroups: [i], columns: COLS, batchSize: 1 << 20 });
        consume(tableFromIPC(wt.intoIPCStream()));
        rowGroupsRead++;
      }
    } else {
      const blob = await openAsBlob(file);
      const origSlice = blob.slice.bind(blob);
      blob.slice = (...a) => { const b = origSlice(...a); bytesFetched += b.size; return b; };
      const pf = await pw.ParquetFile.fromFile(blob);
      const nrg = pf.metadata().numRowGroups();
      const which = mode === 'seek' ? [nrg - 1] : [...Array(nrg).keys()];
      for (const i of which) {
        const wt = await pf.read({ rowGroups: [i], columns: COLS, batchSize: 1 << 20 });
        consume(tableFromIPC(wt.intoIPCStream()));
        rowGroupsRead++;
      }
    }
  } else if (lib === 'dsnp' || lib === 'dsnp193' || lib === 'parquetjs-lite') {
    const mod = lib === 'dsnp' ? require('dsnp188') : lib === 'dsnp193' ? require('@dsnp/parquetjs') : require('parquetjs-lite');
    t0 = performance.now();
    const reader = await mod.ParquetReader.openFile(file);
    if (mode === 'seek') {
      // no public seek; internal envelopeReader.readRowGroup + shredder.materializeRecords
      const env = reader.envelopeReader; const md = reader.metadata;
      const rg = md.row_groups[md.row_groups.length - 1];
      const buf = await env.readRowGroup(reader.schema, rg, COLS.map(c => [c]));
      const shred = lib === 'parquetjs-lite' ? require('parquetjs-lite/lib/shred') : require('dsnp188/dist/lib/shred');
      const recs = shred.materializeRecords(reader.schema, buf);
      for (const c of COLS) add(c, recs.map(r => r[c] ?? null));
      rowGroupsRead = 1;
    } else if (lib === 'parquetjs-lite' && process.env.PQL_RG) {
      // parquetjs-lite public cursor.nextRowGroup(): array of row objects per row group
      const cursor = reader.getCursor(COLS); let rows;
      while ((rows = await cursor.nextRowGroup())) {
        for (const c of COLS) { types[c] ??= `row objects per RG, ${c}: ${typeof rows[0][c]}`; add(c, rows.map(r => r[c] ?? null)); }
        rowGroupsRead++;
      }
    } else {
      const cursor = reader.getCursor(COLS);
      // per-row objects; buffer one row group's worth of columns for the checksum
      let row; const cols = Object.fromEntries(COLS.map(c => [c, []]));
      let k = 0;
      while ((row = await cursor.next())) {
        if (k === 0) for (const c of COLS) types[c] ??= `row object, ${c}: ${typeof row[c]}`;
        for (const c of COLS) cols[c].push(row[c] ?? null);
        if (++k === 100000) { for (const c of COLS) { add(c, cols[c]); cols[c] = []; } k = 0; }
      }
      for (const c of COLS) add(c, cols[c]);
      rowGroupsRead = cursor.rowGroupIndex;
    }
    await reader.close();
  } else throw new Error('unknown lib ' + lib);
} catch (e) { err = (e && (e.stack || e.message)) || String(e); }
const ms = performance.now() - t0;
// verify
const checks = mode === 'seek' ? {} : { n: truth.n, sum_distance: truth.sum_distance, sum_delay: truth.sum_delay, n_origin: truth.n_origin, len_origin: truth.len_origin };
if (mode === 'full' && truth.sum_ratio !== undefined) Object.assign(checks, { null_delay_n: truth.null_delay_n, sum_delay_n: truth.sum_delay_n, null_origin_n: truth.null_origin_n, sum_ratio: truth.sum_ratio });
const mism = Object.entries(checks).filter(([k, v]) => k === 'sum_ratio' ? Math.abs(acc[k] - v) > 1e-6 * Math.abs(v) : acc[k] !== v).map(([k, v]) => `${k}: got ${acc[k]} want ${v}`);
const ok = !err && mism.length === 0;
console.log(JSON.stringify({ lib: libArg, fileKey, mode, ok, ms: Math.round(ms), rowGroupsRead, bytesFetched, fileBytes: statSync(file).size, types, mism, err: err && err.split('\n').slice(0, 3).join(' | '), acc: mode === 'seek' ? acc : undefined }));
