/**
 * Text models end to end: tokenization with the bundle's tokenizer.json, per-batch padding,
 * truncation, NER entity spans, sequence classification with top-k, embeddings and mean
 * pooling, all against values torch computed when the models were exported.
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TextEncoder } from '../../src/model/text.js';
import { assertClose, duckdb, fixtures, readJson, readRows, root, runCli, withTempDir } from '../helpers.js';

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
});
