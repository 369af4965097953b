/**
 * @file Snappy decompression of a Parquet page into one array of the page's size, and nothing
 * else. hysnappy (hyparquet-compressors' Snappy) builds a WebAssembly instance a page, grows its
 * memory to hold the stored and the decompressed bytes together, and copies the result out: three
 * copies of a page, alive until the instance is collected, in a memory that never shrinks. DuckDB
 * writes pages of up to ~100 MB (an embedding column's chunk), where that came to ~430 MB for one
 * page; and on small pages the instance cost more than the decompression.
 */

/** Literals and copies at most this long go 4 bytes at a time (byte by byte near the arrays' ends): a subarray and `set`, or `copyWithin`, cost more. */
const SHORT = 16;

/**
 * The `length` bytes that `input` (raw Snappy, the format Parquet's SNAPPY codec stores: a varint
 * of the length, then literals and back-references) decompresses to. A stream that does not make
 * exactly `length` bytes, or refers back before its start, is an error.
 */
export function snappyUncompress(input: Uint8Array, length: number, slack = 0): Uint8Array {
  const end = input.length;
  let at = 0;
  let stated = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= end || shift > 28) throw new Error('Snappy: the stream\'s length header is cut off or too long');
    const byte = input[at++]!;
    stated += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  if (stated !== length) throw new Error(`Snappy: the stream holds ${stated} bytes, its page header says ${length}`);
  // `slack` bytes more in its buffer, past the view, for a reader to move the page's values into (pageSections).
  const out = new Uint8Array(new ArrayBuffer(length + slack), 0, length);
  // Short pieces (most of a page of ids, timestamps or short strings) go 4 bytes at a time where
  // there is room for 16 in both arrays: a copy past a piece's end is written over by the pieces
  // after it, as a valid stream makes every byte in order.
  const outWords = new DataView(out.buffer);
  const inWords = new DataView(input.buffer, input.byteOffset, input.length);
  let o = 0;
  // Bounds are checked where a piece would overrun, and the stream's end at the end: a typed
  // array reads undefined (0) past its end, so a piece cut off leaves `at` past `end`. A copy from
  // before the start would read real bytes, so that one is checked as it comes.
  while (at < end) {
    const tag = input[at++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = (tag >>> 2) + 1;
      if (n > 60) {
        const bytes = n - 60;
        if (at + bytes > end) throw new Error(`Snappy: a literal's length is cut off at stream byte ${at}`);
        n = input[at]!;
        if (bytes > 1) n |= input[at + 1]! << 8;
        if (bytes > 2) n |= input[at + 2]! << 16;
        if (bytes > 3) n = (n | (input[at + 3]! << 24)) >>> 0;
        n += 1;
        at += bytes;
      }
      if (at + n > end || o + n > length) {
        at += n;
        o += n;
        break;
      }
      if (n <= SHORT && at + SHORT <= end && o + SHORT <= length) {
        for (let k = 0; k < n; k += 4) outWords.setUint32(o + k, inWords.getUint32(at + k, true), true);
      } else if (n <= SHORT) {
        for (let k = 0; k < n; k++) out[o + k] = input[at + k]!;
      } else {
        out.set(input.subarray(at, at + n), o);
      }
      at += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      n = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[at++]!;
    } else if (kind === 2) {
      n = (tag >>> 2) + 1;
      offset = input[at]! | (input[at + 1]! << 8);
      at += 2;
    } else {
      n = (tag >>> 2) + 1;
      offset = (input[at]! | (input[at + 1]! << 8) | (input[at + 2]! << 16) | (input[at + 3]! << 24)) >>> 0;
      at += 4;
    }
    if (offset === 0 || offset > o || at > end || o + n > length) {
      if (at > end || o + n > length) {
        o += n;
        break;
      }
      throw new Error(`Snappy: a copy ending at stream byte ${at} refers ${offset} bytes back from output byte ${o}`);
    }
    let from = o - offset;
    if (n <= SHORT && offset >= 4 && o + SHORT <= length) {
      // Each 4 bytes read were made before (offset ≥ 4), so a run repeats as it should.
      for (let k = 0; k < n; k += 4) outWords.setUint32(o + k, outWords.getUint32(from + k, true), true);
      o += n;
    } else if (n <= SHORT || offset < SHORT) {
      // A copy reaching back less than its length repeats the bytes it is making (a run): in order.
      for (const stop = o + n; o < stop; ) out[o++] = out[from++]!;
    } else if (offset >= n) {
      out.copyWithin(o, from, from + n);
      o += n;
    } else {
      // A long run (repeated text): a piece of `offset` bytes at a time, each made before it is read.
      for (let left = n; left > 0; ) {
        const k = left < offset ? left : offset;
        out.copyWithin(o, from, from + k);
        o += k;
        from += k;
        left -= k;
      }
    }
  }
  if (at !== end) throw new Error(`Snappy: the stream's last piece is cut off (${at - end} of its bytes missing)`);
  if (o !== length) throw new Error(`Snappy: the stream makes ${o} bytes, its header says ${length}`);
  return out;
}
