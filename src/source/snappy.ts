/**
 * @file Snappy decompression of a Parquet page into one array of the page's size, and nothing
 * else. hysnappy (hyparquet-compressors' Snappy) builds a WebAssembly instance a page, grows its
 * memory to hold the stored and the decompressed bytes together, and copies the result out: three
 * copies of a page, alive until the instance is collected, in a memory that never shrinks. DuckDB
 * writes pages of up to ~100 MB (an embedding column's chunk), where that came to ~430 MB for one
 * page; and on small pages the instance cost more than the decompression.
 */

/** Literals and copies at most this long go byte by byte: a subarray and `set` cost more. */
const SHORT = 16;

/**
 * The `length` bytes that `input` (raw Snappy, the format Parquet's SNAPPY codec stores: a varint
 * of the length, then literals and back-references) decompresses to. A stream that does not make
 * exactly `length` bytes, or refers back before its start, is an error.
 */
export function snappyUncompress(input: Uint8Array, length: number): Uint8Array {
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
  const out = new Uint8Array(length);
  let o = 0;
  // Bounds are checked once, at the end, where a hot check a piece would cost: a typed array
  // ignores writes past its end and reads undefined (0) past it, so a stream that overruns its
  // input or output ends with `at` or `o` off their marks. A copy from before the start would
  // read real bytes, so that one is checked as it comes.
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
      if (n <= SHORT) {
        for (let i = 0; i < n; i++) out[o + i] = input[at + i]!;
      } else {
        if (at + n > end) {
          at += n;
          break;
        }
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
    if (offset === 0 || offset > o) {
      if (at > end) break;
      throw new Error(`Snappy: a copy ending at stream byte ${at} refers ${offset} bytes back from output byte ${o}`);
    }
    let from = o - offset;
    if (n <= SHORT) {
      for (const stop = o + n; o < stop; ) out[o++] = out[from++]!;
    } else if (offset >= n) {
      out.copyWithin(o, from, from + n);
      o += n;
    } else if (offset >= SHORT) {
      // A copy reaching back less than its length repeats the bytes it is making (a run, as in
      // repeated text): a piece of `offset` bytes at a time, each made before it is read.
      for (let left = n; left > 0; ) {
        const k = left < offset ? left : offset;
        out.copyWithin(o, from, from + k);
        o += k;
        from += k;
        left -= k;
      }
    } else {
      for (const stop = o + n; o < stop; ) out[o++] = out[from++]!;
    }
  }
  if (at !== end) throw new Error(`Snappy: the stream's last piece is cut off (${at - end} of its bytes missing)`);
  if (o !== length) throw new Error(`Snappy: the stream makes ${o} bytes, its header says ${length}`);
  return out;
}
