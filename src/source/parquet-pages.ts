/**
 * @file The bytes of a Parquet column chunk, page by page, a page's levels and values, and page
 * encodings hyparquet decodes wrong; shared by the flat (parquet.ts) and nested
 * (parquet-nested.ts) column readers.
 */
import type { AsyncBuffer } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { readVarInt, readZigZagBigInt } from 'hyparquet/src/thrift.js';
import type { ColumnDecoder, DecodedArray, PageHeader } from 'hyparquet/src/types.js';
import { compressors } from 'hyparquet-compressors';
import { lz4RawUncompress, lz4Uncompress } from './lz4.js';
import { HybridReader } from './parquet-hybrid.js';
import { snappyUncompress } from './snappy.js';

/**
 * The page codecs the readers decompress with: hyparquet-compressors' (ZSTD, GZIP, Brotli), and
 * Snappy and LZ4 of our own (snappy.ts: hysnappy's kept up to three copies of a page; lz4.ts:
 * hyparquet-compressors' refused an all-null column's page, and some of fastparquet's).
 */
export const decompressors = { ...compressors, SNAPPY: snappyUncompress, LZ4: lz4Uncompress, LZ4_RAW: lz4RawUncompress };

/** Bytes of a column chunk read at once: its pages are read forward a window at a time (Spark writes 128 MB row groups). */
const WINDOW_BYTES = 1 << 20;
/** Bytes read before parsing a page header; a longer header is read again with more. */
const HEADER_BYTES = 1 << 14;

/** A column chunk's bytes, read forward a window at a time. */
export class ChunkBytes {
  readonly #file: AsyncBuffer;
  readonly #end: number;
  #bytes = new Uint8Array(0);
  /** File positions of #bytes[0] and of the next unread byte. */
  #start: number;
  #at: number;

  constructor(file: AsyncBuffer, start: number, end: number) {
    this.#file = file;
    this.#start = this.#at = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#at >= this.#end;
  }

  /** The next page's header and its bytes as stored (compressed). */
  async page(): Promise<{ header: PageHeader; bytes: Uint8Array }> {
    for (let ask = HEADER_BYTES; ; ask *= 4) {
      await this.#have(ask);
      const offset = this.#at - this.#start;
      const reader = { view: new DataView(this.#bytes.buffer, this.#bytes.byteOffset + offset, this.#bytes.length - offset), offset: 0 };
      let header: PageHeader;
      try {
        header = parquetHeader(reader);
      } catch (error) {
        if (this.#start + this.#bytes.length >= this.#end) throw error;
        continue;
      }
      // A damaged header's size that is none would make every read after it empty, and this loop endless.
      if (!Number.isSafeInteger(header.compressed_page_size) || header.compressed_page_size < 0) throw new Error(`a page's header says it holds ${String(header.compressed_page_size)} bytes`);
      const size = reader.offset + header.compressed_page_size;
      await this.#have(size);
      if (this.#at + size > this.#start + this.#bytes.length) throw new Error(`a page of ${header.compressed_page_size} bytes runs past the end of its column chunk`);
      const from = this.#at - this.#start + reader.offset;
      this.#at += size;
      const bytes = this.#bytes.subarray(from, from + header.compressed_page_size);
      // A window read for this page alone (DuckDB writes a column chunk of a row group as one page,
      // 147 MB for 50,000 embeddings) is let go with it, so that once the page is decompressed its stored bytes are not kept too.
      if (this.#at === this.#start + this.#bytes.length) {
        this.#bytes = new Uint8Array(0);
        this.#start = this.#at;
      }
      return { header, bytes };
    }
  }

  /** Makes `count` bytes from the next unread one available, or as many as the chunk has left. */
  async #have(count: number): Promise<void> {
    const want = Math.min(count, this.#end - this.#at);
    if (this.#at + want <= this.#start + this.#bytes.length) return;
    const to = Math.min(this.#end, this.#at + Math.max(want, WINDOW_BYTES));
    this.#bytes = new Uint8Array(await this.#file.slice(this.#at, to));
    this.#start = this.#at;
    if (this.#bytes.length < want) throw new Error(`the file ends inside a column chunk, at byte ${this.#at + this.#bytes.length}`);
  }
}

/** A data page's entries (values and nulls), as its header says; a damaged header's count that is none is an error, not a page read forever. */
export function pageValues(header: PageHeader): number {
  const count = header.type === 'DATA_PAGE_V2' ? header.data_page_header_v2?.num_values : header.data_page_header?.num_values;
  if (!Number.isSafeInteger(count) || count! < 0) throw new Error(`a data page's header says it holds ${String(count)} values`);
  return count!;
}

/** A dictionary page's values as stored (PLAIN), before any conversion. */
export function dictionaryPage(bytes: Uint8Array, header: PageHeader, decoder: ColumnDecoder): DecodedArray {
  const raw = decompressPage(bytes, header.uncompressed_page_size, decoder.codec, decoder.compressors);
  return readPlain({ view: new DataView(raw.buffer, raw.byteOffset, raw.byteLength), offset: 0 }, decoder.type, header.dictionary_page_header!.num_values, decoder.element.type_length);
}

/** Bits of a level of at most `max`. */
const levelWidth = (max: number) => 32 - Math.clz32(max);

/**
 * A data page's repetition and definition levels (RLE, read as asked) where the column has them
 * (`maxRep`, `maxDef` above 0), and its values' bytes, decompressed. V1 compresses levels and
 * values together, each level stream length-prefixed; V2 keeps its levels first, uncompressed.
 * `width`: the bytes of each (PLAIN) value, whose start a Snappy V1 page's values are moved to a
 * multiple of, so that they are read in place.
 */
export function pageSections(page: Uint8Array, header: PageHeader, decoder: ColumnDecoder, maxRep: number, maxDef: number, width?: number): { reps?: HybridReader; defs?: HybridReader; values: Uint8Array } {
  if (header.type === 'DATA_PAGE_V2') {
    const h = header.data_page_header_v2!;
    const levelBytes = h.repetition_levels_byte_length + h.definition_levels_byte_length;
    let values = page.subarray(levelBytes);
    if (h.is_compressed !== false) values = decompressPage(values, header.uncompressed_page_size - levelBytes, decoder.codec, decoder.compressors);
    return {
      ...(maxRep > 0 ? { reps: new HybridReader(page.subarray(0, h.repetition_levels_byte_length), levelWidth(maxRep)) } : {}),
      ...(maxDef > 0 ? { defs: new HybridReader(page.subarray(h.repetition_levels_byte_length, levelBytes), levelWidth(maxDef)) } : {}),
      values,
    };
  }
  const realign = width !== undefined && decoder.codec === 'SNAPPY';
  let values = realign ? snappyUncompress(page, header.uncompressed_page_size, width - 1) : decompressPage(page, header.uncompressed_page_size, decoder.codec, decoder.compressors);
  const stream = (max: number) => {
    const length = new DataView(values.buffer, values.byteOffset, values.byteLength).getUint32(0, true);
    const reader = new HybridReader(values.subarray(4, 4 + length), levelWidth(max));
    values = values.subarray(4 + length);
    return reader;
  };
  const reps = maxRep > 0 ? stream(maxRep) : undefined;
  const defs = maxDef > 0 ? stream(maxDef) : undefined;
  const off = realign ? values.byteOffset % width : 0;
  if (off !== 0) {
    // Values of `width` bytes that the levels before them left unaligned (DuckDB's lists: always)
    // are moved up onto the next multiple of it, into the buffer's slack (the levels below are
    // still to be read): hyparquet would copy each read of them into a buffer of its own.
    const at = values.byteOffset + width! - off;
    new Uint8Array(values.buffer).copyWithin(at, values.byteOffset, values.byteOffset + values.length);
    values = new Uint8Array(values.buffer, at, values.length);
  }
  return { ...(reps ? { reps } : {}), ...(defs ? { defs } : {}), values };
}

/** A DELTA_BINARY_PACKED page's integers, unpacked at once (the encoding is read from its start): INT32 through int32Deltas, INT64 as hyparquet reads them. */
export function deltaIntegers(values: Uint8Array, type: ColumnDecoder['type']): Int32Array | BigInt64Array {
  if (type === 'INT32') return int32Deltas(values);
  const header = { view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0 };
  readVarInt(header); // block size
  readVarInt(header); // miniblocks a block
  const out = new BigInt64Array(readVarInt(header));
  deltaBinaryUnpack({ view: header.view, offset: 0 }, out.length, out);
  return out;
}

/**
 * A DELTA_BINARY_PACKED page of INT32 values, decoded by hyparquet, whose first value is then
 * read again: DuckDB writes a UINTEGER's first value as the unsigned number (4294967295, not -1),
 * whose zigzag varint has more than 32 bits, and hyparquet 1.31–1.33 keeps the low 32 bits of the
 * varint rather than of the value, so every value of such a page came out 2^31 off. The deltas
 * wrap modulo 2^32, so the page is right once shifted by the first value's error.
 */
function int32Deltas(bytes: Uint8Array): Int32Array {
  const header = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  readVarInt(header); // block size
  readVarInt(header); // miniblocks a block
  const count = readVarInt(header);
  const first = Number(BigInt.asIntN(32, readZigZagBigInt(header)));
  const out = new Int32Array(count);
  if (count === 0) return out;
  deltaBinaryUnpack({ view: header.view, offset: 0 }, count, out);
  const shift = (first - out[0]!) | 0;
  if (shift !== 0) for (let i = 0; i < count; i++) out[i] = (out[i]! + shift) | 0;
  return out;
}

