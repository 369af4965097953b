/**
 * @file The external data files an ONNX graph names: torch and onnx save weights past 2 GB (or on
 * request) beside the graph, each TensorProto naming its file in an external_data entry.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A TensorProto external_data entry: the key "location" (field 1, 8 bytes), then its value (field 2); the entry is field 13 (tag 0x6a) of its TensorProto. */
const key = Buffer.from([0x0a, 0x08, ...Buffer.from('location'), 0x12]);
/** Longest location read; a longer one is not a file name. */
const maxName = 4096;

/** The locations named in `bytes` (a graph's protobuf, or a piece of it), added to `found`. */
export function locationsIn(bytes: Buffer, found = new Set<string>()): Set<string> {
  for (let at = bytes.indexOf(key); at !== -1; at = bytes.indexOf(key, at + key.length)) {
    let length = 0;
    let i = at + key.length;
    for (let shift = 0; i < bytes.length && shift < 35; shift += 7) {
      const b = bytes[i++]!;
      length |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (!(length > 0 && length < maxName && i + length <= bytes.length)) continue;
    // A model's metadata_props entry {location: eu-west-1} is written alike: an entry of a
    // TensorProto's external_data (field 13) is the one whose own tag and length come before it.
    const entry = i + length - at;
    const tagged = entry < 128 ? bytes[at - 2] === 0x6a && bytes[at - 1] === entry : bytes[at - 3] === 0x6a && bytes[at - 2] === (0x80 | (entry & 0x7f)) && bytes[at - 1] === entry >> 7;
    if (tagged) found.add(bytes.subarray(i, i + length).toString('utf8'));
  }
  return found;
}

/**
 * Scans a graph read a piece at a time: each piece with the end of the one before it, so that an
 * entry cut by a boundary is read whole once.
 */
export class LocationScanner {
  readonly found = new Set<string>();
  #tail = Buffer.alloc(0);

  push(piece: Buffer): void {
    const joined = Buffer.concat([this.#tail, piece]);
    locationsIn(joined, this.found);
    this.#tail = Buffer.from(joined.subarray(Math.max(0, joined.length - (key.length + 5 + maxName))));
  }
}

/** The bytes a session loads: the graph's file and the external data files it names (beside it; one named twice counts once). */
export async function weightBytes(modelFile: string): Promise<number> {
  const scanner = new LocationScanner();
  let bytes = 0;
  for await (const piece of createReadStream(modelFile) as AsyncIterable<Buffer>) {
    bytes += piece.length;
    scanner.push(piece);
  }
  for (const name of scanner.found) bytes += (await stat(join(dirname(modelFile), name)).catch(() => undefined))?.size ?? 0;
  return bytes;
}
