/**
 * openCsv: quoting, CRLF, BOM, TSV, header-less files, gzip, chunking, type sniffing and the
 * INPUT_FORMAT / INVALID_VALUE / COLUMN_MISSING errors with their full text.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { differences } from '../../src/checkpoint/state.js';
import { chunkEnd } from '../../src/source/chunks.js';
import { type CsvSourceOptions, openCsv } from '../../src/source/csv.js';
import { fixtures, rejectsWith, seededRandom, withTempDir } from '../helpers.js';
import { cell, MaskedColumn, missingTokens } from '../../src/source/types.js';
import { badRows, concatColumns, drain, layout } from './util.js';

const defaults: CsvSourceOptions = { delimiter: undefined, header: true, quote: '"', columns: undefined, chunkRows: 8192 };
const penguinsCsv = join(fixtures, 'data', 'penguins.csv');

async function csvFile(dir: string, name: string, text: string | Buffer): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('openCsv: parsing', () => {
  test('CRLF, a UTF-8 BOM, and quoted fields with delimiters, newlines and escaped quotes', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'q.csv', '\uFEFFid,text,score\r\n1,"a, b",0.5\r\n2,"line1\r\nline2",NA\r\n3,"say ""hi""",\r\n');
    const source = await openCsv([file], defaults);
    assert.deepEqual(source.schema, [{ name: 'id', type: 'float64' }, { name: 'text', type: 'string' }, { name: 'score', type: 'float64' }]);
    assert.deepEqual(source.files, [file]);
    assert.equal(source.totalRows, undefined);
    assert.equal(source.progress().total, (await readFile(file)).length);
    const chunks = await drain(source);
    assert.deepEqual(layout(chunks), [[0, 3]]);
    assert.equal(chunks[0]!.file, file);
    assert.deepEqual(concatColumns(chunks), {
      id: [1, 2, 3],
      text: ['a, b', 'line1\r\nline2', 'say "hi"'],
      score: [0.5, null, null],
    });
  }));

  test('a .tsv file is tab-delimited, commas are data', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'data.tsv', 'name\tnote\nann\tx, y\nbob\t"q\tr"\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([file], defaults))), { name: ['ann', 'bob'], note: ['x, y', 'q\tr'] });
  }));

  test('an explicit delimiter and quote character', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'semi.csv', "a;b\n1;'x;y'\n");
    assert.deepEqual(concatColumns(await drain(await openCsv([file], { ...defaults, delimiter: ';', quote: "'" }))), { a: [1], b: ['x;y'] });
  }));

  test('names: the columns of a file without a header (Spark writes none by default), or in place of a header\'s', () => withTempDir(async (dir) => {
    const bare = await csvFile(dir, 'part-00000.csv', 'Adelie,39.1\nGentoo,46.1\n');
    const named = await openCsv([bare], { ...defaults, header: false, names: ['species', 'bill'] });
    assert.deepEqual(named.schema, [{ name: 'species', type: 'string' }, { name: 'bill', type: 'float64' }]);
    assert.deepEqual(concatColumns(await drain(named)), { species: ['Adelie', 'Gentoo'], bill: [39.1, 46.1] });
    const headed = await csvFile(dir, 'headed.csv', 'a,b\nAdelie,39.1\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([headed], { ...defaults, names: ['species', 'bill'] }))), { species: ['Adelie'], bill: [39.1] });
    await rejectsWith(openCsv([bare], { ...defaults, header: false, names: ['species'] }), 'INPUT_FORMAT',
      `${bare} has 2 fields a record, but input.csv.names gives 1 names`);
  }));

  test('a header\'s empty field is named as without a header, a repeated name gets _1, _2', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'messy.csv', 'a,b,a,,a,column3\n1,2,3,4,5,6\n');
    const source = await openCsv([file], defaults);
    assert.deepEqual(source.schema.map((f) => f.name), ['a', 'b', 'a_1', 'column3', 'a_2', 'column3_1']);
    assert.deepEqual(concatColumns(await drain(source)), { a: [1], b: [2], a_1: [3], column3: [4], a_2: [5], column3_1: [6] });
  }));

  test('header: false names the columns column0, column1, … and keeps the first line as data', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'nohead.csv', 'x,1.5,a\ny,2,b\n');
    const source = await openCsv([file], { ...defaults, header: false });
    assert.deepEqual(source.schema.map((f) => f.name), ['column0', 'column1', 'column2']);
    assert.deepEqual(concatColumns(await drain(source)), { column0: ['x', 'y'], column1: [1.5, 2], column2: ['a', 'b'] });
  }));

  test('header names are trimmed and blank lines are skipped', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'blank.csv', ' a , b\n1,2\n\n3,4\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([file], defaults))), { a: [1, 3], b: [2, 4] });
  }));

  test('a .gz file reads the same rows as the plain file', async () => {
    const plain = concatColumns(await drain(await openCsv([penguinsCsv], defaults)));
    const gzSource = await openCsv([join(fixtures, 'data', 'penguins.csv.gz')], { ...defaults, chunkRows: 200 });
    assert.equal(gzSource.progress().total, (await readFile(join(fixtures, 'data', 'penguins.csv.gz'))).length);
    const gz = await drain(gzSource);
    assert.deepEqual(layout(gz), [[0, 200], [200, 144]]);
    assert.deepEqual(concatColumns(gz), plain);
    assert.equal(plain.species!.length, 344);
  });

  test('estimatedRows: a short file\'s count, a long one\'s from its first chunk, none for gzip', () => withTempDir(async (dir) => {
    assert.equal((await openCsv([penguinsCsv], defaults)).estimatedRows, 344);
    assert.equal((await openCsv([penguinsCsv, penguinsCsv], defaults)).estimatedRows, 688);
    // Rows of varying width, and more of them than the first chunk (typeRows) holds. (An estimate
    // is only as good as that chunk: ids counting up from 0 instead made it 34,128.)
    const random = seededRandom(7);
    const rows = Array.from({ length: 30_000 }, (_, i) => `${String(i).padStart(5, '0')},${(random() * 10 ** Math.floor(1 + random() * 6)).toFixed(3)}`);
    const file = await csvFile(dir, 'long.csv', ['id,x', ...rows, ''].join('\n'));
    const estimate = (await openCsv([file], { ...defaults, chunkRows: 1000 })).estimatedRows!;
    assert.ok(Math.abs(estimate - 30_000) < 900, `estimated ${estimate} of 30,000 rows`);
    assert.equal((await openCsv([join(fixtures, 'data', 'penguins.csv.gz')], defaults)).estimatedRows, undefined);
  }));

  test('the delimiter is sniffed when not set: ; | and tab files, a comma file with ; in its text, one column', () => withTempDir(async (dir) => {
    const cases: [string, string, string[]][] = [
      // Excel where the decimal mark is a comma: BOM, CRLF, ";" between fields, quoted ";" in text.
      ['excel.csv', '\uFEFFname;note;x\r\nann;"a; b";1,5\r\nbob;c;2\r\n', ['name', 'note', 'x']],
      ['pipes.csv', 'a|b|c\n1|2|3\n4|5|6\n', ['a', 'b', 'c']],
      ['tabs.csv', 'a\tb\n1\t2\n', ['a', 'b']],
      ['commas.csv', 'id,text\n1,one; two\n2,three; four\n3,five\n', ['id', 'text']],
      ['single.csv', 'word\nalpha\nbeta; gamma\n', ['word']],
    ];
    for (const [name, text, columns] of cases) {
      const source = await openCsv([await csvFile(dir, name, text)], defaults);
      assert.deepEqual(source.schema.map((f) => f.name), columns, name);
      // What `validate` shows of how the file is read, when it was guessed.
      assert.equal(source.dialect, { 'excel.csv': '";"-separated (sniffed), decimal comma (sniffed)', 'pipes.csv': '"|"-separated (sniffed)', 'tabs.csv': '"\\t"-separated (sniffed)' }[name], name);
    }
    assert.deepEqual(concatColumns(await drain(await openCsv([join(dir, 'excel.csv')], defaults))), { name: ['ann', 'bob'], note: ['a; b', 'c'], x: [1.5, 2] });
    // A gzipped file is sniffed decompressed; a delimiter that is set is not sniffed.
    await writeFile(join(dir, 'pipes.csv.gz'), gzipSync('a|b\n1|2\n'));
    assert.deepEqual((await openCsv([join(dir, 'pipes.csv.gz')], defaults)).schema.map((f) => f.name), ['a', 'b']);
    assert.deepEqual((await openCsv([join(dir, 'pipes.csv')], { ...defaults, delimiter: ',' })).schema.map((f) => f.name), ['a|b|c']);
  }));

  test('decimal ",": numbers with a decimal comma (or a point) are numbers', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'excel.csv', 'name;x;y\nann;1,5;-0,25\nbob;2;3.5\ncy;NA;1e3\n');
    const source = await openCsv([file], { ...defaults, decimal: ',', rawText: true });
    assert.deepEqual(source.schema, [{ name: 'name', type: 'string' }, { name: 'x', type: 'float64' }, { name: 'y', type: 'float64' }]);
    assert.deepEqual(concatColumns(await drain(source)), { name: ['ann', 'bob', 'cy'], x: [1.5, 2, null], y: [-0.25, 3.5, 1000] });
  }));

  test('a decimal comma is sniffed where fields are not comma-separated: a column of numbers once read so, no column of numbers with a point, not only three digits after the comma', () => withTempDir(async (dir) => {
    const cases: [name: string, text: string, decimal: ',' | '.' | undefined, column: unknown[]][] = [
      ['excel.csv', 'name;x;n\nann;1,5;3\nbob;NA;4\ncy;-0,25;5\n', undefined, [1.5, null, -0.25]],
      ['tabs.tsv', 'name\tx\nann\t1,5\nbob\t2\n', undefined, [1.5, 2]],
      // Three digits after the comma may be a thousands separator (US Excel writes a formatted cell so).
      ['thousand.csv', 'name;x\nann;1,234\nbob;2,500\n', undefined, ['1,234', '2,500']],
      ['mixed.csv', 'name;x\nann;1,234\nbob;2,5\n', undefined, [1.234, 2.5]],
      // A column of point numbers: the file uses points, and "1,5" is text.
      ['points.csv', 'name;x;y\nann;1,5;0.5\nbob;2,5;1.5\n', undefined, ['1,5', '2,5']],
      // Point numbers in a text column (versions, as pandas writes an object column) say nothing of the mark.
      ['versions.csv', 'app;x\n1.2;1,5\n2.0.1;2,5\n', undefined, [1.5, 2.5]],
      ['versions-only.csv', 'app;x\n1.2;1,5\n2.0;2,5\n', undefined, ['1,5', '2,5']],
      // Commas in a text column are not decimal commas.
      ['text.csv', 'name;x\nann;a,b\nbob;1,5\n', undefined, ['a,b', '1,5']],
      ['comma.csv', 'name,x\nann,"1,5"\nbob,"2,5"\n', undefined, ['1,5', '2,5']],
      // Set by hand, nothing is sniffed.
      ['set.csv', 'name;x\nann;1,5\nbob;2,5\n', '.', ['1,5', '2,5']],
    ];
    for (const [name, text, decimal, column] of cases) {
      const source = await openCsv([await csvFile(dir, name, text)], { ...defaults, ...(decimal ? { decimal } : {}) });
      assert.deepEqual(concatColumns(await drain(source)).x, column, name);
      assert.equal(source.dialect?.includes('decimal comma (sniffed)') ?? false, typeof column[0] === 'number' && !Number.isInteger(column[0]), name);
    }
  }));

  test('whole numbers past 2^53 (64-bit ids) make an int64 column, read exactly; beside fractions the column is text; one after the first chunk is a bad row', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'ids.csv', 'id,mixed,small\n1234567890123456789,1234567890123456789,1\n-9223372036854775808,0.5,2\nNA,,3\n42,7,4\n');
    const source = await openCsv([file], defaults);
    assert.deepEqual(source.schema, [{ name: 'id', type: 'int64' }, { name: 'mixed', type: 'string' }, { name: 'small', type: 'float64' }]);
    assert.deepEqual(concatColumns(await drain(source)), { id: [1234567890123456789n, -9223372036854775808n, null, 42n], mixed: ['1234567890123456789', '0.5', null, '7'], small: [1, 2, 3, 4] });
    // A whole number past 64 bits in the first chunk makes the column text, kept as written.
    const wide = await csvFile(dir, 'wide.csv', 'id,n\n5,1\n10000000000000000000,2\n');
    const wideSource = await openCsv([wide], defaults);
    assert.deepEqual(wideSource.schema, [{ name: 'id', type: 'string' }, { name: 'n', type: 'float64' }]);
    assert.deepEqual(concatColumns(await drain(wideSource)).id, ['5', '10000000000000000000']);
    // Past 64 bits in an int64 column, and a 64-bit id where the first chunk saw only small numbers.
    const later = await csvFile(dir, 'later.csv', `id,n\n${Array.from({ length: 8192 }, () => '1234567890123456789,1').join('\n')}\n18446744073709551615,2\n`);
    assert.deepEqual((await badRows(await openCsv([later], defaults))).map((r) => r.message), [`Invalid value: column "id" holds whole numbers of 64 bits in its first rows, got "18446744073709551615" at ${later} row 8193`]);
    const late = await csvFile(dir, 'late.csv', `n\n${Array.from({ length: 8192 }, (_, i) => i).join('\n')}\n1234567890123456789\n`);
    const bad = await badRows(await openCsv([late], defaults));
    assert.deepEqual(bad.map((r) => [r.row, r.message]), [[8193, `Invalid value: column "n" holds numbers a double holds exactly in its first rows, got "1234567890123456789" at ${late} row 8193`]]);
  }));

  test('a code\'s number (a leading zero: zip codes, "007", ICD-9 "038.9"; a plus sign: phone numbers) makes its column text, as DuckDB sniffs it; zero itself, fractions, a minus sign ("-007") and decimal commas do not', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'codes.csv', 'zip,neg,zero,frac,plus,icd,minus\n02134,-007,0,0.5,+7,038.9,-5\n90210,5,-0,10,3,250.00,-0.5\n');
    const source = await openCsv([file], defaults);
    assert.deepEqual(source.schema.map((f) => `${f.name} ${f.type}`), ['zip string', 'neg float64', 'zero float64', 'frac float64', 'plus string', 'icd string', 'minus float64']);
    assert.deepEqual(concatColumns(await drain(source)), { zip: ['02134', '90210'], neg: [-7, 5], zero: [0, -0], frac: [0.5, 10], plus: ['+7', '3'], icd: ['038.9', '250.00'], minus: [-5, -0.5] });
    const comma = await csvFile(dir, 'comma.csv', 'a;b\n07,5;1\n12,25;2\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([comma], defaults))).a, [7.5, 12.25]);
    // input.csv.text reads a column as text whatever its cells; a name the file lacks stops the run, naming the closest.
    const text = await openCsv([file], { ...defaults, text: ['zero', 'frac'] });
    assert.deepEqual(source.schema.length, text.schema.length);
    assert.deepEqual(concatColumns(await drain(text)).frac, ['0.5', '10']);
    await rejectsWith(async () => drain(await openCsv([file], { ...defaults, text: ['fract'] })), 'COLUMN_MISSING', `input.csv.text names column "fract", which ${file} does not have; the closest column is "frac"`);
  }));

  test('for a Parquet output (temporal), booleans, ISO dates and ISO timestamps are typed as DuckDB\'s sniffer types them, to the nanosecond, wall-clock or zoned; a model\'s column, a bad day and mixed zones stay text', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'when.csv', [
      'ok,yn,day,at,zoned,fine,feb,mixed,feature,plain',
      'true,yes,2024-02-29,2024-02-29 13:45:01,2024-02-29T13:45:01Z,1969-12-31 23:59:59.5,2024-02-28,2024-01-01 00:00:00,2024-01-01,true',
      'FALSE,No,1999-1-5,2024-02-29T13:45:01.123456,2024-02-29 13:45:01.5+02:00,2000-01-01 00:00:00.123456789,2023-02-29,2024-01-01 00:00:00Z,2024-01-02,false',
      'T,,NA,2024-02-29 13:45,2024-02-29T13:45:01-0530,2000-01-01 00:00:00.000000001,2024-01-01,,2024-01-03,f',
      'f,NO,,0099-12-31 23:59:59,2024-02-29 13:45:01+01,,2024-01-02,,2024-01-04,t',
    ].join('\n') + '\n');
    const source = await openCsv([file], { ...defaults, temporal: { except: ['feature'] } });
    assert.deepEqual(source.schema, [
      { name: 'ok', type: 'bool' }, { name: 'yn', type: 'bool' }, { name: 'day', type: 'date' },
      { name: 'at', type: 'timestamp', unit: 'us', naive: true }, { name: 'zoned', type: 'timestamp', unit: 'us', naive: false },
      { name: 'fine', type: 'timestamp', unit: 'ns', naive: true }, { name: 'feb', type: 'string' }, { name: 'mixed', type: 'string' },
      { name: 'feature', type: 'string' }, { name: 'plain', type: 'bool' },
    ]);
    const read = concatColumns(await drain(source));
    const ms = (text: string) => BigInt(Date.parse(text));
    assert.deepEqual(read.ok, [true, false, true, false]);
    assert.deepEqual(read.yn, [true, false, null, false]);
    assert.deepEqual(read.day, [new Date('2024-02-29T00:00:00Z'), new Date('1999-01-05T00:00:00Z'), null, null]);
    assert.deepEqual(read.at, [ms('2024-02-29T13:45:01Z') * 1000n, ms('2024-02-29T13:45:01Z') * 1000n + 123456n, ms('2024-02-29T13:45:00Z') * 1000n, ms('0099-12-31T23:59:59Z') * 1000n]);
    // The instant: 13:45:01.5 at +02:00 is 11:45:01.5 UTC.
    assert.deepEqual(read.zoned, [ms('2024-02-29T13:45:01Z'), ms('2024-02-29T11:45:01.5Z'), ms('2024-02-29T19:15:01Z'), ms('2024-02-29T12:45:01Z')].map((t) => t * 1000n));
    assert.deepEqual(read.fine, [ms('1969-12-31T23:59:59.5Z') * 1_000_000n, ms('2000-01-01T00:00:00Z') * 1_000_000n + 123456789n, ms('2000-01-01T00:00:00Z') * 1_000_000n + 1n, null]);
    assert.deepEqual([read.feb, read.feature], [['2024-02-28', '2023-02-29', '2024-01-01', '2024-01-02'], ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04']]);
    // Without temporal (a CSV or JSON Lines output), they are text as before.
    assert.deepEqual((await openCsv([file], defaults)).schema.map((f) => f.type), Array(10).fill('string'));
  }));

  test('a later cell its sniffed boolean, date or timestamp column does not hold is a bad row naming how to read the column as text; one with a zone where the column has none, too', () => withTempDir(async (dir) => {
    const head = Array.from({ length: 8192 }, (_, i) => `${i % 2 === 0},2024-01-${String((i % 28) + 1).padStart(2, '0')},2024-01-01 00:00:0${i % 10}`);
    const file = await csvFile(dir, 'late.csv', `ok,day,at\n${head.join('\n')}\nmaybe,2024-01-02,2024-01-01 00:00:00\ntrue,0000-00-00,2024-01-01 00:00:00\nfalse,2024-01-03,2024-01-01 00:00:00.1234567\nfalse,2024-01-03,2024-01-01 00:00:00Z\n`);
    // Digits past the column's microseconds are dropped, as DuckDB drops them.
    assert.deepEqual(concatColumns(await drain(await openCsv([file], { ...defaults, temporal: { except: [] } }))).at!.slice(-2), [BigInt(Date.parse('2024-01-01T00:00:00Z')) * 1000n + 123456n, null]);
    const bad = await badRows(await openCsv([file], { ...defaults, temporal: { except: [] } }));
    assert.deepEqual(bad.map((r) => [r.row, r.column, r.message]), [
      [8193, 'ok', `Invalid value: column "ok" holds booleans (true/false) in its first rows, got "maybe" at ${file} row 8193`],
      [8194, 'day', `Invalid value: column "day" holds dates (2024-02-29) in its first rows, got "0000-00-00" at ${file} row 8194`],
      [8196, 'at', `Invalid value: column "at" holds timestamps without a UTC offset (2024-02-29 13:45:01) in its first rows, got "2024-01-01 00:00:00Z" at ${file} row 8196`],
    ]);
    const error = (await drain(await openCsv([file], { ...defaults, temporal: { except: [] } }))).flatMap((c) => [...(c.errors?.values() ?? [])])[0]!;
    assert.equal(error.hint, 'Fix or remove the value, or list "ok" in input.csv.text to read the column as text.');
  }));

  test('timestamps as DuckDB reads them: 24:00:00 is the next midnight, a one-digit hour, ten decimals, "/" in the day, +0530; nanoseconds only where every first cell is within 1677–2262 (SQL Server\'s 9999-12-31 23:59:59.9999999 keeps microseconds), a later one past them a bad row', () => withTempDir(async (dir) => {
    const ms = (text: string) => BigInt(Date.parse(text));
    const file = await csvFile(dir, 'edges.csv', [
      'a,b,sqlserver,slash',
      '2024-01-01 24:00:00,2024-01-01 1:02:03.1234567891,2024-01-01 00:00:00.1234567,2024/02/29',
      '2024-01-01T10:00:00+0530,1969-12-31 23:59:59.000000001,9999-12-31 23:59:59.9999999,1999/1/5',
    ].join('\n') + '\n');
    const source = await openCsv([file], { ...defaults, temporal: { except: [] } });
    assert.deepEqual(source.schema.map((f) => [f.name, f.type, f.unit, f.naive]), [['a', 'string', undefined, undefined], ['b', 'timestamp', 'ns', true], ['sqlserver', 'timestamp', 'us', true], ['slash', 'date', undefined, undefined]]);
    const read = concatColumns(await drain(source));
    assert.deepEqual(read.b, [ms('2024-01-01T01:02:03Z') * 1_000_000n + 123456789n, ms('1969-12-31T23:59:59Z') * 1_000_000n + 1n]);
    assert.deepEqual(read.sqlserver, [ms('2024-01-01T00:00:00Z') * 1000n + 123456n, ms('9999-12-31T23:59:59Z') * 1000n + 999999n]);
    assert.deepEqual(read.slash, [new Date('2024-02-29T00:00:00Z'), new Date('1999-01-05T00:00:00Z')]);
    const midnight = await csvFile(dir, 'midnight.csv', 'a,b\n2024-01-01 24:00:00,2024-01-01T10:00:00+0530\n2024-02-28 24:00,2024-01-01T10:00:00-05\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([midnight], { ...defaults, temporal: { except: [] } }))), {
      a: [ms('2024-01-02T00:00:00Z') * 1000n, ms('2024-02-29T00:00:00Z') * 1000n], b: [ms('2024-01-01T04:30:00Z') * 1000n, ms('2024-01-01T15:00:00Z') * 1000n],
    });
    // Past 2262 in a nanosecond column: a bad row that says how to read the column to the microsecond.
    const late = await csvFile(dir, 'late.csv', `at\n${Array.from({ length: 8192 }, (_, i) => `2024-01-01 00:00:00.${String(i).padStart(9, '0')}`).join('\n')}\n9999-12-31 23:59:59.9999999\n`);
    const error = (await drain(await openCsv([late], { ...defaults, temporal: { except: [] } }))).flatMap((c) => [...(c.errors?.values() ?? [])])[0]!;
    assert.equal(error.message, `Invalid value: column "at" holds timestamps without a UTC offset (2024-02-29 13:45:01) to the nanosecond, within 1677-09-21 and 2262-04-11 in its first rows, got "9999-12-31 23:59:59.9999999" at ${late} row 8193`);
    assert.equal(error.hint, 'Fix or remove the value, or list "at" in input.csv.text to read the column as text, or declare it timestamp in input.csv.types to read it to the microsecond (any year).');
    const micro = await openCsv([late], { ...defaults, types: { at: 'timestamp' } });
    assert.deepEqual([micro.schema[0]!.unit, concatColumns(await drain(micro)).at!.at(-1)], ['us', ms('9999-12-31T23:59:59Z') * 1000n + 999999n]);
    assert.equal((await openCsv([file], { ...defaults, types: { sqlserver: 'timestamp_ns' } })).schema[2]!.unit, 'ns');
    // INT64's ends are DuckDB's ±infinity, and its reader overflows below ~1677-09-21 00:12:43.145225: no nanoseconds there.
    // Zoned nanoseconds keep microseconds, as DuckDB reads a TIMESTAMPTZ (its reader rounds toward zero, its cast down).
    const ends = await csvFile(dir, 'ends.csv', 'hi,lo,ok,zoned\n2262-04-11 23:47:16.854775807,1677-09-21 00:12:43.145224999,2262-04-11 23:47:16.854775806,1969-12-31 23:59:59.9999999Z\n2000-01-01 00:00:00.1234567,2000-01-01 00:00:00.1234567,1677-09-21 00:12:43.145225,2000-01-01 00:00:00Z\n');
    const bounded = await openCsv([ends], { ...defaults, temporal: { except: [] } });
    assert.deepEqual(bounded.schema.map((f) => f.unit), ['us', 'us', 'ns', 'us']);
    assert.deepEqual(concatColumns(await drain(bounded)).zoned, [ms('1969-12-31T23:59:59.999Z') * 1000n + 999n, ms('2000-01-01T00:00:00Z') * 1000n]);
    // A declared timestamp takes cells with and without an offset, as DuckDB casts them: the instant in UTC.
    const mixed = await csvFile(dir, 'mixed.csv', 'at\n2024-01-01 10:00:00+02:00\n2024-01-01 10:00:00\n');
    const declared = await openCsv([mixed], { ...defaults, types: { at: 'timestamp' } });
    assert.deepEqual([declared.schema[0]!.naive, concatColumns(await drain(declared)).at], [true, [ms('2024-01-01T08:00:00Z') * 1000n, ms('2024-01-01T10:00:00Z') * 1000n]]);
  }));

  test('input.csv.types declares a column\'s type whatever its first cells: bigint read exactly, double, text, boolean, date, timestamp; a cell it does not hold is a bad row saying so; a name the file lacks stops the run naming the option', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'typed.csv', 'id,amount,zip,flag,day,at\n1,2,02134,yes,2024-02-29,2024-02-29 13:45:01.5\n9007199254740993,2.5,90210,maybe,someday,2024-02-29\n');
    const source = await openCsv([file], { ...defaults, types: { id: 'int64', amount: 'float64', zip: 'float64', flag: 'bool', day: 'date', at: 'timestamp' } });
    assert.deepEqual(source.schema, [{ name: 'id', type: 'int64' }, { name: 'amount', type: 'float64' }, { name: 'zip', type: 'float64' }, { name: 'flag', type: 'bool' }, { name: 'day', type: 'date' }, { name: 'at', type: 'timestamp', unit: 'us', naive: true }]);
    const chunks = await drain(source);
    const read = concatColumns(chunks);
    assert.deepEqual([read.id, read.amount, read.zip, read.flag, read.day], [[1n, 9007199254740993n], [2, 2.5], [2134, 90210], [true, null], [new Date('2024-02-29T00:00:00Z'), null]]);
    // A day alone is a timestamp at midnight, as DuckDB casts one.
    assert.deepEqual(read.at, [BigInt(Date.parse('2024-02-29T13:45:01.5Z')) * 1000n, BigInt(Date.parse('2024-02-29T00:00:00Z')) * 1000n]);
    const errors = chunks.flatMap((c) => [...(c.errors?.values() ?? [])]);
    assert.deepEqual(errors.map((e) => e.message), [
      `Invalid value: column "flag" is declared to hold booleans (true/false) (input.csv.types), got "maybe" at ${file} row 2`,
    ]);
    assert.equal(errors[0]!.hint, 'Fix or remove the value, or declare another type for "flag" in input.csv.types.');
    await rejectsWith(async () => drain(await openCsv([file], { ...defaults, types: { flg: 'bool' } })), 'COLUMN_MISSING', `input.csv.types names column "flg", which ${file} does not have; the closest column is "flag"`);
  }));

  test('a code met after the first chunk, or in a later file, is read as its number, as DuckDB reads it, and said once a column with how to keep the text (input.csv.text); in a file of decimal commas "018" is a number', () => withTempDir(async (dir) => {
    const first = await csvFile(dir, 'a.csv', `zip,m\n${Array.from({ length: 8192 }, (_, i) => `${10000 + i},${i}`).join('\n')}\n02134,007\n00501,1\n`);
    const later = await csvFile(dir, 'b.csv', 'zip,m\n+4420,3\n');
    const notes: string[] = [];
    const chunks = await drain(await openCsv([first, later], { ...defaults, notes }));
    assert.deepEqual(chunks.flatMap((c) => [...(c.errors ?? [])]), []);
    const read = concatColumns(chunks);
    assert.deepEqual([read.zip!.slice(-3), read.m!.slice(-3)], [[2134, 501, 4420], [7, 1, 3]]);
    assert.deepEqual(notes, [
      `${first} row 8193: column "zip" holds "02134", a code whose leading zero a number drops, in a column the first rows typed as numbers: it is read as a number, here and in any later such cell. List "zip" in input.csv.text to keep the text`,
      `${first} row 8193: column "m" holds "007", a code whose leading zero a number drops, in a column the first rows typed as numbers: it is read as a number, here and in any later such cell. List "m" in input.csv.text to keep the text`,
    ]);
    const all = concatColumns(await drain(await openCsv([first, later], { ...defaults, text: ['zip'] })));
    assert.deepEqual(all.zip!.slice(-3), ['02134', '00501', '+4420']);
    const comma = await csvFile(dir, 'comma.csv', 'a;b\n39,1;018\n39,5;18,7\n');
    const source = await openCsv([comma], defaults);
    assert.deepEqual([source.schema.map((f) => f.type), concatColumns(await drain(source)).b], [['float64', 'float64'], [18, 18.7]]);
  }));

  test('a cell of a later file that the first file\'s types do not hold: a bad row with its byte offset (the file\'s first row too), whose hint does not ask for a larger chunk', () => withTempDir(async (dir) => {
    const a = await csvFile(dir, 'a.csv', 'x,id\n1,9007199254740993\n');
    const b = await csvFile(dir, 'b.csv', 'x,id\n2,A-17\n3,B-18\n');
    const bad = await badRows(await openCsv([a, b], defaults));
    assert.deepEqual(bad.map((r) => [r.row, r.byte, r.column]), [[1, 5, 'id'], [2, 12, 'id']]);
    const error = (await drain(await openCsv([a, b], defaults)))[1]!.errors!.get(0)!;
    assert.equal(error.hint, `The column types come from the first rows of the first input file. Fix or remove the value, or score ${b} in a job of its own.`);
  }));

  test('thousands: separators between digits are dropped from number cells (kept columns too), the column sniffed as numbers; validate shows it', () => withTempDir(async (dir) => {
    // Excel in the US quotes such cells in a comma file; in Germany ";" separates fields.
    const us = await csvFile(dir, 'us.csv', 'name,amount\nann,"1,234.5"\nbob,"-12,000"\ncy,7\n');
    const source = await openCsv([us], { ...defaults, thousands: ',', rawText: true });
    assert.deepEqual(source.schema, [{ name: 'name', type: 'string' }, { name: 'amount', type: 'float64' }]);
    assert.equal(source.dialect, 'thousands ","');
    assert.deepEqual(concatColumns(await drain(source)).amount, [1234.5, -12000, 7]);
    const de = await csvFile(dir, 'de.csv', 'name;amount\nann;1.234,5\nbob;-12.000\ncy;0,5\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([de], { ...defaults, decimal: ',', thousands: '.' }))).amount, [1234.5, -12000, 0.5]);
    // Without the option the column is text.
    assert.deepEqual((await openCsv([de], { ...defaults, decimal: ',' })).schema[1], { name: 'amount', type: 'string' });
  }));

  test('a file in Excel\'s Windows code page: INPUT_FORMAT naming the line unless encoding is windows-1252, then read with exact row offsets', () => withTempDir(async (dir) => {
    // "Zürich", "café" and "€" in windows-1252: one byte each, none of them UTF-8.
    const bytes = Buffer.from('city;note;x\r\nBern;plain;1\r\nZ\xfcrich;caf\xe9 \x80;2\r\n', 'latin1');
    const file = await csvFile(dir, 'ansi.csv', bytes);
    await rejectsWith(async () => drain(await openCsv([file], { ...defaults, delimiter: ';' })), 'INPUT_FORMAT',
      `${file} is not UTF-8: line 3 holds bytes that are not UTF-8 text`);
    // Sniffing reads the head first, and says the same.
    await rejectsWith(openCsv([file], defaults), 'INPUT_FORMAT', `${file} is not UTF-8: line 3 holds bytes that are not UTF-8 text`);
    const chunks = await drain(await openCsv([file], { ...defaults, encoding: 'windows-1252' }));
    assert.deepEqual(concatColumns(chunks), { city: ['Bern', 'Zürich'], note: ['plain', 'café €'], x: [1, 2] });
    assert.deepEqual(Array.from(chunks[0]!.ends!.bytes), [bytes.indexOf('\r\nZ') + 2, bytes.length]);
  }));

  test('UTF-16 as Excel\'s "Unicode Text" saves it (mark, tab, CRLF): sniffed and read, resumed from a row end; without a mark only when encoding says so', () => withTempDir(async (dir) => {
    const text = 'city\tnote\tx\r\nBern\tplain\t1\r\nZürich\tcafé € 😀\t2,5\r\nOslo\t"a\tb"\t3\r\n';
    const bytes = Buffer.from(`\uFEFF${text}`, 'utf16le');
    const file = await csvFile(dir, 'unicode.txt', bytes);
    const source = await openCsv([file], defaults);
    assert.equal(source.dialect, '"\\t"-separated (sniffed), decimal comma (sniffed), UTF-16LE');
    const chunks = await drain(source);
    assert.deepEqual(concatColumns(chunks), { city: ['Bern', 'Zürich', 'Oslo'], note: ['plain', 'café € 😀', 'a\tb'], x: [1, 2.5, 3] });
    const ends = [...text.matchAll(/\r\n/g)].map((m) => 2 + 2 * (m.index + 2)).slice(1);
    assert.deepEqual(Array.from(chunks[0]!.ends!.bytes), ends);
    const [rest] = await drain({ ...source, chunks: () => source.chunks({ file: 0, row: 1, byte: ends[0]!, line: 2 }) });
    assert.deepEqual([rest!.fileRow, cell(rest!.columns.get('city')!, 0), cell(rest!.columns.get('note')!, 1)], [1, 'Zürich', 'a\tb']);
    // Big-endian, with the decimal comma read.
    const be = await csvFile(dir, 'be.txt', Buffer.from(bytes).swap16());
    assert.deepEqual(concatColumns(await drain(await openCsv([be], { ...defaults, decimal: ',' }))).x, [1, 2.5, 3]);
    // Without a mark: NUL beside every ASCII byte, which names the key to set.
    const bare = await csvFile(dir, 'bare.txt', bytes.subarray(2));
    await rejectsWith(async () => drain(await openCsv([bare], { ...defaults, delimiter: '\t' })), 'INPUT_FORMAT', `${bare} looks like UTF-16 without a byte-order mark: line 1 holds NUL characters`);
    // The same when its text is all ASCII, which is valid UTF-8.
    const ascii = await csvFile(dir, 'ascii.txt', Buffer.from('a\tb\r\n1\t2\r\n', 'utf16le'));
    await rejectsWith(async () => drain(await openCsv([ascii], defaults)), 'INPUT_FORMAT', `${ascii} looks like UTF-16 without a byte-order mark: line 1 holds NUL characters`);
    assert.deepEqual(concatColumns(await drain(await openCsv([bare], { ...defaults, encoding: 'utf-16le' }))).city, ['Bern', 'Zürich', 'Oslo']);
  }));

  test('a file whose lines end with CR alone (Excel\'s "CSV (Macintosh)") reads as its LF copy: delimiter sniffed, a line break in quotes, offsets for a resume', () => withTempDir(async (dir) => {
    const records = ['name;note;x\r', 'ann;a;1,5\r', 'bob;"two\rlines";2\r', 'cy;c;3\r'];
    const file = await csvFile(dir, 'mac.csv', records.join(''));
    const source = await openCsv([file], { ...defaults, decimal: ',' });
    const chunks = await drain(source);
    assert.deepEqual(concatColumns(chunks), { name: ['ann', 'bob', 'cy'], note: ['a', 'two\nlines', 'c'], x: [1.5, 2, 3] });
    const ends = records.map((_, i) => records.slice(0, i + 1).join('').length).slice(1);
    assert.deepEqual(Array.from(chunks[0]!.ends!.bytes), ends);
    const [rest] = await drain({ ...source, chunks: () => source.chunks({ file: 0, row: 1, byte: ends[0]!, line: 2 }) });
    assert.deepEqual(concatColumns([rest!]), { name: ['bob', 'cy'], note: ['two\nlines', 'c'], x: [2, 3] });
    // A cell's line break written as LF (Excel's Alt+Enter) in such a file: the first line end outside quotes decides, as Python and DuckDB read it.
    const lf = await csvFile(dir, 'mac-lf.csv', '"name","x"\r"two\nlines",1\rcy,2\r');
    assert.deepEqual(concatColumns(await drain(await openCsv([lf], defaults))), { name: ['two\nlines', 'cy'], x: [1, 2] });
    // A quote inside an unquoted field (12" pipe) opens nothing: the LF in the quoted cell after it is still a cell's.
    const stray = await csvFile(dir, 'mac-stray.csv', 'note,x\r12" pipe,1\r"a\nb",2\r');
    assert.deepEqual(concatColumns(await drain(await openCsv([stray], defaults))), { note: ['12" pipe', 'a\nb'], x: [1, 2] });
    // An LF file with a CR in a quoted cell of its header stays an LF file.
    const crInQuotes = await csvFile(dir, 'lf-cr.csv', '"na\rme",x\nann,1\n');
    assert.deepEqual(concatColumns(await drain(await openCsv([crInQuotes], defaults))), { 'na\rme': ['ann'], x: [1] });
  }));

  test('a delimiter ending every row but not the header is no column (as DuckDB reads it); an extra field that holds something is still a bad row', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'trailing.csv', 'name,x\r\nann,1,\r\nbob,2,\r\ncy,3,4\r\n');
    const source = await openCsv([file], defaults);
    const rows = await badRows(source);
    assert.deepEqual(rows.map((r) => [r.row, r.message]), [[3, `Row 3 of ${file} has 3 fields, expected 2 (as in the header)`]]);
    assert.deepEqual(concatColumns(await drain(await openCsv([file], defaults))), { name: ['ann', 'bob', null], x: [1, 2, null] });
    // Such a file separated by ";" has its delimiter sniffed all the same.
    const semicolons = await csvFile(dir, 'semicolons.csv', 'name;x;tag\nann;1;"a";\nbob;2;"b";\n');
    const sniffed = await openCsv([semicolons], defaults);
    assert.equal(sniffed.dialect, '";"-separated (sniffed)');
    assert.deepEqual(concatColumns(await drain(sniffed)), { name: ['ann', 'bob'], x: [1, 2], tag: ['a', 'b'] });
  }));

  test('Excel\'s "sep=;" first line is skipped, the delimiter sniffed from the lines after it; a resume reads on from a row end', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'sep.csv', 'sep=;\r\nname;x\r\nann;1,5\r\nbob;2\r\n');
    const source = await openCsv([file], defaults);
    assert.equal(source.dialect, '";"-separated (sniffed), decimal comma (sniffed)');
    const chunks = await drain(source);
    assert.deepEqual(concatColumns(chunks), { name: ['ann', 'bob'], x: [1.5, 2] });
    const [rest] = await drain({ ...source, chunks: () => source.chunks({ file: 0, row: 1, byte: chunks[0]!.ends!.bytes[0]!, line: 3 }) });
    assert.deepEqual(concatColumns([rest!]), { name: ['bob'], x: [2] });
  }));

  test('a truncated .gz file is INPUT_FORMAT; a plain file named .gz says it is not gzip at all', () => withTempDir(async (dir) => {
    const whole = gzipSync(await readFile(penguinsCsv));
    const file = await csvFile(dir, 'cut.csv.gz', whole.subarray(0, whole.length - 100));
    const error = await rejectsWith(async () => drain(await openCsv([file], defaults)), 'INPUT_FORMAT', `Input file ${file} is not a complete gzip file: unexpected end of file`);
    assert.equal(error.file, file);
    const plain = await csvFile(dir, 'plain.csv.gz', 'a,b\n1,2\n');
    const notGzip = await rejectsWith(async () => drain(await openCsv([plain], defaults)), 'INPUT_FORMAT', `Input file ${plain} is named .gz but is not gzip: it does not start with gzip's two bytes (1f 8b)`);
    assert.match(notGzip.hint ?? '', /rename it without \.gz/);
  }));

  test('UTF-16 cut off in a character (an odd last byte) or holding half of one (a lone surrogate) stops the run naming the line, as bytes that are not UTF-8 do; a UTF-8 mark before such bytes says the mark decides', () => withTempDir(async (dir) => {
    const bytes = Buffer.from('\uFEFFname\tx\r\nann\t1\r\nbob\t38005', 'utf16le');
    const odd = await csvFile(dir, 'odd.txt', bytes.subarray(0, bytes.length - 1));
    await rejectsWith(async () => drain(await openCsv([odd], defaults)), 'INPUT_FORMAT', `${odd} is not whole UTF-16: it ends in the middle of a character (an odd number of bytes), on line 3`);
    // Past the first block read, a byte alone after the last line end too.
    const rows = Array.from({ length: 5000 }, (_, i) => `r${i}\t${i}\r\n`).join('');
    const bigOdd = await csvFile(dir, 'big-odd.txt', Buffer.concat([Buffer.from(`\uFEFFname\tx\r\n${rows}`, 'utf16le'), Buffer.from([0x41])]));
    await rejectsWith(async () => drain(await openCsv([bigOdd], defaults)), 'INPUT_FORMAT', `${bigOdd} is not whole UTF-16: it ends in the middle of a character (an odd number of bytes), on line 5002`);
    const lone = await csvFile(dir, 'lone.txt', Buffer.from('\uFEFFname\tx\r\nann\t1\r\nX\ud83d\t2\r\n', 'utf16le'));
    await rejectsWith(async () => drain(await openCsv([lone], defaults)), 'INPUT_FORMAT', `${lone} is not valid UTF-16: line 3 holds half a character (a surrogate without its pair)`);
    const marked = await csvFile(dir, 'marked.csv', Buffer.concat([Buffer.from('\uFEFFname,x\nann,1\nCaf'), Buffer.from([0xe9]), Buffer.from(',2\n')]));
    const error = await rejectsWith(async () => drain(await openCsv([marked], { ...defaults, encoding: 'windows-1252' })), 'INPUT_FORMAT', `${marked} starts with a UTF-8 byte-order mark, but line 3 holds bytes that are not UTF-8 text`);
    assert.match(error.hint ?? '', /remove its first three bytes/);
  }));

  test('a column that only a later file has is said in a note, once, not dropped without a word', () => withTempDir(async (dir) => {
    const a = await csvFile(dir, 'part-0.csv', 'x,y\n1,2\n');
    const b = await csvFile(dir, 'part-1.csv', 'x,y,sex\n3,4,male\n');
    const c = await csvFile(dir, 'part-2.csv', 'sex,y,x\nfemale,6,5\n');
    const notes: string[] = [];
    assert.deepEqual(concatColumns(await drain(await openCsv([a, b, c], { ...defaults, notes }))), { x: [1, 3, 5], y: [2, 4, 6] });
    assert.deepEqual(notes, [`${b} has the column "sex", which the first file, ${a}, does not: it is not read (an input's columns are its first file's)`]);
    const chosen: string[] = [];
    await drain(await openCsv([a, b], { ...defaults, columns: ['x'], notes: chosen }));
    assert.deepEqual(chosen, []);
  }));

  test('columns selects the columns read, kept in the file\'s order', async () => {
    const source = await openCsv([penguinsCsv], { ...defaults, columns: ['body_mass_g', 'island'] });
    assert.deepEqual(source.schema, [{ name: 'island', type: 'string' }, { name: 'body_mass_g', type: 'float64' }]);
    const chunks = await drain(source);
    assert.deepEqual([...chunks[0]!.columns.keys()], ['island', 'body_mass_g']);
    const columns = concatColumns(chunks);
    assert.deepEqual(columns.body_mass_g!.slice(0, 4), [3750, 3800, 3250, null]);
    assert.deepEqual(columns.island!.slice(0, 2), ['Torgersen', 'Torgersen']);
  });
});

describe('openCsv: chunks', () => {
  test('chunkRows smaller than the file gives full chunks then the remainder', async () => {
    const chunks = await drain(await openCsv([penguinsCsv], { ...defaults, chunkRows: 100 }));
    assert.deepEqual(layout(chunks), [[0, 100], [100, 100], [200, 100], [300, 44]]);
    // Row 100 (0-based) is file line 102: Adelie,Biscoe,35,17.9,192,3725,FEMALE
    assert.deepEqual([cell(chunks[1]!.columns.get('island')!, 0), cell(chunks[1]!.columns.get('bill_length_mm')!, 0)], ['Biscoe', 35]);
  });

  test('typeRows: the first chunk holds that many rows and fixes the types from all of them; later chunks are chunkRows', () => withTempDir(async (dir) => {
    // Numbers in the first 250 rows, then a text value: a 100-row first chunk would sniff a number column.
    const file = await csvFile(dir, 'late-text.csv', ['v', ...Array.from({ length: 250 }, (_, i) => String(i)), 'n/a?', '7', ''].join('\n'));
    const chunks = await drain(await openCsv([file], { ...defaults, chunkRows: 100, typeRows: 300 }));
    assert.deepEqual(layout(chunks), [[0, 252]]);
    const source = await openCsv([file], { ...defaults, chunkRows: 100, typeRows: 260 });
    assert.deepEqual(source.schema, [{ name: 'v', type: 'string' }]);
    assert.deepEqual(layout(await drain(source)), [[0, 252]]);
    const penguins = await drain(await openCsv([penguinsCsv], { ...defaults, chunkRows: 100, typeRows: 150 }));
    assert.deepEqual(layout(penguins), [[0, 150], [150, 100], [250, 94]]);
    const early = await openCsv([file], { ...defaults, chunkRows: 100 });
    assert.deepEqual(early.schema, [{ name: 'v', type: 'float64' }], 'without typeRows the first 100 rows decide');
  }));

  test('chunkRows dividing the file exactly yields no empty chunk', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'four.csv', 'a\n1\n2\n3\n4\n');
    const chunks = await drain(await openCsv([file], { ...defaults, chunkRows: 2 }));
    assert.deepEqual(layout(chunks), [[0, 2], [2, 2]]);
  }));

  test('fileRow restarts for each file; later files are read by the first file\'s column names', () => withTempDir(async (dir) => {
    const a = await csvFile(dir, 'a.csv', 'x,y\n1,p\n2,q\n3,r\n');
    const b = await csvFile(dir, 'b.csv', 'y,x\ns,4\nt,5\n');
    const chunks = await drain(await openCsv([a, b], { ...defaults, chunkRows: 2 }));
    assert.deepEqual(chunks.map((c) => [c.file, c.fileRow, c.length]), [[a, 0, 2], [a, 2, 1], [b, 0, 2]]);
    assert.deepEqual(concatColumns(chunks), { x: [1, 2, 3, 4, 5], y: ['p', 'q', 'r', 's', 't'] });
  }));

  test('a chunk larger than the 65,536 rows its arrays start at: every value and row end kept, read on from an end', () => withTempDir(async (dir) => {
    const rows = 70001;
    const lines = Array.from({ length: rows }, (_, i) => `${i},${i % 3 ? 'x' : 'yy'}\n`);
    const file = await csvFile(dir, 'big.csv', `n,t\n${lines.join('')}`);
    const chunks = await drain(await openCsv([file], { ...defaults, chunkRows: 100000 }));
    assert.deepEqual(layout(chunks), [[0, rows]]);
    const { n, t } = concatColumns(chunks);
    assert.deepEqual(n, Array.from({ length: rows }, (_, i) => i));
    assert.deepEqual(t, Array.from({ length: rows }, (_, i) => (i % 3 ? 'x' : 'yy')));
    let end = 'n,t\n'.length;
    const ends = lines.map((l) => (end += l.length));
    assert.deepEqual(Array.from(chunks[0]!.ends!.bytes), ends);
    assert.deepEqual(Array.from(chunks[0]!.ends!.lines), Array.from({ length: rows }, (_, i) => i + 2));
    // A resume seeks to a row's end: the next row is read from there.
    const source = await openCsv([file], { ...defaults, chunkRows: 100000 });
    const [after] = await drain({ ...source, chunks: () => source.chunks({ file: 0, row: 66000, byte: ends[65999]!, line: 66001 }) });
    assert.deepEqual([after!.fileRow, after!.length, cell(after!.columns.get('n')!, 0)], [66000, rows - 66000, 66000]);
  }));

  test('progress counts bytes of the files', () => withTempDir(async (dir) => {
    const text = 'a\n1\n2\n';
    const file = await csvFile(dir, 'p.csv', text);
    const source = await openCsv([file], defaults);
    await drain(source);
    assert.deepEqual(source.progress(), { done: text.length, total: text.length, unit: 'bytes' });
  }));
});

describe('openCsv: type sniffing', () => {
  test('numeric columns become float64 numbers with null for missing tokens; text columns keep strings', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'types.csv', [
      'n,t,m',
      '1,NA,x',
      ' 2.5 ,hello,',
      'NA,N/A,NaN',
      ',,null',
      '-1e3,007,None',
      'inf,,y',
      '',
    ].join('\n'));
    const source = await openCsv([file], defaults);
    assert.deepEqual(source.schema, [{ name: 'n', type: 'float64' }, { name: 't', type: 'string' }, { name: 'm', type: 'string' }]);
    const chunks = await drain(source);
    // Unboxed: typed values with a mask for the missing cells.
    const n = chunks[0]!.columns.get('n');
    assert.ok(n instanceof MaskedColumn && n.values instanceof Float64Array);
    assert.deepEqual(concatColumns(chunks), {
      n: [1, 2.5, null, null, -1000, Infinity],
      // In a text column only the empty cell is missing: "NA" is kept as written.
      t: ['NA', 'hello', 'N/A', null, '007', null],
      m: ['x', null, 'NaN', 'null', 'None', 'y'],
    });
    // The reader skips the lookup for a cell starting with a digit, sign or point: no token may start so.
    for (const token of missingTokens) assert.match(token, /^(?:$|[A-Za-z#])/);
  }));

  test('a column that is empty in the first chunk is text', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'late.csv', 'a,b\n1,\n2,\n3,5\n');
    const source = await openCsv([file], { ...defaults, chunkRows: 2 });
    assert.deepEqual(source.schema, [{ name: 'a', type: 'float64' }, { name: 'b', type: 'string' }]);
    assert.deepEqual(concatColumns(await drain(source)), { a: [1, 2, 3], b: [null, null, '5'] });
  }));

  test('penguins.csv: measurements are numbers, rows 3 and 339 null, sex "." kept', async () => {
    const source = await openCsv([penguinsCsv], defaults);
    assert.deepEqual(source.schema.map((f) => `${f.name}:${f.type}`), [
      'species:string', 'island:string', 'bill_length_mm:float64', 'bill_depth_mm:float64', 'flipper_length_mm:float64', 'body_mass_g:float64', 'sex:string',
    ]);
    const c = concatColumns(await drain(source));
    for (const row of [3, 339]) {
      assert.deepEqual([c.bill_length_mm![row], c.bill_depth_mm![row], c.flipper_length_mm![row], c.body_mass_g![row], c.sex![row]], [null, null, null, null, null], `row ${row}`);
    }
    assert.equal(c.sex![336], '.');
    assert.deepEqual([c.species![0], c.bill_length_mm![0], c.flipper_length_mm![0]], ['Adelie', 39.1, 181]);
  });

  test('a later non-numeric value in a numeric-sniffed column is a row error naming file, row and column; the row reads as nulls', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'bad.csv', 'a,b\n1,x\n2,y\n3,z\noops,w\n');
    const source = await openCsv([file], { ...defaults, chunkRows: 2 });
    assert.deepEqual(await badRows(source), [{
      row: 4, code: 'INVALID_VALUE', message: `Invalid value: column "a" holds numbers in its first rows, got "oops" at ${file} row 4`, byte: 16, column: 'a', value: 'oops',
    }]);
  }));

  test('a later number with thousands separators in a numeric-sniffed column: the row error names input.csv.thousands', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'amounts.csv', 'a,b\n1,x\n2,y\n3,z\n"1,234.5",w\n');
    const [error] = await drain(await openCsv([file], { ...defaults, chunkRows: 2 })).then((chunks) => chunks.flatMap((c) => [...(c.errors?.values() ?? [])]));
    assert.equal(error?.hint, 'The number has thousands separators: set input.csv.thousands: ",".');
    const chunks = await drain(await openCsv([file], { ...defaults, chunkRows: 2, thousands: ',' }));
    assert.deepEqual(concatColumns(chunks).a, [1, 2, 3, 1234.5]);
  }));
});

describe('openCsv: errors', () => {
  test('records copied whole: a later small file (read whole for its header) whose last bytes are a cut UTF-8 character opens, and fails at that line as it is read', () => withTempDir(async (dir) => {
    const [header, ...rows] = (await readFile(penguinsCsv, 'utf8')).split('\n');
    const a = await csvFile(dir, 'a.csv', `${header}\n${rows.slice(0, 10).join('\n')}\n`);
    const b = await csvFile(dir, 'b.csv', Buffer.concat([Buffer.from(`${header}\n${rows.slice(10, 20).join('\n')}\n`), Buffer.from([0xe2, 0x82])]));
    const source = await openCsv([a, b], { ...defaults, rawText: true, linesFor: ',' });
    await rejectsWith(() => drain(source), 'INPUT_FORMAT', `${b} is not UTF-8: line 12 holds bytes that are not UTF-8 text`);
  }));

  test('a row with the wrong number of fields is a row error naming the row and its byte offset', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'ragged.csv', 'a,b\n1,2\n3\n4,5\n');
    const source = await openCsv([file], defaults);
    assert.deepEqual(await badRows(source), [{ row: 2, code: 'INPUT_FORMAT', message: `Row 2 of ${file} has 1 fields, expected 2 (as in the header)`, byte: 8, column: undefined, value: '3' }]);
    // R's write.table: row names in a first field the header does not name; the first row's hint says so.
    const r = await csvFile(dir, 'r.csv', 'a,b\n"1",2,3\n"2",4,5\n');
    const [first] = (await drain(await openCsv([r], defaults)))[0]!.errors!.values();
    assert.match(first!.hint ?? '', /R's write\.table writes row names, write the file with row\.names = FALSE/);
  }));

  test('a row with too many fields, after a quoted newline, counts data rows', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'ragged2.csv', 'a,b\n"x\ny",1\n2,3,4\n');
    const source = await openCsv([file], defaults);
    assert.deepEqual((await badRows(source)).map((e) => [e.row, e.message, e.byte]), [[2, `Row 2 of ${file} has 3 fields, expected 2 (as in the header)`, 12]]);
  }));

  test('an unclosed quote is INPUT_FORMAT naming the line the quoted field starts on', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'open.csv', 'a,b\n1,"abc\n2,x\n');
    await rejectsWith(() => openCsv([file], defaults), 'INPUT_FORMAT',
      `${file} is not valid CSV: a quoted field starting on line 2 is not closed by the end of the file`);
  }));

  test('a record past a sixteenth of limits.memory stops with MEMORY_LIMIT naming its line: an unclosed quote with megabytes of rows after it, a file of one line with no line end (each once took minutes, or aborted node)', () => withTempDir(async (dir) => {
    const rows = 'x,1\n'.repeat(300_000);
    const open = await csvFile(dir, 'open.csv', `a,b\n"abc,1\n${rows}`);
    await rejectsWith(async () => drain(await openCsv([open], { ...defaults, memoryMb: 16 })), 'MEMORY_LIMIT',
      `${open}: a quoted field starting on line 2 is not closed within 1 MB, the most one row may take with limits.memory 16 MB (a sixteenth)`);
    const oneLine = await csvFile(dir, 'one.csv', 'abcdefg,'.repeat(300_000));
    await rejectsWith(async () => drain(await openCsv([oneLine], { ...defaults, memoryMb: 16 })), 'MEMORY_LIMIT',
      `Line 1 of ${oneLine} has no line end within 1 MB, the most one row may take with limits.memory 16 MB (a sixteenth)`);
    // Under the limit, the same long line is a record.
    const long = await csvFile(dir, 'long.csv', `a,b\n"${'q'.repeat(900_000)}",1\n`);
    assert.equal((concatColumns(await drain(await openCsv([long], { ...defaults, memoryMb: 16 }))).a as string[])[0]!.length, 900_000);
  }));

  test('an empty file is INPUT_FORMAT on its own; among several (Spark\'s empty partition without a header, its default) it adds no rows', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'empty.csv', '');
    await rejectsWith(() => openCsv([file], defaults), 'INPUT_FORMAT', `Input file ${file} is empty`);
    const parts = [await csvFile(dir, 'part-00000.csv', ''), await csvFile(dir, 'part-00001.csv', '1,x\n2,y\n'), await csvFile(dir, 'part-00002.csv', ''), await csvFile(dir, 'part-00003.csv', '3,z\n')];
    const columns = concatColumns(await drain(await openCsv(parts, { ...defaults, header: false, names: ['a', 'b'] })));
    assert.deepEqual([Array.from(columns.a as ArrayLike<number>, Number), columns.b], [[1, 2, 3], ['x', 'y', 'z']]);
  }));

  test('a header-only file is INPUT_FORMAT on its own; among several (an empty partition, as Spark writes one) it adds no rows; all of them header-only, the input has none', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'head.csv', 'a,b\r\n');
    await rejectsWith(() => openCsv([file], defaults), 'INPUT_FORMAT', `Input file ${file} has a header but no rows`);
    const parts = [await csvFile(dir, 'part-0.csv', 'a,b\n'), await csvFile(dir, 'part-1.csv', 'a,b\n1,x\n2,y\n'), await csvFile(dir, 'part-2.csv', 'a,b\n'), await csvFile(dir, 'part-3.csv', 'a,b\n3,z\n')];
    const columns = concatColumns(await drain(await openCsv(parts, defaults)));
    assert.deepEqual([Array.from(columns.a as ArrayLike<number>, Number), columns.b], [[1, 2, 3], ['x', 'y', 'z']]);
    const none = await rejectsWith(() => openCsv([parts[0]!, parts[2]!], defaults), 'INPUT_FORMAT', `None of the 2 input files holds a row (${parts[0]}, …): each is empty or a header alone`);
    assert.match(none.hint ?? '', /Spark job whose partitions were all empty/);
  }));

  test('a missing `columns` entry is COLUMN_MISSING naming the closest column', async () => {
    const error = await rejectsWith(() => openCsv([penguinsCsv], { ...defaults, columns: ['island', 'bill_lenght_mm'] }), 'COLUMN_MISSING',
      `Column "bill_lenght_mm" is missing from ${penguinsCsv}; the closest column is "bill_length_mm"`);
    assert.equal(error.column, 'bill_lenght_mm');
    assert.equal(error.hint, 'Rename the column in the input, or fix the name in the job or manifest (did you mean "bill_length_mm"?).');
  });

  test('a missing column with nothing close lists the columns in the hint', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'ab.csv', 'a,b\n1,2\n');
    const error = await rejectsWith(() => openCsv([file], { ...defaults, columns: ['temperature'] }), 'COLUMN_MISSING', `Column "temperature" is missing from ${file}`);
    assert.equal(error.hint, 'The file has columns: a, b.');
  }));

  test('a column whose header name holds an invisible character (a zero-width space) is shown with it written out, and a hint saying so', () => withTempDir(async (dir) => {
    const file = await csvFile(dir, 'z.csv', '\u200Bbill,x\n1,2\n');
    const error = await rejectsWith(async () => drain(await openCsv([file], { ...defaults, columns: ['bill'] })), 'COLUMN_MISSING', `Column "bill" is missing from ${file}; the closest column is "\\u200Bbill"`);
    assert.match(error.hint ?? '', /^"\\u200Bbill" holds invisible characters/);
  }));

  test('a second file lacking a column of the first is COLUMN_MISSING', () => withTempDir(async (dir) => {
    const a = await csvFile(dir, 'a.csv', 'x,y\n1,2\n');
    const b = await csvFile(dir, 'b.csv', 'x,z\n3,4\n');
    const source = await openCsv([a, b], defaults);
    await rejectsWith(() => drain(source), 'COLUMN_MISSING', `Column "y" is missing from ${b}; the closest column is "x"`);
  }));
});

test('chunk rows by width: up to 256 columns the first chunk is max(chunk_rows, 8,192) rows and later ones chunk_rows; wider, two million cells and half a million (at least 64 rows); a chunk_rows given is taken as it is', () => {
  const auto = { chunkRows: 2048, typeRows: 8192 };
  assert.deepEqual([chunkEnd(auto, false, 256), chunkEnd(auto, true, 256)], [8192, 2048]);
  assert.deepEqual([chunkEnd(auto, false, 2000), chunkEnd(auto, true, 2000)], [1048, 262]);
  assert.deepEqual([chunkEnd(auto, false, 100_000), chunkEnd(auto, true, 100_000)], [64, 64]);
  const set = { ...auto, chunkRowsSet: true };
  assert.deepEqual([chunkEnd(set, false, 2000), chunkEnd(set, true, 2000)], [8192, 2048]);
});

test('a checkpoint made when a wide file\'s first chunk held other rows is not resumed: the columns may have been typed otherwise', () => {
  const base = { job: 'j', inputs: [], model: { name: 'm', version: '1', sha256: 'x' }, rows: 'r' };
  assert.deepEqual(differences(base, { ...base, typeRows: 524 }), ['the first chunk, whose rows type the columns, holds 524 rows now and max(input.chunk_rows, 8,192) rows then (a wide file, read by another version; set input.chunk_rows to the value the checkpoint was made with, 2048 where it was not set, to resume it)']);
  assert.deepEqual(differences({ ...base, typeRows: 524 }, { ...base, typeRows: 524 }), []);
  // status, which does not open the input, does not know it.
  assert.deepEqual(differences({ ...base, typeRows: 524 }, base, { typeRowsUnknown: true }), []);
});

