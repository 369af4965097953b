/**
 * @file The bytes of a Parquet column chunk, page by page, and page encodings hyparquet decodes
 * wrong; shared by the flat (parquet.ts) and nested (parquet-nested.ts) column readers.
 */
import type { AsyncBuffer } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { readVarInt, readZigZagBigInt } from 'hyparquet/src/thrift.js';
import type { PageHeader } from 'hyparquet/src/types.js';

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

/**
 * A DELTA_BINARY_PACKED page of INT32 values, decoded by hyparquet, whose first value is then
 * read again: DuckDB writes a UINTEGER's first value as the unsigned number (4294967295, not -1),
 * whose zigzag varint has more than 32 bits, and hyparquet 1.31–1.33 keeps the low 32 bits of the
 * varint rather than of the value, so every value of such a page came out 2^31 off. The deltas
 * wrap modulo 2^32, so the page is right once shifted by the first value's error.
 */
export function int32Deltas(bytes: Uint8Array): Int32Array {
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

