/**
 * CsvSplitter against csv-parse as an independent reader: random records (quotes, delimiters,
 * CR/LF inside quotes, multi-byte and astral characters, empty fields and lines), cut into
 * random pieces, must give the same fields, and each record's end byte must be where csv-parse
 * says the record ends.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { type CsvEncoding, CsvSplitter, UnclosedQuoteError } from '../../src/source/csvsplit.js';

/** Deterministic PRNG (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function split(bytes: Buffer, pieces: number[], delimiter = ',', quote = '"', startByte = 0, encoding?: CsvEncoding) {
  const splitter = new CsvSplitter(delimiter, quote, startByte, encoding);
  const out: { fields: string[]; endByte: number; endLine: number }[] = [];
  const drain = () => {
    while (splitter.next()) out.push({ fields: splitter.fields.slice(0, splitter.count), endByte: splitter.endByte, endLine: splitter.endLine });
  };
  let at = 0;
  for (const size of pieces) {
    splitter.feed(bytes.subarray(at, at + size));
    at += size;
    drain();
  }
  splitter.feed(bytes.subarray(at));
  drain();
  splitter.end();
  drain();
  return { records: out, encoding: splitter.encoding };
}

function randomCsv(next: () => number, crlf: boolean): string {
  const alphabet = ['a', 'b', 'Z', '0', '9', '.', ' ', '-', 'é', 'ß', '中', '😀', ',', '"', '\n', '\r\n', '\t'];
  const lines: string[] = [];
  const width = 1 + Math.floor(next() * 5);
  const rows = 1 + Math.floor(next() * 40);
  for (let r = 0; r < rows; r++) {
    if (next() < 0.05) {
      lines.push(''); // an empty line, skipped
      continue;
    }
    const cells: string[] = [];
    for (let c = 0; c < width; c++) {
      let text = '';
      const length = Math.floor(next() * 8);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      const special = /[",\r\n]/.test(text);
      cells.push(special || next() < 0.2 ? `"${text.replace(/"/g, '""')}"` : text);
    }
    // A record of one empty unquoted field would read as an empty line.
    if (cells.join('') === '') cells[0] = '""';
    lines.push(cells.join(','));
  }
  return lines.join(crlf ? '\r\n' : '\n') + (next() < 0.7 ? (crlf ? '\r\n' : '\n') : '');
}

describe('CsvSplitter', () => {
  test('matches csv-parse on 300 random files cut into random pieces, byte offsets included', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const text = (next() < 0.2 ? '\uFEFF' : '') + randomCsv(next, next() < 0.5);
      const bytes = Buffer.from(text);
      const expected = (parse(bytes, { bom: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as { record: string[]; info: { bytes_records: number; lines: number } }[]);
      const pieces = Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * 30));
      const got = split(bytes, pieces).records;
      assert.deepEqual(got.map((r) => r.fields), expected.map((e) => e.record), `seed ${seed}`);
      assert.deepEqual(got.map((r) => r.endByte), expected.map((e) => e.info.bytes_records), `seed ${seed}`);
    }
  });

  test('byte offsets count multi-byte characters and the BOM; lines count newlines inside quotes', () => {
    const text = '\uFEFFname,note\r\n"Zoë","two\nlines"\r\n中文,x\r\nlast,"no newline"';
    const got = split(Buffer.from(text), [1, 2, 3, 5, 8]).records;
    assert.deepEqual(got.map((r) => r.fields), [['name', 'note'], ['Zoë', 'two\nlines'], ['中文', 'x'], ['last', 'no newline']]);
    const ends = [...text.matchAll(/\r\n/g)].map((m) => Buffer.byteLength(text.slice(0, m.index + 2)));
    assert.deepEqual(got.map((r) => r.endByte), [...ends, Buffer.byteLength(text)]);
    assert.deepEqual(got.map((r) => r.endLine), [1, 3, 4, 5]);
  });

  test('a resumed stream counts bytes from its start offset and has no BOM check', () => {
    const got = split(Buffer.from('1,2\n3,4\n'), [3], ',', '"', 1000).records;
    assert.deepEqual(got.map((r) => [r.fields, r.endByte, r.endLine]), [[['1', '2'], 1004, 1], [['3', '4'], 1008, 2]]);
  });

  test('lenient where Excel and Python are: quotes inside unquoted fields and text after a closing quote are data', () => {
    const got = split(Buffer.from('a"b,"c"d,e\n'), []).records;
    assert.deepEqual(got.map((r) => r.fields), [['a"b', 'cd', 'e']]);
  });

  test('another delimiter and quote character; a trailing delimiter is an empty last field', () => {
    const got = split(Buffer.from("x;'a;b';\n'it''s';2\n"), [4], ';', "'").records;
    assert.deepEqual(got.map((r) => r.fields), [['x', 'a;b', ''], ["it's", '2']]);
  });

  test('lines ended by CR alone (classic Mac OS, Excel\'s "CSV (Macintosh)"): as csv-parse reads the same file with LF, offsets included, a line break in quotes read as LF', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const lf = randomCsv(next, false).replace(/\r\n/g, '\n');
      if (!lf.includes('\n')) continue; // one record without a line end: nothing to tell
      const expected = (parse(Buffer.from(lf), { skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as { record: string[]; info: { bytes_records: number } }[]);
      const pieces = Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * 30));
      const got = split(Buffer.from(lf.replace(/\n/g, '\r')), pieces).records;
      assert.deepEqual(got.map((r) => r.fields), expected.map((e) => e.record), `seed ${seed}`);
      assert.deepEqual(got.map((r) => r.endByte), expected.map((e) => e.info.bytes_records), `seed ${seed}`);
    }
    // A CR inside a field of an LF file stays data; a resumed CR file is told by its own bytes.
    assert.deepEqual(split(Buffer.from('a\rb,c\nd,e\n'), [2]).records.map((r) => r.fields), [['a\rb', 'c'], ['d', 'e']]);
    assert.deepEqual(split(Buffer.from('x,y\r1,2\r3,4\r').subarray(4), [1], ',', '"', 4).records.map((r) => [r.fields, r.endByte]), [[['1', '2'], 8], [['3', '4'], 12]]);
  });

  test('UTF-16 with a byte-order mark, either byte order, matches csv-parse on the same text in UTF-8, cut into random (odd) pieces', () => {
    const utf16 = (text: string, littleEndian: boolean) => {
      const bytes = Buffer.from(`\uFEFF${text}`, 'utf16le');
      return littleEndian ? bytes : bytes.swap16();
    };
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const text = randomCsv(next, next() < 0.5);
      const expected = (parse(Buffer.from(text), { skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as { record: string[]; info: { bytes_records: number } }[]);
      // UTF-16 offsets: the mark, then two bytes a UTF-16 unit of the text before the record's end.
      const ends = expected.map((e) => 2 + 2 * Buffer.from(text).subarray(0, e.info.bytes_records).toString('utf8').length);
      const littleEndian = next() < 0.5;
      const pieces = Array.from({ length: 1 + Math.floor(next() * 6) }, () => Math.floor(next() * 31));
      // The encoding given is overridden by the mark.
      const got = split(utf16(text, littleEndian), pieces, ',', '"', 0, next() < 0.5 ? 'utf-8' : 'windows-1252');
      assert.equal(got.encoding, littleEndian ? 'utf-16le' : 'utf-16be', `seed ${seed}`);
      assert.deepEqual(got.records.map((r) => r.fields), expected.map((e) => e.record), `seed ${seed}`);
      assert.deepEqual(got.records.map((r) => r.endByte), ends, `seed ${seed}`);
    }
  });

  test('UTF-16 without a mark when the encoding says so; a LF byte pair across two units is no line end; a resumed stream counts from its offset', () => {
    // Little-endian U+0A41 U+2000 is 41 0A 00 20, big-endian U+4100 U+0A41 is 41 00 0A 41: the LF pair at an odd offset.
    const odd = '\u0a41\u2000\u4100\u0a41';
    const text = `a\tb\r\n${odd}\t😀\r\nc\td\r\n`;
    const le = Buffer.from(text, 'utf16le');
    const expected = [[['a', 'b'], 10], [[odd, '😀'], 28], [['c', 'd'], 38]];
    assert.deepEqual(split(le, [16, 1], '\t', '"', 0, 'utf-16le').records.map((r) => [r.fields, r.endByte]), expected);
    assert.deepEqual(split(Buffer.from(le).swap16(), [20, 1], '\t', '"', 0, 'utf-16be').records.map((r) => [r.fields, r.endByte]), expected);
    const resumed = split(le.subarray(10), [3], '\t', '"', 10, 'utf-16le');
    assert.deepEqual(resumed.records.map((r) => [r.fields, r.endByte, r.endLine]), [[[odd, '😀'], 28, 1], [['c', 'd'], 38, 2]]);
  });

  test('a large quoted cell of JSON-like text ("" every few characters, some line breaks) reads whole, its lines counted', () => {
    const cell = Array.from({ length: 100_000 }, (_, i) => (i % 1000 === 999 ? 'a""b\n' : 'ab""cd')).join('');
    const text = `x,note\n1,"${cell}"\n2,z\n`;
    const out = split(Buffer.from(text), [text.length]).records;
    assert.deepEqual(out.map((r) => r.fields[0]), ['x', '1', '2']);
    assert.equal(out[1]!.fields[1], cell.replaceAll('""', '"'));
    assert.equal(out[2]!.endLine, 3 + 100);
  });

  test('the input ending inside quotes throws UnclosedQuoteError with the line the field starts on', () => {
    assert.throws(() => split(Buffer.from('a,b\n1,2\n3,"open\nstill open\n'), [5, 5]), (error: unknown) => error instanceof UnclosedQuoteError && error.line === 3);
  });
});
