/**
 * End to end, as a user runs it: every input format × every output format through the real
 * CLI, predictions checked against values computed by torch at export time, at batch size 1
 * and N, with kept columns and row order checked against the input.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { access, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { assertClose, duckdb, fixtures, penguinsCsv, readJson, readRows, root, runCli, withTempDir } from '../helpers.js';

type Row = Record<string, unknown>;
const inputs = { csv: 'penguins.csv', jsonl: 'penguins.jsonl', parquet: 'penguins.parquet' } as const;
const outputs = ['csv', 'jsonl', 'parquet'] as const;

async function writeJob(dir: string, body: string): Promise<string> {
  const file = join(dir, 'job.yaml');
  await writeFile(file, body);
  return file;
}

const penguinRows = async () => (await readRows(join(fixtures, 'data', 'penguins.jsonl')));

/**
 * Scores `input` with the penguins classifier into `output` (`extra`: more output keys, e.g.
 * `keep: [a, b]`), as the CLI does, starting over if it ran before; the run must succeed.
 */
async function scorePenguins(dir: string, input: string, output: string, extra = '', cwd?: string): Promise<void> {
  const job = await writeJob(dir, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${output}${extra ? `, ${extra}` : ''} }`].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none', '--restart'], cwd ? { cwd } : {});
  assert.equal(run.code, 0, run.stderr);
}

describe('penguins classifier: 3 input formats × 3 output formats', async () => {
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins.json'));
  const source = await penguinRows();
  for (const [inFormat, inFile] of Object.entries(inputs)) {
    for (const outFormat of outputs) {
      for (const size of [1, 64]) {
        test(`${inFormat} → ${outFormat}, batch.size ${size}`, () => withTempDir(async (dir) => {
          const job = await writeJob(dir, [
            'name: penguins',
            `input: { path: ${join(fixtures, 'data', inFile)} }`,
            `model: ${join(fixtures, 'models', 'penguins')}`,
            `batch: { size: ${size}, concurrency: 2 }`,
            `output: { path: out/scored.${outFormat}, keep: [species, island, body_mass_g] }`,
          ].join('\n'));
          const result = await runCli(['run', job, '--progress', 'none']);
          assert.equal(result.code, 0, result.stderr);
          const rows = await readRows(join(dir, 'out', `scored.${outFormat}`));
          assert.equal(rows.length, 344);
          assert.deepEqual(Object.keys(rows[0]!), ['species', 'island', 'body_mass_g', 'species_pred', 'species_score', 'prob_Adelie', 'prob_Chinstrap', 'prob_Gentoo']);
          rows.forEach((row, i) => {
            // Kept columns in input order, nulls kept as nulls.
            assert.deepEqual([row.species, row.island, row.body_mass_g], [source[i]!.species, source[i]!.island, source[i]!.body_mass_g], `row ${i}`);
            assertClose(row, reference[i], 1e-5, `row ${i}`);
          });
          // No temporary or partial file is left beside the output; the checkpoint records the finished run.
          assert.deepEqual(await readdir(join(dir, 'out')), [`scored.${outFormat}`, `scored.${outFormat}.bento-batch`]);
          assert.deepEqual(await readdir(join(dir, 'out', `scored.${outFormat}.bento-batch`)), ['state.json']);
        }));
      }
    }
  }
});

describe('two inputs of different dtypes (float32 [N,3] + int64 category), two outputs', async () => {
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins-mass.json'));
  for (const [inFile, outFormat] of [['penguins.csv', 'parquet'], ['penguins.parquet', 'jsonl'], ['penguins.jsonl', 'csv'], ['penguins.csv.gz', 'csv']] as const) {
    test(`${inFile} → ${outFormat}`, () => withTempDir(async (dir) => {
      const job = await writeJob(dir, [
        `input: { path: ${join(fixtures, 'data', inFile)} }`,
        `model: ${join(fixtures, 'models', 'penguins-mass')}`,
        'batch: { size: 50 }',
        `output: { path: mass.${outFormat}, keep: [] }`,
      ].join('\n'));
      const result = await runCli(['run', job, '--progress', 'none']);
      assert.equal(result.code, 0, result.stderr);
      const rows = await readRows(join(dir, `mass.${outFormat}`));
      assert.deepEqual(Object.keys(rows[0]!), ['body_mass_pred', 'log_mass_pred']);
      // float32 outputs: compare relative to the value (grams are ~4000).
      assertClose(rows, reference, 1e-6);
    }));
  }
});

test('a ZSTD Parquet file written by Polars (3M rows, timestamps, dictionary strings) scores correctly', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const flights = join(root, 'node_modules', 'vega-datasets', 'data', 'flights-3m.parquet');
  assert.ok(existsSync(flights), 'vega-datasets is a dev dependency');
  const job = await writeJob(dir, [
    `input: { path: ${flights} }`,
    `model: ${join(fixtures, 'models', 'flights-delay')}`,
    'batch: { size: 4096 }',
    'output: { path: flights.parquet, keep: [date, origin, distance] }',
  ].join('\n'));
  const result = await runCli(['run', job, '--progress', 'none', '--summary-json', join(dir, 'summary.json')]);
  assert.equal(result.code, 0, result.stderr);
  const summary = await readJson<{ input: { rows: number }; output: { rows: number } }>(join(dir, 'summary.json'));
  assert.equal(summary.input.rows, 3_000_000);
  assert.equal(summary.output.rows, 3_000_000);
  const { duckdb } = await import('../helpers.js');
  const [counts] = await duckdb(`SELECT count(*)::INT AS n, count(p_delayed)::INT AS scored FROM '${join(dir, 'flights.parquet')}'`);
  assert.deepEqual(counts, { n: 3_000_000, scored: 3_000_000 });
  // The first 1000 rows against torch's predictions, and the kept columns against DuckDB's read of the input.
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'flights-delay.json'));
  const head = await duckdb(`SELECT p_delayed FROM '${join(dir, 'flights.parquet')}' LIMIT 1000`);
  assertClose(head, reference, 1e-6);
  const mine = await duckdb(`SELECT date, origin, distance FROM '${join(dir, 'flights.parquet')}' LIMIT 5 OFFSET 2999995`);
  const theirs = await duckdb(`SELECT date, origin, distance FROM '${flights}' LIMIT 5 OFFSET 2999995`);
  assert.deepEqual(mine.map((r) => ({ ...r, date: String(r.date) })), theirs.map((r) => ({ ...r, date: String(r.date) })));
}));

test('a CSV saved by Excel where the decimal mark is a comma (BOM, CRLF, ";" between fields): delimiter and decimal comma sniffed, scored as the reference; decimal "." set by hand makes them bad cells naming the key', () => withTempDir(async (dir) => {
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins.json'));
  const { header, lines: records } = await penguinsCsv();
  const lines = [header, ...records];
  await writeFile(join(dir, 'excel.csv'), `\uFEFF${lines.map((l) => l.split(',').map((cell) => cell.replace('.', ',')).join(';')).join('\r\n')}\r\n`);
  const job = await writeJob(dir, [`input: { path: excel.csv }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.jsonl, keep: [species] }'].join('\n'));
  const validate = await runCli(['--log-format', 'text', 'validate', job]);
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stderr, /^input +csv \(";"-separated \(sniffed\), decimal comma \(sniffed\)\), 1 file\(s\): \S*excel\.csv$/m);
  const sniffed = await runCli(['run', job, '--progress', 'none']);
  assert.equal(sniffed.code, 0, sniffed.stderr);
  assert.equal(existsSync(join(dir, 'out.jsonl.errors.jsonl')), false);
  const rows = await readRows(join(dir, 'out.jsonl'));
  assert.deepEqual(rows.map((r) => r.species), reference.map((_, i) => lines[i + 1]!.split(',')[0]));
  assertClose(rows.map(({ species: _, ...predictions }) => predictions), reference, 1e-5);
  // A point set by hand: the decimal commas are bad cells, each naming the key to set (the 4 rows with no decimal comma in them are scored).
  const point = await runCli(['run', job, '--progress', 'none', '--restart', '--set', 'input.csv.decimal="."']);
  assert.equal(point.code, 0, point.stderr);
  assert.match(point.stderr, /"340 of 344 rows could not be scored;/);
  const errors = (await readFile(join(dir, 'out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { value: string; hint: string });
  assert.deepEqual(errors[0], { ...errors[0], value: '39,1', hint: 'The number has a decimal comma: set input.csv.decimal: "," (Excel writes one where the comma is the decimal mark).' });
}));

test('a CSV from Excel with thousands separators (body mass "3,750", quoted): the run stops (exit 6) with a hint naming the keys, then scores as the reference with input.csv.thousands', () => withTempDir(async (dir) => {
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins.json'));
  const { header, lines } = await penguinsCsv();
  const mass = header.split(',').indexOf('body_mass_g');
  const grouped = lines.map((l) => l.split(',').map((cell, i) => (i === mass && /^\d{4}$/.test(cell) ? `"${cell[0]},${cell.slice(1)}"` : cell)).join(','));
  assert.ok(grouped.some((l) => l.includes('"3,750"')));
  await writeFile(join(dir, 'excel.csv'), `${[header, ...grouped].join('\r\n')}\r\n`);
  const job = await writeJob(dir, [`input: { path: excel.csv }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.jsonl, keep: [species, body_mass_g] }'].join('\n'));
  // Every row with a body mass fails; the two without any measurement, scored from the fills alone, are not rows scored: exit 6.
  const plain = await runCli(['run', job, '--progress', 'none']);
  assert.equal(plain.code, 6, plain.stderr);
  assert.match(plain.stderr, /342 of 344 rows could not be scored, and the other 2 have no value in any column the model reads/);
  const errors = (await readFile(join(dir, 'out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { value: string; hint: string });
  assert.deepEqual(errors[0], { ...errors[0], value: '3,750', hint: 'The number has a comma: set input.csv.decimal: "," if it is the decimal mark (1,5 is 1.5), or input.csv.thousands: "," if it separates thousands (1,234 is 1234).' });
  const run = await runCli(['run', job, '--progress', 'none', '--restart', '--set', 'input.csv.thousands=","']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(existsSync(join(dir, 'out.jsonl.errors.jsonl')), false);
  const rows = await readRows(join(dir, 'out.jsonl'));
  // The kept column is written as the number it holds.
  assert.deepEqual(rows.map((r) => r.body_mass_g), lines.map((l) => (l.split(',')[mass] === '' ? null : Number(l.split(',')[mass]))));
  assertClose(rows.map(({ species: _, body_mass_g: __, ...predictions }) => predictions), reference, 1e-5);
}));

test('a CSV with lines ended by CR alone (Excel\'s "CSV (Macintosh)") scores to the bytes of its LF copy', () => withTempDir(async (dir) => {
  const { header, lines } = await penguinsCsv();
  await writeFile(join(dir, 'lf.csv'), `${[header, ...lines].join('\n')}\n`);
  await writeFile(join(dir, 'mac.csv'), `${[header, ...lines].join('\r')}\r`);
  const outputs = [];
  for (const name of ['lf', 'mac']) {
    const job = await writeJob(dir, [`input: { path: ${name}.csv }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${name}-out.csv }`].join('\n'));
    const run = await runCli(['run', job, '--progress', 'none']);
    assert.equal(run.code, 0, run.stderr);
    outputs.push(await readFile(join(dir, `${name}-out.csv`)));
  }
  assert.equal(outputs[0]!.toString().split('\n').length, lines.length + 2);
  assert.ok(outputs[1]!.equals(outputs[0]!));
}));

test('a CSV directory as Spark writes it (part files without a header, _SUCCESS, .crc files): scored as the reference with input.csv.names', () => withTempDir(async (dir) => {
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins.json'));
  const { header, lines } = await penguinsCsv();
  await mkdir(join(dir, 'scored-input'));
  for (let part = 0; part < 3; part++) {
    const name = `part-0000${part}-5b1e6f0c-c000.csv`;
    await writeFile(join(dir, 'scored-input', name), `${lines.slice(part * 120, (part + 1) * 120).join('\n')}\n`);
    await writeFile(join(dir, 'scored-input', `.${name}.crc`), 'crc');
  }
  await writeFile(join(dir, 'scored-input', '_SUCCESS'), '');
  const job = await writeJob(dir, [
    `input: { path: scored-input, format: csv, csv: { header: false, names: [${header}] } }`,
    `model: ${join(fixtures, 'models', 'penguins')}`,
    'output: { path: out.jsonl, keep: [] }',
  ].join('\n'));
  const result = await runCli(['run', job, '--progress', 'none']);
  assert.equal(result.code, 0, result.stderr);
  assertClose(await readRows(join(dir, 'out.jsonl')), reference, 1e-5);
}));

test('CSV → CSV from a header that repeats a name and ends in an empty field: every column is kept under a name of its own', () => withTempDir(async (dir) => {
  const { header, lines } = await penguinsCsv();
  await writeFile(join(dir, 'messy.csv'), `${header},island,\n${lines.map((l) => `${l},X,`).join('\n')}\n`);
  const job = await writeJob(dir, [`input: { path: messy.csv }`, `model: ${join(fixtures, 'models', 'penguins')}`, 'output: { path: out.csv }'].join('\n'));
  const result = await runCli(['run', job, '--progress', 'none']);
  assert.equal(result.code, 0, result.stderr);
  const [outHeader, ...outLines] = (await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n');
  assert.equal(outHeader, `${header},island_1,column8,species_pred,species_score,prob_Adelie,prob_Chinstrap,prob_Gentoo`);
  // Before, the header named "island" once and the rows held both: one field more than the header.
  for (const line of outLines.filter((l) => !l.includes('"'))) assert.equal(line.split(',').length, outHeader!.split(',').length, line);
  assert.equal(outLines.length, 344);
}));

test('every Parquet codec DuckDB writes (zstd, snappy, gzip, uncompressed, several row groups) gives the same predictions', () => withTempDir(async (dir) => {
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins.json'));
  const job = await writeJob(dir, [
    `input: { path: "${join(fixtures, 'data')}/penguins*.parquet" }`,
    `model: ${join(fixtures, 'models', 'penguins')}`,
    'output: { path: all.jsonl, keep: [] }',
  ].join('\n'));
  const result = await runCli(['run', job, '--progress', 'none']);
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'all.jsonl'));
  // Five files, read in sorted order, each the same 344 rows.
  assert.equal(rows.length, 5 * 344);
  for (let f = 0; f < 5; f++) assertClose(rows.slice(f * 344, (f + 1) * 344), reference, 1e-5, `file ${f}`);
}));

test('CSV → CSV keeping every column: each record is written as read (quotes, CRLF, BOM), bad rows as the errors settings say', () => withTempDir(async (dir) => {
  const { parse } = await import('csv-parse/sync');
  const header = 'species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex';
  const records = [
    'Adelie,"Torgersen, north",39.1,18.7,181,3750,MALE',
    '"Gentoo","Biscoe ""B""",46.1,13.2,211,4500,"FE\r\nMALE"',
    'Chinstrap,Dream,NA,,195,3400,',
    'Adelie,Dream,1,2,3', // wrong field count: a row error
    'Gentoo,Biscoe,50,15,220,5500,MALE',
  ];
  await writeFile(join(dir, 'in.csv'), `\uFEFF${header}\r\n${records.join('\r\n')}\r\n`);
  for (const emit of ['skip', 'null-row'] as const) {
    const job = await writeJob(dir, [
      'input: { path: in.csv }',
      `model: ${join(fixtures, 'models', 'penguins')}`,
      `output: { path: out-${emit}.csv }`,
      `errors: { emit: ${emit} }`,
    ].join('\n'));
    const result = await runCli(['run', job, '--progress', 'none']);
    assert.equal(result.code, 0, result.stderr);
    const text = await (await import('node:fs/promises')).readFile(join(dir, `out-${emit}.csv`), 'utf8');
    const lines = text.split('\n');
    assert.equal(lines[0], `${header},species_pred,species_score,prob_Adelie,prob_Chinstrap,prob_Gentoo${emit === 'null-row' ? ',error' : ''}`);
    // The kept part of each line is the record's text as read, quotes and inner CRLF included.
    const good = [0, 1, 2, 4];
    const out = parse(text, { columns: true, relax_column_count: false }) as Record<string, string>[];
    const expected = parse(`${header}\n${records.join('\n')}`, { columns: true, relax_column_count: true }) as Record<string, string>[];
    const rows = emit === 'skip' ? good : [0, 1, 2, 3, 4];
    assert.equal(out.length, rows.length);
    rows.forEach((i, o) => {
      for (const name of header.split(',')) assert.equal(out[o]![name], i === 3 ? '' : expected[i]![name], `${emit} row ${i} ${name}`);
      assert.equal(out[o]!.species_pred === '', i === 3, `${emit} row ${i} scored`);
    });
    assert.ok(text.includes(`\n${records[1]},`), 'quoted record kept byte for byte');
    if (emit === 'null-row') assert.match(out[3]!.error!, /Row 4 of .*in\.csv has 5 fields, expected 7/);
  }
}));

test('CSV → CSV keeping every column, over many chunks: the model still reads its cells, every record is kept as read', () => withTempDir(async (dir) => {
  const { parse } = await import('csv-parse/sync');
  const reference = await readJson<Row[]>(join(fixtures, 'reference', 'penguins.json'));
  const job = await writeJob(dir, [
    `input: { path: ${join(fixtures, 'data', 'penguins.csv')}, chunk_rows: 50 }`,
    `model: ${join(fixtures, 'models', 'penguins')}`,
    'batch: { size: 32 }',
    'output: { path: all.csv }',
  ].join('\n'));
  const result = await runCli(['run', job, '--progress', 'none']);
  assert.equal(result.code, 0, result.stderr);
  const { header, lines } = await penguinsCsv();
  const input = [header, ...lines];
  const output = (await readFile(join(dir, 'all.csv'), 'utf8')).trim().split('\n');
  assert.equal(output.length, 345);
  output.slice(1).forEach((line, i) => assert.ok(line.startsWith(`${input[i + 1]},`), `row ${i + 1} keeps its record`));
  const rows = parse(output.join('\n'), { columns: true, cast: (v, c) => (typeof c.column === 'string' && /^(species_score|prob_)/.test(c.column) ? Number(v) : v) }) as Row[];
  assertClose(rows.map((r) => ({ species_pred: r.species_pred, species_score: r.species_score, prob_Adelie: r.prob_Adelie, prob_Chinstrap: r.prob_Chinstrap, prob_Gentoo: r.prob_Gentoo })), reference, 1e-5);
}));

test('Parquet dates, times, timestamps and integers of every width and sign, alone and in lists, pass through as DuckDB wrote them: types, units, UTC or wall-clock, every digit (120,000 rows: the encoder thread)', () => withTempDir(async (dir) => {
  const input = join(dir, 'times.parquet');
  const output = join(dir, 'out.parquet');
  await duckdb(`COPY (SELECT 39.1 + i % 5 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    TIMESTAMP '2024-01-01 00:00:00.123456' + to_microseconds(i) AS naive_us, TIMESTAMPTZ '1969-12-31 23:59:59.999999+00' + to_microseconds(i) AS utc_us,
    TIMESTAMP_NS '2024-01-01 00:00:00.123456789' AS naive_ns, TIMESTAMP_MS '2024-01-01 00:00:00.123' AS naive_ms, DATE '2024-02-29' + (i % 3)::INT AS d,
    TIME '13:45:01.5' AS t, (i / 10)::DECIMAL(9,1) AS amount,
    (i % 250)::UTINYINT AS u8, (i % 100 - 50)::TINYINT AS i8, (4000000000 + i)::UINTEGER AS u32, (18446744073709551615 - i)::UBIGINT AS u64,
    [18446744073709551615 - i, i]::UBIGINT[] AS lu64, [(4000000000 + i)::UINTEGER] AS lu32, [(i % 250)::UTINYINT, NULL] AS lu8 FROM range(120000) t(i)) TO '${input}' (FORMAT parquet)`);
  const job = await writeJob(dir, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${output} }`].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const columns = ['naive_us', 'utc_us', 'naive_ns', 'naive_ms', 'd', 'amount', 'u8', 'i8', 'u32', 'u64', 'lu64', 'lu32', 'lu8'];
  const describe = async (file: string) => (await duckdb(`DESCRIBE SELECT ${columns.join(', ')}, t FROM '${file}'`)).map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
  // TIME is read as text and DECIMAL as a double (as the README's types table says); the rest keep their types.
  assert.deepEqual(await describe(output), (await describe(input)).map((c) => c.replace(/^amount .*/, 'amount DOUBLE').replace(/^t TIME$/, 't VARCHAR')));
  const digits = `${columns.map((c) => `${c}::VARCHAR AS ${c}`).join(', ')}, t::VARCHAR AS t`;
  assert.deepEqual(await duckdb(`SELECT ${digits} FROM '${output}'`), await duckdb(`SELECT ${digits} FROM '${input}'`));
}));

test('DuckDB\'s infinity and dates and times past JavaScript\'s Date (a Postgres table\'s valid_to): the same values in Parquet, as DuckDB and PostgreSQL write them in CSV and JSON Lines, and CSV → Parquet reads infinity back', () => withTempDir(async (dir) => {
  const input = join(dir, 'far.parquet');
  await duckdb(`COPY (SELECT i, 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    CASE i WHEN 1 THEN DATE 'infinity' WHEN 2 THEN DATE '-infinity' WHEN 3 THEN DATE '5877642-06-25' WHEN 4 THEN DATE '5877641-06-25 (BC)' ELSE DATE '2024-02-29' END AS d,
    CASE i WHEN 1 THEN TIMESTAMP 'infinity' WHEN 2 THEN TIMESTAMP '-infinity' WHEN 3 THEN TIMESTAMP '290309-12-21 10:00:00.25' ELSE TIMESTAMP '2024-02-29 10:00:00' END AS ts,
    CASE i WHEN 1 THEN TIMESTAMPTZ 'infinity' ELSE TIMESTAMPTZ '2024-02-29 10:00:00+00' END AS tz,
    CASE i WHEN 3 THEN TIMESTAMP_MS '290309-12-21 10:00:00.5' ELSE TIMESTAMP_MS '2024-02-29 10:00:00' END AS ms,
    [CASE WHEN i = 1 THEN DATE 'infinity' ELSE DATE '2024-02-29' END] AS days, {'until': CASE WHEN i = 1 THEN TIMESTAMP 'infinity' ELSE TIMESTAMP '2024-02-29' END} AS st
    FROM range(5) t(i)) TO '${input}' (FORMAT parquet)`);
  const columns = ['i', 'd', 'ts', 'tz', 'ms', 'days', 'st'];
  const text = (file: string) => duckdb(`SELECT ${columns.map((c) => `${c}::VARCHAR AS ${c}`).join(', ')} FROM '${file}' ORDER BY i`);
  for (const format of outputs) {
    const output = join(dir, `out.${format}`);
    const job = await writeJob(dir, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${output}, keep: [${columns.join(', ')}] }`].join('\n'));
    const run = await runCli(['run', job, '--progress', 'none', '--restart']);
    assert.equal(run.code, 0, run.stderr);
    if (format === 'parquet') {
      assert.deepEqual(await text(output), await text(input));
      continue;
    }
    const rows = format === 'csv'
      ? (await readFile(output, 'utf8')).trim().split('\n').slice(1).map((line) => line.split(',').slice(1, 5))
      : (await readRows(output)).map((r) => [r.d, r.ts, r.tz, r.ms]);
    assert.deepEqual(rows, [
      ['2024-02-29', '2024-02-29T10:00:00.000000', '2024-02-29T10:00:00.000000Z', '2024-02-29T10:00:00.000'],
      ['infinity', 'infinity', 'infinity', '2024-02-29T10:00:00.000'],
      ['-infinity', '-infinity', '2024-02-29T10:00:00.000000Z', '2024-02-29T10:00:00.000'],
      ['+5877642-06-25', '+290309-12-21T10:00:00.250000', '2024-02-29T10:00:00.000000Z', '+290309-12-21T10:00:00.500'],
      // 5877641 BC is the year -5877640 of ISO 8601, which counts a year 0.
      ['-5877640-06-25', '2024-02-29T10:00:00.000000', '2024-02-29T10:00:00.000000Z', '2024-02-29T10:00:00.000'],
    ], format);
  }
  // Inside JSON columns (a map, a list of lists, a list of structs): the words and the far day too, and a DATE as its day.
  const nested = join(dir, 'nested-far.parquet');
  await duckdb(`COPY (SELECT 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    MAP {'inf': DATE 'infinity', 'far': DATE '5000000-01-01', 'ok': DATE '2024-01-01'} AS mp, MAP {'inf': TIMESTAMP 'infinity'} AS mpt,
    [[DATE '-infinity', DATE '2024-01-01']] AS dll, [{'x': DATE 'infinity'}] AS ls,
    MAP {'t': 'infinity'::TIMESTAMP_NS, 'n': '-infinity'::TIMESTAMP_NS} AS mpn, MAP {'far': TIMESTAMP '290309-12-21 10:00:00', 'near': TIMESTAMP '2024-01-01 10:00:00'} AS mpf,
    [{'t': TIMESTAMP '2024-01-01 01:02:03.123'}] AS lst) TO '${nested}' (FORMAT parquet)`);
  const nestedOut = join(dir, 'nested-far.jsonl');
  await scorePenguins(dir, nested, nestedOut, 'keep: [mp, mpt, dll, ls, mpn, mpf, lst]');
  // Wall-clock times (DuckDB's TIMESTAMP) in a map or a list of structs, far or near, have no Z.
  assert.deepEqual((await readRows(nestedOut)).map((r) => [r.mp, r.mpt, r.dll, r.ls, r.mpn, r.mpf, r.lst]), [[
    { inf: 'infinity', far: '+5000000-01-01', ok: '2024-01-01' }, { inf: 'infinity' }, [['-infinity', '2024-01-01']], [{ x: 'infinity' }],
    { t: 'infinity', n: '-infinity' }, { far: '+290309-12-21T10:00:00.000000', near: '2024-01-01T10:00:00.000' }, [{ t: '2024-01-01T01:02:03.123' }],
  ]]);
  // The words read back from CSV, in date and timestamp columns of either zone kind, as DuckDB's read_csv reads them; a column of infinities alone is numbers, ±Infinity.
  const csv = join(dir, 'valid.csv');
  await writeFile(csv, 'bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,d,t,tz,only\n'
    + '39.1,18.7,181,3750,2020-01-01,2020-01-01 10:00:00,2020-01-01 10:00:00Z,infinity\n'
    + '39.1,18.7,181,3750,Infinity,-infinity, infinity ,-INFINITY\n'
    + '39.1,18.7,181,3750,-infinity,2020-01-01 11:00:00.5,2020-01-01 11:00:00+02,infinity\n');
  const output = join(dir, 'valid.parquet');
  const job = await writeJob(dir, [`input: { path: ${csv} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${output}, keep: [d, t, tz, only] }`].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none', '--restart']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((await duckdb(`DESCRIBE SELECT d, t, tz, "only" FROM '${output}'`)).map((r) => r.column_type), ['DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'DOUBLE']);
  assert.deepEqual(await duckdb(`SELECT d::VARCHAR AS d, t::VARCHAR AS t, tz::VARCHAR AS tz, "only"::VARCHAR AS "only" FROM '${output}'`), [
    { d: '2020-01-01', t: '2020-01-01 10:00:00', tz: '2020-01-01 10:00:00+00', only: 'inf' },
    { d: 'infinity', t: '-infinity', tz: 'infinity', only: '-inf' },
    { d: '-infinity', t: '2020-01-01 11:00:00.5', tz: '2020-01-01 09:00:00+00', only: 'inf' },
  ]);
  assert.deepEqual((await duckdb(`SELECT d::VARCHAR AS d FROM read_csv('${csv}')`)).map((r) => r.d), ['2020-01-01', 'infinity', '-infinity']);
}));

test('PARQUET_VERSION V2 files (DuckDB): delta-packed INTEGER and UINTEGER pages whose first value is past 2^31 keep every value, on pages of one value and of many', () => withTempDir(async (dir) => {
  const input = join(dir, 'v2.parquet');
  await duckdb(`COPY (SELECT i, 40.1 AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g,
    (CASE i % 3 WHEN 0 THEN 4294967295 WHEN 1 THEN 1 ELSE 3000000000 - i END)::UINTEGER AS u, (CASE WHEN i % 2 = 0 THEN -2147483648 ELSE 2147483647 - i END)::INTEGER AS s
    FROM range(5000) t(i)) TO '${input}' (FORMAT parquet, PARQUET_VERSION V2, ROW_GROUP_SIZE 2048)`);
  assert.ok((await duckdb(`SELECT encodings FROM parquet_metadata('${input}') WHERE path_in_schema = 'u'`)).every((r) => String(r.encodings).includes('DELTA_BINARY_PACKED')));
  for (const format of outputs) {
    const output = join(dir, `out.${format}`);
    await scorePenguins(dir, input, output, 'keep: [i, u, s]');
    const rows = format === 'parquet' ? await duckdb(`SELECT i, u, s FROM '${output}'`) : await readRows(output);
    const expected = await duckdb(`SELECT i, u, s FROM '${input}'`);
    assert.deepEqual(rows.map((r) => [Number(r.i), Number(r.u), Number(r.s)]), expected.map((r) => [Number(r.i), Number(r.u), Number(r.s)]), format);
  }
}));

test('a PARQUET_VERSION V2 row group of 300,000 rows in delta encodings (TIMESTAMP_MS, BLOB) is read a chunk at a time: within limits.memory 112, where every Date and byte copy of the page at once ran out of memory even at 160', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const input = join(dir, 'v2.parquet');
  await duckdb(`COPY (SELECT i, 30 + (i % 20)::DOUBLE AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g,
    (TIMESTAMP '2020-01-01' + to_seconds(i))::TIMESTAMP_MS AS tms, encode('b' || i) AS bl FROM range(300000) t(i)) TO '${input}' (FORMAT parquet, PARQUET_VERSION V2, ROW_GROUP_SIZE 300000)`);
  const output = join(dir, 'out.parquet');
  const job = await writeJob(dir, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${output}, keep: [i, tms, bl] }`, 'limits: { memory: 112 }'].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await duckdb(`SELECT count(*)::INTEGER AS n FROM (SELECT i, tms, bl FROM '${input}' EXCEPT ALL SELECT i, tms, bl FROM '${output}')`), [{ n: 0 }]);
  assert.deepEqual(await duckdb(`SELECT count(*)::INTEGER AS n FROM '${output}'`), [{ n: 300_000 }]);
}));

test('64-bit ids pass through CSV and JSONL exactly: as BIGINT in Parquet, as the same digits in JSONL and CSV', () => withTempDir(async (dir) => {
  const ids = ['1234567890123456789', '-9007199254740993', '42'];
  const measures = ['39.1,18.7,181,3750', '39.5,17.4,186,3800', '40.3,18,195,3250'];
  await writeFile(join(dir, 'in.csv'), `id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n${ids.map((id, i) => `${id},${measures[i]}`).join('\n')}\n`);
  await writeFile(join(dir, 'in.jsonl'), ids.map((id, i) => {
    const [a, b, c, d] = measures[i]!.split(',');
    return `{"id": ${id}, "bill_length_mm": ${a}, "bill_depth_mm": ${b}, "flipper_length_mm": ${c}, "body_mass_g": ${d}}`;
  }).join('\n'));
  for (const input of ['in.csv', 'in.jsonl']) {
    for (const output of ['out.parquet', 'out.jsonl', 'out.csv']) {
      await scorePenguins(dir, input, output, 'keep: [id]');
      const file = join(dir, output);
      const written = output.endsWith('.parquet') ? (await duckdb(`SELECT typeof(id) AS t, id::VARCHAR AS id FROM '${file}'`)).map((r) => `${String(r.t)} ${String(r.id)}`)
        : output.endsWith('.jsonl') ? (await readFile(file, 'utf8')).trim().split('\n').map((l) => /^\{"id":(-?\d+),/.exec(l)![1])
          : (await readFile(file, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',')[0]);
      assert.deepEqual(written, output.endsWith('.parquet') ? ids.map((id) => `BIGINT ${id}`) : ids, `${input} → ${output}`);
    }
  }
}));

test('CSV → Parquet types booleans, dates and timestamps as DuckDB\'s read_csv does (BOOLEAN, DATE, TIMESTAMP, TIMESTAMPTZ; TIMESTAMP_NS where a cell has nanoseconds), with its values, on the scoring thread and on encoder threads; input.csv.types makes an id BIGINT; JSON Lines keeps the text', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const measures = (await penguinsCsv()).lines.filter((l) => !l.includes(',,')).map((l) => l.split(',').slice(2, 6).join(','));
  const two = (n: number) => String(n).padStart(2, '0');
  const lines = Array.from({ length: 20_000 }, (_, i) => [
    String(10 ** 12 + i), ['true', 'False', 'T', 'f', 'yes', 'NO', ''][i % 7], i % 50 === 0 ? '' : `2000-${two((i % 12) + 1)}-${two((i % 28) + 1)}`,
    `2024-03-${two((i % 28) + 1)} ${two(i % 24)}:${two(i % 60)}:${two((i * 7) % 60)}${i % 3 ? `.${i % 1000}` : ''}`,
    `2024-03-${two((i % 28) + 1)}T10:00:00${['Z', '+02:00', '-0530', '+01'][i % 4]}`,
    `1969-12-31 23:59:59.${String(i).padStart(9, '0')}`, measures[i % measures.length],
  ].join(','));
  const input = join(dir, 'in.csv');
  await writeFile(input, `id,ok,day,at,zoned,fine,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n${lines.join('\n')}\n`);
  const theirs = await duckdb(`SELECT ok, "day"::VARCHAR AS "day", "at"::VARCHAR AS "at", zoned::VARCHAR AS zoned FROM read_csv('${input}')`);
  for (const writer of ['inline', 'thread']) {
    await scorePenguins(dir, 'in.csv', 'out.parquet', `writer: ${writer}, keep: [id, ok, day, at, zoned, fine]`);
    const file = join(dir, 'out.parquet');
    const types = await duckdb(`SELECT column_name AS c, column_type AS t FROM (DESCRIBE SELECT id, ok, "day", "at", zoned, fine FROM '${file}')`);
    assert.deepEqual(types.map((r) => `${String(r.c)} ${String(r.t)}`), ['id DOUBLE', 'ok BOOLEAN', 'day DATE', 'at TIMESTAMP', 'zoned TIMESTAMP WITH TIME ZONE', 'fine TIMESTAMP_NS'], writer);
    const mine = await duckdb(`SELECT ok, "day"::VARCHAR AS "day", "at"::VARCHAR AS "at", zoned::VARCHAR AS zoned, fine::VARCHAR AS fine FROM '${file}'`);
    assert.deepEqual(mine.map(({ fine: _, ...r }) => r), theirs, writer);
    // DuckDB's own TIMESTAMP keeps microseconds; the nanoseconds are the file's.
    assert.deepEqual([mine[1]!.fine, mine[19_999]!.fine], ['1969-12-31 23:59:59.000000001', '1969-12-31 23:59:59.000019999']);
  }
  await writeFile(join(dir, 'job.yaml'), [`input: { path: ${input}, csv: { types: { id: bigint, day: text } } }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'typed.parquet')}, keep: [id, day] }`].join('\n'));
  assert.equal((await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none'])).code, 0);
  assert.deepEqual((await duckdb(`SELECT typeof(id) AS t, typeof("day") AS d, id::VARCHAR AS id FROM '${join(dir, 'typed.parquet')}' LIMIT 1`))[0], { t: 'BIGINT', d: 'VARCHAR', id: '1000000000000' });
  // A JSON Lines output writes the cells' text, as before.
  await scorePenguins(dir, 'in.csv', 'out.jsonl', 'keep: [ok, day, at]');
  assert.match((await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n')[1]!, /^\{"ok":"False","day":"2000-02-02","at":"2024-03-02 01:01:07.1",/);
}));

test('input.csv.types: an unknown type, a column also in input.csv.text, and a boolean, date or timestamp for a column the model reads are refused before a row is read', () => withTempDir(async (dir) => {
  const job = await writeJob(dir, [`input: { path: ${join(fixtures, 'data', 'penguins.csv')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.parquet')} }`].join('\n'));
  const refused = async (...set: string[]) => {
    const run = await runCli(['--log-format', 'text', 'run', job, '--progress', 'none', ...set.flatMap((s) => ['--set', s])]);
    assert.equal(run.code, 2, run.stderr);
    return run.stderr.split('\n')[0];
  };
  for (const type of ['integer', 'constructor', '__proto__']) {
    assert.equal(await refused(`input.csv.types={island: ${type}}`), `error: Job file ${job}: --set input.csv.types.island: expected one of [text, double, bigint, boolean, date, timestamp, timestamp_ns] (DuckDB's names; string, float64, int64 and bool too), got \`"${type}"\` (string)`);
  }
  assert.equal(await refused('input.csv.types={island: bigint}', 'input.csv.text=[island]'), `error: Job file ${job}: input.csv.types: "island" is also listed in input.csv.text, which reads it as text; name it in one of the two`);
  assert.equal(await refused('input.csv.types={body_mass_g: DATE}'), `error: Job file ${job}: input.csv.types makes "body_mass_g" a date, but model penguins-species reads it, and a model reads numbers and text`);
  assert.equal(await refused('input.csv.types={body_mass_g: boolean}'), `error: Job file ${job}: input.csv.types makes "body_mass_g" a boolean, but model penguins-species reads it, and a model reads numbers and text`);
  await assert.rejects(access(join(dir, 'out.parquet')));
}));

test('codes with leading zeros (zip codes, "007") stay text in JSON Lines and Parquet, as DuckDB reads them, and a model reading such a column reads the number', () => withTempDir(async (dir) => {
  const zips = ['02134', '90210', '00501'];
  const measures = [['39.1', '18.7', '181', '3750'], ['39.5', '17.4', '186', '3800'], ['40.3', '18', '195', '3250']];
  const csv = (pad: boolean) => `zip,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n${zips.map((zip, i) => [zip, ...measures[i]!.map((m, k) => (pad && k === 3 ? `0${m}` : m))].join(',')).join('\n')}\n`;
  await writeFile(join(dir, 'plain.csv'), csv(false));
  await writeFile(join(dir, 'padded.csv'), csv(true));
  await scorePenguins(dir, 'plain.csv', 'plain.jsonl', 'keep: [zip]');
  const reference = (await readRows(join(dir, 'plain.jsonl'))).map((r) => r.prob_Adelie);
  for (const output of ['out.parquet', 'out.jsonl', 'out.csv']) {
    await scorePenguins(dir, 'padded.csv', output, 'keep: [zip, body_mass_g]');
    const file = join(dir, output);
    const rows = output.endsWith('.parquet') ? await duckdb(`SELECT typeof(zip) AS t, typeof(body_mass_g) AS tm, * FROM '${file}'`) : await readRows(file);
    // readRows reads a CSV's cells as numbers where they are: the text is what a CSV output must keep.
    const kept = output.endsWith('.csv') ? (await readFile(file, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 2)) : rows.map((r) => [r.zip, r.body_mass_g]);
    assert.deepEqual(kept, zips.map((zip, i) => [zip, `0${measures[i]![3]}`]), output);
    if (output.endsWith('.parquet')) assert.deepEqual(rows.map((r) => `${String(r.t)} ${String(r.tm)}`), zips.map(() => 'VARCHAR VARCHAR'));
    assertClose(rows.map((r) => Number(r.prob_Adelie)), reference as number[], 1e-12, output);
  }
}));

test('input.csv.text listing a column the model reads, in a file with thousands separators or a decimal comma, is refused before a row is read (the model would get text it cannot read as a number)', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'th.csv'), 'bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,zip\n39.1,18.7,181,"3,750",02134\n');
  await writeFile(join(dir, 'dc.csv'), 'bill_length_mm;bill_depth_mm;flipper_length_mm;body_mass_g;zip\n39,1;18,7;181;3750;02134\n');
  for (const [file, csv, why] of [['th.csv', 'thousands: ",", ', 'thousands separators'], ['dc.csv', '', 'a decimal comma']] as const) {
    const job = await writeJob(dir, [`input: { path: ${join(dir, file)}, csv: { ${csv}text: [zip, body_mass_g] } }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.jsonl')} }`].join('\n'));
    const run = await runCli(['--log-format', 'text', 'run', job, '--progress', 'none', '--restart']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`input.csv.text lists "body_mass_g", which model penguins-species reads as numbers; in a file with ${why} only a number column is read with them`));
    // Listing only the code column scores every row.
    const ok = await writeJob(dir, [`input: { path: ${join(dir, file)}, csv: { ${csv}text: [zip] } }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.jsonl')} }`].join('\n'));
    assert.equal((await runCli(['run', ok, '--progress', 'none', '--restart'])).code, 0);
    assert.match(await readFile(join(dir, 'out.jsonl'), 'utf8'), /"zip":"02134","species_pred":"Adelie"/);
  }
}));

test('Parquet bytes (BLOB) pass through byte for byte: BLOB again in Parquet, base64 in CSV and JSON Lines; a model reads bytes that are UTF-8 text as that text, and a row whose bytes are not is reported; a UUID stays a UUID', () => withTempDir(async (dir) => {
  const input = join(dir, 'in.parquet');
  // raw: bytes no text encoding can carry (0xFF, 0x00, a lone 0xC3); the measurements as text an
  // old writer stored without a text annotation, one cell of them not UTF-8 (row 3).
  const uuid = (i: number) => `61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1${i}`;
  await duckdb(`COPY (SELECT i, ('\\xFF\\x00\\xC3' || i::VARCHAR)::BLOB AS raw, ('61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1' || i::VARCHAR)::UUID AS id,
    (CASE WHEN i = 3 THEN '\\xFF' ELSE (39.1 + i)::VARCHAR END)::BLOB AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g
    FROM range(6) t(i)) TO '${input}' (FORMAT parquet)`);
  const raw = (i: number) => Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), Buffer.from(String(i))]);
  const scored = [0, 1, 2, 4, 5];
  for (const format of ['parquet', 'csv', 'jsonl']) {
    const output = join(dir, `out.${format}`);
    await scorePenguins(dir, input, output, 'keep: [i, raw, bill_length_mm, id]');
    if (format === 'parquet') {
      assert.deepEqual((await duckdb(`SELECT typeof(raw) AS t, typeof(bill_length_mm) AS b, typeof(id) AS u FROM '${output}' LIMIT 1`))[0], { t: 'BLOB', b: 'BLOB', u: 'UUID' });
      const same = await duckdb(`SELECT count(*) AS n FROM '${output}' o JOIN '${input}' i USING (i) WHERE o.raw = i.raw AND o.bill_length_mm = i.bill_length_mm AND o.id = i.id`);
      assert.equal(Number(same[0]!.n), scored.length);
    } else {
      const rows = format === 'csv'
        ? (await readFile(output, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 4))
        : (await readFile(output, 'utf8')).trim().split('\n').map((l) => { const r = JSON.parse(l) as Row; return [String(r.i), r.raw, r.bill_length_mm, r.id]; });
      assert.deepEqual(rows, scored.map((i) => [String(i), raw(i).toString('base64'), Buffer.from((39.1 + i).toFixed(1)).toString('base64'), uuid(i)]), format);
    }
    const errors = (await readFile(`${output}.errors.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Row);
    // Rows are counted from 1: i = 3 is row 4.
    assert.deepEqual(errors.map((e) => [e.row, e.column, e.value, e.reason]), [[4, 'bill_length_mm', '/w==',
      `Invalid value: column "bill_length_mm" holds bytes that are not UTF-8 text, got bytes ff (1 byte) at ${input} row 4`]]);
  }
  // The predictions are those of the same rows given as numbers.
  const numbers = join(dir, 'numbers.parquet');
  await duckdb(`COPY (SELECT i, 39.1 + i AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g FROM range(6) t(i) WHERE i <> 3) TO '${numbers}' (FORMAT parquet)`);
  await scorePenguins(dir, numbers, join(dir, 'numbers.jsonl'), 'keep: [i]');
  const predictions = (file: string) => readFile(file, 'utf8').then((t) => t.trim().split('\n').map((l) => { const { i: _, raw: _r, bill_length_mm: _b, id: _u, ...p } = JSON.parse(l) as Row; return p; }));
  assert.deepEqual(await predictions(join(dir, 'out.jsonl')), await predictions(join(dir, 'numbers.jsonl')));
}));

test('bytes inside lists and structs stay bytes (BLOB[] and a STRUCT\'s BLOB in Parquet, base64 in CSV and JSON Lines) beside ENUM and text members; JSON marked by the legacy converted type alone (hyparquet-writer, older parquet-mr) stays JSON', () => withTempDir(async (dir) => {
  const input = join(dir, 'nested.parquet');
  await duckdb(`CREATE TYPE IF NOT EXISTS mood AS ENUM ('sad', 'ok', 'happy')`);
  await duckdb(`COPY (SELECT i, 40.1 AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g,
    ['\\x00\\xFF\\xFE'::BLOB, NULL, ('\\xC3' || i::VARCHAR)::BLOB] AS lb, {'b': '\\x00\\xFF'::BLOB, 'm': ['sad', 'ok', 'happy'][i % 3 + 1]::mood, 's': 'é' || i::VARCHAR} AS sb,
    [['sad', 'happy'][i % 2 + 1]::mood] AS lm, ['x', 'y'] AS ls FROM range(3) t(i)) TO '${input}' (FORMAT parquet)`);
  const columns = 'i, lb, sb, lm, ls';
  const output = join(dir, 'out.parquet');
  await scorePenguins(dir, input, output, `keep: [${columns}]`);
  assert.deepEqual((await duckdb(`DESCRIBE SELECT lb, sb, lm, ls FROM '${output}'`)).map((r) => r.column_type), ['BLOB[]', 'STRUCT(b BLOB, m VARCHAR, s VARCHAR)', 'VARCHAR[]', 'VARCHAR[]']);
  const text = `i, lb::VARCHAR AS lb, sb.b::VARCHAR AS b, sb.m::VARCHAR AS m, sb.s AS s, lm::VARCHAR AS lm, ls::VARCHAR AS ls`;
  assert.deepEqual(await duckdb(`SELECT ${text} FROM '${output}' ORDER BY i`), await duckdb(`SELECT ${text} FROM '${input}' ORDER BY i`));
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
  const jsonl = join(dir, 'out.jsonl');
  await scorePenguins(dir, input, jsonl, `keep: [${columns}]`);
  assert.deepEqual((await readRows(jsonl)).map((r) => [r.lb, r.sb, r.lm]), [0, 1, 2].map((i) => [
    [b64('00fffe'), null, Buffer.concat([Buffer.from([0xc3]), Buffer.from(String(i))]).toString('base64')], { b: b64('00ff'), m: ['sad', 'ok', 'happy'][i % 3], s: `é${i}` }, [['sad', 'happy'][i % 2]],
  ]));
  // Bytes in JSON columns (a map, a list of lists, a list of structs): base64 too, not UTF-8 gone wrong.
  const json = join(dir, 'json-bytes.parquet');
  await duckdb(`COPY (SELECT 40.1 AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g,
    MAP {'k': '\\xC3\\x28'::BLOB} AS mb, [['\\xFE'::BLOB]] AS bll, [{'x': '\\x80hi'::BLOB}] AS lsb) TO '${json}' (FORMAT parquet)`);
  const jsonOut = join(dir, 'json-bytes.jsonl');
  await scorePenguins(dir, json, jsonOut, 'keep: [mb, bll, lsb]');
  assert.deepEqual((await readRows(jsonOut)).map((r) => [r.mb, r.bll, r.lsb]), [[{ k: b64('c328') }, [[b64('fe')]], [{ x: b64('806869') }]]]);
  // JSON with converted_type JSON and no logical type, as hyparquet-writer writes it.
  const legacy = join(dir, 'legacy.parquet');
  await parquetWriteFile({ filename: legacy, columnData: [
    ...['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'].map((name) => ({ name, data: [40.1, 17, 190, 3800], type: 'DOUBLE' as const })),
    { name: 'j', data: [{ a: 1, b: [1, 2] }, [1, 'x'], 'str', 42], type: 'JSON' as const },
  ] });
  const legacyOut = join(dir, 'legacy-out.parquet');
  await scorePenguins(dir, legacy, legacyOut, 'keep: [j]');
  assert.deepEqual((await duckdb(`SELECT typeof(j) AS t, j::VARCHAR AS j FROM '${legacyOut}'`)).map((r) => `${String(r.t)} ${String(r.j)}`), ['JSON {"a":1,"b":[1,2]}', 'JSON [1,"x"]', 'JSON "str"', 'JSON 42']);
}));

test('a text that starts with U+FEFF keeps it (plain and dictionary pages, a list item, a struct member, a map value), in Parquet and JSON Lines, as DuckDB reads it', () => withTempDir(async (dir) => {
  const input = join(dir, 'bom.parquet');
  await duckdb(`COPY (SELECT i, 40.1 AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g,
    chr(65279) || 'abc' || i::VARCHAR AS s, chr(65279) || 'same' AS d, [chr(65279) || 'x'] AS ls, {'k': chr(65279) || 'y'} AS st, MAP {'m': chr(65279) || 'z'} AS mp
    FROM range(3) t(i)) TO '${input}' (FORMAT parquet)`);
  const text = `i, hex(encode(s)) AS s, hex(encode(d)) AS d, hex(encode(ls[1])) AS ls, hex(encode(st.k)) AS st`;
  const output = join(dir, 'out.parquet');
  await scorePenguins(dir, input, output, 'keep: [i, s, d, ls, st, mp]');
  assert.deepEqual(await duckdb(`SELECT ${text} FROM '${output}' ORDER BY i`), await duckdb(`SELECT ${text} FROM '${input}' ORDER BY i`));
  const jsonl = join(dir, 'out.jsonl');
  await scorePenguins(dir, input, jsonl, 'keep: [i, s, d, ls, st, mp]');
  assert.deepEqual((await readRows(jsonl)).map((r) => [r.s, r.d, r.ls, r.st, r.mp]), [0, 1, 2].map((i) => [`\ufeffabc${i}`, '\ufeffsame', ['\ufeffx'], { k: '\ufeffy' }, { m: '\ufeffz' }]));
  // A JSON cell whose text starts with a byte-order mark (as some writers store a JSON file's text)
  // is still its JSON: the file's bytes of '{"a":1,"b":"wxyz"}' (page and statistics, uncompressed)
  // made the mark and '{"a":1,"b":"x"}', as many bytes.
  const json = join(dir, 'json-bom.parquet');
  await parquetWriteFile({ filename: json, codec: 'UNCOMPRESSED', columnData: [
    ...['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'].map((name) => ({ name, data: [40.1], type: 'DOUBLE' as const })),
    { name: 'j', data: [{ a: 1, b: 'wxyz' }], type: 'JSON' as const },
  ] });
  const from = Buffer.from('{"a":1,"b":"wxyz"}');
  const to = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1,"b":"x"}')]);
  const bytes = await readFile(json);
  let replaced = 0;
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1), replaced++) to.copy(bytes, at);
  assert.ok(replaced > 0);
  await writeFile(json, bytes);
  const jsonOut = join(dir, 'json-bom.jsonl');
  await scorePenguins(dir, json, jsonOut, 'keep: [j]');
  assert.deepEqual((await readRows(jsonOut)).map((r) => r.j), [{ a: 1, b: 'x' }]);
}));

test('a row group whose doubles hold NaN has no minimum or maximum (as DuckDB and parquet-mr write it), so a reader that orders NaN above every number skips no row of it: flat and struct members, from Parquet and JSON Lines', () => withTempDir(async (dir) => {
  const input = join(dir, 'nan.parquet');
  await duckdb(`COPY (SELECT i, 40.1 AS bill_length_mm, 17.0 AS bill_depth_mm, 190.0 AS flipper_length_mm, 3800.0 AS body_mass_g,
    CASE WHEN i = 1 THEN 'NaN'::DOUBLE ELSE i::DOUBLE END AS f, CASE WHEN i = 1 THEN 'NaN'::FLOAT ELSE i::FLOAT END AS f32, {'x': CASE WHEN i = 1 THEN 'NaN'::DOUBLE ELSE i::DOUBLE END} AS st
    FROM range(3) t(i)) TO '${input}' (FORMAT parquet)`);
  await writeFile(join(dir, 'nan.jsonl'), [0, 1, 2].map((i) => `{"i":${i},"bill_length_mm":40.1,"bill_depth_mm":17,"flipper_length_mm":190,"body_mass_g":3800,"f":${i === 1 ? 'NaN' : i}}`).join('\n'));
  for (const [from, keep] of [[input, 'i, f, f32, st'], [join(dir, 'nan.jsonl'), 'i, f']] as const) {
    const output = join(dir, `${from.endsWith('.jsonl') ? 'jsonl' : 'parquet'}-out.parquet`);
    await scorePenguins(dir, from, output, `keep: [${keep}]`);
    const stats = await duckdb(`SELECT path_in_schema AS p, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${output}') WHERE path_in_schema IN ('f', 'f32', 'st, x', 'i') ORDER BY 1`);
    for (const row of stats) assert.deepEqual([row.lo === null, row.hi === null], row.p === 'i' ? [false, false] : [true, true], `${from}: ${String(row.p)}`);
    for (const column of keep.split(', ').filter((c) => c !== 'i').map((c) => (c === 'st' ? 'st.x' : c))) {
      assert.deepEqual(await duckdb(`SELECT count(*) AS n FROM '${output}' WHERE ${column} > 5`), [{ n: 1n }], `${from}: ${column} > 5 finds the NaN row`);
    }
  }
}));

test('Parquet bytes through the writer and encoder threads (120,000 rows, repeated and distinct values): byte for byte in Parquet, base64 in CSV and JSON Lines', () => withTempDir(async (dir) => {
  const input = join(dir, 'in.parquet');
  await duckdb(`COPY (SELECT i, ('\\xFF\\x00\\xC3' || (i % 1000)::VARCHAR)::BLOB AS few, CASE WHEN i % 7 = 0 THEN NULL ELSE ('\\x80' || i::VARCHAR)::BLOB END AS distinct_bytes,
    39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g FROM range(120000) t(i)) TO '${input}' (FORMAT parquet)`);
  const read = {
    parquet: (file: string) => `'${file}'`,
    csv: (file: string) => `(SELECT i, from_base64(few) AS few, from_base64(distinct_bytes) AS distinct_bytes FROM read_csv('${file}', types = {'few': 'VARCHAR', 'distinct_bytes': 'VARCHAR'}))`,
    jsonl: (file: string) => `(SELECT i, from_base64(few) AS few, from_base64(distinct_bytes) AS distinct_bytes FROM read_json('${file}', columns = {'i': 'BIGINT', 'few': 'VARCHAR', 'distinct_bytes': 'VARCHAR'}))`,
  };
  for (const [format, table] of Object.entries(read)) {
    const output = join(dir, `out.${format}`);
    await scorePenguins(dir, input, output, 'keep: [i, few, distinct_bytes]');
    const [same] = await duckdb(`SELECT count(*) AS n FROM ${table(output)} o JOIN '${input}' i USING (i)
      WHERE o.few = i.few AND o.distinct_bytes IS NOT DISTINCT FROM i.distinct_bytes`);
    assert.equal(Number(same!.n), 120000, format);
  }
}));

test('a ZSTD Parquet output (Polars\' default codec) holds the snappy output\'s values, on the scoring thread and on encoder threads, and reads back as input', () => withTempDir(async (dir) => {
  await duckdb(`COPY (SELECT p.* FROM read_csv('${join(fixtures, 'data', 'penguins.csv')}') p, range(350)) TO '${join(dir, 'in.parquet')}'`);
  for (const writer of ['inline', 'thread']) {
    for (const compression of ['snappy', 'zstd']) await scorePenguins(dir, 'in.parquet', `${compression}-${writer}.parquet`, `parquet: { compression: ${compression}, row_group_rows: 16384 }, writer: ${writer}`);
    const file = join(dir, `zstd-${writer}.parquet`);
    const codecs = await duckdb(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
    assert.deepEqual(codecs, [{ compression: 'ZSTD' }], writer);
    const groups = await duckdb(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file}')`);
    assert.equal(groups[0]!.n, 8n, writer);
    const differ = await duckdb(`SELECT count(*) AS n FROM (SELECT * FROM '${file}' EXCEPT ALL SELECT * FROM '${join(dir, `snappy-${writer}.parquet`)}')`);
    assert.equal(differ[0]!.n, 0n, writer);
    const { size: zstd } = await stat(file);
    const { size: snappy } = await stat(join(dir, `snappy-${writer}.parquet`));
    assert.ok(zstd < snappy, `${writer}: ZSTD ${zstd} bytes, snappy ${snappy}`);
  }
  // output.compression_level: zstd's 19 and 1 make other bytes of the same values; gzip text outputs take it too.
  for (const level of [1, 19]) await scorePenguins(dir, 'in.parquet', `zstd-${level}.parquet`, `parquet: { compression: zstd }, compression_level: ${level}`);
  assert.ok(!(await readFile(join(dir, 'zstd-19.parquet'))).equals(await readFile(join(dir, 'zstd-1.parquet'))));
  assert.equal((await duckdb(`SELECT count(*) AS n FROM (SELECT * FROM '${join(dir, 'zstd-19.parquet')}' EXCEPT ALL SELECT * FROM '${join(dir, 'zstd-1.parquet')}')`))[0]!.n, 0n);
  for (const level of [1, 9]) await scorePenguins(dir, 'in.parquet', `gz-${level}.csv.gz`, `compression_level: ${level}`);
  assert.ok(!(await readFile(join(dir, 'gz-9.csv.gz'))).equals(await readFile(join(dir, 'gz-1.csv.gz'))));
  assert.ok(gunzipSync(await readFile(join(dir, 'gz-9.csv.gz'))).equals(gunzipSync(await readFile(join(dir, 'gz-1.csv.gz')))));
  // bento-batch reads its own ZSTD output: the same predictions again.
  await scorePenguins(dir, 'zstd-thread.parquet', 'again.parquet', 'keep: []');
  const differ = await duckdb(`SELECT count(*) AS n FROM (SELECT prob_Adelie FROM '${join(dir, 'again.parquet')}' EXCEPT ALL SELECT prob_Adelie FROM '${join(dir, 'snappy-thread.parquet')}')`);
  assert.equal(differ[0]!.n, 0n);
}));

test('a .csv.gz or .jsonl.gz output is the plain output gzipped (on the scoring thread and on a writer thread), in members that gunzip and DuckDB read as one text', () => withTempDir(async (dir) => {
  // 51,600 rows: ~4.5 MB of CSV, several members.
  await duckdb(`COPY (SELECT * EXCLUDE (i, rn) FROM range(150) t(i) CROSS JOIN (SELECT *, row_number() OVER () AS rn FROM read_csv('${join(fixtures, 'data', 'penguins.csv')}')) ORDER BY i, rn)
    TO '${join(dir, 'in.csv')}' (HEADER)`);
  for (const writer of ['inline', 'thread']) {
    for (const format of ['csv', 'jsonl']) {
      const outputs = [`${writer}.${format}`, `${writer}.${format}.gz`];
      for (const output of outputs) {
        await scorePenguins(dir, 'in.csv', `out/${output}`, `keep: [species, body_mass_g], writer: ${writer}`, dir);
      }
      const [plain, zipped] = await Promise.all(outputs.map((o) => readFile(join(dir, 'out', o))));
      assert.ok(gunzipSync(zipped!).equals(plain!), `${writer} ${format}: gunzipped, the plain output`);
      assert.ok(zipped!.length < plain!.length / 3, `${writer} ${format}: ${zipped!.length} bytes gzipped against ${plain!.length}`);
      // More than one member: each starts with gzip's magic bytes and compression method (1f 8b 08).
      assert.ok(zipped!.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 10) > 0, 'several members');
      const [count] = await duckdb(`SELECT count(*) AS n FROM ${format === 'csv' ? 'read_csv' : 'read_json'}('${join(dir, 'out', outputs[1]!)}')`);
      assert.equal(Number(count!.n), 51_600);
    }
  }
}));

test('64-bit integers inside Parquet structs and maps stay numbers with every digit in JSON Lines and CSV, not quoted text', () => withTempDir(async (dir) => {
  const input = join(dir, 'in.parquet');
  await duckdb(`COPY (SELECT {'id': 1234567890123456789::BIGINT, 'name': 'a'} AS st, MAP {'n': -9007199254740993::BIGINT} AS mp,
    39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g) TO '${input}' (FORMAT parquet)`);
  for (const format of ['jsonl', 'csv']) {
    const output = join(dir, `out.${format}`);
    await scorePenguins(dir, input, output, 'keep: [st, mp]');
    const text = await readFile(output, 'utf8');
    const expected = format === 'jsonl' ? '{"st":{"id":1234567890123456789,"name":"a"},"mp":{"n":-9007199254740993},'
      : '"{""id"":1234567890123456789,""name"":""a""}","{""n"":-9007199254740993}",';
    assert.ok(text.split('\n')[format === 'jsonl' ? 0 : 1]!.startsWith(expected), text);
  }
}));

test('a Parquet STRUCT passes through as a STRUCT (nested structs, lists, unsigned and 64-bit members, a null struct); JSON Lines gets its members by their types; a MAP, or a struct holding TIME, stays JSON', () => withTempDir(async (dir) => {
  const input = join(dir, 'in.parquet');
  await duckdb(`COPY (SELECT i, 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    CASE WHEN i = 2 THEN NULL ELSE {'id': 1234567890123456789 + i, 'name': 'n' || i, 'score': i / 4, 'ok': i % 2 = 0, 'd': DATE '2024-02-29' + i::INT,
      'inner': {'a': i::INT, 'l': [i, NULL, 3]::INT[]}, 'u': (i * 100)::UINTEGER, 'maybe': CASE WHEN i = 1 THEN NULL ELSE 'x' END} END AS st,
    {'t': TIME '01:02:03'} AS with_time, MAP {'k': i} AS mp FROM range(4) t(i)) TO '${input}' (FORMAT parquet)`);
  for (const format of ['parquet', 'jsonl']) {
    const output = join(dir, `out.${format}`);
    await scorePenguins(dir, input, output, 'keep: [i, st, with_time, mp]');
  }
  const types = async (file: string) => (await duckdb(`DESCRIBE SELECT st, with_time, mp FROM '${file}'`)).map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
  const [before, after] = [await types(input), await types(join(dir, 'out.parquet'))];
  assert.equal(after[0], before[0]);
  assert.match(before[0]!, /^st STRUCT\(id BIGINT, "name" VARCHAR, score DOUBLE, ok BOOLEAN, d DATE, "inner" STRUCT\(a INTEGER, l INTEGER\[\]\), u UINTEGER, maybe VARCHAR\)$/);
  assert.deepEqual(after.slice(1), ['with_time JSON', 'mp JSON']);
  const [same] = await duckdb(`SELECT count(*) AS n FROM '${join(dir, 'out.parquet')}' o JOIN '${input}' i USING (i) WHERE o.st IS NOT DISTINCT FROM i.st`);
  assert.equal(Number(same!.n), 4);
  const first = (await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n')[1]!;
  assert.ok(first.startsWith('{"i":1,"st":{"id":1234567890123456790,"name":"n1","score":0.25,"ok":false,"d":"2024-03-01","inner":{"a":1,"l":[1,null,3]},"u":100,"maybe":null},'), first);
}));

test('timestamps inside structs and lists keep every digit, their unit and whether they are UTC, in Parquet and in JSON Lines; a map\'s to the millisecond (wall-clock ones without a Z)', () => withTempDir(async (dir) => {
  const input = join(dir, 'in.parquet');
  await duckdb(`COPY (SELECT i, 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    {'ts': TIMESTAMP '2024-01-01 00:00:00.123456' + to_microseconds(i), 'tz': TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', 'ns': TIMESTAMP_NS '2024-01-01 00:00:00.123456789',
      'ms': TIMESTAMP_MS '2024-01-01 00:00:00.123', 'd': DATE '2024-02-29'} AS st,
    [TIMESTAMP '2024-01-01 00:00:00.123456', NULL] AS naive_list, [TIMESTAMPTZ '2024-01-01 00:00:00.5+00'] AS utc_list,
    MAP {'k': TIMESTAMP '2024-01-01 00:00:00.123456'} AS mp FROM range(3) t(i)) TO '${input}' (FORMAT parquet)`);
  for (const format of ['parquet', 'jsonl']) {
    await scorePenguins(dir, input, join(dir, `out.${format}`), 'keep: [i, st, naive_list, utc_list, mp]');
  }
  const output = join(dir, 'out.parquet');
  const types = async (file: string) => (await duckdb(`DESCRIBE SELECT st, naive_list, utc_list FROM '${file}'`)).map((r) => String(r.column_type));
  assert.deepEqual(await types(output), await types(input));
  const [same] = await duckdb(`SELECT count(*) AS n FROM '${output}' o JOIN '${input}' i USING (i) WHERE o.st = i.st AND o.naive_list = i.naive_list AND o.utc_list = i.utc_list`);
  assert.equal(Number(same!.n), 3);
  const row = JSON.parse((await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n')[1]!) as Row;
  assert.deepEqual([row.st, row.naive_list, row.utc_list, row.mp], [
    { ts: '2024-01-01T00:00:00.123457', tz: '1969-12-31T23:59:59.999999Z', ns: '2024-01-01T00:00:00.123456789', ms: '2024-01-01T00:00:00.123', d: '2024-02-29' },
    ['2024-01-01T00:00:00.123456', null], ['2024-01-01T00:00:00.500000Z'], { k: '2024-01-01T00:00:00.123' },
  ]);
}));

test('decimals inside structs and lists are the double nearest their digits, as top-level ones are, and a list of UUIDs stays one', () => withTempDir(async (dir) => {
  const input = join(dir, 'in.parquet');
  await duckdb(`COPY (SELECT i, 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    {'amount': (17.4 + i)::DECIMAL(38,10), 'cents': 0.3::DECIMAL(9,2)} AS st, [17.4::DECIMAL(38,10), NULL, -0.07::DECIMAL(5,2)] AS amounts,
    ['61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1d'::UUID] AS ids FROM range(2) t(i)) TO '${input}' (FORMAT parquet)`);
  for (const format of ['parquet', 'jsonl']) {
    await scorePenguins(dir, input, join(dir, `out.${format}`), 'keep: [i, st, amounts, ids]');
  }
  const row = JSON.parse((await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n')[0]!) as Row;
  // hyparquet's nested reader gave 17.400000000000002 (the unscaled integer times 10^-10).
  assert.deepEqual([row.st, row.amounts, row.ids], [{ amount: 17.4, cents: 0.3 }, [17.4, null, -0.07], ['61b5c9ac-0f4b-4e52-a1a2-7f3e4b0b6a1d']]);
  const [types] = await duckdb(`SELECT typeof(ids) AS ids, st::VARCHAR AS st FROM '${join(dir, 'out.parquet')}' WHERE i = 1`);
  assert.deepEqual(types, { ids: 'UUID[]', st: "{'amount': 18.4, 'cents': 0.3}" });
}));

test('CSV → CSV over files whose columns come in another order (or another set): each row is written by column name under the first file\'s header', () => withTempDir(async (dir) => {
  await mkdir(join(dir, 'in'));
  await writeFile(join(dir, 'in', 'a.csv'), 'note,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\nf1,39.1,18.7,181,3750\n');
  await writeFile(join(dir, 'in', 'b.csv'), 'bill_length_mm,note,bill_depth_mm,flipper_length_mm,body_mass_g\n50.5,f2,15.1,220,5500\n');
  await writeFile(join(dir, 'in', 'c.csv'), 'note,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,extra\nf3,39.1,18.7,181,3750,X\n');
  const job = await writeJob(dir, [`input: { path: ${join(dir, 'in')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.csv')} }`].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const rows = await readRows(join(dir, 'out.csv'));
  assert.deepEqual(rows.map((r) => [r.note, r.bill_length_mm, r.body_mass_g, r.species_pred]), [['f1', 39.1, 3750, 'Adelie'], ['f2', 50.5, 5500, 'Gentoo'], ['f3', 39.1, 3750, 'Adelie']]);
  const lines = (await readFile(join(dir, 'out.csv'), 'utf8')).trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(',').length), [10, 10, 10, 10]);
}));

test('JSON cells in a Parquet output keep 64-bit integers to the digit and keys such as __proto__, as JSONL and CSV outputs do', () => withTempDir(async (dir) => {
  const measures = '"bill_length_mm":39.1,"bill_depth_mm":18.7,"flipper_length_mm":181,"body_mass_g":3750';
  await writeFile(join(dir, 'in.jsonl'), [
    `{${measures},"obj":{"b":9007199254740993,"__proto__":{"x":1}},"id":5}`,
    `{${measures},"obj":{"b":1},"id":10000000000000000000}`,
  ].join('\n'));
  const job = await writeJob(dir, [`input: { path: ${join(dir, 'in.jsonl')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.parquet')}, keep: [obj, id] }`].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const rows = await duckdb(`SELECT obj::VARCHAR AS obj, id::VARCHAR AS id FROM '${join(dir, 'out.parquet')}'`);
  assert.deepEqual(rows, [{ obj: '{"b":9007199254740993,"__proto__":{"x":1}}', id: '5' }, { obj: '{"b":1}', id: '10000000000000000000' }]);
}));

test('JSON Lines to JSON Lines keeping every key: each line is written as read (spacing, 180.0, key order, keys first met after the first chunk) with the predictions before its closing brace; a line with a bare NaN as JSON again; a bad line as its predictions and error', () => withTempDir(async (dir) => {
  const m = (i: number) => `"bill_length_mm":${39 + (i % 7) / 10},"bill_depth_mm":18.7,"flipper_length_mm":181.0,"body_mass_g":3750`;
  const lines = Array.from({ length: 8200 }, (_, i) => `{"n":${i},${m(i)}}`);
  lines[0] = `{ "n": 0 , ${m(0)}, "note": {"id": 9007199254740993, "x": 1.10} }  `;
  lines[1] = `{"body_mass_g":3800,"n":1,"bill_length_mm":39.5,"bill_depth_mm":17.4,"flipper_length_mm":186}`;
  lines[2] = '{}';
  lines[3] = `{"n":3,${m(3)},"x":NaN}`;
  lines[4] = `{"n":4,${m(4).replace(/^"bill_length_mm":[\d.]+/, '"bill_length_mm":"oops"')}}`;
  lines[5] = '{"n":5,';
  lines[8195] = `{"n":8195,${m(8195)},"late":true}`;
  // A key the run writes, first met past the first chunk: written twice, DuckDB would refuse the line.
  lines[8197] = `{"n":8197,${m(8197)},"species_pred":"OLD","error":"e"}`;
  await writeFile(join(dir, 'in.jsonl'), `${lines.join('\n')}\n`);
  const job = await writeJob(dir, [`input: { path: ${join(dir, 'in.jsonl')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.jsonl')} }`, 'errors: { emit: null-row }'].join('\n'));
  const run = await runCli(['--log-format', 'json', 'run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /"late"/);
  assert.match(run.stderr, /line 8198 holds the key \\"species_pred\\", a column the run writes: the line is written without it/);
  const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).split('\n');
  const predictions = (line: string) => line.slice(line.indexOf(',"species_pred"'));
  assert.equal(out[0], `{ "n": 0 , ${m(0)}, "note": {"id": 9007199254740993, "x": 1.10} ${predictions(out[0]!)}`);
  assert.ok(out[1]!.startsWith(`${lines[1]!.slice(0, -1)},"species_pred":"Adelie",`), out[1]);
  assert.ok(out[2]!.startsWith('{"species_pred":"'), out[2]);
  const failed = '"species_pred":null,"species_score":null,"prob_Adelie":null,"prob_Chinstrap":null,"prob_Gentoo":null,"error":';
  assert.ok(out[4]!.startsWith(`${lines[4]!.slice(0, -1)},${failed}"Invalid value: column \\"bill_length_mm\\"`), out[4]);
  assert.ok(out[5]!.startsWith(`{${failed}"Line 6 of`), out[5]);
  assert.ok(out[3]!.startsWith(`{"n":3,${m(3).replace('181.0', '181')},"x":null,"species_pred":`), out[3]);
  assert.ok(out[8195]!.startsWith(`{"n":8195,${m(8195)},"late":true,"species_pred":`), out[8195]);
  assert.ok(out[8197]!.startsWith(`{"n":8197,${m(8197).replace('181.0', '181')},"species_pred":"Adelie"`), out[8197]);
  assert.equal(Object.keys(JSON.parse(out[8197]!) as object).length, out[8197]!.match(/":/g)!.length);
  // Every line is JSON whose scores are those of the same rows written key by key (keep listed).
  const keyed = await writeJob(dir, [`input: { path: ${join(dir, 'in.jsonl')} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'keyed.jsonl')}, keep: [n] }`, 'errors: { emit: null-row }'].join('\n'));
  assert.equal((await runCli(['run', keyed, '--progress', 'none'])).code, 0);
  const scores = (file: string) => readFile(file, 'utf8').then((t) => t.trim().split('\n').map((l) => (JSON.parse(l) as { prob_Adelie: number | null }).prob_Adelie));
  assert.deepEqual(await scores(join(dir, 'out.jsonl')), await scores(join(dir, 'keyed.jsonl')));
}));

test('a Parquet JSON column (DuckDB\'s JSON type: an event\'s payload) keeps whole numbers past 2^53 to the digit in every output, as DuckDB reads them', () => withTempDir(async (dir) => {
  const payloads = ['{"order_id": 9007199254740993, "amount": 10.50}', '{"ids": [12345678901234567890123, -9007199254740995]}', '7'];
  await duckdb(`COPY (SELECT 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g, p::JSON AS payload
    FROM (VALUES ${payloads.map((p, i) => `(${i}, '${p}')`).join(', ')}) t(i, p) ORDER BY i) TO '${join(dir, 'in.parquet')}'`);
  const expected = ['{"order_id":9007199254740993,"amount":10.5}', '{"ids":[12345678901234567890123,-9007199254740995]}', '7'];
  for (const output of ['out.parquet', 'out.jsonl', 'out.csv']) {
    await scorePenguins(dir, 'in.parquet', output, 'keep: [payload]');
    const file = join(dir, output);
    const written = output.endsWith('.parquet') ? (await duckdb(`SELECT payload::VARCHAR AS p FROM '${file}'`)).map((r) => r.p)
      : output.endsWith('.jsonl') ? (await readFile(file, 'utf8')).trim().split('\n').map((l) => /^\{"payload":(.*),"species_pred"/.exec(l)![1])
        : (await readFile(file, 'utf8')).trim().split('\n').slice(1).map((l) => /^"?(.*?)"?,Adelie/.exec(l)![1]!.replaceAll('""', '"'));
    assert.deepEqual(written, expected, output);
  }
}));

test('a map of wall-clock timestamps is written without the Z that would make them UTC; a map of instants keeps it', () => withTempDir(async (dir) => {
  const input = join(dir, 'maps.parquet');
  await duckdb(`COPY (SELECT 39.1 AS bill_length_mm, 18.7 AS bill_depth_mm, 181 AS flipper_length_mm, 3750 AS body_mass_g,
    MAP {'k': TIMESTAMP '2024-01-01 08:00:00.123'} AS wall, MAP {'k': TIMESTAMPTZ '2024-01-01 08:00:00.123+00'} AS utc) TO '${input}' (FORMAT parquet)`);
  const job = await writeJob(dir, [`input: { path: ${input} }`, `model: ${join(fixtures, 'models', 'penguins')}`, `output: { path: ${join(dir, 'out.jsonl')}, keep: [wall, utc] }`].join('\n'));
  const run = await runCli(['run', job, '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const [row] = await readRows(join(dir, 'out.jsonl'));
  assert.deepEqual([row!.wall, row!.utc], [{ k: '2024-01-01T08:00:00.123' }, { k: '2024-01-01T08:00:00.123Z' }]);
}));

test('wide inputs run at the default limits.memory: 2,000 CSV columns (CSV and Parquet out) and 500 JSON Lines keys, every column kept; chunks hold fewer rows, so the first types the columns from fewer', { timeout: 120_000 }, () => withTempDir(async (dir) => {
  const wide = (width: number, rows: number) => {
    const cols = ['round(32 + (i % 20), 1) AS bill_length_mm', 'round(15 + (i % 5), 1) AS bill_depth_mm', '180 + (i % 40) AS flipper_length_mm', '3000 + (i % 2000) AS body_mass_g'];
    for (let j = 0; j < width - 4; j++) cols.push(`((i * 7 + ${j}) % 97) AS c${j}`);
    return `SELECT ${cols.join(', ')} FROM range(${rows}) t(i)`;
  };
  await duckdb(`COPY (${wide(2000, 10_000)}) TO '${join(dir, 'w2k.csv')}' (FORMAT csv, HEADER)`);
  await duckdb(`COPY (${wide(500, 10_000)}) TO '${join(dir, 'w500.jsonl')}' (FORMAT json)`);
  for (const [input, output] of [['w2k.csv', 'out.csv'], ['w2k.csv', 'out.parquet'], ['w500.jsonl', 'out.jsonl']] as const) {
    await writeFile(join(dir, 'job.yaml'), `input: { path: ${input} }\nmodel: ${join(fixtures, 'models', 'penguins')}\noutput: { path: ${output} }\ncheckpoint: false\n`);
    const result = await runCli(['--log-format', 'text', 'run', join(dir, 'job.yaml'), '--progress', 'none']);
    assert.equal(result.code, 0, `${input} → ${output}: ${result.stderr}`);
    const [count] = await duckdb(`SELECT count(*)::INTEGER AS n, max(c10)::INTEGER AS c10 FROM '${join(dir, output)}'`);
    assert.deepEqual(count, { n: 10_000, c10: 96 }, `${input} → ${output}`);
  }
}));


test('one column of lists feeds a [batch, N] tensor (an embedding): Parquet LIST, JSON arrays and their text in CSV score as one column a value does; a list of another length is a bad row', () => withTempDir(async (dir) => {
  const flat = join(dir, 'flat.csv');
  await duckdb(`CREATE TABLE p AS SELECT species, [bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g]::DOUBLE[] AS features, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g FROM read_csv('${join(fixtures, 'data', 'penguins.csv')}') WHERE bill_length_mm IS NOT NULL;
    COPY (SELECT species, features FROM p) TO '${join(dir, 'in.parquet')}' (FORMAT parquet);
    COPY (SELECT species, features FROM p) TO '${join(dir, 'in.jsonl')}' (FORMAT json);
    COPY (SELECT species, features::VARCHAR AS features FROM p) TO '${join(dir, 'in.csv')}' (HEADER);
    COPY (SELECT species, bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g FROM p) TO '${flat}' (HEADER)`);
  await mkdir(join(dir, 'lists'));
  for (const file of ['model.onnx', 'bento.yaml']) await writeFile(join(dir, 'lists', file), await readFile(join(fixtures, 'models', 'penguins', file)));
  const manifest = await readFile(join(dir, 'lists', 'bento.yaml'), 'utf8');
  await writeFile(join(dir, 'lists', 'bento.yaml'), manifest.replace('columns: [bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g]', 'columns: [features]').replace(/ {4}fill: .*\n/, ''));
  const run = async (input: string, model: string, output: string) => {
    await writeFile(join(dir, 'job.yaml'), `input: { path: ${input} }\nmodel: ${model}\noutput: { path: ${output}, keep: [species] }\n`);
    const result = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    return readFile(join(dir, output), 'utf8');
  };
  const inspect = await runCli(['--log-format', 'text', 'inspect', join(dir, 'lists')]);
  assert.match(inspect.stdout, /^ {2}features: float32 \[batch, 4\] {2}← columns \[features\] \(a list of 4 a row\), missing → error$/m);
  const expected = await run(flat, join(fixtures, 'models', 'penguins'), 'flat-out.csv');
  for (const input of ['in.parquet', 'in.jsonl', 'in.csv']) assert.equal(await run(input, 'lists', `${input}-out.csv`), expected, input);
  // JSON Lines of more than 4 MB are parsed on a second thread too (json-thread.ts): the same scores.
  const lines = await readFile(join(dir, 'in.jsonl'), 'utf8');
  await writeFile(join(dir, 'big.jsonl'), lines.repeat(300));
  const [header, ...body] = expected.trimEnd().split('\n');
  assert.ok(lines.length * 300 > 4 * 1024 * 1024);
  assert.equal(await run('big.jsonl', 'lists', 'big-jsonl-out.csv'), `${[header, ...Array.from({ length: 300 }, () => body).flat()].join('\n')}\n`);
  // So are lines copied to JSON Lines whole, one of them written again as its bare NaN is no JSON (as null, its list as one).
  const [first, ...rest] = lines.trimEnd().split('\n');
  await writeFile(join(dir, 'nan.jsonl'), `${[first!.replace('{', '{"x":NaN,'), ...rest].join('\n')}\n`);
  await writeFile(join(dir, 'big-nan.jsonl'), (await readFile(join(dir, 'nan.jsonl'), 'utf8')).repeat(300));
  const whole = async (input: string) => {
    await writeFile(join(dir, 'job.yaml'), `input: { path: ${input} }\nmodel: lists\noutput: { path: ${input}-out.jsonl }\n`);
    const result = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    return readFile(join(dir, `${input}-out.jsonl`), 'utf8');
  };
  const small = await whole('nan.jsonl');
  assert.match(small, /^\{"x":null,"species":"Adelie","features":\[39\.1,18\.7,181(\.0)?,3750(\.0)?\],/);
  assert.equal(await whole('big-nan.jsonl'), small.repeat(300));
  // numpy's way of writing an array (pandas writes a cell holding one so, over lines too) and JSON text with quoted numbers
  // read too; other lengths, text that is no list (an empty slot, two lists), a list nested otherwise than the input's
  // dimensions and a missing element without a fill are bad rows.
  await writeFile(join(dir, 'odd.csv'), 'species,features\nAdelie,"[39.1 18.7\n 181.0 3750.0]"\nAdelie,"[39.1, 18.7, 181.0]"\nAdelie,heavy\nAdelie,"[""39.1"", ""18.7"", ""181"", ""3750""]"\nAdelie,"[[39.1, 18.7], [181, 3750]]"\nAdelie,"[39.1,,181,3750]"\nAdelie,"[39.1, null, 181, 3750]"\nAdelie,[39.1 18.7] [181 3750]\nAdelie,"[39,1 18,7 181 3750]"\nAdelie,NA\n');
  const odd = await run('odd.csv', 'lists', 'odd-out.jsonl');
  assert.equal(odd.trim().split('\n').length, 2);
  const errors = (await readFile(join(dir, 'odd-out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { reason: string }).reason);
  assert.deepEqual(errors.map((e) => e.replace(/ at .*/, '')), [
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got a list of 3',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got "heavy"',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got "[[39.1, 18.7], [181, 3750]]"',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got "[39.1,,181,3750]"',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got a list whose element 2 has no value',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got "[39.1 18.7] [181 3750]"',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"), got "[39,1 18,7 181 3750]"',
    'Invalid value: column "features" expects a list of 4 numbers (tensor "features"); it has no value and the tensor has no fill, got "NA"',
  ]);
  // A Parquet list only the model reads comes as typed rows: its bad rows are told as a JSON array's are, values and all.
  await duckdb(`CREATE TABLE odd AS SELECT * FROM (VALUES (1, 'Adelie', [39.1, 18.7, 181.0, 3750.0]::DOUBLE[]), (2, 'Adelie', [39.1, 18.7, 181.0]), (3, 'Adelie', [39.1, NULL, 181.0, 3750.0]), (4, 'Adelie', NULL), (5, 'Gentoo', [50.5, 15.9, 225, 5400])) t(k, species, features) ORDER BY k;
    COPY (SELECT species, features FROM odd) TO '${join(dir, 'odd.parquet')}' (FORMAT parquet); COPY (SELECT species, features FROM odd) TO '${join(dir, 'odd.jsonl')}' (FORMAT json)`);
  const told = async (input: string) => {
    await run(input, 'lists', `${input}-out.jsonl`);
    return (await readFile(join(dir, `${input}-out.jsonl.errors.jsonl`), 'utf8')).replaceAll(input, 'INPUT').replace(/"byte":\d+,?/g, '');
  };
  const parquetTold = await told('odd.parquet');
  assert.equal(parquetTold, await told('odd.jsonl'));
  assert.match(parquetTold, /"value":"\[39\.1,18\.7,181\]"/);
  assert.equal(await readFile(join(dir, 'odd.parquet-out.jsonl'), 'utf8'), await readFile(join(dir, 'odd.jsonl-out.jsonl'), 'utf8'));
  // Bytes (a Parquet BLOB) are the text they hold; a fill of one value an element fills a missing element.
  await duckdb(`COPY (SELECT * FROM (VALUES ('[39.1, 18.7, 181, 3750]'::BLOB, 'Adelie'), ('abcd'::BLOB, 'Adelie')) t(features, species)) TO '${join(dir, 'blob.parquet')}' (FORMAT parquet)`);
  assert.equal((await run('blob.parquet', 'lists', 'blob-out.jsonl')).trim().split('\n').length, 1);
  assert.match(await readFile(join(dir, 'blob-out.jsonl.errors.jsonl'), 'utf8'), /got bytes 61626364 \(4 bytes\)/);
  // Bytes that are no UTF-8 text are no list, never their byte values.
  await duckdb(`COPY (SELECT * FROM (VALUES ('\\xFF\\xFE\\xFD\\xFC'::BLOB, 'Adelie'), ('[39.1, 18.7, 181, 3750]'::BLOB, 'Adelie')) t(features, species)) TO '${join(dir, 'notutf8.parquet')}' (FORMAT parquet)`);
  assert.equal((await run('notutf8.parquet', 'lists', 'notutf8-out.jsonl')).trim().split('\n').length, 1);
  assert.match(await readFile(join(dir, 'notutf8-out.jsonl.errors.jsonl'), 'utf8'), /"row":1,.*got bytes fffefdfc \(4 bytes\)/);
  await writeFile(join(dir, 'lists', 'bento.yaml'), (await readFile(join(dir, 'lists', 'bento.yaml'), 'utf8')).replace('columns: [features]', 'columns: [features]\n    fill: [43.92, 17.15, 200.92, 4201.75]'));
  // A Parquet LIST column is decoded a chunk at a time, however large its row group and page: DuckDB writes this row
  // group of 2.8M values as one page, which decoded whole would take ~129 MB of the reading thread's 77 MB.
  await duckdb(`COPY (SELECT 'Adelie' AS species, [39.1, 18.7, 181.0, 3750.0]::DOUBLE[] AS features FROM range(700000)) TO '${join(dir, 'big.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)`);
  await writeFile(join(dir, 'job.yaml'), `input: { path: big.parquet }\nmodel: lists\noutput: { path: big-out.csv, keep: [] }\nlimits: { memory: 128 }\n`);
  const big = await runCli(['--log-format', 'text', 'run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(big.code, 0, big.stderr);
  const bigOut = await readFile(join(dir, 'big-out.csv'), 'utf8');
  assert.equal(bigOut.split('\n').length, 700_002);
  assert.equal(new Set(bigOut.trim().split('\n').slice(1)).size, 1);
  // Rows too wide for even a small chunk are refused when the input opens, so validate finds them too and the run
  // writes nothing; the hint's chunk_rows fits.
  await duckdb(`COPY (SELECT 'Adelie' AS species, list_transform(range(300000), x -> 1.5)::DOUBLE[] AS features FROM range(64)) TO '${join(dir, 'wide.parquet')}' (FORMAT parquet)`);
  await writeFile(join(dir, 'job.yaml'), `input: { path: wide.parquet }\nmodel: lists\noutput: { path: wide-out.csv }\nlimits: { memory: 128 }\n`);
  for (const command of ['run', 'validate']) {
    const wide = await runCli(['--log-format', 'text', command, 'job.yaml'], { cwd: dir });
    assert.equal(wide.code, 2, wide.stderr);
    assert.match(wide.stderr, /^error: Row group 1 of .*wide\.parquet holds ~300,000 values a row in its struct and list columns \(features\): a chunk of 64 rows is ~879 MB once decoded, more than the 77 MB of limits\.memory 128 MB the reading thread has\nhint: Raise limits\.memory \(e\.g\. --set limits\.memory=2048MB\), read fewer rows a chunk \(--set input\.chunk_rows=5\)/m);
  }
  assert.equal(existsSync(join(dir, 'wide-out.csv.bento-batch')), false);
  const fewer = await runCli(['--log-format', 'text', 'validate', 'job.yaml', '--set', 'input.chunk_rows=5'], { cwd: dir });
  assert.doesNotMatch(fewer.stderr, /MEMORY_LIMIT|Row group/);
  await writeFile(join(dir, 'gap.jsonl'), '{"species":"Adelie","features":[39.1,null,181,3750]}\n{"species":"Adelie","features":"NA"}\n');
  assert.equal((await run('gap.jsonl', 'lists', 'gap-out.jsonl')).match(/"species_pred":"/g)?.length, 2);
}));

test('lists of floats and doubles kept in a Parquet output (embeddings beside their scores), null, empty and with null elements, NaN and -0: DuckDB reads back the input\'s lists, on the writer thread and inline, in row groups of a few rows', () => withTempDir(async (dir) => {
  await duckdb(`COPY (SELECT *, CASE WHEN k % 11 = 0 THEN NULL WHEN k % 11 = 1 THEN []::FLOAT[] WHEN k % 11 = 2 THEN [NULL, 0.5::FLOAT, -0.0::FLOAT, 'NaN'::FLOAT] ELSE list_transform(range(k % 7 + 1), x -> (sin(k * 7 + x) * 10)::FLOAT) END AS emb,
      CASE WHEN k % 13 = 0 THEN NULL WHEN k % 13 = 1 THEN []::DOUBLE[] WHEN k % 13 = 2 THEN [1e300, NULL, -2.5]::DOUBLE[] ELSE list_transform(range(k % 5 + 1), x -> cos(k + x / 7) * 1e6) END AS vec
    FROM (SELECT *, row_number() OVER () AS k FROM read_csv('${join(fixtures, 'data', 'penguins.csv')}'))) TO '${join(dir, 'in.parquet')}' (FORMAT parquet)`);
  const expected = await duckdb(`SELECT k, emb::VARCHAR AS emb, vec::VARCHAR AS vec FROM '${join(dir, 'in.parquet')}' ORDER BY k`);
  for (const writer of ['thread', 'inline']) {
    await writeFile(join(dir, 'job.yaml'), `input: { path: in.parquet }\nmodel: ${join(fixtures, 'models', 'penguins')}\nbatch: { size: 16 }\noutput: { path: out-${writer}.parquet, keep: [k, emb, vec], writer: ${writer}, parquet: { row_group_rows: 50 } }\n`);
    const result = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const got = await duckdb(`SELECT k, emb::VARCHAR AS emb, vec::VARCHAR AS vec FROM '${join(dir, `out-${writer}.parquet`)}' ORDER BY k`);
    assert.deepEqual(got, expected, writer);
    const types = await duckdb(`SELECT name, type FROM parquet_schema('${join(dir, `out-${writer}.parquet`)}') WHERE name = 'element'`);
    assert.deepEqual(types.map((t) => t.type), ['FLOAT', 'DOUBLE']);
    assert.ok(Number((await duckdb(`SELECT max(row_group_id) AS n FROM parquet_metadata('${join(dir, `out-${writer}.parquet`)}')`))[0]!.n) > 3, 'several row groups');
  }
}));
