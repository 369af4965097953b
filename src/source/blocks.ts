/**
 * @file Typed arrays for a chunk's or a batch's columns, carved from shared blocks. A typed array
 * made with `new Float64Array(n)` gets a backing store of its own, and on a worker thread of this
 * 2-core VM that costs ~3.5 µs whatever its size (a 256-element one as much as 2,048: the
 * allocation registers the store with the collector, which later sweeps it), against ~0.1 µs for
 * a view into an existing buffer. The scoring thread made ~9 such arrays a batch of 256 rows
 * (reader pages, masks, codes; the model's label, score and probability columns): on the 3.1M-row
 * penguins Parquet file, ~110,000 of them, and one input tensor a batch (12,110) on top. A block
 * is freed once no view into it is left; views are handed out in order and live about as long as
 * one another (a chunk, its batches, until they are posted to the writer), so little of a block
 * outlives its use.
 *
 * Views share their block's buffer: never transfer one's `.buffer` to another thread, and copy
 * one before posting it (structured clone copies the whole block under a view): `compact` does,
 * for a post to the writer (sink/transfer.ts) and for a batch sent to a model worker (model/pool.ts).
 */

type Typed = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | BigInt64Array | Uint8Array | Uint16Array;
interface TypedConstructor<T extends Typed> {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** Bytes in a block; arrays over a quarter of it get their own buffer. */
const BLOCK_BYTES = 256 * 1024;

let block = new ArrayBuffer(0);
let used = 0;

/** A zeroed typed array of `length` elements, a view into the current block when it is small. */
export function blockArray<T extends Typed>(Type: TypedConstructor<T>, length: number): T {
  const bytes = length * Type.BYTES_PER_ELEMENT;
  if (bytes > BLOCK_BYTES >> 2 || bytes === 0) return new Type(length);
  // Every view starts on 8 bytes, so any element type is aligned.
  let at = (used + 7) & ~7;
  if (at + bytes > block.byteLength) {
    block = new ArrayBuffer(BLOCK_BYTES);
    at = 0;
  }
  used = at + bytes;
  return new Type(block, at, length);
}

/** A typed array that owns its whole buffer: the array itself, or a copy when it is a view into more. */
export function compact<T extends ArrayBufferView>(array: T): T {
  return array.byteOffset === 0 && array.byteLength === array.buffer.byteLength ? array : ((array as unknown as Typed).slice() as unknown as T);
}
