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
import { openStream, releaseStreams, streamOf } from '../../src/source/stream.js';
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
  test('its start is replayed to each reader until the run starts; then the rows\' reader lets it go', () => withTempDir(async (dir) => {
    const content = randomBytes(3 << 20);
    const { file, input } = await stream(dir, 'a', content);
    const sniffed = await readAll(input.open(0, false).stream, 5000);
    assert.ok(sniffed.equals(content.subarray(0, sniffed.length)));
    const first = await readAll(input.open(0, false).stream, 100_000);
    assert.ok(first.equals(content.subarray(0, first.length)), 'a second look sees the same start');
    const rows = input.open(0, true);
    const head = await readAll(input.open(0, false).stream, 1);
    assert.equal(head[0], content[0]);
    releaseStreams([file]);
    assert.ok((await readAll(rows.stream)).equals(content), 'the rows\' reader gets every byte once');
    assert.equal(rows.bytes(), content.length);
    await rejectsWith(readAll(input.open(0, false).stream), 'INPUT_FORMAT', `Input ${file} is a stream (a pipe or standard input) and cannot be read again from its start`);
  }));

  test('a resume reads from its byte, checking the marked prefix before it: every 4 KB of the first 64 KB, then every 64 KB', () => withTempDir(async (dir) => {
    const content = randomBytes(1 << 20);
    const { input } = await stream(dir, 'b', content);
    const all = input.open(0, true);
    assert.ok((await readAll(all.stream)).equals(content));
    for (const [byte, mark] of [[100, undefined], [4096, 4096], [10_000, 8192], [65_535, 61_440], [65_536, 65_536], [200_000, 196_608]] as const) {
      const prefix = input.prefix(byte);
      assert.equal(prefix?.bytes, mark, `mark before byte ${byte}`);
      if (prefix) assert.equal(prefix.sha256, sha256(content.subarray(0, prefix.bytes)));
    }
    // The last mark before the end, not the end: a longer stream must be checked there too.
    assert.equal(input.prefix(content.length - 1)!.bytes, content.length - 65_536);
  }));

  test('a resume fed other bytes, or fewer, is refused; the same bytes, gzipped, are read on', () => withTempDir(async (dir) => {
    const content = randomBytes(400_000);
    const expected = { bytes: 196_608, sha256: sha256(content.subarray(0, 196_608)) };
    const same = (await stream(dir, 'same.gz', gzipSync(content))).input;
    // Looked at first, as the readers do, then resumed from past the mark.
    await readAll(same.open(0, false).stream, 10);
    assert.ok((await readAll(same.open(250_000, true, expected).stream)).equals(content.subarray(250_000)));

    const other = Buffer.from(content);
    other.writeUInt8(other.readUInt8(150_000) ^ 1, 150_000);
    const changed = (await stream(dir, 'changed', other)).input;
    await rejectsWith(readAll(changed.open(250_000, true, expected).stream), 'RESUME_REFUSED', `Cannot resume: input ${join(dir, 'changed')} is not the input the interrupted run read: its first 196,608 bytes differ`);
    // Found among the marks already passed, where the readers looked further than the mark before the resume.
    const looked = (await stream(dir, 'looked', other)).input;
    await readAll(looked.open(0, false).stream, 300_000);
    assert.throws(() => looked.open(250_000, true, expected), /its first 196,608 bytes differ/);
    const short = (await stream(dir, 'short', content.subarray(0, 240_000))).input;
    await rejectsWith(readAll(short.open(250_000, true, expected).stream), 'RESUME_REFUSED', `Cannot resume: input ${join(dir, 'short')} ended after 240,000 bytes, before byte 250,000 where the interrupted run stopped reading: it is not the input that run read`);
  }));

  test('a named pipe opened as a source: rows as from the file, its start let go of once the run reads them', () => withTempDir(async (dir) => {
    const fifo = join(dir, 'in.csv');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const text = await readFile(join(fixtures, 'data', 'penguins.csv'));
    createWriteStream(fifo).end(Buffer.concat(Array.from({ length: 30 }, (_, i) => (i === 0 ? text : text.subarray(text.indexOf('\n') + 1)))));
    const spec = { path: fifo, format: undefined, columns: undefined, csv: { delimiter: undefined, header: true, quote: '"' }, chunkRows: 1000 } as const;
    const source = await openSource(spec);
    const rows = concatColumns(await drain(source));
    assert.equal(rows.species!.length, 30 * 344);
    assert.deepEqual(source.progress(), { done: text.length + 29 * (text.length - text.indexOf('\n') - 1), total: undefined, unit: 'bytes' });
    await rejectsWith(readAll(streamOf(fifo)!.open(0, false).stream), 'INPUT_FORMAT', `Input ${fifo} is a stream (a pipe or standard input) and cannot be read again from its start`);
  }));

  test('gzip cut short is named as such', () => withTempDir(async (dir) => {
    const packed = gzipSync(randomBytes(100_000));
    const { file, input } = await stream(dir, 'cut', packed.subarray(0, packed.length - 100));
    await rejectsWith(readAll(input.open(0, true).stream), 'INPUT_FORMAT', `Input ${file} starts as gzip but is not a complete gzip stream: unexpected end of file`);
  }));
});
