/**
 * openJsonl: one object per line, blank lines skipped, keys learned from the first chunk,
 * missing keys as null, and INPUT_FORMAT errors that name the line.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openCsv } from '../../src/source/csv.js';
import { parseExact } from '../../src/source/json.js';
import { LineParser, parseBatch } from '../../src/source/json-thread.js';
import { openJsonl } from '../../src/source/jsonl.js';
import type { RowChunk } from '../../src/source/types.js';
import { usableCores } from '../../src/cores.js';
import { fixtures, rejectsWith, withTempDir } from '../helpers.js';
import { badRows, concatColumns, drain, layout } from './util.js';

const defaults = { columns: undefined, chunkRows: 8192 };

async function jsonlFile(dir: string, name: string, text: string | Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** The message JSON.parse itself gives for `text` (it differs between Node versions). */
function jsonParseMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}

describe('openJsonl: a JSON document is not JSON Lines', () => {
  const wrapped = ' (for records wrapped in a key, .data[] or the like)';
  for (const [what, name, text, message, convert] of [
    ['an array on one line', 'export.json', '[{"a":1},{"a":2}]\n', 'a JSON array', (f: string) => `jq -c '.[]' ${f} > lines.jsonl`],
    ['an array over lines (pandas\' to_json(orient="records", indent=2))', 'export.json', '\ufeff[\n  {"a": 1},\n  {"a": 2}\n]\n', 'a JSON array', (f: string) => `jq -c '.[]' ${f} > lines.jsonl`],
    ['an object over lines (json.dump with indent)', 'export.json', '\n{\n  "a": 1\n}\n', 'a JSON document spread over several lines', (f: string) => `jq -c '.' ${f} > lines.jsonl${wrapped}`],
    ['records wrapped in a key, an API\'s export', 'export.json', '{"data": [\n{"a": 1},\n{"a": 2}\n]}\n', 'a JSON document spread over several lines', (f: string) => `jq -c '.' ${f} > lines.jsonl${wrapped}`],
    ['an object whose first line holds some of its keys', 'export.json', '{"id": 1, "a": 2,\n "b": 3}\n', 'a JSON document spread over several lines', (f: string) => `jq -c '.' ${f} > lines.jsonl${wrapped}`],
    ['a gzipped array', 'export.json.gz', gzipSync('[\n{"a": 1}\n]\n'), 'a JSON array', (f: string) => `gunzip -c ${f} | jq -c '.[]' > lines.jsonl`],
  ] as const) {
    test(`${what}: refused before any row, saying how to convert it`, () => withTempDir(async (dir) => {
      const file = await jsonlFile(dir, name, text);
      const error = await rejectsWith(openJsonl([file], defaults), 'INPUT_FORMAT', `Input file ${file} is ${message}, not JSON Lines (one JSON object a line)`);
      assert.equal(error.hint, `Convert it to JSON Lines and point input.path at the copy: ${convert(file)} (pandas writes JSON Lines with df.to_json(path, orient="records", lines=True)).`);
    }));
  }

  test('pandas\' default to_json (one object of columns keyed by row number) is refused, saying how to write JSON Lines; a record with such a value is not', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'df.json', '{"bill_length_mm":{"0":39.1,"1":39.5},"species":{"0":"Adelie","1":"Adelie"}}');
    const error = await rejectsWith(openJsonl([file], defaults), 'INPUT_FORMAT', `Input file ${file} is pandas' default JSON (df.to_json(): one object of columns, each keyed by row number), not JSON Lines (one JSON object a line)`);
    assert.equal(error.hint, 'Write it as JSON Lines and point input.path at that: df.to_json(path, orient="records", lines=True).');
    const record = await jsonlFile(dir, 'ok.jsonl', '{"id": 7, "scores": {"0": 1, "1": 2}}\n');
    assert.equal((await drain(await openJsonl([record], defaults))).length, 1);
    // A first record broken but closed is a bad row of JSON Lines, as any other line.
    const typo = await jsonlFile(dir, 'typo.jsonl', '{"a": 2,}\n{"a": 3}\n');
    assert.deepEqual((await badRows(await openJsonl([typo], defaults))).map((e) => e.row), [1]);
  }));
});

describe('openJsonl: keys past the columns', () => {
  test('a key first met after the first chunk fixed the columns (Spark leaves null fields out of a small first part) is said once, not read; with columns given, nothing is said', () => withTempDir(async (dir) => {
    const parts = [await jsonlFile(dir, 'part-0.json', '{"id":1}\n'), await jsonlFile(dir, 'part-1.json', '{"id":2,"note":"hello"}\n{"id":3,"note":"x"}\n')];
    const notes: string[] = [];
    const chunks = await drain(await openJsonl(parts, { ...defaults, notes }));
    assert.deepEqual(Object.keys(concatColumns(chunks)), ['id']);
    assert.deepEqual(notes, [`${parts[1]} line 1 holds the key "note", which none of the first rows (those that fix the columns) holds: it is not read. List it in output.keep or input.columns to read it (the columns come from the first file's first rows)`]);
    const chosen: string[] = [];
    const read = concatColumns(await drain(await openJsonl(parts, { ...defaults, columns: ['id', 'note'], notes: chosen })));
    assert.deepEqual(read.note, [null, 'hello', 'x']);
    assert.deepEqual(chosen, []);
  }));
});

describe('openJsonl: reading', () => {
  test('for a Parquet output (temporal), text of ISO dates and timestamps is typed DATE and TIMESTAMP as DuckDB\'s read_json types it; "yes" stays text, a model\'s key too, and a later value that is none is a bad row', () => withTempDir(async (dir) => {
    const lines = Array.from({ length: 8192 }, (_, i) => JSON.stringify({ d: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`, at: `2024-01-05T10:00:0${i % 10}Z`, s: i % 2 ? 'yes' : 'no', feature: '2024-01-01', n: i }));
    const file = await jsonlFile(dir, 'when.jsonl', `${lines.join('\n')}\n{"d": "soon", "at": "2024-01-05T10:00:00Z", "s": "no", "feature": "x", "n": 1}\n{"d": null, "at": 5, "s": "no", "feature": "x", "n": 1}\n`);
    const source = await openJsonl([file], { ...defaults, temporal: { except: ['feature'] } });
    assert.deepEqual(source.schema, [{ name: 'd', type: 'date' }, { name: 'at', type: 'timestamp', unit: 'us', naive: false }, { name: 's', type: 'string' }, { name: 'feature', type: 'string' }, { name: 'n', type: 'float64' }]);
    const read = concatColumns(await drain(source));
    assert.deepEqual([read.d![1], read.at![3], read.s![1]], [new Date('2024-01-02T00:00:00Z'), BigInt(Date.parse('2024-01-05T10:00:03Z')) * 1000n, 'yes']);
    const bad = await badRows(await openJsonl([file], { ...defaults, temporal: { except: ['feature'] } }));
    assert.deepEqual(bad.map((r) => [r.row, r.column, r.message]), [
      [8193, 'd', `Invalid value: column "d" holds dates (2024-02-29) in its first rows, got "soon" at ${file} row 8193`],
      [8194, 'at', `Invalid value: column "at" holds timestamps with a UTC offset (2024-02-29 13:45:01+02:00) in its first rows, got 5 at ${file} row 8194`],
    ]);
    assert.deepEqual((await openJsonl([file], defaults)).schema.map((f) => f.type), ['string', 'string', 'string', 'string', 'float64']);
    // A row bad by one column keeps its other cells as their columns hold them (a date a Date, a misfit null), for emit: null-row to write.
    const mixed = await jsonlFile(dir, 'mixed.jsonl', '{"n": 1, "ok": true, "d": "2024-01-01"}\n{"n": 2, "ok": false, "d": "2024-01-02"}\n{"n": "x", "ok": "false", "d": "2024-01-03"}\n');
    const chunks = await drain(await openJsonl([mixed], { columns: undefined, chunkRows: 2, temporal: { except: [] } }));
    assert.deepEqual([...chunks[1]!.errors!.keys()], [0]);
    assert.deepEqual(concatColumns(chunks), { n: [1, 2, null], ok: [true, false, null], d: [new Date('2024-01-01T00:00:00Z'), new Date('2024-01-02T00:00:00Z'), new Date('2024-01-03T00:00:00Z')] });
  }));

  test('blank and whitespace-only lines are skipped; CRLF line ends are fine', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'b.jsonl', '{"a":1,"s":"x"}\r\n\r\n   \n{"a":2.5,"s":"y"}\r\n\n');
    const source = await openJsonl([file], defaults);
    assert.deepEqual(source.schema, [{ name: 'a', type: 'float64' }, { name: 's', type: 'string' }]);
    const chunks = await drain(source);
    assert.deepEqual(layout(chunks), [[0, 2]]);
    assert.deepEqual(concatColumns(chunks), { a: [1, 2.5], s: ['x', 'y'] });
  }));

  test('keys missing from a line are null; the columns are the union over the first chunk', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'm.jsonl', '{"a":1}\n{"b":"x","a":null}\n{"c":true}\n');
    const source = await openJsonl([file], defaults);
    assert.deepEqual(source.schema, [{ name: 'a', type: 'float64' }, { name: 'b', type: 'string' }, { name: 'c', type: 'bool' }]);
    assert.deepEqual(concatColumns(await drain(source)), { a: [1, null, null], b: [null, 'x', null], c: [null, null, true] });
  }));

  test('mixed and nested values are typed json and kept as values', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'j.jsonl', '{"m":1,"o":{"k":[1,2]},"l":[1]}\n{"m":"two","o":null,"l":[2,3]}\n');
    const source = await openJsonl([file], defaults);
    assert.deepEqual(source.schema, [{ name: 'm', type: 'json' }, { name: 'o', type: 'json' }, { name: 'l', type: 'json' }]);
    assert.deepEqual(concatColumns(await drain(source)), { m: [1, 'two'], o: [{ k: [1, 2] }, null], l: [[1], [2, 3]] });
  }));

  test('columns restricts the columns read; a key missing everywhere is null', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'c.jsonl', '{"a":1,"b":2}\n{"a":3,"b":4}\n');
    const source = await openJsonl([file], { ...defaults, columns: ['b', 'z'] });
    assert.deepEqual(concatColumns(await drain(source)), { b: [2, 4], z: [null, null] });
  }));

  test('penguins.jsonl reads the same values as penguins.csv, in chunks', async () => {
    const csv = concatColumns(await drain(await openCsv([join(fixtures, 'data', 'penguins.csv')], { delimiter: undefined, header: true, quote: '"', columns: undefined, chunkRows: 8192 })));
    const chunks = await drain(await openJsonl([join(fixtures, 'data', 'penguins.jsonl')], { ...defaults, chunkRows: 128 }));
    assert.deepEqual(layout(chunks), [[0, 128], [128, 128], [256, 88]]);
    assert.deepEqual(concatColumns(chunks), csv);
    // With typeRows the first chunk is longer: its rows fix the keys and types.
    const typed = await drain(await openJsonl([join(fixtures, 'data', 'penguins.jsonl')], { ...defaults, chunkRows: 128, typeRows: 200 }));
    assert.deepEqual(layout(typed), [[0, 200], [200, 128], [328, 16]]);
    assert.deepEqual(concatColumns(typed), csv);
  });

  test('a .gz file and several files: fileRow restarts per file', () => withTempDir(async (dir) => {
    const a = await jsonlFile(dir, 'a.jsonl.gz', gzipSync('{"x":1}\n{"x":2}\n{"x":3}\n'));
    const b = await jsonlFile(dir, 'b.jsonl', '{"x":4,"y":0}\n');
    const chunks = await drain(await openJsonl([a, b], { ...defaults, chunkRows: 2 }));
    assert.deepEqual(chunks.map((c) => [c.file, c.fileRow, c.length]), [[a, 0, 2], [a, 2, 1], [b, 0, 1]]);
    // The first chunk fixed the columns: `y`, first seen in the second file, is not read.
    assert.deepEqual(concatColumns(chunks), { x: [1, 2, 3, 4] });
  }));

  test('estimatedRows: the count of a file read whole in its first chunk, none for gzip', () => withTempDir(async (dir) => {
    const file = join(dir, 'p.jsonl');
    await writeFile(file, Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: i, name: 'x'.repeat(i % 17) })).join('\n'));
    assert.equal((await openJsonl([file], defaults)).estimatedRows, 500);
    await writeFile(`${file}.gz`, gzipSync(await readFile(file)));
    assert.equal((await openJsonl([`${file}.gz`], defaults)).estimatedRows, undefined);
  }));

  test('a UTF-8 BOM before the first object is ignored', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'bom.jsonl', '\uFEFF{"a":1}\n{"a":2}\n');
    assert.deepEqual(concatColumns(await drain(await openJsonl([file], defaults))), { a: [1, 2] });
  }));
});

describe('openJsonl: 64-bit whole numbers', () => {
  test('parseExact: whole numbers past 2^53 are bigints wherever they stand; digits in strings, fractions, exponents and safe numbers are as JSON.parse reads them', () => {
    assert.deepEqual(parseExact('{"id": 1234567890123456789, "n": -9007199254740993, "ok": 9007199254740991, "s": "12345678901234567890", "x": 1.2345678901234567e3}'),
      { id: 1234567890123456789n, n: -9007199254740993n, ok: 9007199254740991, s: '12345678901234567890', x: 1234.5678901234567 });
    assert.deepEqual(parseExact('{"a":[18446744073709551615,{"b":"q\\"1234567890123456789"}],"c":12345678901234567890.5}'),
      { a: [18446744073709551615n, { b: 'q"1234567890123456789' }], c: 12345678901234567000 });
    assert.deepEqual(parseExact('{"plain": 1}'), { plain: 1 });
    assert.throws(() => parseExact('{"id": 12345678901234567890'), SyntaxError);
  });

  test('parseExact: bare NaN, Infinity and -Infinity (Python\'s json.dumps) are those numbers outside strings, beside 64-bit ids too; elsewhere, or misspelt, the line stays invalid', () => {
    assert.deepEqual(parseExact('{"x": NaN, "y": [Infinity, -Infinity], "s": "NaN", "id": 9007199254740993}'), { x: Number.NaN, y: [Infinity, -Infinity], s: 'NaN', id: 9007199254740993n });
    for (const bad of ['{"x": NaNa}', '{"x": nan}', '{"x": 1, NaN: 2}', '{"x": Infinit}', '{"x": NaN']) assert.throws(() => parseExact(bad), SyntaxError, bad);
  });

  test('a JSON Lines file from Python\'s json module (bare NaN and Infinity) reads them into a number column, not as bad rows', () => withTempDir(async (dir) => {
    const source = await openJsonl([await jsonlFile(dir, 'py.jsonl', '{"v": 1.5, "w": 1}\n{"v": NaN, "w": 2}\n{"v": -Infinity, "w": 3}\n')], defaults);
    assert.deepEqual(source.schema.map((f) => f.type), ['float64', 'float64']);
    assert.deepEqual(concatColumns(await drain(source)), { v: [1.5, Number.NaN, -Infinity], w: [1, 2, 3] });
  }));

  test('a column with one is int64, exact; beside fractions or past 64 bits, json; one after the first chunk is a bad row naming what to raise', () => withTempDir(async (dir) => {
    const lines = ['{"id": 1, "m": 1.5, "u": 1}', '{"id": 1234567890123456789, "m": 1234567890123456789, "u": 18446744073709551615}', '{"id": null, "m": null, "u": null}'];
    const source = await openJsonl([await jsonlFile(dir, 'ids.jsonl', `${lines.join('\n')}\n`)], defaults);
    assert.deepEqual(source.schema, [{ name: 'id', type: 'int64' }, { name: 'm', type: 'json' }, { name: 'u', type: 'json' }]);
    assert.deepEqual(concatColumns(await drain(source)), { id: [1, 1234567890123456789n, null], m: [1.5, 1234567890123456789n, null], u: [1, 18446744073709551615n, null] });
    const late = await jsonlFile(dir, 'late.jsonl', `${['{"id": 1}', '{"id": 2}', '{"id": 1234567890123456789}', '{"id": 3}'].join('\n')}\n`);
    assert.deepEqual((await badRows(await openJsonl([late], { columns: undefined, chunkRows: 2 }))).map((r) => [r.row, r.column, r.value, r.message]),
      [[3, 'id', '1234567890123456789', `Invalid value: column "id" holds numbers a double holds exactly in its first rows, got 1234567890123456789 at ${late} row 3`]]);
    // Past 64 bits after the first chunk (2^64 − 1, 1e19), or a fraction: a bad row whose cell is null, not a value a writer wraps or refuses.
    const past = await jsonlFile(dir, 'past.jsonl', `${['{"id": 1234567890123456789}', '{"id": 2}', '{"id": 18446744073709551615}', '{"id": 1e19}', '{"id": -9223372036854775809}', '{"id": 1.5}', '{"id": -9223372036854775808}'].join('\n')}\n`);
    assert.deepEqual((await badRows(await openJsonl([past], { columns: undefined, chunkRows: 2 }))).map((r) => r.row), [3, 4, 5, 6]);
    assert.deepEqual(concatColumns(await drain(await openJsonl([past], { columns: undefined, chunkRows: 2 }))).id, [1234567890123456789n, 2, null, null, null, null, -9223372036854775808n]);
    // 1e19 in the first chunk beside a 64-bit id: no int64 column (whose own row it would make bad), JSON keeping both.
    const first = await openJsonl([await jsonlFile(dir, 'first.jsonl', '{"v": 9007199254740993}\n{"v": 1e19}\n{"v": 4e18}\n')], defaults);
    assert.deepEqual(first.schema, [{ name: 'v', type: 'json' }]);
    assert.deepEqual(concatColumns(await drain(first)).v, [9007199254740993n, 1e19, 4e18]);
  }));

  test('keys that read as numbers (years of a pivot table) keep the line\'s order, which JavaScript\'s objects do not', () => withTempDir(async (dir) => {
    const lines = ['{"name": "a", "2024": 1, "2023": 2, "x": {"9": 0}, "q\\"1": 3}', '{"name": "b", "2024": 4, "2023": 5, "x": null, "q\\"1": 6}'];
    const source = await openJsonl([await jsonlFile(dir, 'years.jsonl', `${lines.join('\n')}\n`)], defaults);
    assert.deepEqual(source.schema.map((f) => f.name), ['name', '2024', '2023', 'x', 'q"1']);
    assert.deepEqual(concatColumns(await drain(source))['2023'], [2, 5]);
  }));

  test('keys that every object inherits (constructor, toString, __proto__) are read as the line\'s own: null where a line lacks one, in the first chunk and after it', () => withTempDir(async (dir) => {
    const lines = ['{"constructor": "a", "toString": "t", "__proto__": "p", "x": 1}', '{"x": 2}', '{"x": 3, "constructor": "c"}', '{"x": 4}'];
    const source = await openJsonl([await jsonlFile(dir, 'proto.jsonl', `${lines.join('\n')}\n`)], { columns: undefined, chunkRows: 2 });
    assert.deepEqual(source.schema, [{ name: 'constructor', type: 'string' }, { name: 'toString', type: 'string' }, { name: '__proto__', type: 'string' }, { name: 'x', type: 'float64' }]);
    const columns = concatColumns(await drain(source));
    assert.deepEqual([columns.constructor, columns.toString, columns.__proto__], [['a', null, 'c', null], ['t', null, null, null], ['p', null, null, null]]);
  }));
});

describe('openJsonl: values after the first chunk', () => {
  test('a value its column\'s type does not hold is a bad row naming it (not NaN, true or "[object Object]" in the output); one where text was keeps its JSON text', () => withTempDir(async (dir) => {
    const lines = [
      '{"x": 1.5, "n": 1, "ok": true, "name": "a"}',
      '{"x": 2, "n": 2, "ok": false, "name": "b"}',
      '{"x": "N/A", "n": 3, "ok": true, "name": "c"}',
      '{"x": 3, "n": 4.5, "ok": true, "name": "d"}',
      '{"x": 4, "n": 5, "ok": "false", "name": "e"}',
      '{"x": {"v": 1}, "n": 6, "ok": true, "name": "f"}',
      '{"x": 5, "n": 7, "ok": null, "name": {"first": "Ann"}}',
      '{"x": 6, "n": 8, "ok": true, "name": 90210}',
    ];
    const file = await jsonlFile(dir, 'late.jsonl', `${lines.join('\n')}\n`);
    const source = await openJsonl([file], { columns: undefined, chunkRows: 2 });
    assert.deepEqual(source.schema.map((f) => f.type), ['float64', 'float64', 'bool', 'string']);
    const again = await openJsonl([file], { columns: undefined, chunkRows: 2 });
    assert.deepEqual((await badRows(again)).map((r) => [r.row, r.column, r.value, r.message]), [
      [3, 'x', '"N/A"', `Invalid value: column "x" holds numbers in its first rows, got "N/A" at ${file} row 3`],
      [5, 'ok', '"false"', `Invalid value: column "ok" holds true or false in its first rows, got "false" at ${file} row 5`],
      [6, 'x', '{"v":1}', `Invalid value: column "x" holds numbers in its first rows, got {"v":1} at ${file} row 6`],
    ]);
    const columns = concatColumns(await drain(source));
    assert.deepEqual(columns.name, ['a', 'b', 'c', 'd', 'e', 'f', '{"first":"Ann"}', '90210']);
    assert.deepEqual(columns.n, [1, 2, 3, 4.5, 5, 6, 7, 8]);
  }));
});

describe('openJsonl: errors', () => {

  test('a UTF-16 file (a byte-order mark says so) is INPUT_FORMAT, not a bad row a line', () => withTempDir(async (dir) => {
    const text = '{"a": 1}\r\n{"a": 2}\r\n';
    for (const [name, bytes] of [['le.jsonl', Buffer.from(`\uFEFF${text}`, 'utf16le')], ['be.jsonl', Buffer.from(`\uFEFF${text}`, 'utf16le').swap16()]] as const) {
      const file = join(dir, name);
      await writeFile(file, bytes);
      await rejectsWith(async () => drain(await openJsonl([file], defaults)), 'INPUT_FORMAT', `${file} is UTF-16 (it starts with a UTF-16 byte-order mark), but JSON Lines is UTF-8`);
    }
  }));

  test('a line with bytes that are not UTF-8 is a row error naming it; the other lines are read', () => withTempDir(async (dir) => {
    const file = join(dir, 'ansi.jsonl');
    // "Zürich" with ü as windows-1252 writes it: one byte, not UTF-8.
    await writeFile(file, Buffer.concat([Buffer.from('{"city":"Bern"}\n'), Buffer.from('{"city":"Z\xfcrich"}\n', 'latin1'), Buffer.from('{"city":"Zürich"}\n')]));
    const source = await openJsonl([file], defaults);
    assert.deepEqual((await badRows(source)).map(({ row, code, message, byte }) => ({ row, code, message, byte })), [{ row: 2, code: 'INPUT_FORMAT', message: `Line 2 of ${file} is not UTF-8`, byte: 16 }]);
    assert.deepEqual(concatColumns(await drain(await openJsonl([file], defaults))).city, ['Bern', null, 'Zürich']);
    // A last line without its line break is checked too (its bytes were U+FFFD in every output).
    const last = join(dir, 'last.jsonl');
    await writeFile(last, Buffer.concat([Buffer.from('{"city":"Bern"}\n'), Buffer.from('{"city":"Z\xfcrich"}', 'latin1')]));
    assert.deepEqual((await badRows(await openJsonl([last], defaults))).map(({ row, message }) => [row, message]), [[2, `Line 2 of ${last} is not UTF-8`]]);
  }));
  test('an invalid JSON line is a row error naming its line number (blank lines counted) and byte offset', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'bad.jsonl', '{"a":1}\n\n{"a":2,}\n{"a":3}\n');
    const source = await openJsonl([file], defaults);
    assert.deepEqual(await badRows(source), [{ row: 2, code: 'INPUT_FORMAT', message: `Line 3 of ${file} is not valid JSON: ${jsonParseMessage('{"a":2,}')}`, byte: 9, column: undefined, value: '{"a":2,}' }]);
  }));

  test('an invalid line after the first chunk; the message quotes the line without its newline', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'late.jsonl', '{"a":1}\n{"a":2}\n{"a":3}\nnot json\n');
    const source = await openJsonl([file], { ...defaults, chunkRows: 2 });
    assert.deepEqual((await badRows(source)).map((e) => e.message), [`Line 4 of ${file} is not valid JSON: ${jsonParseMessage('not json')}`]);
  }));

  test('array, number and null lines are not objects', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'arr.jsonl', '{"a":1}\n[1,2]\n42\nnull\n');
    const source = await openJsonl([file], defaults);
    assert.deepEqual((await badRows(source)).map((e) => e.message), [
      `Line 2 of ${file} is not a JSON object (got an array)`,
      `Line 3 of ${file} is not a JSON object (got number)`,
      `Line 4 of ${file} is not a JSON object (got null)`,
    ]);
  }));

  test('an empty or blank-only file is INPUT_FORMAT', () => withTempDir(async (dir) => {
    const file = await jsonlFile(dir, 'empty.jsonl', '\n  \n');
    await rejectsWith(() => openJsonl([file], defaults), 'INPUT_FORMAT', `Input file ${file} is empty`);
    // Among several files, one of blank lines (an empty partition) adds no rows.
    const full = join(dir, 'full.jsonl');
    await writeFile(full, '{"a":1}\n{"a":2}\n');
    const read = concatColumns(await drain(await openJsonl([file, full, file], defaults)));
    assert.deepEqual(Array.from(read.a as ArrayLike<unknown>, Number), [1, 2]);
  }));
});

test('a line longer than a sixteenth of limits.memory stops with MEMORY_LIMIT naming it, before it is held (a 100 MB line aborted the process); shorter lines are read', () => withTempDir(async (dir) => {
  const file = join(dir, 'long.jsonl');
  // limits.memory 1 MB: lines up to 64 KB.
  await writeFile(file, `{"a":1}\n{"a":2,"note":"${'x'.repeat(60_000)}"}\n{"a":3,"note":"${'y'.repeat(70_000)}"}\n{"a":4}\n`);
  await rejectsWith(async () => drain(await openJsonl([file], { ...defaults, chunkRows: 1, memoryMb: 1 })), 'MEMORY_LIMIT',
    `Line 3 of ${file} is longer than 64 KB, the most one row may take with limits.memory 1 MB (a sixteenth)`);
  const read = await drain(await openJsonl([file], { ...defaults, memoryMb: 2 }));
  assert.deepEqual(Array.from(concatColumns(read).a as ArrayLike<unknown>, Number), [1, 2, 3, 4]);
  // A JSON array on one line (json.dump of a list) past the longest: said to be an array, which no memory makes rows.
  const array = join(dir, 'array.json');
  await writeFile(array, ` [${Array.from({ length: 5000 }, (_, i) => `{"a":${i}}`).join(',')}]`);
  await rejectsWith(async () => drain(await openJsonl([array], { ...defaults, memoryMb: 1 })), 'INPUT_FORMAT', `Input file ${array} is a JSON array, not JSON Lines (one JSON object a line)`);
}));


test('a chunk holds at most 16 MB of text, whatever its rows (the first, which types the columns, 32 MB; unless input.chunk_rows is set): 60 documents of 1 MB come in chunks of ~32, ~16 and the rest, CSV and JSON Lines alike', () => withTempDir(async (dir) => {
  const doc = (i: number) => `${String(i).padStart(4, '0')} ${'word '.repeat(200_000)}`;
  const jsonl = join(dir, 'docs.jsonl');
  await writeFile(jsonl, Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: i, text: doc(i) })).join('\n'));
  const csv = join(dir, 'docs.csv');
  await writeFile(csv, `id,text\n${Array.from({ length: 60 }, (_, i) => `${i},${doc(i)}`).join('\n')}\n`);
  for (const source of [await openJsonl([jsonl], defaults), await openCsv([csv], { ...defaults, delimiter: undefined, header: true, quote: '"' })]) {
    const chunks = await drain(source);
    assert.deepEqual(chunks.map((c) => c.length).reduce((a, b) => a + b, 0), 60);
    assert.ok(chunks.length >= 3 && chunks[0]!.length <= 34 && chunks.slice(1).every((c) => c.length <= 17), chunks.map((c) => c.length).join(','));
    assert.deepEqual(concatColumns(chunks).id, Array.from({ length: 60 }, (_, i) => i));
  }
  // input.chunk_rows set: the first chunk holds its rows, as a hint to type from more rows says.
  const asked = await drain(await openJsonl([jsonl], { ...defaults, chunkRows: 50, chunkRowsSet: true }));
  assert.equal(asked[0]!.length, 50);
}));

describe('openJsonl: a thread to parse on, for lists only the model reads', () => {
  test('a list where the first chunk typed a number, parsed on the thread (a Float64Array there), is a bad row whose value is the list as the line holds it', { skip: usableCores().cores < 2 ? 'one core: no thread to parse on' : false }, () => withTempDir(async (dir) => {
    const pad = 'p'.repeat(200);
    const lines = Array.from({ length: 20_000 }, (_, i) => `{"id":${i},"x":${[300, 1000, 2000].includes(i) ? '[1,2.5]' : i / 2},"pad":"${pad}"}`);
    const file = join(dir, 'x.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    // The first batches (1 MB, ~4,000 lines) go to the thread whatever its pace.
    const rows = await badRows(await openJsonl([file], { ...defaults, chunkRows: 256, typedLists: new Set(['x']) }));
    assert.deepEqual(rows.map((r) => [r.row, r.value]), [[301, '[1,2.5]'], [1001, '[1,2.5]'], [2001, '[1,2.5]']]);
  }));

  test('an answer that comes after the parser is closed (the reader stopped, on a failure, with a batch out) is let go, not an uncaught TypeError', async () => {
    for (let round = 0; round < 5; round++) {
      const parser = new LineParser(['emb'], 32);
      const out = parser.parse(['{"emb":[1,2]}', '{"emb":[3]}']);
      out.catch(() => undefined);
      // This thread is held while the thread answers, so that the answer waits in the queue until after close.
      const until = Date.now() + 200;
      while (Date.now() < until);
      await parser.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  test('parseBatch parses as parseExact does, and makes lists wholly of numbers under the keys asked for Float64Array views of one buffer, moved with the answer', () => {
    const texts = ['{"id":1,"emb":[0.5,-1,2e3]}', '{"id":2,"emb":[1,null]}', '{"emb":[7,8],"other":[3,4]}', 'nope', '[1,2]', '{"id":9007199254740993,"emb":[9007199254740993]}', '{"emb":[NaN,1]}', '{"emb":[]}', '{"emb":"[1,2]"}'];
    const { parsed, transfer } = parseBatch(texts, ['emb']);
    const value = (k: number) => (parsed[k] as { value: Record<string, unknown> }).value;
    assert.deepEqual([value(0).emb, value(2).emb, value(6).emb], [Float64Array.of(0.5, -1, 2000), Float64Array.of(7, 8), Float64Array.of(NaN, 1)]);
    assert.equal(transfer.length, 1);
    for (const k of [0, 2, 6]) assert.equal((value(k).emb as Float64Array).buffer, transfer[0]);
    // Anything else as parseExact gives it: a list with a null, a bigint or none, another key, a line that is no object or no JSON.
    for (const k of [1, 3, 4, 5, 7, 8]) {
      const lenient = { used: false };
      let expected: unknown;
      try {
        expected = { value: parseExact(texts[k]!, lenient), lenient: lenient.used };
      } catch (error) {
        expected = { error: (error as Error).message };
      }
      assert.deepEqual(parsed[k], expected, texts[k]);
    }
    assert.deepEqual(value(2).other, [3, 4]);
    assert.deepEqual([(parsed[0] as { lenient: boolean }).lenient, (parsed[6] as { lenient: boolean }).lenient], [false, true]);
  });

  test('where the thread fails (its heap filled by lines of 300,000 empty objects), its batches and the rest are parsed on the reading thread, as without it, and a note says so', { skip: usableCores().cores < 2 ? 'one core: no thread to parse on' : false }, () => withTempDir(async (dir) => {
    const file = join(dir, 'junk.jsonl');
    const lines = Array.from({ length: 12 }, (_, i) => `{"id":${i},"emb":[${i},0.5,-1],"junk":[${'{},'.repeat(300_000)}{}]}`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const read = async (typedLists?: ReadonlySet<string>) => {
      const notes: string[] = [];
      const chunks = await drain(await openJsonl([file], { ...defaults, notes, ...(typedLists ? { typedLists } : {}) }));
      return { columns: concatColumns(chunks), notes };
    };
    const [plain, threaded] = [await read(), await read(new Set(['emb']))];
    assert.deepEqual(threaded.columns.id, plain.columns.id);
    assert.deepEqual(threaded.columns.emb!.map((cell) => (cell instanceof Float64Array ? Array.from(cell) : cell)), plain.columns.emb);
    assert.deepEqual(threaded.notes.map((note) => note.replace(/\(.*\)/, '(…)')), ['the JSON parsing thread stopped (…); lines are parsed on the reading thread from here on']);
  }));

  test('a file of more than 4 MB gives the same rows, cells, bad rows and chunks with its lists parsed on a thread as without, from the start or resumed', { skip: usableCores().cores < 2 ? 'one core: no thread to parse on' : false }, () => withTempDir(async (dir) => {
    // 1,500 lines of 300 numbers (~6 MB), a BOM before the first, with lines that are no JSON (one of them a BOM and an
    // object: only the file's first line may open with one), no object or no UTF-8, a null list, a list with a null, a blank
    // line, and a line of 150,000 numbers (past a batch of 1 MB, parsed here).
    const list = (i: number, n = 300) => `[${Array.from({ length: n }, (_, k) => ((i * 7919 + k * 104729) % 1_000_003) / 1_000_003 - 0.5).join(',')}]`;
    const lines = Array.from({ length: 1500 }, (_, i) => (i === 100 ? '{"id":100,"emb":[1,2' : i === 200 ? '[1,2,3]' : i === 400 ? '{"id":400,"emb":null}' : i === 500 ? '{"id":500,"emb":[1,null,3]}' : i === 600 ? '\ufeff{"id":600}'
      : i === 700 ? '' : i === 900 ? `{"id":900,"emb":${list(i, 150_000)}}` : `${i === 0 ? '\ufeff' : ''}{"id":${i},"note":"n${i}","emb":${list(i)}}`));
    const file = join(dir, 'emb.jsonl');
    const text = Buffer.from(`${lines.join('\n')}\n`);
    const bad = text.indexOf('"n300"');
    text[bad + 1] = 0xff;
    await writeFile(file, text);
    assert.ok(text.length > 5 * 1024 * 1024);
    const read = async (typedLists: ReadonlySet<string> | undefined, from?: { file: number; row: number; byte: number; line: number }) => {
      const source = await openJsonl([file], { ...defaults, chunkRows: 256, ...(typedLists ? { typedLists } : {}) });
      const chunks: RowChunk[] = [];
      for await (const chunk of source.chunks(from)) chunks.push(chunk);
      return chunks;
    };
    const plain = await read(undefined);
    const threaded = await read(new Set(['emb']));
    assert.deepEqual(layout(threaded), layout(plain));
    const [a, b] = [concatColumns(plain), concatColumns(threaded)];
    assert.deepEqual(b.id, a.id);
    assert.deepEqual(b.note, a.note);
    assert.deepEqual(b.emb!.map((cell) => (cell instanceof Float64Array ? Array.from(cell) : cell)), a.emb);
    // Lists came from the thread, as views (its first two batches of 1 MB, ~130 lines, and as many more as it kept up with); none without it.
    const viewed = b.emb!.filter((cell) => cell instanceof Float64Array).length;
    assert.ok(viewed > 100, `${viewed} lists from the thread`);
    assert.ok(!a.emb!.some((cell) => cell instanceof Float64Array));
    const errors = (chunks: RowChunk[]) => chunks.flatMap((c) => [...(c.errors ?? [])].map(([i, e]) => [c.fileRow + i, e.message, e.byte, e.value]));
    assert.deepEqual(errors(threaded), errors(plain));
    assert.deepEqual(errors(plain).map(([row, message]) => [row, String(message).replace(/:.*/, '')]),
      [[100, `Line 101 of ${file} is not valid JSON`], [200, `Line 201 of ${file} is not a JSON object (got an array)`], [300, `Line 301 of ${file} is not UTF-8`], [600, `Line 601 of ${file} is not valid JSON`]]);
    assert.equal(a.id![0], 0);
    // At limits.memory 16 MB, the line of 150,000 numbers (2.9 MB) is past the longest a row may be (1 MB): named as without the thread.
    const capped = async (typedLists?: ReadonlySet<string>) => drain(await openJsonl([file], { ...defaults, chunkRows: 256, memoryMb: 16, ...(typedLists ? { typedLists } : {}) }));
    await rejectsWith(() => capped(), 'MEMORY_LIMIT', `Line 901 of ${file} is longer than 1 MB, the most one row may take with limits.memory 16 MB (a sixteenth)`);
    await rejectsWith(() => capped(new Set(['emb'])), 'MEMORY_LIMIT', `Line 901 of ${file} is longer than 1 MB, the most one row may take with limits.memory 16 MB (a sixteenth)`);
    // Split over 30 files (one thread for them all), alike too.
    const parts = Array.from({ length: 30 }, (_, p) => join(dir, `part-${String(p).padStart(2, '0')}.jsonl`));
    for (const [p, part] of parts.entries()) await writeFile(part, `${lines.slice(p * 50, p * 50 + 50).filter((_, i) => p * 50 + i !== 200).join('\n')}\n`);
    const [partsPlain, partsThreaded] = [await drain(await openJsonl(parts, { ...defaults, chunkRows: 256 })), await drain(await openJsonl(parts, { ...defaults, chunkRows: 256, typedLists: new Set(['emb']) }))];
    assert.deepEqual(concatColumns(partsThreaded).emb!.map((cell) => (cell instanceof Float64Array ? Array.from(cell) : cell)), concatColumns(partsPlain).emb);
    assert.deepEqual(errors(partsThreaded), errors(partsPlain));
    assert.ok(concatColumns(partsThreaded).emb!.some((cell) => cell instanceof Float64Array));
    // Resumed after row 1,000 (line 1,001: line 701 is blank): the other 499 alike.
    const chunk = plain.find((c) => c.fileRow <= 999 && c.fileRow + c.length > 999)!;
    const from = { file: 0, row: 1000, byte: chunk.ends!.bytes[999 - chunk.fileRow]!, line: 1001 };
    const [restPlain, restThreaded] = [await read(undefined, from), await read(new Set(['emb']), from)];
    assert.deepEqual(concatColumns(restThreaded).id, concatColumns(restPlain).id);
    assert.equal(concatColumns(restThreaded).id!.length, 499);
    assert.deepEqual(concatColumns(restThreaded).emb!.map((cell) => (cell instanceof Float64Array ? Array.from(cell) : cell)), concatColumns(restPlain).emb);
  }));
});
