/**
 * @file The bento manifest (bento.yaml, bundle v1): which tensors the model takes and how input
 * columns fill them, which tensors it returns and how they become prediction columns.
 */
import { isAbsolute, normalize } from 'node:path';
import * as z from 'zod';
import { configError, expect, nonEmptyString, positiveInt, readYaml, stringList, validate } from '../config.js';
import { rowWidth } from './shape.js';

/** The manifest's file name inside a bundle. */
export const manifestName = 'bento.yaml';

/**
 * The integer dtypes narrower than int64, with the least and greatest value each holds: a cell
 * outside is a bad row, not a value wrapped round to another. uint8 and int8 are what quantized
 * and image models take.
 */
const integerRanges = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647],
} as const satisfies Record<string, readonly [number, number]>;
export type SmallInteger = keyof typeof integerRanges;

/** float16: what a `model.half()` export takes, fed as IEEE half-precision bit patterns. */
export type DType = 'float16' | 'float32' | 'float64' | SmallInteger | 'int64' | 'bool' | 'string';
export const dtypes: readonly DType[] = ['float16', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'int64', 'bool', 'string'];

/** The values a narrow integer dtype holds; undefined for the others (int64's are checked as bigints). */
export const rangeOf = (dtype: DType): readonly [number, number] | undefined => (dtype in integerRanges ? integerRanges[dtype as SmallInteger] : undefined);

/** Whether a dtype is one of the whole-number ones (int64 included). */
export const isInteger = (dtype: DType): dtype is SmallInteger | 'int64' => dtype === 'int64' || rangeOf(dtype) !== undefined;

/** Why a model input of another dtype (uint64, bfloat16, …) cannot be fed, and what to do. */
export const unfedDtype = (tensor: string, dtype: string) => `the model's input "${tensor}" is ${dtype}, which bento-batch cannot feed (it feeds ${dtypes.join(', ')}): export the model taking ${/int/.test(dtype) ? 'int64' : 'float32'} and casting inside forward (x.to(torch.${dtype})), or taking one of those`;

const dim = z.union([z.literal('batch'), z.number().int().positive(), z.string().min(1)], expect('"batch", a positive integer, or a dimension name'));

const fillValue = z.union([z.number(), z.nan(), z.string()]);
const floatDtypes: ReadonlySet<DType> = new Set(['float16', 'float32', 'float64']);

const inputSchema = z.strictObject({
  tensor: nonEmptyString('the ONNX input name'),
  dtype: z.enum(dtypes as [DType, ...DType[]], expect(`one of [${dtypes.join(', ')}]`)),
  shape: z.array(dim, expect('a list such as [batch, 4]')).min(1, expect('a list such as [batch, 4]')),
  columns: stringList('a list of input column names').min(1, expect('at least one column name')),
  // NaN (`.nan`) for a model that imputes missing values itself (an sklearn Imputer, a tree's missing branch); text for a string tensor.
  fill: z.union([fillValue, z.array(fillValue)], expect('a number (or .nan), a text for a string tensor, or one per column')).optional(),
  categories: stringList('a list of category values').min(1, expect('at least one category')).optional(),
}, expect('a mapping'));

/**
 * The file a manifest names (`model`, `text.tokenizer`) that is not inside its bundle: an absolute
 * path or a `..`, as `key: path`; undefined when all are inside. A bundle folder of one's own may
 * name a model kept elsewhere; an archive (imported, or a job's model) or a bundle being packed may
 * not: it would read a file the bundle does not hold (another model, /etc/passwd), which neither
 * the bundle's hash nor an archive's checks see.
 */
export function outsideBundle(manifest: Manifest): string | undefined {
  const outside = (p: string) => isAbsolute(p) || /^[A-Za-z]:/.test(p) || normalize(p).split(/[\\/]/)[0] === '..';
  if (outside(manifest.model)) return `model: ${manifest.model}`;
  if (manifest.text && outside(manifest.text.tokenizer)) return `text.tokenizer: ${manifest.text.tokenizer}`;
  return undefined;
}

/** Tokens a text is cut to where the manifest sets no text.max_length, unless the model takes fewer. */
export const defaultMaxLength = 512;

/** A text column tokenized into input_ids / attention_mask (/ token_type_ids) tensors. */
const textSchema = z.strictObject({
  column: nonEmptyString('the input column holding the text'),
  tokenizer: nonEmptyString('a tokenizer.json file in the bundle').default('tokenizer.json'),
  /** Undefined: 512, or the model's model_max_length (tokenizer_config.json) where fewer (preprocess.ts). */
  max_length: positiveInt().optional(),
  truncation: z.boolean(expect('true or false')).default(true),
  /** The text a missing cell is scored as; without it a missing text is a bad row. */
  fill: z.string(expect('a string, such as ""')).optional(),
  input_ids: nonEmptyString('the ONNX input name').default('input_ids'),
  attention_mask: nonEmptyString('the ONNX input name').default('attention_mask'),
  token_type_ids: nonEmptyString('the ONNX input name').optional(),
}, expect('a mapping with at least `column`'));

const outputSchema = z.strictObject({
  tensor: nonEmptyString('the ONNX output name'),
  /** token-classification: [batch, seq, labels] logits → entity spans (BIO tags aggregated). */
  task: z.enum(['token-classification'], expect('token-classification')).optional(),
  activation: z.enum(['none', 'softmax', 'sigmoid'], expect('one of [none, softmax, sigmoid]')).optional(),
  /** For [batch, seq, dim] outputs: mean over the attention mask, or the first token. */
  pooling: z.enum(['none', 'mean', 'cls'], expect('one of [none, mean, cls]')).optional(),
  /** pooling: mean without a `text` section: the input tensor holding the attention mask (poolingMask). */
  mask: nonEmptyString('an input tensor name').optional(),
  normalize: z.boolean(expect('true or false')).optional(),
  top_k: positiveInt().optional(),
  // sklearn's integer classes (3, 7, 11) are written as numbers; they name columns as text.
  labels: z.array(z.union([z.string(), z.number().transform(String)], expect('a list of class names')), expect('a list of class names')).min(1, expect('at least one class name')).optional(),
  columns: z.strictObject({
    entities: nonEmptyString('a column name').optional(),
    top_k: nonEmptyString('a column name').optional(),
    label: nonEmptyString('a column name').optional(),
    score: nonEmptyString('a column name').optional(),
    probabilities: nonEmptyString('a column-name prefix').optional(),
    values: stringList('a list of column names').min(1, expect('at least one column name')).optional(),
    list: nonEmptyString('a column name').optional(),
  }, expect('a mapping of label, score, probabilities, values or list')),
}, expect('a mapping'));

/** Reads a bento.yaml: its version as the text written (`version: 1.10` is "1.10", not 1.1). */
export function readManifest(file: string): Promise<unknown> {
  return readYaml(file, 'MANIFEST_INVALID', 'Manifest', ['version']);
}

/** What a model's name and version may hold: each is a folder name in the store and a part of `name:version`. */
export const tagPart = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const tagPartWords = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 200 of them';

/** An ISO 8601 time, as pack writes one: what `name:latest` orders by (store.ts); other text is ordered as the oldest. */
export const isTime = (text: string) => /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) && !Number.isNaN(Date.parse(text));

/** A version: a tag part, and not the word tags use for the newest. */
export const isVersion = (version: string) => tagPart.test(version) && version !== 'latest';

/** bento.yaml as written; keys are documented in the README ("The packed model"). */
export const manifestSchema = z.strictObject({
  bento: z.literal(1, expect('1 (the bundle format version)')),
  name: nonEmptyString().regex(tagPart, expect(`a name of ${tagPartWords}`)),
  // A version names a folder of the store and is half of a tag (store.ts): the same characters as a name, and not the word tags use for the newest.
  version: z.union([z.string().min(1), z.number()], expect('a version string')).transform(String)
    .refine(isVersion, expect(`a version of ${tagPartWords}, other than "latest"`)),
  description: z.string().optional(),
  /** ISO time of packing; `name:latest` picks the newest. */
  created: z.string().optional(),
  model: nonEmptyString('the ONNX file name inside the bundle').default('model.onnx'),
  batch: z.strictObject({
    max_size: positiveInt(),
    fixed: z.boolean(expect('true or false')).optional(),
  }, expect('a mapping with max_size')),
  text: textSchema.optional(),
  inputs: z.array(inputSchema, expect('a list of input tensors')).default([]),
  outputs: z.array(outputSchema, expect('a list of output tensors')).min(1, expect('at least one output')),
}, expect('a mapping'));

export type Manifest = z.infer<typeof manifestSchema>;
export type InputTensor = Manifest['inputs'][number];

/** A fill as `models` and `inspect` show it: NaN as NaN (JSON would say null), text quoted. */
export function fillText(fill: NonNullable<InputTensor['fill']>): string {
  return Array.isArray(fill) ? `[${fill.map(fillText).join(',')}]` : typeof fill === 'string' ? JSON.stringify(fill) : String(fill);
}
export type OutputTensor = Manifest['outputs'][number];
export type TextInput = NonNullable<Manifest['text']>;

/** Validates a parsed manifest: schema first, then the rules that tie fields together. */
export function parseManifest(raw: unknown, file: string): Manifest {
  const manifest = validate(manifestSchema, raw, 'MANIFEST_INVALID', file, 'Manifest');
  const problems = manifestRules.flatMap((rule) => rule(manifest));
  if (problems.length > 0) throw configError('MANIFEST_INVALID', file, 'Manifest', problems);
  return manifest;
}

/** Prediction column names an output produces, in order. */
export function outputColumns(output: OutputTensor): string[] {
  const c = output.columns;
  return [
    ...(c.entities ? [c.entities] : []),
    ...(c.label ? [c.label] : []),
    ...(c.score ? [c.score] : []),
    ...(c.probabilities ? (output.labels ?? []).map((l) => `${c.probabilities}${l}`) : []),
    ...(c.values ?? []),
    ...(c.list ? [c.list] : []),
    ...(c.top_k ? [c.top_k] : []),
  ];
}

type Rule = (m: Manifest) => string[];

const shapeStartsWithBatch: Rule = (m) => m.inputs.flatMap((input, i) =>
  input.shape[0] === 'batch' ? [] : [`inputs.${i}.shape: the first dimension must be "batch", got ${JSON.stringify(input.shape[0])}`]);

const columnsFitShape: Rule = (m) => m.inputs.flatMap((input, i) => {
  const width = rowWidth(input);
  if (width === undefined) return [`inputs.${i}.shape: dimensions after "batch" must be fixed numbers for column inputs, got ${JSON.stringify(input.shape)}`];
  if (isListInput(input)) {
    if (input.dtype === 'string' || input.categories) return [`inputs.${i}.columns: one column for shape ${JSON.stringify(input.shape)} is a list of ${width} numbers a row; a ${input.categories ? 'categories' : 'string'} tensor takes one column a value`];
    return [];
  }
  return width === input.columns.length ? [] : [`inputs.${i}.columns: shape ${JSON.stringify(input.shape)} takes ${width} value(s) per row, got ${input.columns.length} column(s) (or one column holding a list of ${width} numbers)`];
});

/** An input fed from one column holding a list of its row's values (an embedding), not one column a value. */
export function isListInput(input: InputTensor): boolean {
  const width = rowWidth(input);
  return input.columns.length === 1 && width !== undefined && width > 1;
}

const fillMatchesColumns: Rule = (m) => m.inputs.flatMap((input, i) =>
  // A list column's fill may also be one value an element.
  Array.isArray(input.fill) && input.fill.length !== input.columns.length && !(isListInput(input) && input.fill.length === rowWidth(input))
    ? [`inputs.${i}.fill: expected one value per column (${input.columns.length})${isListInput(input) ? ` or one per element of the list (${rowWidth(input)})` : ''}, got ${input.fill.length}`] : []);

const categoriesNeedIntegers: Rule = (m) => m.inputs.flatMap((input, i) => {
  if (!input.categories) return [];
  if (!isInteger(input.dtype)) return [`inputs.${i}.categories: categories map text to an index, so dtype must be an integer one (int64, int32, …), got ${input.dtype}`];
  const range = rangeOf(input.dtype);
  return range && input.categories.length - 1 > range[1] ? [`inputs.${i}.categories: ${input.categories.length} categories, but a ${input.dtype} index reaches ${range[1]}; the model's input takes fewer, or another dtype`] : [];
});

const labelsWhereNeeded: Rule = (m) => m.outputs.flatMap((output, i) =>
  (output.columns.label || output.columns.probabilities) && !output.labels ? [`outputs.${i}.labels: required by columns.label and columns.probabilities`] : []);

const someInput: Rule = (m) => (m.inputs.length === 0 && !m.text ? ['inputs: expected at least one input tensor, or a `text` section'] : []);

const entitiesNeedTask: Rule = (m) => m.outputs.flatMap((o, i) => [
  ...(o.columns.entities && o.task !== 'token-classification' ? [`outputs.${i}.columns.entities: needs task: token-classification`] : []),
  ...(o.task === 'token-classification' && (!o.labels || !o.columns.entities) ? [`outputs.${i}: task token-classification needs labels (BIO tags) and columns.entities`] : []),
  ...(o.task === 'token-classification' && !m.text ? [`outputs.${i}.task: token-classification needs a \`text\` section`] : []),
  ...((o.columns.top_k || o.top_k) && !(o.columns.top_k && o.top_k && o.labels) ? [`outputs.${i}: top_k needs top_k, labels and columns.top_k together`] : []),
]);

const maskForMean: Rule = (m) => m.outputs.flatMap((o, i) => {
  if (o.mask === undefined) return [];
  if (o.pooling !== 'mean') return [`outputs.${i}.mask: only pooling: mean takes a mask, got pooling ${o.pooling ?? 'none'}`];
  if (m.text) return [`outputs.${i}.mask: a text model's mean is over its own attention mask (text.attention_mask); leave mask out`];
  return m.inputs.some((input) => input.tensor === o.mask) ? [] : [`outputs.${i}.mask: "${o.mask}" is not one of the inputs (${m.inputs.map((input) => input.tensor).join(', ')})`];
});

/**
 * The input tensor whose zeros pooling: mean skips, where the tokens come from columns (a text
 * model's mean is over the mask its tokenizer makes): the output's `mask`, else an input named as
 * Hugging Face and TensorFlow's BERT name it. Without one, every position counts.
 */
export function poolingMask(m: Manifest, output: OutputTensor): string | undefined {
  if (m.text || output.pooling !== 'mean') return undefined;
  return output.mask ?? m.inputs.find((input) => input.tensor === 'attention_mask' || input.tensor === 'input_mask')?.tensor;
}

const someColumn: Rule = (m) => m.outputs.flatMap((output, i) => outputColumns(output).length === 0 && !output.columns.probabilities ? [`outputs.${i}.columns: name at least one of label, score, probabilities, values, list`] : []);

const uniqueTensorsAndColumns: Rule = (m) => {
  const problems: string[] = [];
  const seen = new Set<string>();
  m.outputs.forEach((output, i) => {
    for (const column of outputColumns(output)) {
      if (seen.has(column)) problems.push(`outputs.${i}.columns: prediction column "${column}" is produced twice`);
      seen.add(column);
    }
  });
  const inputs = m.inputs.map((x) => x.tensor);
  inputs.forEach((t, i) => inputs.indexOf(t) !== i && problems.push(`inputs.${i}.tensor: "${t}" is listed twice`));
  return problems;
};

/** A fill is a value of its tensor's dtype: a whole number for an integer tensor (a category's index where there are categories), 0 or 1 for a bool one, a text for a string one, NaN only for a float one. */
const fillFitsDtype: Rule = (m) => m.inputs.flatMap((input, i) => {
  if (input.fill === undefined) return [];
  const all = Array.isArray(input.fill) ? input.fill : [input.fill];
  const text = input.dtype === 'string';
  const wrong = all.filter((v) => (typeof v === 'string') !== text || (Number.isNaN(v) && !floatDtypes.has(input.dtype)));
  if (wrong.length > 0) return [`inputs.${i}.fill: ${wrong.map(fillText).join(', ')} is not a ${input.dtype} value${text ? ' (a text in quotes, e.g. "missing")' : Number.isNaN(wrong[0]) ? ' (NaN fills only a float tensor)' : ''}`];
  const values = all as number[];
  const integer = isInteger(input.dtype);
  const range = rangeOf(input.dtype);
  const bad = values.filter((v) => (integer && !Number.isInteger(v)) || (input.dtype === 'bool' && v !== 0 && v !== 1) || (range !== undefined && (v < range[0] || v > range[1])));
  if (bad.length > 0) return [`inputs.${i}.fill: ${bad.join(', ')} is not a ${input.dtype} value${input.dtype === 'bool' ? ' (0 or 1)' : integer ? ' (a whole number)' : ''}`];
  const outside = input.categories ? values.filter((v) => v < 0) : [];
  return outside.length > 0 ? [`inputs.${i}.fill: ${outside.join(', ')} is not a category index (0 to ${input.categories!.length - 1}, or past them for a model that reserves one)`] : [];
});

const manifestRules: Rule[] = [someInput, entitiesNeedTask, maskForMean, shapeStartsWithBatch, columnsFitShape, fillMatchesColumns, fillFitsDtype, categoriesNeedIntegers, labelsWhereNeeded, someColumn, uniqueTensorsAndColumns];
