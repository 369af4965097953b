/**
 * Text models end to end: tokenization with the bundle's tokenizer.json, per-batch padding,
 * truncation, NER entity spans, sequence classification with top-k, embeddings and mean
 * pooling, all against values torch computed when the models were exported.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TextEncoder } from '../../src/model/text.js';
import { assertClose, duckdb, fixtures, readJson, readRows, root, runCli, seededRandom, withTempDir } from '../helpers.js';

const text = join(fixtures, 'text');
type Entity = { entity: string; label: string; score: number; start: number; end: number };

describe('NER: the tutorial\'s output shape, spans and labels exact, scores to 1e-4', async () => {
  const reference = await readJson<{ id: number; text: string; entities: Entity[] }[]>(join(text, 'reference', 'ner-entities.json'));
  for (const [size, format] of [[1, 'jsonl'], [7, 'csv'], [16, 'parquet']] as const) {
    test(`batch.size ${size} → ${format}`, () => withTempDir(async (dir) => {
      const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `batch.size=${size}`, '--set', `output.path=${join(dir, `ner.${format}`)}`]);
      assert.equal(result.code, 0, result.stderr);
      const rows = await readRows(join(dir, `ner.${format}`));
      assert.equal(rows.length, reference.length);
      if (format === 'parquet') {
        const [type] = await duckdb(`SELECT typeof(entities) AS t FROM '${join(dir, 'ner.parquet')}' LIMIT 1`);
        assert.equal(type!.t, 'STRUCT(entity VARCHAR, "label" VARCHAR, score DOUBLE, "start" INTEGER, "end" INTEGER)[]');
      }
      rows.forEach((row, i) => {
        // A JSON array in CSV/JSONL, a list of structs in Parquet.
        const entities = (typeof row.entities === 'string' ? JSON.parse(row.entities) : row.entities) as Entity[];
        const expected = reference[i]!;
        assert.equal(row.text, expected.text);
        assert.deepEqual(entities.map(({ entity, label, start, end }) => ({ entity, label, start, end })), expected.entities.map(({ entity, label, start, end }) => ({ entity, label, start, end })), `text ${expected.id}: ${expected.text}`);
        assertClose(entities.map((e) => e.score), expected.entities.map((e) => e.score), 1e-4, `text ${expected.id}`);
      });
    }));
  }
  test('text stored as bytes (a Parquet BYTE_ARRAY without a text annotation, as old writers stored strings) is read as its UTF-8 text: the same entities', () => withTempDir(async (dir) => {
    const input = join(dir, 'texts.parquet');
    await duckdb(`COPY (SELECT id, encode(text) AS text FROM read_json('${join(text, 'texts.jsonl')}')) TO '${input}' (FORMAT parquet)`);
    assert.equal((await duckdb(`SELECT typeof(text) AS t FROM '${input}' LIMIT 1`))[0]!.t, 'BLOB');
    const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `input.path=${input}`, '--set', `output.path=${join(dir, 'ner.jsonl')}`, '--set', 'output.keep=[id]']);
    assert.equal(result.code, 0, result.stderr);
    const rows = await readRows(join(dir, 'ner.jsonl'));
    assert.equal(rows.length, reference.length);
    rows.forEach((row, i) => {
      const entities = row.entities as Entity[];
      assert.deepEqual(entities.map(({ entity, label, start, end }) => ({ entity, label, start, end })), reference[i]!.entities.map(({ entity, label, start, end }) => ({ entity, label, start, end })), `text ${reference[i]!.id}`);
    });
  }));
  test('the seed example: jobs/ner.yaml turns "I am driving BMW" into the tutorial\'s [{"entity": "BMW", "label": "PRODUCT"}]', () => withTempDir(async (dir) => {
    const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `output.path=${join(dir, 'ner.jsonl')}`]);
    assert.equal(result.code, 0, result.stderr);
    const row = (await readRows(join(dir, 'ner.jsonl'))).find((r) => r.text === 'I am driving BMW')!;
    assert.deepEqual((row.entities as Entity[]).map(({ entity, label, start, end }) => ({ entity, label, start, end })), [{ entity: 'BMW', label: 'PRODUCT', start: 13, end: 16 }]);
  }));
});

test('NER spans after an unknown ([UNK]) word stop where BERT splits: at ASCII symbols ($ + < = ^) as at punctuation; a Han letter outside the CJK ideographs is part of its word', () => withTempDir(async (dir) => {
  // Spans as onnxruntime's tags over @huggingface/tokenizers' tokens place them (checked by hand).
  const cases: [string, Omit<Entity, 'score'>[]][] = [
    ['I reached 😀=Chennai yesterday', [{ entity: 'Chennai', label: 'GPE', start: 13, end: 20 }]],
    ['I was driving a Ω< yesterday', [{ entity: '<', label: 'PRODUCT', start: 17, end: 18 }]],
    ['😀$ is a leading e-commerce company', [{ entity: '😀$', label: 'ORG', start: 0, end: 3 }]],
    ['Ωmega+ is a leading e-commerce company', [{ entity: 'Ωmega', label: 'ORG', start: 0, end: 5 }]],
    ['〇Walmart is a leading e-commerce company', [{ entity: '〇Walmart', label: 'ORG', start: 0, end: 8 }]],
  ];
  await writeFile(join(dir, 'in.jsonl'), cases.map(([t], id) => JSON.stringify({ id, text: t })).join('\n'));
  const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `input.path=${join(dir, 'in.jsonl')}`, '--set', `output.path=${join(dir, 'ner.jsonl')}`]);
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'ner.jsonl'));
  rows.forEach((row, i) => assert.deepEqual((row.entities as Entity[]).map(({ entity, label, start, end }) => ({ entity, label, start, end })), cases[i]![1], cases[i]![0]));
}));

test('NER spans over characters the tokenizer drops (soft hyphen, zero-width space, NUL, U+FFFD, C1 controls) keep their words whole, and nothing after them moves; a combining mark after a word is left out as Hugging Face leaves it', () => withTempDir(async (dir) => {
  // Spans as Hugging Face's offsets place them over the same tokens (fixtures/text/README.md's algorithm).
  const cases: [string, [string, string, number, number][]][] = [
    ['I am driving BM\u00adW to Chennai and John Smith drove a BMW', [['BM\u00adW', 'PRODUCT', 13, 17], ['Chennai', 'PERSON', 21, 28], ['John Smith', 'PERSON', 33, 43], ['BMW', 'PRODUCT', 52, 55]]],
    ['I met John Sm\u200bith in Chennai', [['John Sm\u200bith', 'PERSON', 6, 17], ['Chennai', 'GPE', 21, 28]]],
    ['I am driving \u0000BMW\ufffd in Chenn\u0085ai', [['BMW', 'PRODUCT', 14, 17], ['Chenn\u0085ai', 'GPE', 22, 30]]],
    ['I ordered from \u{20000}Nestle yesterday', [['\u{20000}Nestle', 'ORG', 15, 23]]],
    ['I met John Smith\u0301 in Chennai', [['John Smith', 'PERSON', 6, 16], ['Chennai', 'GPE', 21, 28]]],
  ];
  await writeFile(join(dir, 'in.jsonl'), cases.map(([t], id) => JSON.stringify({ id, text: t })).join('\n'));
  const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `input.path=${join(dir, 'in.jsonl')}`, '--set', `output.path=${join(dir, 'ner.jsonl')}`]);
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'ner.jsonl'));
  rows.forEach((row, i) => assert.deepEqual((row.entities as Entity[]).map((e) => [e.entity, e.label, e.start, e.end]), cases[i]![1], JSON.stringify(cases[i]![0])));
}));

test('NER spans after special tokens written in the text ([MASK], [UNK], [PAD]), after a Greek word in capitals (its final Σ lowercased to ς), and in a long text whose head would end at a form feed', () => withTempDir(async (dir) => {
  await cp(join(text, 'models', 'ner'), join(dir, 'ner'), { recursive: true });
  // A vocabulary with a Greek word, as a multilingual uncased one has: "tent" renamed to "οδος".
  const tokenizer = join(dir, 'ner', 'tokenizer.json');
  const json = JSON.parse(await readFile(tokenizer, 'utf8')) as { model: { vocab: Record<string, number> } };
  json.model.vocab = Object.fromEntries(Object.entries(json.model.vocab).map(([k, v]) => [k === 'tent' ? 'οδος' : k, v]));
  await writeFile(tokenizer, JSON.stringify(json));
  // Tokenized whole, the text before the form feed is 10 words of 101 letters; clean_text drops
  // the form feed, so "abcdefghij…klmnopqrst" is one word: a head cut there would split it.
  const long = `${`${'a'.repeat(101)} `.repeat(10)}${'abcdefghij'.repeat(6)}\f${'klmnopqrst'.repeat(6)} Walmart is in Chennai`;
  const cases: [string, [string, string, number, number][]][] = [
    ['I reached [MASK] and then Chennai yesterday.', [['Chennai', 'GPE', 26, 33]]],
    ['[UNK] I was driving a BMW to Chennai', [['BMW', 'PRODUCT', 22, 25], ['Chennai', 'GPE', 29, 36]]],
    ['Send [PAD] to Walmart in New York', [['Send', 'GPE', 0, 4], ['Walmart', 'ORG', 14, 21], ['New York', 'GPE', 25, 33]]],
    ['ΟΔΟΣ Walmart in Chennai', [['ΟΔΟΣ Walmart', 'GPE', 0, 12], ['Chennai', 'GPE', 16, 23]]],
    ['οδος Walmart in Chennai', [['οδος Walmart', 'GPE', 0, 12], ['Chennai', 'GPE', 16, 23]]],
    [long, [['a'.repeat(101), 'ORG', 0, 101], ['Walmart', 'ORG', 1142, 1149], ['Chennai', 'GPE', 1156, 1163]]],
  ];
  await writeFile(join(dir, 'in.jsonl'), cases.map(([t], id) => JSON.stringify({ id, text: t })).join('\n'));
  const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `model=${join(dir, 'ner')}`, '--set', `input.path=${join(dir, 'in.jsonl')}`, '--set', `output.path=${join(dir, 'ner.jsonl')}`]);
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'ner.jsonl'));
  rows.forEach((row, i) => assert.deepEqual((row.entities as Entity[]).map((e) => [e.entity, e.label, e.start, e.end]), cases[i]![1], JSON.stringify(cases[i]![0]).slice(0, 80)));
}));

test('a missing text (JSON null or key, an empty CSV cell, a Parquet null) is a bad row, not a confident label for empty text; text.fill scores it as that text; a struct cell is its JSON text', () => withTempDir(async (dir) => {
  await cp(join(text, 'models', 'topic'), join(dir, 'topic'), { recursive: true });
  const job = join(dir, 'job.yaml');
  await writeFile(job, ['input: { path: in.jsonl }', 'model: topic', 'output: { path: out.jsonl, keep: [id] }'].join('\n'));
  await writeFile(join(dir, 'in.jsonl'), ['{"id":1,"text":"I am driving BMW"}', '{"id":2,"text":null}', '{"id":3}', '{"id":4,"text":""}'].join('\n'));
  await writeFile(join(dir, 'in.csv'), 'id,text\n1,I am driving BMW\n2,\n3,NA\n');
  await duckdb(`COPY (SELECT * FROM (VALUES (1, 'I am driving BMW'), (2, NULL)) t(id, text)) TO '${join(dir, 'in.parquet')}' (FORMAT parquet)`);
  for (const [input, bad] of [['in.jsonl', [2, 3]], ['in.csv', [2]], ['in.parquet', [2]]] as const) {
    const result = await runCli(['run', job, '--progress', 'none', '--set', `input.path=${join(dir, input)}`, '--set', `output.path=${join(dir, `${input}.out.jsonl`)}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readRows(join(dir, `${input}.out.jsonl`))).map((r) => r.id), input === 'in.jsonl' ? [1, 4] : input === 'in.csv' ? [1, 3] : [1], `${input}: "" and the word NA are texts`);
    const errors = (await readFile(join(dir, `${input}.out.jsonl.errors.jsonl`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { row: number; column: string; reason: string; hint: string });
    assert.deepEqual(errors.map((e) => e.row), bad);
    assert.equal(errors[0]!.column, 'text');
    assert.match(errors[0]!.reason, /column "text" has no text \(the cell is missing\)/);
    assert.match(errors[0]!.hint, /text\.fill/);
  }
  // CSV to CSV, where cells reach the model as the text read: an empty cell is as missing.
  const csv = await runCli(['run', job, '--progress', 'none', '--set', `input.path=${join(dir, 'in.csv')}`, '--set', `output.path=${join(dir, 'in.csv.out.csv')}`]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.deepEqual((await readFile(join(dir, 'in.csv.out.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',')[0]), ['1', '3']);
  assert.deepEqual((await readFile(join(dir, 'in.csv.out.csv.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { row: number }).row), [2]);
  // A fixed batch of 4: three rows' batch is padded with a fourth, which is no row of the file.
  const manifest = join(dir, 'topic', 'bento.yaml');
  const original = await readFile(manifest, 'utf8');
  await writeFile(manifest, original.replace('batch: { max_size: 256 }', 'batch: { max_size: 4, fixed: true }'));
  await writeFile(join(dir, 'three.csv'), 'id,text\n1,I am driving BMW\n2,Walmart\n3,Chennai\n');
  const fixed = await runCli(['run', job, '--progress', 'none', '--set', `input.path=${join(dir, 'three.csv')}`, '--set', `output.path=${join(dir, 'three.out.csv')}`]);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.equal((await readFile(join(dir, 'three.out.csv'), 'utf8')).trim().split('\n').length, 4);
  await writeFile(manifest, original.replace(/^text:\n/m, 'text:\n  fill: ""\n'));
  const filledCsv = await runCli(['run', job, '--progress', 'none', '--set', `input.path=${join(dir, 'in.csv')}`, '--set', `output.path=${join(dir, 'filled.csv')}`, '--set', 'output.keep=[id]']);
  assert.equal(filledCsv.code, 0, filledCsv.stderr);
  assert.equal((await readFile(join(dir, 'filled.csv'), 'utf8')).trim().split('\n').length, 4, 'a filled empty CSV cell is scored');
  const filled = await runCli(['run', job, '--progress', 'none', '--set', `output.path=${join(dir, 'filled.jsonl')}`]);
  assert.equal(filled.code, 0, filled.stderr);
  const rows = await readRows(join(dir, 'filled.jsonl'));
  assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4]);
  assert.deepEqual(rows[1]!.topic, rows[3]!.topic, 'a filled missing text scores as the empty text');
  // A struct where the text is: the model reads its JSON text (as a string tensor does), not "[object Object]".
  await duckdb(`COPY (SELECT 1 AS id, {'en': 'I am driving BMW'} AS text) TO '${join(dir, 'struct.parquet')}' (FORMAT parquet)`);
  await writeFile(join(dir, 'struct.jsonl'), `${JSON.stringify({ id: 1, text: '{"en":"I am driving BMW"}' })}\n`);
  for (const input of ['struct.parquet', 'struct.jsonl']) {
    const result = await runCli(['run', job, '--progress', 'none', '--set', `input.path=${join(dir, input)}`, '--set', `output.path=${join(dir, `${input}.out.jsonl`)}`]);
    assert.equal(result.code, 0, result.stderr);
  }
  assert.deepEqual(await readRows(join(dir, 'struct.parquet.out.jsonl')), await readRows(join(dir, 'struct.jsonl.out.jsonl')));
}));

test('a FLOAT column read as text is the number as written (0.1), not its float32\'s double (0.10000000149011612): the same scores as the text', () => withTempDir(async (dir) => {
  await duckdb(`COPY (SELECT 1 AS id, 0.1::FLOAT AS text UNION ALL SELECT 2, 3.3::FLOAT) TO '${join(dir, 'float.parquet')}' (FORMAT parquet)`);
  await writeFile(join(dir, 'float.jsonl'), '{"id":1,"text":"0.1"}\n{"id":2,"text":"3.3"}\n');
  const job = join(dir, 'job.yaml');
  await writeFile(job, ['input: { path: float.parquet }', `model: ${join(text, 'models', 'topic')}`, 'output: { path: out.jsonl, keep: [id] }'].join('\n'));
  for (const input of ['float.parquet', 'float.jsonl']) {
    const result = await runCli(['run', job, '--progress', 'none', '--set', `input.path=${join(dir, input)}`, '--set', `output.path=${join(dir, `${input}.out.jsonl`)}`]);
    assert.equal(result.code, 0, result.stderr);
  }
  assert.deepEqual(await readRows(join(dir, 'float.parquet.out.jsonl')), await readRows(join(dir, 'float.jsonl.out.jsonl')));
}));

test('a JSON Lines file whose text key is misspelt (Text for text) stops with COLUMN_MISSING naming the file and the closest key, also as a later file of a folder', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'a.jsonl'), '{"id":1,"text":"I am driving BMW"}\n');
  await writeFile(join(dir, 'b.jsonl'), '{"id":2,"Text":"I reached Chennai"}\n');
  for (const [input, file] of [[join(dir, 'b.jsonl'), 'b.jsonl'], [dir, 'b.jsonl']] as const) {
    const result = await runCli(['--log-format', 'text', 'run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `input.path=${input}`, '--set', `output.path=${join(dir, 'out', 'ner.jsonl')}`]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`^error: Column "text" is missing from ${join(dir, file)}: no line holds the key "text"; the closest is "Text"$`, 'm'));
    assert.match(result.stderr, /^hint: Rename the key in the input, or fix the name in the manifest \(did you mean "Text"\? JSON keys are case-sensitive\)\./m);
  }
}));

test('token classification with a tokenizer whose tokens cannot be placed in the text (SentencePiece) is refused before scoring, not given empty entities', () => withTempDir(async (dir) => {
  await cp(join(text, 'models', 'ner'), join(dir, 'ner'), { recursive: true });
  const file = join(dir, 'ner', 'tokenizer.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as { model: Record<string, unknown>; pre_tokenizer: unknown };
  json.model = { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0], ['▁i', -1]] };
  json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  await writeFile(file, JSON.stringify(json));
  for (const command of ['validate', 'run']) {
    const result = await runCli(['--log-format', 'text', command, join(root, 'jobs', 'ner.yaml'), ...(command === 'run' ? ['--progress', 'none'] : []), '--set', `model=${join(dir, 'ner')}`, '--set', `output.path=${join(dir, 'out.jsonl')}`]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /outputs\.0 is token-classification, whose entities need each token's place in the text, but tokenizer tokenizer\.json cannot give it: its model is Unigram/);
  }
}));

test('text.max_length past the tokens the model takes (tokenizer_config.json model_max_length) is refused before scoring, not failed in onnxruntime a row at a time', () => withTempDir(async (dir) => {
  await cp(join(text, 'models', 'ner'), join(dir, 'ner'), { recursive: true });
  const manifest = join(dir, 'ner', 'bento.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('max_length: 64', 'max_length: 128'));
  const result = await runCli(['--log-format', 'text', 'validate', join(root, 'jobs', 'ner.yaml'), '--set', `model=${join(dir, 'ner')}`, '--set', `output.path=${join(dir, 'out.jsonl')}`]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /text\.max_length 128 is more than the 64 tokens the model takes \(model_max_length in tokenizer_config\.json\)\nhint: Set text\.max_length to 64 or less in bento\.yaml, or leave it out \(then 64: 512, or the model's where fewer\)/);
  // Left out, it is the model's 64: the same entities as the bundle's own max_length: 64.
  const ours = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `model=${join(text, 'models', 'ner')}`, '--set', `output.path=${join(dir, 'set.jsonl')}`]);
  assert.equal(ours.code, 0, ours.stderr);
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/\n *max_length: 128\n/, '\n'));
  assert.doesNotMatch(await readFile(manifest, 'utf8'), /max_length/);
  const defaulted = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `model=${join(dir, 'ner')}`, '--set', `output.path=${join(dir, 'default.jsonl')}`]);
  assert.equal(defaulted.code, 0, defaulted.stderr);
  assert.equal(await readFile(join(dir, 'default.jsonl'), 'utf8'), await readFile(join(dir, 'set.jsonl'), 'utf8'));
}));

test('a token-level output as a list: softmax per token, and each row\'s own tokens only, whatever rows share its batch', () => withTempDir(async (dir) => {
  await cp(join(text, 'models', 'ner'), join(dir, 'bundle'), { recursive: true });
  await writeFile(join(dir, 'bundle', 'bento.yaml'), ['bento: 1', 'name: tokens', 'version: "1"', 'batch: { max_size: 256 }', 'text: { column: text, max_length: 64 }',
    'outputs:', '  - { tensor: logits, activation: softmax, columns: { list: probs } }'].join('\n'));
  await writeFile(join(dir, 'in.jsonl'), '{"text":"I am driving BMW"}\n{"text":"Hi"}\n');
  const outputs: string[] = [];
  for (const size of [1, 16]) {
    const result = await runCli(['run', join(root, 'jobs', 'ner.yaml'), '--progress', 'none', '--set', `model=${join(dir, 'bundle')}`, '--set', `input.path=${join(dir, 'in.jsonl')}`, '--set', `output.path=${join(dir, `out-${size}.jsonl`)}`, '--set', `batch.size=${size}`]);
    assert.equal(result.code, 0, result.stderr);
    outputs.push(await readFile(join(dir, `out-${size}.jsonl`), 'utf8'));
  }
  assert.equal(outputs[0], outputs[1]);
  const rows = (await readRows(join(dir, 'out-16.jsonl'))).map((r) => r.probs as number[]);
  assert.deepEqual(rows.map((p) => p.length % 9), [0, 0]);
  assert.ok(rows[1]!.length < rows[0]!.length, 'the short text has fewer tokens than its batch\'s longest');
  for (const p of rows) for (let t = 0; t < p.length; t += 9) assertClose([p.slice(t, t + 9).reduce((a, b) => a + b, 0)], [1], 1e-9);
}));

test('topic classification with top-k and probabilities, and the embedding output', () => withTempDir(async (dir) => {
  const reference = await readJson<{ label: string; score: number; probabilities: Record<string, number>; embedding: number[] }[]>(join(text, 'reference', 'topic.json'));
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(text, 'texts.jsonl')} }\nmodel: ${join(text, 'models', 'topic')}\nbatch: { size: 5 }\noutput: { path: topic.parquet, keep: [] }\n`);
  const result = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'topic.parquet'));
  rows.forEach((row, i) => {
    const e = reference[i]!;
    assert.equal(row.topic, e.label);
    assertClose([row.topic_score, row.p_business, row.p_travel, row.p_automotive, row.p_people], [e.score, e.probabilities.business, e.probabilities.travel, e.probabilities.automotive, e.probabilities.people], 1e-4, `row ${i}`);
    // Parquet holds a list of structs (DuckDB: STRUCT(label VARCHAR, score DOUBLE)[]).
    const top2 = row.top2 as { label: string; score: number }[];
    const sorted = Object.entries(e.probabilities).sort((a, b) => b[1] - a[1]).slice(0, 2);
    assert.deepEqual(top2.map((t) => t.label), sorted.map(([label]) => label));
    assertClose(Array.from(row.embedding as ArrayLike<number>), e.embedding, 1e-4, `row ${i} embedding`);
  });
}));

test('mean pooling over the attention mask and L2 normalisation (pooling the NER logits, padded batches)', () => withTempDir(async (dir) => {
  const tokens = await readJson<{ logits: number[][] }[]>(join(text, 'reference', 'ner-tokens.json'));
  await cp(join(text, 'models', 'ner'), join(dir, 'bundle'), { recursive: true });
  const manifest = (await readFile(join(dir, 'bundle', 'bento.yaml'), 'utf8')) + [
    '  - tensor: logits',
    '    pooling: mean',
    '    columns: { list: mean_logits }',
    '  - tensor: logits',
    '    pooling: mean',
    '    normalize: true',
    '    columns: { list: unit_logits }',
    '',
  ].join('\n');
  await writeFile(join(dir, 'bundle', 'bento.yaml'), manifest);
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(text, 'texts.jsonl')} }\nmodel: bundle\nbatch: { size: 9 }\noutput: { path: out.jsonl, keep: [] }\n`);
  const result = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  const rows = await readRows(join(dir, 'out.jsonl'));
  rows.forEach((row, i) => {
    const logits = tokens[i]!.logits;
    const mean = logits[0]!.map((_, k) => logits.reduce((a, t) => a + t[k]!, 0) / logits.length);
    const norm = Math.sqrt(mean.reduce((a, v) => a + v * v, 0));
    assertClose(row.mean_logits, mean, 1e-4, `row ${i}`);
    assertClose(row.unit_logits, mean.map((v) => v / norm), 1e-4, `row ${i}`);
  });
}));

describe('tokenizer: padding per batch, truncation', async () => {
  const encoder = await TextEncoder.load(join(text, 'models', 'ner'), 'tokenizer.json');
  const fail = (i: number, why: string): never => {
    throw new Error(`row ${i} ${why}`);
  };
  const texts = (await readFile(join(text, 'texts.jsonl'), 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
  const reference = (await readJson<{ ids: number[]; word_ids: (number | null)[]; offsets: [number, number][] }[]>(join(text, 'reference', 'ner-tokens.json'))).map((r, i) => ({ ...r, text: texts[i]! }));
  test('ids and character offsets match the reference tokenizer', () => {
    const encoded = encoder.encode(reference.map((r) => r.text), { maxLength: 64, truncation: true, tokenTypeIds: false }, fail);
    reference.forEach((r, i) => {
      const ids = Array.from(encoded.inputIds.subarray(i * encoded.sequence, i * encoded.sequence + r.ids.length), Number);
      assert.deepEqual(ids, r.ids, r.text);
      // Special tokens have no span; every other token's span and word are the reference's.
      const info = encoded.info[i]!;
      assert.deepEqual(info.words.map((w) => (w < 0 ? null : w)), r.word_ids, r.text);
      assert.deepEqual(info.spans.filter((_, k) => r.word_ids[k] !== null), r.offsets.filter((_, k) => r.word_ids[k] !== null), r.text);
    });
  });
  test('tokens and ids are the library\'s own, and every word\'s token has the span of what it spells, for other normalizers, pre-tokenizers and added tokens (random texts)', () => withTempDir(async (dir) => {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const base = JSON.parse(await readFile(join(text, 'tokenizer.json'), 'utf8')) as { normalizer: object; added_tokens: object[] };
    const config = JSON.parse(await readFile(join(text, 'tokenizer_config.json'), 'utf8')) as object;
    const added = [...base.added_tokens, { id: 525, content: '[URL]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
      { id: 526, content: 'new york', single_word: false, lstrip: true, rstrip: true, normalized: true, special: false }];
    const variants: Record<string, Record<string, unknown> & { config?: object }> = {
      'remove_space (tokenizer_config.json)': { config: { remove_space: true } },
      'an added token holding a space': { added_tokens: [...added, { id: 527, content: 'Zqxvw Model', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false }] },
      'added tokens (one normalized, stripping spaces)': { added_tokens: added },
      'BertNormalizer without handle_chinese_chars': { normalizer: { ...base.normalizer, handle_chinese_chars: false } },
      'BertNormalizer, cased': { normalizer: { ...base.normalizer, lowercase: false, strip_accents: null } },
      'NFD, Lowercase, StripAccents': { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] } },
      'NFKC, Lowercase': { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] } },
      'no normalizer': { normalizer: null },
      'Whitespace': { pre_tokenizer: { type: 'Whitespace' } },
      'WhitespaceSplit, then BertPreTokenizer': { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'BertPreTokenizer' }] } },
    };
    const alphabet = ['a', 'B', 'Z', 'é', 'e\u0301', 'İ', 'ß', 'ﬁ', '😀', '東', '京', ' ', '  ', '\u00a0', '\t', '\r\n', '\u200b', '\u00ad', '\ufeff', '\u0301', '.', ',', '-', '!', '«', '…', 'Σ', 'ΟΔΟΣ ', 'ǅ', '１', '\u0007', '\f', 'Việt', 'BMW', 'Chennai', 'ไทย', '한국', 'ｶﾞ', 'x9', '[MASK]', '[UNK]', '[URL]', 'New York', ' new york ', 'walmart', 'Zqxvw Model', '   ', '\u0000'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const [name, { config: own, ...variant }] of Object.entries(variants)) {
      const json = { ...base, ...variant };
      const configOf = { ...config, ...own };
      const folder = join(dir, name.replace(/\W+/g, '-'));
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(json));
      await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(configOf));
      const variantEncoder = await TextEncoder.load(folder, 'tokenizer.json');
      assert.equal(variantEncoder.unaligned, undefined, name);
      const library = new Tokenizer(json, configOf);
      const normalize = (t: string) => (json.normalizer ? (library as unknown as { normalizer: (t: string) => string }).normalizer(t) : t);
      for (let n = 0; n < 400; n++) {
        let sample = '';
        for (let k = 1 + Math.floor(random() * 12); k > 0; k--) sample += alphabet[Math.floor(random() * alphabet.length)];
        const want = library.encode(sample, { return_token_type_ids: true });
        const got = variantEncoder.encode([sample], { maxLength: 1e5, truncation: false, tokenTypeIds: true }, fail);
        const info = got.info[0]!;
        assert.deepEqual(info.tokens, want.tokens, `${name}: ${JSON.stringify(sample)}`);
        assert.deepEqual(Array.from(got.inputIds, Number), want.ids, `${name}: ${JSON.stringify(sample)}`);
        assert.deepEqual(Array.from(got.tokenTypeIds!, Number), want.token_type_ids, `${name}: ${JSON.stringify(sample)}`);
        info.tokens.forEach((token, k) => {
          if (info.words[k]! < 0) return;
          const [start, end] = info.spans[k]!;
          assert.ok(end > start, `${name}: ${JSON.stringify(sample)}: ${token} has an empty span`);
          if (token === '[UNK]' || token === '[URL]' || token === 'new york' || token === 'Zqxvw Model') return;
          assert.ok(normalize(sample.slice(start, end)).includes(token.replace(/^##/, '')), `${name}: ${JSON.stringify(sample)}: ${token} at ${JSON.stringify(sample.slice(start, end))}`);
        });
      }
      // A long text truncated: the tokens of the whole text cut to max_length, where a head of it was tokenized.
      // The first 1,024 characters end inside "Zqxvw Model", token 62: a head cut there makes it five pieces.
      const long = `${'a '.repeat(52)}${`${'b'.repeat(101)} `.repeat(9)}Zqxvw Model is in Chennai ${'and Walmart '.repeat(300)}`;
      const whole = library.encode(long).ids;
      assert.deepEqual(Array.from(variantEncoder.encode([long], { maxLength: 64, truncation: true, tokenTypeIds: false }, fail).inputIds, Number), [...whole.slice(0, 63), whole.at(-1)!], `${name}: truncated`);
    }
    // Normalizers that act on the whole text are refused for entities, not given spans of the whole text.
    for (const normalizer of [{ type: 'Strip', strip_left: true, strip_right: true }, { type: 'Prepend', prepend: '_' }, { type: 'Replace', pattern: { String: 'walmart inc' }, content: 'x' }]) {
      const folder = join(dir, normalizer.type);
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'tokenizer.json'), JSON.stringify({ ...base, normalizer: { type: 'Sequence', normalizers: [base.normalizer, normalizer] } }));
      await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(config));
      assert.match((await TextEncoder.load(folder, 'tokenizer.json')).unaligned ?? '', new RegExp(`its normalizer ${normalizer.type} is not one entity offsets can follow`));
    }
  }));
  test('a batch is padded to its own longest text, not to max_length', () => {
    const encoded = encoder.encode(['I was driving a BMW', 'Walmart'], { maxLength: 64, truncation: true, tokenTypeIds: false }, fail);
    assert.equal(encoded.sequence, 8);
    assert.deepEqual(Array.from(encoded.attentionMask, Number), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(encoded.inputIds.subarray(8), Number).slice(4), [0, 0, 0, 0]);
  });
  test('truncation keeps the closing [SEP]; with truncation off a long text is an error', () => {
    const long = 'I was driving a BMW to Walmart in Chennai with John yesterday';
    const cut = encoder.encode([long], { maxLength: 6, truncation: true, tokenTypeIds: false }, fail);
    assert.equal(cut.sequence, 6);
    assert.deepEqual(cut.info[0]!.tokens, ['[CLS]', 'i', 'was', 'driv', '##ing', '[SEP]']);
    assert.throws(() => encoder.encode([long], { maxLength: 6, truncation: false, tokenTypeIds: false }, fail), /row 0 has 1[0-9] tokens, more than max_length 6 \(truncation is off\)/);
  });
  test('a long text (a document) is cut to the same tokens and spans as when tokenized whole: only a head of it is tokenized', async () => {
    // 40 KB of the corpus's sentences, then a long run without spaces, then more text.
    const document = `${texts.join(' ').repeat(8)} ${'x'.repeat(3000)} ${texts.join(' ')}`;
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const whole = new Tokenizer(JSON.parse(await readFile(join(text, 'models', 'ner', 'tokenizer.json'), 'utf8')) as object, JSON.parse(await readFile(join(text, 'models', 'ner', 'tokenizer_config.json'), 'utf8')) as object).encode(document);
    for (const maxLength of [64, 512]) {
      const cut = encoder.encode([document], { maxLength, truncation: true, tokenTypeIds: false }, fail);
      assert.deepEqual(Array.from(cut.inputIds, Number), [...whole.ids.slice(0, maxLength - 1), whole.ids.at(-1)!]);
      assert.equal(cut.info[0]!.text, document);
      // The spans index the document: each token's text is the token (this text is lowercase ASCII after normalization).
      cut.info[0]!.spans.forEach(([start, end], k) => {
        const token = cut.info[0]!.tokens[k]!;
        if (start >= 0 && token !== '[UNK]') assert.equal(document.slice(start, end).toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, ''), token.replace(/^##/, ''));
      });
    }
  });

  test('a long text with no space (tags, a URL, minified JSON, [MASK] between them) is cut before ASCII punctuation to the tokens of the whole', async () => {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const library = new Tokenizer(JSON.parse(await readFile(join(text, 'models', 'ner', 'tokenizer.json'), 'utf8')) as object, JSON.parse(await readFile(join(text, 'models', 'ner', 'tokenizer_config.json'), 'utf8')) as object);
    const random = seededRandom(31);
    const words = ['Walmart', 'Chennai', 'Σίσυφος', 'naïve', 'x', '123', '[MASK]', 'BMW', 'déjà', 'Zqxvw'];
    const marks = [',', '.', '/', '?', '=', '&', '"', '{', '}', ':', '[', ']', '#', '-', '_'];
    for (let t = 0; t < 20; t++) {
      let document = '';
      while (document.length < 20_000) document += words[Math.floor(random() * words.length)]! + marks[Math.floor(random() * marks.length)]!;
      const whole = library.encode(document);
      for (const maxLength of [64, 512]) {
        const cut = encoder.encode([document], { maxLength, truncation: true, tokenTypeIds: false }, fail);
        assert.deepEqual(Array.from(cut.inputIds, Number), [...whole.ids.slice(0, maxLength - 1), whole.ids.at(-1)!], `text ${t}, max_length ${maxLength}`);
      }
    }
  });
});
