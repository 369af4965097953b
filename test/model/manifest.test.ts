/**
 * parseManifest and openBundle: the bundled manifests parse; each cross-field rule gives its
 * exact message; schema problems carry their dot-path; bundle errors are MODEL_NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { readFile } from 'node:fs/promises';
import { openBundle } from '../../src/model/bundle.js';
import { type Manifest, outputColumns, outsideBundle, parseManifest, readManifest } from '../../src/model/manifest.js';
import { rowWidth } from '../../src/model/shape.js';
import { fixtures, rejectsWith, throwsWith, withTempDir } from '../helpers.js';

const models = join(fixtures, 'models');
const file = '/bundles/m/bento.yaml';

/** A valid raw manifest, with `patch` applied on top. */
function raw(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bento: 1,
    name: 'm',
    version: '1.0.0',
    batch: { max_size: 64 },
    inputs: [{ tensor: 'x', dtype: 'float32', shape: ['batch', 2], columns: ['a', 'b'] }],
    outputs: [{ tensor: 'y', columns: { values: ['pred'] } }],
    ...patch,
  };
}



const one = (problem: string) => `Manifest ${file}: ${problem}`;

describe('parseManifest: bundled manifests', async () => {
  // shapes/, exports/ and sklearn/ hold bare .onnx graphs that the pack tests turn into bundles.
  const names = (await readdir(models, { withFileTypes: true })).filter((e) => e.isDirectory() && !['shapes', 'exports', 'sklearn'].includes(e.name)).map((e) => e.name).sort();
  test('the fixture folder has the five bundles', () => {
    assert.deepEqual(names, ['deep-mlp', 'flights-delay', 'penguins', 'penguins-mass', 'wide-mlp']);
  });
  for (const name of names) {
    test(`${name}/bento.yaml parses`, async () => {
      const path = join(models, name, 'bento.yaml');
      const manifest = parseManifest(parseYaml(await readFile(path, 'utf8')), path);
      assert.equal(manifest.bento, 1);
      assert.equal(manifest.model, 'model.onnx');
      assert.equal(manifest.batch.max_size, 4096);
      for (const input of manifest.inputs) assert.equal(rowWidth(input), input.columns.length, `${name} ${input.tensor}`);
    });
  }

  test('penguins parses to the documented shape', async () => {
    const path = join(models, 'penguins', 'bento.yaml');
    const m = parseManifest(parseYaml(await readFile(path, 'utf8')), path);
    assert.deepEqual(m, {
      bento: 1,
      name: 'penguins-species',
      version: '1.0.0',
      description: 'Palmer penguin species (Adelie, Chinstrap, Gentoo) from bill, flipper and mass measurements',
      model: 'model.onnx',
      batch: { max_size: 4096, fixed: false },
      inputs: [{
        tensor: 'features', dtype: 'float32', shape: ['batch', 4],
        columns: ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'],
        fill: [43.92, 17.15, 200.92, 4201.75],
      }],
      outputs: [{
        tensor: 'logits', activation: 'softmax', labels: ['Adelie', 'Chinstrap', 'Gentoo'],
        columns: { label: 'species_pred', score: 'species_score', probabilities: 'prob_' },
      }],
    });
    assert.deepEqual(outputColumns(m.outputs[0]!), ['species_pred', 'species_score', 'prob_Adelie', 'prob_Chinstrap', 'prob_Gentoo']);
  });
});

describe('parseManifest: defaults and helpers', () => {
  test('model defaults to model.onnx and a numeric version becomes a string', () => {
    const m = parseManifest(raw({ version: 3 }), file);
    assert.equal(m.model, 'model.onnx');
    assert.equal(m.version, '3');
  });

  test('a version written as a number is read as its text (1.10 is not 1.1, 2.0 not 2); a name is at most 200 characters', () => withTempDir(async (dir) => {
    // Text no tag holds (.5, +1) stays the number it was read as before.
    for (const [written, read] of [['1.10', '1.10'], ['2.0', '2.0'], ['3', '3'], ['"1.10"', '1.10'], ['.5', 0.5], ['+1', 1]] as const) {
      await writeFile(join(dir, 'bento.yaml'), `version: ${written}\n`);
      assert.equal((await readManifest(join(dir, 'bento.yaml')) as { version: unknown }).version, read);
    }
    assert.throws(() => parseManifest(raw({ name: 'm'.repeat(201) }), file), /name: expected a name of .*, at most 200 of them, got/);
    assert.equal(parseManifest(raw({ name: 'm'.repeat(200) }), file).name, 'm'.repeat(200));
  }));

  test('rowWidth multiplies the non-batch dims; [batch] is one column; a named dim is unknown', () => {
    const m: Manifest = parseManifest(raw({ inputs: [
      { tensor: 'a', dtype: 'float32', shape: ['batch', 2, 3], columns: ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'] },
      { tensor: 'b', dtype: 'int64', shape: ['batch'], columns: ['k'] },
    ] }), file);
    assert.deepEqual(m.inputs.map(rowWidth), [6, 1]);
    assert.equal(rowWidth({ ...m.inputs[0]!, shape: ['batch', 'n'] }), undefined);
  });

  test('outputColumns lists label, score, probabilities, values, list in order', () => {
    const m = parseManifest(raw({ outputs: [{ tensor: 'y', labels: ['p', 'q'], columns: { list: 'all', values: ['v1', 'v2'], probabilities: 'pr_', score: 's', label: 'l' } }] }), file);
    assert.deepEqual(outputColumns(m.outputs[0]!), ['l', 's', 'pr_p', 'pr_q', 'v1', 'v2', 'all']);
  });
});

describe('parseManifest: rules', () => {
  test('the shape must start with batch', () => {
    throwsWith(() => parseManifest(raw({ inputs: [{ tensor: 'x', dtype: 'float32', shape: [2, 2], columns: ['a', 'b'] }] }), file), 'MANIFEST_INVALID',
      one('inputs.0.shape: the first dimension must be "batch", got 2'));
  });

  test('outsideBundle names a model or tokenizer outside the bundle (an absolute path, a ..); a bundle folder may name one, an archive may not (test/e2e/models.test.ts)', () => {
    for (const path of ['/tmp/other/model.onnx', '../other/model.onnx', 'sub/../../x.onnx']) assert.equal(outsideBundle(parseManifest(raw({ model: path }), file)), `model: ${path}`);
    const text = parseManifest(raw({ inputs: [], text: { column: 't', tokenizer: '../../../etc/passwd' }, outputs: [{ tensor: 'y', columns: { values: ['pred'] } }] }), file);
    assert.equal(outsideBundle(text), 'text.tokenizer: ../../../etc/passwd');
    assert.equal(outsideBundle(parseManifest(raw({ model: 'onnx/model.onnx' }), file)), undefined);
    assert.equal(outsideBundle(parseManifest(raw({ model: 'sub/../model.onnx' }), file)), undefined);
  });

  test('columns must match the shape width', () => {
    const error = throwsWith(() => parseManifest(raw({ inputs: [{ tensor: 'x', dtype: 'float32', shape: ['batch', 3], columns: ['a', 'b'] }] }), file), 'MANIFEST_INVALID',
      one('inputs.0.columns: shape ["batch",3] takes 3 value(s) per row, got 2 column(s) (or one column holding a list of 3 numbers)'));
    assert.equal(error.file, file);
    assert.equal(error.hint, 'Fix the manifest and run again.');
  });

  test('dimensions after batch must be numbers', () => {
    throwsWith(() => parseManifest(raw({ inputs: [{ tensor: 'x', dtype: 'float32', shape: ['batch', 'features'], columns: ['a', 'b'] }] }), file), 'MANIFEST_INVALID',
      one('inputs.0.shape: dimensions after "batch" must be fixed numbers for column inputs, got ["batch","features"]'));
  });

  test('a fill list must have one value per column', () => {
    throwsWith(() => parseManifest(raw({ inputs: [{ tensor: 'x', dtype: 'float32', shape: ['batch', 2], columns: ['a', 'b'], fill: [0, 1, 2] }] }), file), 'MANIFEST_INVALID',
      one('inputs.0.fill: expected one value per column (2), got 3'));
  });

  test('a fill must be a value of its tensor\'s dtype: whole for an integer tensor, 0 or 1 for a bool one, a category index ≥ 0', () => {
    const input = (dtype: string, fill: unknown, extra: Record<string, unknown> = {}) => raw({ inputs: [{ tensor: 'x', dtype, shape: ['batch', 1], columns: ['a'], fill, ...extra }] });
    throwsWith(() => parseManifest(input('int64', 1.5), file), 'MANIFEST_INVALID', one('inputs.0.fill: 1.5 is not a int64 value (a whole number)'));
    throwsWith(() => parseManifest(input('bool', 7), file), 'MANIFEST_INVALID', one('inputs.0.fill: 7 is not a bool value (0 or 1)'));
    throwsWith(() => parseManifest(input('int32', 2.7), file), 'MANIFEST_INVALID', one('inputs.0.fill: 2.7 is not a int32 value (a whole number)'));
    throwsWith(() => parseManifest(input('int64', -1, { categories: ['a', 'b'] }), file), 'MANIFEST_INVALID', one('inputs.0.fill: -1 is not a category index (0 to 1, or past them for a model that reserves one)'));
    for (const ok of [input('int64', 2, { categories: ['a', 'b'] }), input('bool', 1), input('float32', 0.5)]) parseManifest(ok, file);
  });

  test('categories need an integer dtype', () => {
    throwsWith(() => parseManifest(raw({ inputs: [{ tensor: 'x', dtype: 'float32', shape: ['batch'], columns: ['island'], categories: ['Biscoe', 'Dream'] }] }), file), 'MANIFEST_INVALID',
      one('inputs.0.categories: categories map text to an index, so dtype must be an integer one (int64, int32, …), got float32'));
  });

  test('labels are required for columns.label and columns.probabilities', () => {
    throwsWith(() => parseManifest(raw({ outputs: [{ tensor: 'y', columns: { label: 'cls' } }] }), file), 'MANIFEST_INVALID',
      one('outputs.0.labels: required by columns.label and columns.probabilities'));
    throwsWith(() => parseManifest(raw({ outputs: [{ tensor: 'y', columns: { probabilities: 'p_' } }] }), file), 'MANIFEST_INVALID',
      one('outputs.0.labels: required by columns.label and columns.probabilities'));
  });

  test('an output must name at least one column', () => {
    throwsWith(() => parseManifest(raw({ outputs: [{ tensor: 'y', columns: {} }] }), file), 'MANIFEST_INVALID',
      one('outputs.0.columns: name at least one of label, score, probabilities, values, list'));
  });

  test('a prediction column produced twice, within or across outputs', () => {
    throwsWith(() => parseManifest(raw({ outputs: [
      { tensor: 'y', columns: { values: ['pred'] } },
      { tensor: 'z', labels: ['a'], columns: { label: 'pred', score: 'pred' } },
    ] }), file), 'MANIFEST_INVALID', [
      `Manifest ${file} has 2 problems:`,
      '  - outputs.1.columns: prediction column "pred" is produced twice',
      '  - outputs.1.columns: prediction column "pred" is produced twice',
    ].join('\n'));
  });

  test('an input tensor listed twice', () => {
    const input = { tensor: 'x', dtype: 'float32', shape: ['batch', 1], columns: ['a'] };
    throwsWith(() => parseManifest(raw({ inputs: [input, { ...input, columns: ['b'] }] }), file), 'MANIFEST_INVALID',
      one('inputs.1.tensor: "x" is listed twice'));
  });

  test('every rule problem is reported at once, in rule order', () => {
    throwsWith(() => parseManifest(raw({
      inputs: [{ tensor: 'x', dtype: 'float64', shape: [4, 2], columns: ['a'], fill: [1, 2, 3], categories: ['c'] }],
      outputs: [{ tensor: 'y', columns: { label: 'l' } }],
    }), file), 'MANIFEST_INVALID', [
      `Manifest ${file} has 5 problems:`,
      '  - inputs.0.shape: the first dimension must be "batch", got 4',
      '  - inputs.0.columns: one column for shape [4,2] is a list of 2 numbers a row; a categories tensor takes one column a value',
      '  - inputs.0.fill: expected one value per column (1) or one per element of the list (2), got 3',
      '  - inputs.0.categories: categories map text to an index, so dtype must be an integer one (int64, int32, …), got float64',
      '  - outputs.0.labels: required by columns.label and columns.probabilities',
    ].join('\n'));
  });
});

describe('parseManifest: schema', () => {
  test('schema problems carry their dot-path and the value', () => {
    throwsWith(() => parseManifest(raw({
      bento: 2,
      name: 'my model',
      batch: { max_size: 0 },
      inputs: [{ tensor: 'x', dtype: 'uint64', shape: ['batch', 2], columns: ['a', 'b'] }],
      outputs: [{ tensor: 'y', activation: 'relu', columns: { value: ['p'] } }],
    }), file), 'MANIFEST_INVALID', [
      `Manifest ${file} has 6 problems:`,
      '  - bento: expected 1 (the bundle format version), got `2` (number)',
      '  - name: expected a name of letters, digits, ".", "_" and "-", starting with a letter or digit, at most 200 of them, got `"my model"` (string)',
      '  - batch.max_size: expected a positive integer, got `0` (number)',
      '  - inputs.0.dtype: expected one of [float16, float32, float64, int8, uint8, int16, uint16, int32, int64, bool, string], got `"uint64"` (string)',
      '  - outputs.0.activation: expected one of [none, softmax, sigmoid], got `"relu"` (string)',
      '  - outputs.0.columns.value: unknown key (did you mean `outputs.0.columns.values`?); expected one of [entities, top_k, label, score, probabilities, values, list]',
    ].join('\n'));
  });

  test('missing required keys', () => {
    throwsWith(() => parseManifest({ bento: 1, name: 'm', version: '1' }, file), 'MANIFEST_INVALID', [
      `Manifest ${file} has 2 problems:`,
      '  - batch: is required, expected a mapping with max_size',
      '  - outputs: is required, expected a list of output tensors',
    ].join('\n'));
  });
});

describe('openBundle', () => {
  test('a bundled model opens with absolute paths', async () => {
    const bundle = await openBundle(join(models, 'penguins-mass'));
    assert.equal(bundle.dir, join(models, 'penguins-mass'));
    assert.equal(bundle.manifestFile, join(models, 'penguins-mass', 'bento.yaml'));
    assert.equal(bundle.modelFile, join(models, 'penguins-mass', 'model.onnx'));
    assert.deepEqual(bundle.manifest.inputs.map((i) => [i.tensor, i.dtype]), [['measurements', 'float32'], ['island', 'int64']]);
  });

  test('a missing directory is MODEL_NOT_FOUND', () => withTempDir(async (dir) => {
    const path = join(dir, 'nope');
    const error = await rejectsWith(openBundle(path), 'MODEL_NOT_FOUND', `Model bundle ${path} does not exist`);
    assert.equal(error.hint, 'Set model to a bundle directory holding bento.yaml and the .onnx file.');
  }));

  test('a file instead of a directory is MODEL_NOT_FOUND', async () => {
    const path = join(models, 'penguins', 'model.onnx');
    const error = await rejectsWith(openBundle(path), 'MODEL_NOT_FOUND', `Model ${path} is a file, expected a bundle directory holding bento.yaml and the .onnx file`);
    assert.equal(error.hint, 'Point model at the bundle directory (the folder that contains bento.yaml).');
  });

  test('a directory without bento.yaml is MODEL_NOT_FOUND', () => withTempDir(async (dir) => {
    await rejectsWith(openBundle(dir), 'MODEL_NOT_FOUND', `Manifest ${join(dir, 'bento.yaml')} does not exist`);
  }));

  test('a missing ONNX file is MODEL_NOT_FOUND naming the manifest', () => withTempDir(async (dir) => {
    await copyFile(join(models, 'penguins', 'bento.yaml'), join(dir, 'bento.yaml'));
    const error = await rejectsWith(openBundle(dir), 'MODEL_NOT_FOUND', `Model file ${join(dir, 'model.onnx')} named in ${join(dir, 'bento.yaml')} does not exist`);
    assert.equal(error.file, join(dir, 'model.onnx'));
  }));

  test('model: naming a directory is MODEL_NOT_FOUND', () => withTempDir(async (dir) => {
    await mkdir(join(dir, 'model.onnx'));
    await copyFile(join(models, 'penguins', 'bento.yaml'), join(dir, 'bento.yaml'));
    await rejectsWith(openBundle(dir), 'MODEL_NOT_FOUND', `Model file ${join(dir, 'model.onnx')} named in ${join(dir, 'bento.yaml')} does not exist`);
  }));

  test('an invalid manifest is MANIFEST_INVALID naming bento.yaml', () => withTempDir(async (dir) => {
    await writeFile(join(dir, 'bento.yaml'), 'bento: 1\nname: m\nversion: "1"\nbatch: { max_size: 8 }\ninputs: []\noutputs: []\n');
    await rejectsWith(openBundle(dir), 'MANIFEST_INVALID', `Manifest ${join(dir, 'bento.yaml')}: outputs: expected at least one output, got \`[]\` (list)`);
    // With outputs, no inputs and no text section is the rule's problem.
    await writeFile(join(dir, 'bento.yaml'), 'bento: 1\nname: m\nversion: "1"\nbatch: { max_size: 8 }\ninputs: []\noutputs: [{ tensor: y, columns: { values: [y] } }]\n');
    await rejectsWith(openBundle(dir), 'MANIFEST_INVALID', `Manifest ${join(dir, 'bento.yaml')}: inputs: expected at least one input tensor, or a \`text\` section`);
  }));
});
