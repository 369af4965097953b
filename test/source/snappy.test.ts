/**
 * snappyUncompress (the Parquet reader's Snappy): the input back from the streams our writer,
 * hyparquet-writer and the reference library (hysnappy's C in WebAssembly) make; every piece of
 * the format, checked against hysnappy's decoder; damaged streams refused; and through the
 * reader, a damaged page is INPUT_FORMAT naming its column.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parquetMetadata } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { snappyCompress as theirs } from 'hyparquet-writer/src/snappy.js';
import { snappyCompress as reference, snappyUncompress as referenceUncompress } from 'hysnappy';
import { snappyCompress } from '../../src/sink/snappy.js';
import { openParquet } from '../../src/source/parquet.js';
import { snappyUncompress } from '../../src/source/snappy.js';
import { fixtures, rejectsWith, withTempDir } from '../helpers.js';
import { snappyInputs } from '../snappy-inputs.js';
import { drain } from './util.js';

describe('snappyUncompress', () => {
  for (const [name, input] of snappyInputs()) {
    test(`${name}: back from our, hyparquet-writer's and the reference library's streams`, () => {
      for (const [writer, compress] of [['ours', (b: Uint8Array) => snappyCompress(b).slice()], ['hyparquet-writer', theirs], ['reference', reference]] as const) {
        assert.deepEqual(snappyUncompress(compress(input), input.length), input, writer);
      }
    });
  }

  test('every literal and copy form, runs included, as the reference decoder reads them', () => {
    const stream = new Stream();
    stream.literal(bytes(5, (i) => i + 1)); // length in the tag
    stream.literal(bytes(61, (i) => i * 3)); // one length byte
    stream.literal(bytes(300, (i) => i * 7), 2); // two
    stream.literal(bytes(70_000, (i) => i * 13), 3); // three
    stream.literal(bytes(9, (i) => 200 + i), 4); // four, for a short literal: allowed, if wasteful
    stream.copy(1, 4, 9); // 1-byte offset (11 bits), shortest
    stream.copy(1, 11, 2000);
    stream.copy(2, 64, 40_000); // 2-byte offset, longest, apart from what it makes
    stream.copy(4, 30, 70_100); // 4-byte offset, past 65,535
    stream.copy(2, 64, 1); // a run of one byte
    stream.copy(2, 60, 3); // a run of three bytes, made byte by byte
    stream.copy(2, 64, 20); // a run longer than 16 bytes, made a piece at a time
    stream.copy(1, 8, 5); // a short run
    stream.copy(2, 40, 17); // just over the byte-by-byte length, overlapping
    stream.copy(2, 17, 17); // as long as its offset: no overlap
    stream.copy(2, 18, 17); // one byte longer than its offset: its last byte is one it makes
    stream.copy(1, 7, 3); // short runs of 3, 2 and 1 bytes, with more to come after them
    stream.copy(1, 6, 2);
    stream.copy(1, 5, 1);
    stream.copy(1, 11, 4); // a short run of 4 bytes, read 4 at a time
    stream.literal(bytes(13, (i) => 100 - i)); // a short literal 2 bytes from the stream's end...
    stream.copy(1, 11, 13); // ...before a last copy with a 1-byte offset
    const { data, expected } = stream.done();
    assert.deepEqual(snappyUncompress(data, expected.length), expected);
    assert.deepEqual(referenceUncompress(data, expected.length), expected, 'the hand-made stream is what the reference decoder makes too');
  });

  test('a damaged stream is an error that says what is wrong, not bytes made up', () => {
    const ok = new Stream();
    ok.literal(bytes(20, (i) => i));
    ok.copy(2, 20, 20);
    const { data, expected } = ok.done();
    assert.deepEqual(snappyUncompress(data, 40), expected);
    const cases: [string, Uint8Array, number, RegExp][] = [
      ['the header says other than the page', data, 41, /the stream holds 40 bytes, its page header says 41/],
      ['a literal\'s length is cut off', Uint8Array.of(100, (61 << 2), 1), 100, /a literal's length is cut off at stream byte 2/],
      ['the header is cut off', Uint8Array.of(0x80, 0x80), 0, /length header is cut off/],
      ['the header is too long', Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0, /length header is cut off or too long/],
      ['the stream ends inside a copy', data.subarray(0, data.length - 2), 40, /last piece is cut off \(2 of its bytes missing\)/],
      ['the stream ends after a piece', data.subarray(0, data.length - 3), 40, /makes 20 bytes, its header says 40/],
      ['a literal runs past the end', Uint8Array.of(20, 40 << 2, 1, 2, 3), 20, /cut off \(38 of its bytes missing\)/],
      ['a long literal runs past the end', Buffer.concat([Uint8Array.of(100, (60 << 2), 99), bytes(50, (i) => i)]), 100, /cut off \(50 of its bytes missing\)/],
      ['a copy from before the start', Uint8Array.of(8, (1 << 2), 1, 2, (3 << 2) | 2, 3, 0), 8, /refers 3 bytes back from output byte 2/],
      ['a copy of offset 0', Uint8Array.of(8, (1 << 2), 1, 2, (3 << 2) | 2, 0, 0), 8, /refers 0 bytes back/],
      ['more bytes than stated', Uint8Array.of(2, (2 << 2), 1, 2, 3), 2, /makes 3 bytes, its header says 2/],
      ['a long literal past the stated bytes', Buffer.concat([Uint8Array.of(20, (29 << 2)), bytes(30, (i) => i)]), 20, /makes 30 bytes, its header says 20/],
      ['a long copy past the stated bytes', Uint8Array.of(20, (3 << 2), 1, 2, 3, 4, (39 << 2) | 2, 4, 0), 20, /makes 44 bytes, its header says 20/],
      ['fewer bytes than stated', Uint8Array.of(4, (2 << 2), 1, 2, 3), 4, /makes 3 bytes, its header says 4/],
      ['a 4-byte-offset copy cut off', Uint8Array.of(8, (1 << 2), 1, 2, (3 << 2) | 3, 1), 8, /cut off \(3 of its bytes missing\)/],
    ];
    for (const [name, stream, length, message] of cases) assert.throws(() => snappyUncompress(stream, length), message, name);
  });

  test('a damaged Snappy page is INPUT_FORMAT naming the file and column', () => withTempDir(async (dir) => {
    const file = join(dir, 'damaged.parquet');
    const bytesOf = await readFile(join(fixtures, 'data', 'penguins-snappy.parquet'));
    const metadata = parquetMetadata(bytesOf.buffer.slice(bytesOf.byteOffset, bytesOf.byteOffset + bytesOf.byteLength));
    const chunk = metadata.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === 'flipper_length_mm')!.meta_data!;
    assert.equal(chunk.codec, 'SNAPPY');
    let at = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
    for (;;) {
      const reader = { view: new DataView(bytesOf.buffer, bytesOf.byteOffset + at), offset: 0 };
      const header = parquetHeader(reader);
      if (header.type === 'DATA_PAGE') {
        // The page's stream now states that it holds nothing.
        bytesOf[at + reader.offset] = 0;
        break;
      }
      at += reader.offset + header.compressed_page_size;
    }
    await writeFile(file, bytesOf);
    const source = await openParquet([file], { columns: undefined, chunkRows: 100 });
    await rejectsWith(() => drain(source), 'INPUT_FORMAT', `Parquet file ${file} cannot be read (rows 1–100, column "flipper_length_mm"): Snappy: the stream holds 0 bytes, its page header says 460`);
  }));
});

const bytes = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);

/** A Snappy stream made piece by piece, with the bytes it stands for made the plain way beside it. */
class Stream {
  readonly #pieces: number[] = [];
  readonly #out: number[] = [];

  /** A literal; `lengthBytes` (1–4) forces the length into bytes after the tag. */
  literal(data: Uint8Array, lengthBytes = 0): void {
    const n = data.length - 1;
    const extra = lengthBytes || (n < 60 ? 0 : n < 1 << 8 ? 1 : n < 1 << 16 ? 2 : n < 1 << 24 ? 3 : 4);
    if (extra === 0) this.#pieces.push(n << 2);
    else {
      this.#pieces.push((59 + extra) << 2);
      for (let b = 0; b < extra; b++) this.#pieces.push((n >>> (8 * b)) & 0xff);
    }
    for (const b of data) {
      this.#pieces.push(b);
      this.#out.push(b);
    }
  }

  /** A copy of `n` bytes from `offset` back, with an offset of `width` bytes (1: 11 bits in the tag and a byte). */
  copy(width: 1 | 2 | 4, n: number, offset: number): void {
    if (width === 1) this.#pieces.push(1 | ((n - 4) << 2) | ((offset >>> 8) << 5), offset & 0xff);
    else {
      this.#pieces.push((width === 2 ? 2 : 3) | ((n - 1) << 2));
      for (let b = 0; b < width; b++) this.#pieces.push((offset >>> (8 * b)) & 0xff);
    }
    for (let i = 0; i < n; i++) this.#out.push(this.#out[this.#out.length - offset]!);
  }

  done(): { data: Uint8Array; expected: Uint8Array } {
    const header: number[] = [];
    for (let v = this.#out.length; ; v >>>= 7) {
      if (v < 0x80) {
        header.push(v);
        break;
      }
      header.push((v & 0x7f) | 0x80);
    }
    return { data: Uint8Array.from([...header, ...this.#pieces]), expected: Uint8Array.from(this.#out) };
  }
}
