/**
 * Input read once (source/stream.ts): kept while the readers look at its start, replayed to the
 * reader of the rows and let go of; gunzipped by its first bytes; hashed at marks that a resume
 * checks. A regular file stands in for the pipe here (it is read the same way: from the start,
 * once); test/e2e/stdin.test.ts pipes into the CLI.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { openSource } from '../../src/source/index.js';
import { openStream, releaseStreams, streamOf, streamWritten } from '../../src/source/stream.js';
import { fixtures, rejectsWith, withTempDir } from '../helpers.js';
import { concatColumns, drain } from './util.js';

async function readAll(stream: NodeJS.ReadableStream, most = Infinity): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let length = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    pieces.push(piece);
    length += piece.length;
    if (length >= most) break;
  }
  return Buffer.concat(pieces);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function stream(dir: string, name: string, bytes: Buffer) {
  const file = join(dir, name);
  await writeFile(file, bytes);
  openStream(file);
  return { file, input: streamOf(file)! };
}

describe('a stream read once', () => {
  test('its start is replayed to each reader until the run starts; then what the run has written is let go of', () => withTempDir(async (dir) => {
    const content = randomBytes(3 << 20);
    const { file, input } = await stream(dir, 'a', content);
    const sniffed = await readAll(input.open(0).stream, 5000);
    assert.ok(sniffed.equals(content.subarray(0, sniffed.length)));
    const first = await readAll(input.open(0).stream, 100_000);
    assert.ok(first.equals(content.subarray(0, first.length)), 'a second look sees the same start');
    const rows = input.open(0);
    const head = await readAll(input.open(0).stream, 1);
    assert.equal(head[0], content[0]);
    releaseStreams([file]);
    assert.ok((await readAll(rows.stream)).equals(content), 'the rows\' reader gets every byte once');
    assert.equal(rows.bytes(), content.length);
    input.written(2_000_000);
    // Kept from the last 64 KB mark before what was written, for a commit there.
    assert.equal(input.prefix(2_000_001).sha256, sha256(content.subarray(0, 2_000_001)));
    assert.equal(input.prefix(1_966_080).sha256, sha256(content.subarray(0, 1_966_080)));
    assert.throws(() => input.prefix(1_966_079), /before byte 1966079 is not kept/);
    await rejectsWith(readAll(input.open(0).stream), 'INPUT_FORMAT', `Input ${file} is a stream (a pipe or standard input) and cannot be read again from its start`);
  }));

  test('a commit records the hash of the content up to its very byte', () => withTempDir(async (dir) => {
    const content = randomBytes(1 << 20);
    const { input } = await stream(dir, 'b', content);
    assert.ok((await readAll(input.open(0).stream)).equals(content));
    for (const byte of [0, 1, 100, 4096, 65_535, 65_536, 65_537, 200_000, content.length]) {
      assert.deepEqual(input.prefix(byte), { bytes: byte, sha256: sha256(content.subarray(0, byte)) }, `prefix to byte ${byte}`);
    }
  }));

  test('a resume fed other bytes, or fewer, is refused, up to the byte it starts at; the same bytes, gzipped, are read on', () => withTempDir(async (dir) => {
    const content = randomBytes(400_000);
    const expected = { bytes: 250_000, sha256: sha256(content.subarray(0, 250_000)) };
    const same = (await stream(dir, 'same.gz', gzipSync(content))).input;
    // Looked at first, as the readers do, then resumed.
    await readAll(same.open(0).stream, 10);
    assert.ok((await readAll(same.open(250_000, expected).stream)).equals(content.subarray(250_000)));

    // Changed a byte before where the run stopped, past the last 64 KB mark (196,608).
    const other = Buffer.from(content);
    other.writeUInt8(other.readUInt8(249_999) ^ 1, 249_999);
    const changed = (await stream(dir, 'changed', other)).input;
    await rejectsWith(readAll(changed.open(250_000, expected).stream), 'RESUME_REFUSED', `Cannot resume: input ${join(dir, 'changed')} is not the input the interrupted run read: its first 250,000 bytes differ`);
    // Checked at once where the readers looked further than where the run stopped.
    const looked = (await stream(dir, 'looked', other)).input;
    await readAll(looked.open(0).stream, 300_000);
    assert.throws(() => looked.open(250_000, expected), /its first 250,000 bytes differ/);
    const short = (await stream(dir, 'short', content.subarray(0, 240_000))).input;
    await rejectsWith(readAll(short.open(250_000, expected).stream), 'RESUME_REFUSED', `Cannot resume: input ${join(dir, 'short')} ended after 240,000 bytes, before byte 250,000 where the interrupted run stopped reading: it is not the input that run read`);
    // A dry run reads on to the byte, keeping nothing, and says the same.
    const dry = (await stream(dir, 'dry', other)).input;
    await readAll(dry.open(0).stream, 10);
    assert.match((await dry.verify(expected))?.message ?? '', /its first 250,000 bytes differ/);
    assert.equal(await (await stream(dir, 'dry-same', content)).input.verify(expected), undefined);
    assert.match((await (await stream(dir, 'dry-short', content.subarray(0, 1000))).input.verify(expected))?.message ?? '', /ended after 1,000 bytes, before byte 250,000/);
  }));

  test('a resume\'s reader lets go of what it skips', () => withTempDir(async (dir) => {
    const content = randomBytes(4 << 20);
    const { file, input } = await stream(dir, 'skip', content);
    await readAll(input.open(0).stream, 10);
    releaseStreams([file]);
    const start = 3_500_000;
    assert.ok((await readAll(input.open(start, { bytes: start, sha256: sha256(content.subarray(0, start)) }).stream)).equals(content.subarray(start)));
    assert.equal(input.prefix(start + 1).sha256, sha256(content.subarray(0, start + 1)));
    assert.throws(() => input.prefix(1_000_000), /is not kept/);
  }));

  test('a named pipe opened as a source: rows as from the file', () => withTempDir(async (dir) => {
    const fifo = join(dir, 'in.csv');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const text = await readFile(join(fixtures, 'data', 'penguins.csv'));
    createWriteStream(fifo).end(Buffer.concat(Array.from({ length: 30 }, (_, i) => (i === 0 ? text : text.subarray(text.indexOf('\n') + 1)))));
    const spec = { path: fifo, format: undefined, columns: undefined, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: 1000 } as const;
    const source = await openSource(spec);
    const rows = concatColumns(await drain(source));
    assert.equal(rows.species!.length, 30 * 344);
    assert.deepEqual(source.progress(), { done: text.length + 29 * (text.length - text.indexOf('\n') - 1), total: undefined, unit: 'bytes' });
    // Once the rows are read (the run started) and written, their bytes are let go of.
    streamWritten([fifo], { file: 0, row: 30 * 344, byte: source.progress().done });
    await rejectsWith(readAll(streamOf(fifo)!.open(0).stream), 'INPUT_FORMAT', `Input ${fifo} is a stream (a pipe or standard input) and cannot be read again from its start`);
  }));

  test('a resume replays what the look at the start kept while the run\'s writes let go of it: every byte once, in order', () => withTempDir(async (dir) => {
    const content = Buffer.from(Array.from({ length: 100_000 }, (_, i) => `row ${String(i).padStart(8, '0')}\n`).join(''));
    // Through a named pipe, which gives it in 64 KB pieces.
    const file = join(dir, 'replay');
    assert.equal(spawnSync('mkfifo', [file]).status, 0);
    openStream(file);
    const input = streamOf(file)!;
    createWriteStream(file).end(content);
    await readAll(input.open(0).stream, 600_000);
    releaseStreams([file]);
    const rows = input.open(1000, { bytes: 1000, sha256: sha256(content.subarray(0, 1000)) });
    const pieces: Buffer[] = [];
    for await (const piece of rows.stream as AsyncIterable<Buffer>) {
      pieces.push(piece);
      input.written(Math.max(1000, rows.bytes() - 100_000));
    }
    assert.ok(Buffer.concat(pieces).equals(content.subarray(1000)));
  }));

  test('gzip cut short is named as such', () => withTempDir(async (dir) => {
    const packed = gzipSync(randomBytes(100_000));
    const { file, input } = await stream(dir, 'cut', packed.subarray(0, packed.length - 100));
    await rejectsWith(readAll(input.open(0).stream), 'INPUT_FORMAT', `Input ${file} starts as gzip but is not a complete gzip stream: unexpected end of file`);
  }));
});
