/**
 * @file Parquet's RLE / bit-packed hybrid encoding (definition levels, dictionary indexes),
 * decoded a few values at a time. A page read whole decodes one value per row of the page, and
 * DuckDB and Polars write a row group as one page per column, so a row group of 1M rows became
 * 4–8 MB per column at once; read as rows are taken, a chunk's worth is decoded at a time.
 */

/** Reads an RLE / bit-packed hybrid stream of `width`-bit values from `bytes`, resuming where the last read stopped. */
export class HybridReader {
  readonly #bytes: Uint8Array;
  readonly #width: number;
  /** Next byte of a run header. */
  #at = 0;
  /** Values left in the current RLE run, and its value. */
  #repeat = 0;
  #value = 0;
  /** Values left in the current bit-packed run, and the bit the next one starts at. */
  #packed = 0;
  #bit = 0;

  constructor(bytes: Uint8Array, width: number) {
    this.#bytes = bytes;
    this.#width = width;
  }

  /**
   * Fills `out[from, from + count)` with the next `count` values, and returns their value where
   * they all came from runs of one value (a list column's definition levels, where no element is
   * null), else -1. Throws when the stream ends first; a width of 0 reads zeros (a dictionary of one value).
   */
  read(out: Int32Array | Uint8Array, from: number, count: number): number {
    const end = from + count;
    if (this.#width === 0) {
      out.fill(0, from, end);
      return 0;
    }
    let o = from;
    // The one value of every run these values came from, -1 where they differ or any was bit-packed.
    let same = -2;
    while (o < end) {
      if (this.#repeat > 0) {
        const n = Math.min(this.#repeat, end - o);
        out.fill(this.#value, o, o + n);
        o += n;
        this.#repeat -= n;
        same = same === -2 || same === this.#value ? this.#value : -1;
      } else if (this.#packed > 0) {
        const n = Math.min(this.#packed, end - o);
        this.#unpack(out, o, n);
        o += n;
        this.#packed -= n;
        same = -1;
      } else this.#runHeader();
    }
    return same;
  }

  /** Skips the next `count` values. */
  skip(count: number): void {
    let left = count;
    while (left > 0) {
      if (this.#repeat > 0) {
        const n = Math.min(this.#repeat, left);
        this.#repeat -= n;
        left -= n;
      } else if (this.#packed > 0) {
        const n = Math.min(this.#packed, left);
        this.#bit += n * this.#width;
        this.#packed -= n;
        left -= n;
      } else this.#runHeader();
    }
  }

  #runHeader(): void {
    const bytes = this.#bytes;
    if (this.#at >= bytes.length) throw new Error('the page ends before its last value');
    let header = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[this.#at++];
      if (byte === undefined) throw new Error('the page ends inside a run header');
      header += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
      shift += 7;
    }
    if (header % 2 === 1) {
      // Groups of 8 values, packed least significant bit first.
      const groups = Math.floor(header / 2);
      this.#packed = groups * 8;
      this.#bit = this.#at * 8;
      this.#at += groups * this.#width;
    } else {
      this.#repeat = header / 2;
      let value = 0;
      const valueBytes = (this.#width + 7) >> 3;
      for (let i = 0; i < valueBytes; i++) value += (bytes[this.#at + i] ?? 0) * 2 ** (8 * i);
      this.#value = value;
      this.#at += valueBytes;
    }
  }

  #unpack(out: Int32Array | Uint8Array, from: number, count: number): void {
    const bytes = this.#bytes;
    const width = this.#width;
    let bit = this.#bit;
    if (width === 1) {
      this.#bit = unpackBits(bytes, bit, out, from, count);
      return;
    }
    if (width > 24) {
      // Wider than 32-bit shifts can assemble from any bit: bit by bit (over 16M distinct values, rare).
      for (let o = from; o < from + count; o++, bit += width) {
        let value = 0;
        for (let b = 0; b < width; b++) if (((bytes[(bit + b) >>> 3] ?? 0) >> ((bit + b) & 7)) & 1) value += 2 ** b;
        out[o] = value;
      }
    } else {
      const mask = (1 << width) - 1;
      for (let o = from; o < from + count; o++, bit += width) {
        let byte = bit >>> 3;
        let word = (bytes[byte] ?? 0) >>> (bit & 7);
        for (let got = 8 - (bit & 7); got < width; got += 8) word |= (bytes[++byte] ?? 0) << got;
        out[o] = word & mask;
      }
    }
    this.#bit = bit;
  }
}

/**
 * Values of one bit (a list's repetition levels, a nullable column's definition levels) from bit
 * `bit` of `bytes` into `out[from, from + count)`, eight from each whole byte: DuckDB packs the
 * first 256 of each 768-float row's levels, and one value at a time was most of reading them.
 * Returns the bit after the last.
 */
function unpackBits(bytes: Uint8Array, bit: number, out: Int32Array | Uint8Array, from: number, count: number): number {
  const end = from + count;
  let o = from;
  for (; o < end && (bit & 7) !== 0; o++, bit++) out[o] = ((bytes[bit >>> 3] ?? 0) >>> (bit & 7)) & 1;
  // Done inside the byte: `bit` is where the next read goes on from, not the byte's start.
  if (o === end) return bit;
  let at = bit >>> 3;
  for (; o + 8 <= end; o += 8, at++) {
    const b = bytes[at] ?? 0;
    out[o] = b & 1;
    out[o + 1] = (b >>> 1) & 1;
    out[o + 2] = (b >>> 2) & 1;
    out[o + 3] = (b >>> 3) & 1;
    out[o + 4] = (b >>> 4) & 1;
    out[o + 5] = (b >>> 5) & 1;
    out[o + 6] = (b >>> 6) & 1;
    out[o + 7] = b >>> 7;
  }
  bit = at * 8;
  for (; o < end; o++, bit++) out[o] = ((bytes[bit >>> 3] ?? 0) >>> (bit & 7)) & 1;
  return bit;
}
