/**
 * Models as torch.onnx.export writes them (fixtures/models/exports, made by its generate.py),
 * packed and run as a user would, their predictions checked against torch's own.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixtures, readJson, runCli, withTempDir } from '../helpers.js';

const exports = join(fixtures, 'models', 'exports');
const text = join(fixtures, 'text');

/** `bento-batch pack` into `dir/bundle`, asserting it worked. */
async function pack(dir: string, model: string, ...args: string[]): Promise<string> {
  const bundle = join(dir, 'bundle');
  const packed = await runCli(['pack', join(exports, model), '--name', 'm', '--version', '1', '--output', bundle, ...args]);
  assert.equal(packed.code, 0, packed.stderr);
  return bundle;
}

const jsonLines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

test('a regressor ending in .squeeze() scores a one-row batch (a scalar from onnxruntime) and a one-row file, and a row it fails on is a bad row', () => withTempDir(async (dir) => {
  await pack(dir, 'squeeze.onnx', '--columns', 'x=bill_length_mm,bill_depth_mm,flipper_length_mm', '--columns', 'island=island_id');
  // 257 rows: the last batch of 256 has one.
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(exports, 'squeeze.csv')} }\nmodel: bundle\noutput: { path: out.jsonl, keep: [price_torch] }\n`);
  const run = await runCli(['run', 'job.yaml'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const rows = await jsonLines(join(dir, 'out.jsonl'));
  assert.equal(rows.length, 257);
  for (const row of rows) assert.ok(Math.abs((row.price as number) - (row.price_torch as number)) <= 1e-5 * Math.abs(row.price_torch as number), JSON.stringify(row));
  const lines = (await readFile(join(exports, 'squeeze.csv'), 'utf8')).trim().split('\n');
  await writeFile(join(dir, 'one.csv'), `${lines[0]}\n${lines[1]}\n`);
  const one = await runCli(['run', 'job.yaml', '--set', 'input.path=one.csv', '--set', 'output.path=one.jsonl'], { cwd: dir });
  assert.equal(one.code, 0, one.stderr);
  assert.equal((await jsonLines(join(dir, 'one.jsonl'))).length, 1);
  // Island 7 is past the embedding's 3: onnxruntime fails on that row, found alone by halving the batch down to one row.
  await writeFile(join(dir, 'bad.csv'), lines.slice(0, 21).map((l, i) => (i === 5 ? l.replace(/,\d,([^,]+)$/, ',7,$1') : l)).join('\n'));
  const bad = await runCli(['run', 'job.yaml', '--set', 'input.path=bad.csv', '--set', 'output.path=bad.jsonl'], { cwd: dir });
  assert.equal(bad.code, 0, bad.stderr);
  assert.equal((await jsonLines(join(dir, 'bad.jsonl'))).length, 19);
  const [error] = await jsonLines(join(dir, 'bad.jsonl.errors.jsonl'));
  assert.equal(error!.row, 5);
  assert.equal(error!.code, 'MODEL_RUN');
  // onnxruntime's message whole, on one line: its first line alone does not say which index.
  assert.match(error!.reason as string, /failed on .*bad\.csv row 5: .*Gather.*idx=7 must be within the inclusive range \[-3,2\]/);
  // The last batch of 257 rows is that bad row alone: it can end before the first batch does, and is still the data's fault.
  await writeFile(join(dir, 'badlast.csv'), lines.map((l, i) => (i === 257 ? l.replace(/,\d,([^,]+)$/, ',7,$1') : l)).join('\n'));
  const badLast = await runCli(['run', 'job.yaml', '--set', 'input.path=badlast.csv', '--set', 'output.path=badlast.jsonl'], { cwd: dir });
  assert.equal(badLast.code, 0, badLast.stderr);
  assert.equal((await jsonLines(join(dir, 'badlast.jsonl'))).length, 256);
  assert.equal((await jsonLines(join(dir, 'badlast.jsonl.errors.jsonl')))[0]!.row, 257);
  // validate and --dry-run score their sample as a run does: the row is a warning, not a bug in bento-batch.
  for (const args of [['validate', 'job.yaml'], ['run', '--dry-run', 'job.yaml']]) {
    const checked = await runCli(['--log-format', 'text', ...args, '--set', 'input.path=bad.csv'], { cwd: dir });
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr, /^warn: Model m failed on .*bad\.csv row 5: .*; a run lists the row in .* and scores the others$/m);
    assert.match(checked.stderr, /^check +model ran on the first 8 row\(s\): ok \(1 bad, see above\)$/m);
  }
  // Every row of the sample failing is the model's problem: exit 4, named, as a run's first batch.
  await writeFile(join(dir, 'allbad.csv'), lines.slice(0, 4).map((l, i) => (i > 0 ? l.replace(/,\d,([^,]+)$/, ',9,$1') : l)).join('\n'));
  const allBad = await runCli(['--log-format', 'text', 'validate', 'job.yaml', '--set', 'input.path=allbad.csv'], { cwd: dir });
  assert.equal(allBad.code, 4, allBad.stderr);
  assert.match(allBad.stderr, /^error: Model m failed on .*allbad\.csv row 1: /m);
}));

const tokenManifest = (inputs: string, output: string) => `bento: 1\nname: m\nversion: "1"\nbatch: { max_size: 64 }\n${inputs}outputs:\n  - { tensor: last_hidden_state, ${output}columns: { list: embedding } }\n`;
const idColumns = (prefix: string) => Array.from({ length: 16 }, (_, k) => `${prefix}${k}`).join(', ');

test('pooling: mean over token ids read from columns skips the padding the attention_mask input marks, as torch\'s masked mean does', () => withTempDir(async (dir) => {
  const inputs = `inputs:\n  - { tensor: input_ids, dtype: int64, shape: [batch, 16], columns: [${idColumns('t')}] }\n  - { tensor: attention_mask, dtype: int64, shape: [batch, 16], columns: [${idColumns('m')}] }\n`;
  await writeFile(join(dir, 'manifest.yaml'), tokenManifest(inputs, 'pooling: mean, '));
  await pack(dir, 'tokens16.onnx', '--manifest', join(dir, 'manifest.yaml'));
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(exports, 'tokens.csv')} }\nmodel: bundle\nbatch: { size: 4 }\noutput: { path: out.jsonl, keep: [mean_torch] }\n`);
  const run = await runCli(['run', 'job.yaml'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const rows = await jsonLines(join(dir, 'out.jsonl'));
  assert.equal(rows.length, 10);
  for (const row of rows) {
    const torch = JSON.parse(row.mean_torch as string) as number[];
    (row.embedding as number[]).forEach((v, k) => assert.ok(Math.abs(v - torch[k]!) < 1e-6, `${v} vs ${torch[k]} in ${JSON.stringify(row)}`));
  }
  // A mask named otherwise is named in the manifest; one that is not an input is refused.
  await writeFile(join(dir, 'manifest.yaml'), tokenManifest(inputs.replace('attention_mask, dtype', 'attention_mask, dtype'), 'pooling: mean, mask: input_mask, '));
  const refused = await runCli(['--log-format', 'text', 'pack', join(exports, 'tokens16.onnx'), '--name', 'm', '--manifest', join(dir, 'manifest.yaml'), '--output', join(dir, 'b2')]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /outputs\.0\.mask: "input_mask" is not one of the inputs \(input_ids, attention_mask\)/);
}));

test('a text model exported with a fixed sequence length (padding="max_length") gets every text padded to it, and the same embeddings as its dynamic export', () => withTempDir(async (dir) => {
  const manifest = (maxLength: string) => tokenManifest(`text: { column: text, tokenizer: tokenizer.json, input_ids: input_ids, attention_mask: attention_mask, truncation: true${maxLength} }\n`, 'pooling: mean, ');
  const tokenizer = ['--file', join(text, 'tokenizer.json'), '--file', join(text, 'tokenizer_config.json')];
  const embeddings: number[][][] = [];
  for (const [model, maxLength] of [['tokens16.onnx', ''], ['tokens.onnx', ', max_length: 16']] as const) {
    await writeFile(join(dir, 'manifest.yaml'), manifest(maxLength));
    const packed = await runCli(['pack', join(exports, model), '--name', 'm', '--version', '1', '--manifest', join(dir, 'manifest.yaml'), '--output', join(dir, model), ...tokenizer]);
    assert.equal(packed.code, 0, packed.stderr);
    await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(text, 'texts.jsonl')} }\nmodel: ${model}\nbatch: { size: 5 }\noutput: { path: ${model}.jsonl, keep: [] }\n`);
    const run = await runCli(['run', 'job.yaml'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    embeddings.push((await jsonLines(join(dir, `${model}.jsonl`))).map((row) => row.embedding as number[]));
  }
  assert.equal(embeddings[0]!.length, 42);
  assert.deepEqual(embeddings[0], embeddings[1]);
  // More tokens than the graph holds is refused before any row, naming both.
  await writeFile(join(dir, 'manifest.yaml'), manifest(', max_length: 32'));
  const refused = await runCli(['--log-format', 'text', 'pack', join(exports, 'tokens16.onnx'), '--name', 'm', '--manifest', join(dir, 'manifest.yaml'), '--output', join(dir, 'b32'), ...tokenizer]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /text\.max_length 32 is more than the 16 tokens the model's input "input_ids" holds/);
}));

test('a model with a fixed batch above 256 runs that many rows a call by default, as every call is padded to it', () => withTempDir(async (dir) => {
  await pack(dir, 'fixed300.onnx', '--columns', 'features=bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g');
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(fixtures, 'data', 'penguins.csv')} }\nmodel: bundle\noutput: { path: out.csv }\n`);
  const run = await runCli(['run', 'job.yaml', '--summary-json', 'summary.json'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const summary = await readJson<{ batch: { size: number; count: number }; output: { rows: number }; rows_failed: number }>(join(dir, 'summary.json'));
  // 344 rows, 2 of them without measurements (bad rows: the bundle has no fill).
  assert.deepEqual([summary.batch, summary.output.rows, summary.rows_failed], [{ size: 300, concurrency: 2, count: 2 }, 342, 2]);
}));

test('an input of a dtype bento-batch cannot feed (uint64) is refused at pack and before a run with what to do, not a list of dtypes to go round', () => withTempDir(async (dir) => {
  const model = join(fixtures, 'models', 'shapes', 'uint64_in.onnx');
  const packed = await runCli(['--log-format', 'text', 'pack', model, '--name', 'm', '--columns', 'x=a', '--output', join(dir, 'b')]);
  assert.equal(packed.code, 2, packed.stderr);
  assert.match(packed.stderr, /the model's input "x" is uint64, which bento-batch cannot feed \(it feeds float16, float32, float64, int8, uint8, int16, uint16, int32, int64, bool, string\): export the model taking int64 and casting inside forward \(x\.to\(torch\.uint64\)\)/);
  // A manifest written by hand says int64: the run's check says the same.
  await writeFile(join(dir, 'manifest.yaml'), 'bento: 1\nname: m\nversion: "1"\ninputs:\n  - { tensor: x, dtype: int64, shape: [batch, 1], columns: [a] }\noutputs:\n  - { tensor: x_out, columns: { values: [y] } }\n');
  const manifest = await runCli(['--log-format', 'text', 'pack', model, '--name', 'm', '--manifest', join(dir, 'manifest.yaml'), '--output', join(dir, 'b')]);
  assert.equal(manifest.code, 4, manifest.stderr);
  assert.match(manifest.stderr, /inputs\.0\.dtype: the model's input "x" is uint64, which bento-batch cannot feed/);
}));

test('a float16 input (model.half()) is fed half-precision values rounded as a cast rounds them; one past ±65504 is a bad row naming it', () => withTempDir(async (dir) => {
  const packed = await runCli(['pack', join(fixtures, 'models', 'shapes', 'half_in.onnx'), '--name', 'half', '--columns', 'x=a,b', '--output', join(dir, 'b')]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(await readFile(join(dir, 'b', 'bento.yaml'), 'utf8'), /dtype: float16/);
  // Each value beside the float16 a cast to it gives (round to nearest, ties to even), computed by hand from the format.
  const cases: [string, number][] = [['0.1', 0.0999755859375], ['1', 1], ['-2.5', -2.5], ['0.333333', 0.333251953125], ['65504', 65504], ['65519', 65504],
    ['1e-7', 2 ** -23], ['2.98e-8', 0], ['2049', 2048], ['2051', 2052], ['-0.00006103515625', -(2 ** -14)], ['1e-9', 0],
    // Rounded once, from the double: through float32 first, these would round twice (to Infinity, to 1).
    ['65519.999', 65504], ['-65519.999', -65504], ['1.0004882812500002', 1.0009765625]];
  const rows = [...cases.map(([a], i) => `${a},${i}`), '65520,1', '-1e6,2'];
  await writeFile(join(dir, 'in.csv'), `a,b\n${rows.join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.csv }\nmodel: b\noutput: { path: out.jsonl, keep: [] }\n`);
  const run = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { y_0: number; y_1: number });
  // Written as float32's shortest digits (0.099975586): read back through Math.fround, the float32 itself.
  assert.deepEqual(out.map((r) => [Math.fround(r.y_0), r.y_1]), cases.map(([, half], i) => [half, i]));
  const errors = (await readFile(join(dir, 'out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { reason: string }).reason);
  assert.deepEqual(errors, [
    `Invalid value: column "a" expects float16 (tensor "x"), within float16's range (±65504), got 65520 at ${join(dir, 'in.csv')} row ${cases.length + 1}`,
    `Invalid value: column "a" expects float16 (tensor "x"), within float16's range (±65504), got -1000000 at ${join(dir, 'in.csv')} row ${cases.length + 2}`,
  ]);
}));

test('a torch export with float16 inputs and outputs gives torch\'s own float16 logits, every one of them', () => withTempDir(async (dir) => {
  const columns = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'].map((c) => `${c}_scaled`);
  const packed = await runCli(['pack', join(fixtures, 'models', 'exports', 'half.onnx'), '--name', 'half', '--columns', `features=${columns.join(',')}`, '--output', join(dir, 'b')]);
  assert.equal(packed.code, 0, packed.stderr);
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(fixtures, 'models', 'exports', 'half.csv')} }\nmodel: b\noutput: { path: out.jsonl, keep: [logit0_torch, logit1_torch, logit2_torch] }\n`);
  const run = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const rows = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(rows.length, 40);
  // float16 logits come out as float32's shortest digits: Math.fround gives the float32 back.
  for (const r of rows) assert.deepEqual([0, 1, 2].map((k) => Math.fround(r[`logits_${k}`]!)), [0, 1, 2].map((k) => r[`logit${k}_torch`]));
}));

test('uint8, int8, int16 and uint16 inputs (quantized and image models) are fed their values; one outside the dtype is a bad row naming the range, not a value wrapped round', () => withTempDir(async (dir) => {
  const packed = await runCli(['pack', join(fixtures, 'models', 'shapes', 'narrow_in.onnx'), '--name', 'narrow', '--columns', 'u8=a', '--columns', 'i8=b', '--columns', 'i16=c', '--columns', 'u16=d', '--output', join(dir, 'b')]);
  assert.equal(packed.code, 0, packed.stderr);
  await writeFile(join(dir, 'in.csv'), 'a,b,c,d\n0,-128,-32768,0\n255,127,32767,65535\n7,-1,300,1000\n256,0,0,0\n1,128,0,0\n1,0,0,-1\n1.5,0,0,0\n1,0,0,99999999999999999999\n');
  await writeFile(join(dir, 'job.yaml'), `input: { path: in.csv }\nmodel: b\noutput: { path: out.jsonl, keep: [] }\n`);
  const run = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => Object.values(JSON.parse(l) as Record<string, number>));
  assert.deepEqual(out, [[0, -128, -32768, 0], [255, 127, 32767, 65535], [7, -1, 300, 1000]]);
  const errors = (await readFile(join(dir, 'out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { reason: string }).reason.replace(/ at .*/, ''));
  assert.deepEqual(errors, [
    'Invalid value: column "a" expects uint8 (tensor "u8"), within the uint8 range (0 to 255), got 256',
    'Invalid value: column "b" expects int8 (tensor "i8"), within the int8 range (-128 to 127), got 128',
    'Invalid value: column "d" expects uint16 (tensor "u16"), within the uint16 range (0 to 65535), got "-1"',
    'Invalid value: column "a" expects uint8 (tensor "u8"), a whole number, got 1.5',
    'Invalid value: column "d" expects uint16 (tensor "u16"), within the uint16 range (0 to 65535), got "99999999999999999999"',
  ]);
}));
