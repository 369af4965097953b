/**
 * @file LZ4 decompression of Parquet pages: LZ4_RAW (a raw LZ4 block) and the older LZ4 codec,
 * which writers store either in Hadoop's framing (Spark, parquet-mr) or as a raw block
 * (fastparquet, pyarrow before 2.0), told apart as Arrow does: the framing where it fits exactly,
 * else the raw block. hyparquet-compressors' decoder failed on an empty block (the page of an
 * all-null column: a single zero token) and took a framing length past 2^31 for a negative one,
 * calling valid files corrupt.
 */

/**
 * Decodes the LZ4 block `input[from, to)` into `output` from `at`; returns where it ended. The
 * last sequence is literals alone; a match refers back at most 65,535 bytes, never before the
 * output's start, and never past its end.
 */
function block(input: Uint8Array, from: number, to: number, output: Uint8Array, at: number): number {
  let i = from;
  let o = at;
  const length = (n: number) => {
    if (n !== 15) return n;
    for (;;) {
      if (i >= to) throw new Error('LZ4: a length runs past the block');
      const byte = input[i++]!;
      n += byte;
      if (byte !== 255) return n;
    }
  };
  while (i < to) {
    const token = input[i++]!;
    const literals = length(token >> 4);
    if (i + literals > to || o + literals > output.length) throw new Error('LZ4: literals run past the block or the page');
    output.set(input.subarray(i, i + literals), o);
    i += literals;
    o += literals;
    if (i === to) return o;
    if (i + 2 > to) throw new Error('LZ4: a match offset is cut off');
    const offset = input[i]! | (input[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > o - at) throw new Error(`LZ4: a match refers ${offset} bytes back, before the block's output`);
    const match = length(token & 15) + 4;
    if (o + match > output.length) throw new Error('LZ4: a match runs past the page');
    // Overlapping copies repeat what they copy: byte by byte where the match is longer than its offset.
    if (match <= offset) output.copyWithin(o, o - offset, o - offset + match);
    else for (let k = 0; k < match; k++) output[o + k] = output[o + k - offset]!;
    o += match;
  }
  // A block ends with literals: an empty one is a single zero token, and holds nothing.
  throw new Error('LZ4: the block does not end with literals');
}

/** LZ4_RAW: one raw block that makes exactly `length` bytes. */
export function lz4RawUncompress(input: Uint8Array, length: number): Uint8Array {
  const output = new Uint8Array(length);
  const end = input.length === 0 ? 0 : block(input, 0, input.length, output, 0);
  if (end !== length) throw new Error(`LZ4: the block holds ${end} bytes, its page header says ${length}`);
  return output;
}

/**
 * The LZ4 codec: Hadoop's framing (frames of a big-endian decompressed and compressed size, then
 * a raw block) where every frame fits and decodes to its stated size, ending at the input's end;
 * else one raw block.
 */
export function lz4Uncompress(input: Uint8Array, length: number): Uint8Array {
  return hadoop(input, length) ?? lz4RawUncompress(input, length);
}

function hadoop(input: Uint8Array, length: number): Uint8Array | undefined {
  if (input.length < 8) return undefined;
  const view = new DataView(input.buffer, input.byteOffset, input.length);
  const output = new Uint8Array(length);
  let i = 0;
  let o = 0;
  try {
    while (i + 8 <= input.length) {
      const decompressed = view.getUint32(i);
      const compressed = view.getUint32(i + 4);
      i += 8;
      if (compressed > input.length - i || decompressed > length - o) return undefined;
      if (block(input, i, i + compressed, output, o) - o !== decompressed) return undefined;
      i += compressed;
      o += decompressed;
      if (i === input.length) return o === length ? output : undefined;
    }
  } catch {
    // Not the framing: a raw block whose first bytes read as plausible sizes.
    return undefined;
  }
  return undefined;
}
