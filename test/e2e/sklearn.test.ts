/**
 * Models as skl2onnx writes scikit-learn pipelines (fixtures/models/sklearn, the ai.onnx.ml
 * operators): packed from flags alone, their probability columns take the classifier's class
 * labels, pack's probe feeds categories the graph's encoders know, and a run's predictions are
 * onnxruntime's own on the same rows.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { assertClose, fixtures, readRows, runCli, withTempDir } from '../helpers.js';

const sklearn = join(fixtures, 'models', 'sklearn');

test('an sklearn pipeline (one input a column, OneHotEncoder that refuses unknown values, Imputer of NaN) packs from flags and scores as onnxruntime does', () => withTempDir(async (dir) => {
  const pack = await runCli(['--log-format', 'text', 'pack', join(sklearn, 'pipeline.onnx'), '--name', 'pipe', '--version', '1',
    '--columns', 'bill_length_mm=bill_length_mm', '--columns', 'island=island', '--columns', 'year=year', '--fill', 'bill_length_mm=nan', '--output', join(dir, 'bundle')]);
  assert.equal(pack.code, 0, pack.stderr);
  assert.match(pack.stderr, /^note: output "probabilities" holds the probabilities of the model's classifier: its columns are named after its classes \[Adelie, Chinstrap, Gentoo\]/m);
  assert.match(pack.stderr, /^note: output "probabilities" already holds probabilities/m);
  const rows = [
    ['39.1', 'Torgersen', '2007'], ['46.5', 'Dream', '2008'], ['', 'Biscoe', '2009'], ['50.0', 'Atlantis', '2008'], ['41.0', '', '2007'], ['48.2', 'Biscoe', '2009'],
  ];
  await writeFile(join(dir, 'in.csv'), `bill_length_mm,island,year\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  await writeFile(join(dir, 'job.yaml'), 'input: { path: in.csv }\nmodel: bundle\noutput: { path: out.jsonl, keep: [island] }\n');
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  // Atlantis is no category the encoder knows (the model fails on it alone); an empty island has no fill.
  const errors = (await readFile(join(dir, 'out.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { row: number; code: string });
  assert.deepEqual(errors.map((e) => [e.row, e.code]), [[4, 'MODEL_RUN'], [5, 'INVALID_VALUE']]);
  const good = [0, 1, 2, 5].map((k) => rows[k]!);
  const session = await InferenceSession.create(join(sklearn, 'pipeline.onnx'));
  const n = good.length;
  const expected = await session.run({
    bill_length_mm: new Tensor('float32', Float32Array.from(good, (r) => (r[0] === '' ? Number.NaN : Number(r[0]))), [n, 1]),
    island: new Tensor('string', good.map((r) => r[1]!), [n, 1]),
    year: new Tensor('int64', BigInt64Array.from(good, (r) => BigInt(r[2]!)), [n, 1]),
  });
  const probabilities = expected.probabilities!.data as Float32Array;
  const classes = ['Adelie', 'Chinstrap', 'Gentoo'];
  const out = await readRows(join(dir, 'out.jsonl'));
  assert.deepEqual(out.map((r) => [r.island, r.output_label, r.probabilities_label]), good.map((r, i) => [r[1], (expected.output_label!.data as string[])[i], (expected.output_label!.data as string[])[i]]));
  assertClose(out.map((r) => classes.map((c) => r[`probabilities_prob_${c}`])), good.map((_, i) => Array.from(probabilities.subarray(3 * i, 3 * i + 3))));
  // A file whose first 20 rows the model fails on runs (exit 0): validate reads on to rows that score, as the run's first batch holds them.
  await writeFile(join(dir, 'atl.csv'), `bill_length_mm,island,year\n${Array.from({ length: 40 }, (_, i) => `41,${i < 20 ? 'Atlantis' : 'Dream'},2008`).join('\n')}\n`);
  const validate = await runCli(['--log-format', 'text', 'validate', 'job.yaml', '--set', 'input.path=atl.csv'], { cwd: dir });
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stderr, /^check +model ran on the first 24 row\(s\): ok \(20 bad, see above\)$/m);
}));

test('class labels from the graph: integer classes name columns as text, a --labels count that does not fit is the flags\' mistake (exit 2), labels YAML 1.1 reads as booleans are quoted', () => withTempDir(async (dir) => {
  const ints = await runCli(['--log-format', 'text', 'pack', join(sklearn, 'linear_ints.onnx'), '--name', 'lin', '--version', '1', '--columns', 'float_input=a,b,c', '--output', join(dir, 'lin')]);
  assert.equal(ints.code, 0, ints.stderr);
  await writeFile(join(dir, 'in.csv'), 'a,b,c\n1,2,3\n-1,0.5,2\n');
  await writeFile(join(dir, 'job.yaml'), 'input: { path: in.csv }\nmodel: lin\noutput: { path: out.csv }\n');
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const out = await readRows(join(dir, 'out.csv'));
  assert.deepEqual(Object.keys(out[0]!), ['a', 'b', 'c', 'output_label', 'probabilities_label', 'probabilities_score', 'probabilities_prob_3', 'probabilities_prob_7', 'probabilities_prob_11']);
  for (const row of out) assert.equal(String(row.output_label), String(row.probabilities_label));
  const wrong = await runCli(['--log-format', 'text', 'pack', join(sklearn, 'linear_ints.onnx'), '--name', 'lin', '--columns', 'float_input=a,b,c', '--labels', 'probabilities=a,b', '--output', join(dir, 'wrong')]);
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /^error: Cannot pack .*linear_ints\.onnx: Output tensor "probabilities" has 3 value\(s\) per row \(dims \[2, 3\]\), but the flags map 2 label\(s\)\nhint: Fix the flags/m);
  const tree = await runCli(['pack', join(sklearn, 'tree_strings.onnx'), '--name', 'tree', '--version', '1', '--columns', 'X=a,b', '--output', join(dir, 'tree')]);
  assert.equal(tree.code, 0, tree.stderr);
  assert.match(await readFile(join(dir, 'tree', 'bento.yaml'), 'utf8'), /labels:\n {6}- "no"\n {6}- "yes"\n/);
  // Texts either YAML reads as something else stay text: 0o10 is octal 8 in YAML 1.2 (which we read), off false in 1.1.
  const odd = await runCli(['pack', join(sklearn, 'linear_ints.onnx'), '--name', '0o17', '--version', '1', '--columns', 'float_input=a,b,0x1F', '--labels', 'probabilities=0o10,off,~', '--output', join(dir, 'odd')]);
  assert.equal(odd.code, 0, odd.stderr);
  await writeFile(join(dir, 'odd.yaml'), 'input: { path: in2.csv }\nmodel: odd\noutput: { path: odd.csv }\n');
  await writeFile(join(dir, 'in2.csv'), 'a,b,0x1F\n1,2,3\n');
  const oddRun = await runCli(['run', 'odd.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(oddRun.code, 0, oddRun.stderr);
  assert.equal((await readFile(join(dir, 'odd.csv'), 'utf8')).split('\n')[0], 'a,b,0x1F,output_label,probabilities_label,probabilities_score,probabilities_prob_0o10,probabilities_prob_off,probabilities_prob_~');
  // And what PyYAML reads otherwise: = and << (its value and merge keys), a tab, NEL, LS and DEL (escaped in double quotes).
  const py = await runCli(['pack', join(sklearn, 'linear_ints.onnx'), '--name', 'py', '--version', '1', '--columns', 'float_input=a,b,c', '--labels', 'probabilities==,<<,a\tb\u0085\u2028\u007f', '--output', join(dir, 'py')]);
  assert.equal(py.code, 0, py.stderr);
  assert.match(await readFile(join(dir, 'py', 'bento.yaml'), 'utf8'), /labels:\n {6}- "="\n {6}- "<<"\n {6}- "a\\tb\\u0085\\u2028\\u007f"\n/);
}));

test('the probe feeds a category of an encoder that reads the input through a Cast; run scores it, and a code it was not fitted on is a bad row', () => withTempDir(async (dir) => {
  const pack = await runCli(['pack', join(sklearn, 'cast_encoder.onnx'), '--name', 'cast', '--version', '1', '--columns', 'code=code', '--output', join(dir, 'bundle')]);
  assert.equal(pack.code, 0, pack.stderr);
  await writeFile(join(dir, 'in.csv'), 'code\n10\n20\n30\n');
  await writeFile(join(dir, 'job.yaml'), 'input: { path: in.csv }\nmodel: bundle\noutput: { path: out.csv }\n');
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual((await readRows(join(dir, 'out.csv'))).map((r) => [r.code, r.label, r.probabilities_label]), [[10, 0, 0], [20, 1, 1]]);
  assert.equal(JSON.parse((await readFile(join(dir, 'out.csv.errors.jsonl'), 'utf8')).trim()).row, 3);
}));

test('a ZipMap output is said to be one, with the skl2onnx option that makes a tensor of it; an unnamed batch dimension shows as ?', () => withTempDir(async (dir) => {
  const fix = "re-export with options={id(model): {'zipmap': False}}";
  const inspect = await runCli(['--log-format', 'text', 'inspect', join(sklearn, 'pipeline_zipmap.onnx')]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.ok(inspect.stdout.includes('  island: string [?, 1]\n'), inspect.stdout);
  assert.ok(inspect.stdout.includes(`output_probability: (sequence/map)  (not a tensor: cannot be fetched by onnxruntime-node. If it is a classifier's probabilities as skl2onnx's ZipMap writes them, a map a row: ${fix}`), inspect.stdout);
  const pack = await runCli(['--log-format', 'text', 'pack', join(sklearn, 'pipeline_zipmap.onnx'), '--name', 'z', '--version', '1',
    '--columns', 'bill_length_mm=bill_length_mm', '--columns', 'island=island', '--columns', 'year=year', '--output', join(dir, 'z')]);
  assert.equal(pack.code, 0, pack.stderr);
  assert.ok(pack.stderr.includes(`note: output "output_probability" is not a tensor (a sequence or map) and is not fetched. If it is a classifier's probabilities as skl2onnx's ZipMap writes them, a map a row: ${fix}`), pack.stderr);
}));
