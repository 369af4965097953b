/**
 * @file `bento-batch pack MODEL.onnx --name NAME …`: read the graph's signature, write the
 * manifest from it plus what the user says, prove it by running one generated batch, and save
 * the bundle to the store (or to --output DIR).
 */
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Document, parse as parseYaml, visit } from 'yaml';
import type { Batch } from '../../batch/batcher.js';
import { BentoError, columnList, fsReason, oneLine } from '../../errors.js';
import type { Bundle } from '../../model/bundle.js';
import { locationsIn } from '../../model/external.js';
import { classLabels, type GraphNode, knownCategories, readNodes } from '../../model/graph.js';
import { dtypes, isInteger, isListInput, isVersion, type Manifest, manifestName, outsideBundle, parseManifest, rangeOf, readManifest, tagPart, tagPartWords, unfedDtype } from '../../model/manifest.js';
import { ModelPool } from '../../model/pool.js';
import { postprocess } from '../../model/postprocess.js';
import { Preprocessor } from '../../model/preprocess.js';
import { notTensorFix, type Signature, shapeText, type TensorData } from '../../model/session.js';
import { rowWidth } from '../../model/shape.js';
import { modelsDir, saveToStore } from '../../model/store.js';
import { validateSignature } from '../../model/validate.js';

export interface PackOptions {
  readonly model: string;
  readonly name: string;
  readonly version: string | undefined;
  readonly manifest: string | undefined;
  /** TENSOR=col1,col2 */
  readonly columns: readonly string[];
  /** TENSOR=label1,label2 */
  readonly labels: readonly string[];
  /** TENSOR=softmax|sigmoid|none */
  readonly activation: readonly string[];
  /** TENSOR=value[,value…] */
  readonly fill: readonly string[];
  /** Output tensors to map (default: every tensor output). */
  readonly outputs: readonly string[] | undefined;
  readonly maxBatch: number | undefined;
  readonly description: string | undefined;
  /** Extra files copied into the bundle (tokenizer.json, labels…). */
  readonly files: readonly string[];
  /** Write the bundle here instead of the store. */
  readonly output: string | undefined;
}

export interface Packed {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly skipped: readonly string[];
}

export async function pack(options: PackOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<Packed> {
  checkFlags(options);
  const modelFile = resolve(options.model);
  const info = await stat(modelFile).catch(() => undefined);
  if (!info?.isFile()) {
    throw new BentoError('MODEL_NOT_FOUND', `Model file ${modelFile} ${info ? 'is a folder' : 'does not exist'}`, {
      file: modelFile, hint: info ? `pack takes the .onnx file itself${(await stat(join(modelFile, manifestName)).catch(() => undefined)) ? `; ${modelFile} is a bundle already: use it as a job's model, or pack its .onnx file` : ''}.` : 'Check the path; relative paths resolve against the current directory.',
    });
  }
  const probe = await ModelPool.create(modelFile, { size: 1, workers: { intraOp: 1, interOp: 1, graphOptimization: 'basic', providers: ['cpu'] } });
  const signature = probe.signature;
  const skipped = signature.outputs.filter((o) => !o.isTensor).map((o) => o.name);
  try {
    const version = options.version ?? await freeVersion(options.name, await defaultVersion(modelFile), options.output);
    const notes: string[] = [];
    const nodes = await readNodes(modelFile);
    const manifest = options.manifest ? await fromFile(options, version, signature) : fromFlags(options, version, signature, notes, nodes);
    const staging = await mkdtemp(join(tmpdir(), 'bento-batch-pack-'));
    try {
      const manifestFile = join(staging, manifestName);
      await writeFile(manifestFile, manifestText(manifest));
      const raw = await readManifest(manifestFile);
      let parsed: Manifest;
      try {
        parsed = parseManifest(raw, options.manifest ? resolve(options.manifest) : manifestFile);
      } catch (error) {
        // Without --manifest the manifest is made from the flags: its problems are theirs, not a file's.
        if (options.manifest || !(error instanceof BentoError)) throw error;
        throw new BentoError('USAGE', error.message.replace(`Manifest ${manifestFile}`, `Cannot pack ${options.model}: the manifest made from the flags`), { hint: 'Fix the flags, or describe the model in a manifest and give it with --manifest.' });
      }
      // The bundle holds what pack copies into it: a model or tokenizer path that leaves it would be written outside.
      const outside = outsideBundle(parsed);
      if (outside !== undefined) {
        throw new BentoError('MANIFEST_INVALID', `Manifest ${resolve(options.manifest ?? manifestFile)}: ${outside} names a file outside the bundle pack makes`, {
          file: resolve(options.manifest ?? manifestFile), hint: 'Name the file by its place in the bundle (model: model.onnx; text.tokenizer: tokenizer.json, given with --file).',
        });
      }
      await copyFile(modelFile, join(staging, parsed.model));
      // Weights saved beside the graph (torch's and onnx's external data, a must past 2 GB) go with it.
      const external = await externalData(modelFile);
      for (const file of external) {
        await mkdir(dirname(join(staging, file)), { recursive: true });
        await copyFile(join(dirname(modelFile), file), join(staging, file));
      }
      await checkExtraFiles(options, [manifestName, parsed.model, ...external]);
      for (const extra of options.files) await copyFile(resolve(extra), join(staging, basename(extra)));
      const bundle = { dir: staging, manifestFile, modelFile: join(staging, parsed.model), manifest: parsed };
      // The text model's tokenizer is a file of the bundle, which only --file puts there.
      if (parsed.text && !options.files.some((f) => basename(f) === parsed.text!.tokenizer)) {
        throw new BentoError('USAGE', `Cannot pack ${options.model}: text.tokenizer ${parsed.text.tokenizer} is not given`, { hint: `Give it with --file path/to/${parsed.text.tokenizer} (and its tokenizer_config.json with another --file).` });
      }
      let outputs: Record<string, TensorData>;
      try {
        // A mismatch names the user's files, not the staging copies.
        validateSignature({ ...bundle, manifestFile: options.manifest ? resolve(options.manifest) : manifestFile, modelFile }, signature);
        outputs = await tryOneBatch(probe, bundle, modelFile, nodes);
      } catch (error) {
        throw options.manifest ? error : flagsAtFault(error, options.model, manifestFile, staging);
      }
      // --labels on an output that is already probabilities (sklearn's, a graph ending in Softmax):
      // a softmax on top would flatten them. Its rows on the generated batch say which it is.
      const already = options.manifest ? [] : parsed.outputs.filter((o) => o.labels && o.activation === 'softmax' && !options.activation.some((a) => a.startsWith(`${o.tensor}=`)) && probabilities(outputs[o.tensor]!));
      if (already.length > 0) {
        for (const o of manifest.outputs as { tensor: string; activation?: string }[]) if (already.some((a) => a.tensor === o.tensor)) o.activation = 'none';
        await writeFile(manifestFile, manifestText(manifest));
        parsed = parseManifest(await readManifest(manifestFile), manifestFile);
        for (const o of already) log(`note: output "${o.tensor}" already holds probabilities (each row sums to 1): no softmax on it; give --activation ${o.tensor}=softmax to apply one`);
      }
      let dir: string;
      if (options.output) {
        dir = resolve(options.output);
        if (await stat(dir).catch(() => undefined)) throw new BentoError('USAGE', `--output ${dir} already exists`, { hint: 'Give a new directory, or remove it first.' });
        // A link to nothing: the bundle would go where it points, or nowhere.
        if (await lstat(dir).catch(() => undefined)) throw new BentoError('USAGE', `--output ${dir} is a symbolic link to something that does not exist`, { hint: 'Give a new directory, or remove the link first.' });
        await mkdir(resolve(dir, '..'), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
          throw new BentoError('USAGE', `--output ${dir}: its folder ${resolve(dir, '..')} cannot be made: ${fsReason(error) ?? error.message}`, { hint: 'Give a directory under a folder (not under a file).' });
        });
        await rename(staging, dir).catch(async () => {
          await mkdir(dir, { recursive: true });
          for (const f of [manifestName, parsed.model, ...external, ...options.files.map((x) => basename(x))]) {
            await mkdir(dirname(join(dir, f)), { recursive: true });
            await copyFile(join(staging, f), join(dir, f));
          }
        });
      } else {
        dir = (await saveToStore(staging, parsed.name, parsed.version)).dir;
      }
      log(`packed ${parsed.name}:${parsed.version} → ${dir}`);
      for (const name of skipped) log(`note: output "${name}" is not a tensor (a sequence or map) and is not fetched. If it is ${notTensorFix}`);
      for (const note of notes) log(note);
      return { name: parsed.name, version: parsed.version, dir, skipped };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await probe.dispose();
  }
}

/**
 * The external data files an ONNX graph names (its tensors' `location` entries), relative to it.
 * A name that leaves the model's folder, or a file that is not there, is an error: the bundle
 * would not load.
 */
async function externalData(modelFile: string): Promise<string[]> {
  const found = locationsIn(await readFile(modelFile));
  const files = [...found].sort();
  for (const file of files) {
    const where = resolve(dirname(modelFile), file);
    if (isAbsolute(file) || relative(dirname(modelFile), where).startsWith('..')) {
      throw new BentoError('MODEL_LOAD', `Model ${modelFile} keeps weights in ${file}, outside its folder`, { file: modelFile, hint: 'Save the model with its external data beside it (onnx.save_model(..., save_as_external_data=True, location="model.onnx.data")) and pack again.' });
    }
    if (!(await stat(where).catch(() => undefined))?.isFile()) {
      throw new BentoError('MODEL_NOT_FOUND', `Model ${modelFile} keeps weights in ${file}, which is not beside it`, { file: where, hint: 'Copy the external data file next to the .onnx file, as it was saved, and pack again.' });
    }
  }
  return files;
}

/**
 * --file names a file each, of a name of its own in the bundle: one named bento.yaml, as the
 * model, or as its external data would replace what pack made and checked.
 */
async function checkExtraFiles(options: PackOptions, made: readonly string[]): Promise<void> {
  const problems: string[] = [];
  const names = options.files.map((f) => basename(f));
  for (const [i, extra] of options.files.entries()) {
    const info = await stat(resolve(extra)).catch(() => undefined);
    if (!info) problems.push(`--file ${extra}: does not exist`);
    else if (!info.isFile()) problems.push(`--file ${extra}: is not a file (a folder?); give each file with a --file of its own`);
    else if (made.includes(names[i]!)) problems.push(`--file ${extra}: the bundle's ${names[i]} is ${names[i] === manifestName ? 'the manifest pack writes (give yours with --manifest)' : 'the model pack checked'}; rename the file`);
    else if (names.indexOf(names[i]!) !== i) problems.push(`--file ${extra}: another --file is also named ${names[i]}, and one would replace the other in the bundle`);
  }
  if (problems.length > 0) throw new BentoError('USAGE', `Cannot pack ${options.model}:${problems.length === 1 ? ` ${problems[0]}` : `\n${problems.map((p) => `  - ${p}`).join('\n')}`}`, { hint: 'Fix the --file flags and run again.' });
}

/**
 * A problem of the manifest pack made from the flags, told as the flags' (exit 2), and a path in
 * the staging folder, which is gone once pack ends, as the bundle's.
 */
function flagsAtFault(error: unknown, model: string, manifestFile: string, staging: string): unknown {
  if (!(error instanceof BentoError)) return error;
  let message = error.message.replaceAll(`Manifest ${manifestFile}`, `Cannot pack ${model}: the manifest made from the flags`).replaceAll(`${staging}/`, '').replaceAll(staging, 'the bundle');
  // The generated batch's outputs against the mapping (postprocess: as many --labels as values a row).
  if (error.code === 'MODEL_MISMATCH' && message.startsWith('Output tensor')) message = `Cannot pack ${model}: ${message.replace('but the manifest maps', 'but the flags map')}`;
  if (error.code !== 'MODEL_MISMATCH' || !message.startsWith('Cannot pack')) return new BentoError(error.code, message, { ...(error.hint ? { hint: error.hint } : {}) });
  return new BentoError('USAGE', message, { hint: 'Fix the flags (--labels implies --activation NAME=softmax, which needs float logits: give --activation NAME=none for another output; --outputs names tensors `inspect` lists), or describe the model in a manifest and give it with --manifest.' });
}

/**
 * bento.yaml as pack writes it: YAML 1.2, as we read it, with every text that a YAML 1.1 reader
 * (PyYAML) would read as something else quoted too: labels such as no, yes, on and off, which
 * 1.1 reads as booleans. Writing YAML 1.1 instead left 0o17, octal in 1.2, unquoted: read back
 * as 15, it renamed a class's column.
 */
function manifestText(manifest: Record<string, unknown>): string {
  // The document's own (1.2) stringifier quotes what 1.2 would misread; this, what 1.1 would,
  // and what PyYAML reads otherwise than the yaml library's 1.1 schema: `=` and `<<` (its value
  // and merge keys), tabs and the characters it takes for line breaks or refuses.
  const doc = new Document(manifest);
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && (plainIn11(node.value) !== node.value || node.value === '=' || node.value === '<<' || pyYamlOdd.test(node.value))) node.type = 'QUOTE_DOUBLE';
    },
  });
  // Escaped where they stand, inside those double quotes: raw, PyYAML reads NEL as a space and refuses DEL.
  return doc.toString({ lineWidth: 0 }).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const pyYamlOdd = /[\t\u007f-\u009f\u2028\u2029]/;

/** What a YAML 1.1 reader makes of `text` written plain (undefined where it cannot read it). */
function plainIn11(text: string): unknown {
  try {
    return (parseYaml(`- ${text}`, { version: '1.1', logLevel: 'silent' }) as unknown[] | null)?.[0];
  } catch {
    return undefined;
  }
}

/** Flag mistakes, found before the model is loaded; a name and a version are folder names in the store and the two halves of a tag. */
function checkFlags(options: PackOptions): void {
  const problems: string[] = [];
  if (!tagPart.test(options.name)) problems.push(`--name ${JSON.stringify(options.name)}: expected ${tagPartWords}`);
  if (options.version !== undefined && !isVersion(options.version)) {
    problems.push(`--version ${JSON.stringify(options.version)}: expected ${tagPartWords}${options.version === 'latest' ? '; "latest" is the tag for the newest version, not a version' : ''}`);
  }
  if (options.maxBatch !== undefined && !(Number.isInteger(options.maxBatch) && options.maxBatch > 0)) problems.push('--max-batch: expected a positive whole number');
  const described = [...(['columns', 'labels', 'activation', 'fill'] as const).filter((flag) => options[flag].length > 0), ...(options.outputs ? ['outputs'] : [])];
  if (options.manifest && described.length > 0) problems.push(`${described.map((f) => `--${f}`).join(', ')}: the manifest given with --manifest describes the tensors; put ${described.length === 1 ? 'it' : 'them'} there, or leave --manifest out`);
  for (const flag of ['columns', 'labels', 'activation', 'fill'] as const) {
    const tensors = options[flag].map((v) => v.slice(0, Math.max(0, v.indexOf('='))));
    for (const tensor of new Set(tensors.filter((t, i) => t && tensors.indexOf(t) !== i))) problems.push(`--${flag} ${tensor}=…: given more than once; give each tensor once`);
  }
  if (problems.length > 0) throw new BentoError('USAGE', `Cannot pack ${options.model}:${problems.length === 1 ? ` ${problems[0]}` : `\n${problems.map((p) => `  - ${p}`).join('\n')}`}`, { hint: 'Fix the flags and run again; `bento-batch pack --help` lists them.' });
}

/** The default version, or it with -2, -3, … where the same model was packed under that name within the same second. */
async function freeVersion(name: string, version: string, output: string | undefined): Promise<string> {
  if (output) return version;
  let free = version;
  for (let n = 2; await stat(join(modelsDir(), name, free)).catch(() => undefined); n++) free = `${version}-${n}`;
  return free;
}

/** A sortable id from the packing time plus the model's hash: 20261124-121530-3f9a1c. */
async function defaultVersion(modelFile: string): Promise<string> {
  const hash = createHash('sha256').update(await readFile(modelFile)).digest('hex').slice(0, 6);
  const now = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${now}-${hash}`;
}

/** The graph's fixed batch size: an input's first dimension that is a number. */
const fixedBatch = (signature: Signature) => signature.inputs.map((i) => i.shape[0]).find((d): d is number => typeof d === 'number' && d > 0);

/** The batch section pack writes: the graph's fixed batch, or --max-batch (4096). */
function batchOf(signature: Signature, maxBatch: number | undefined): { max_size: number; fixed: boolean } {
  const fixed = fixedBatch(signature);
  return fixed ? { max_size: fixed, fixed: true } : { max_size: maxBatch ?? 4096, fixed: false };
}

async function fromFile(options: PackOptions, version: string, signature: Signature): Promise<Record<string, unknown>> {
  const raw = (await readManifest(resolve(options.manifest!))) as Record<string, unknown>;
  // A manifest without a batch section gets the one pack makes from the graph, as with the flags.
  const batch = options.maxBatch !== undefined ? { batch: { ...(raw.batch as Record<string, unknown> | undefined), max_size: options.maxBatch } }
    : raw.batch === undefined ? { batch: batchOf(signature, undefined) } : {};
  return { bento: 1, ...raw, ...batch, name: options.name, version, model: 'model.onnx', created: new Date().toISOString(), ...(options.description ? { description: options.description } : {}) };
}

function pairs(flag: string, values: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new BentoError('USAGE', `--${flag} ${JSON.stringify(v)}: expected TENSOR=value[,value…]`);
    out.set(v.slice(0, eq), v.slice(eq + 1).split(',').map((x) => x.trim()).filter(Boolean));
  }
  return out;
}

function fromFlags(options: PackOptions, version: string, signature: Signature, notes: string[], nodes: readonly GraphNode[]): Record<string, unknown> {
  const columns = pairs('columns', options.columns);
  const labels = pairs('labels', options.labels);
  const activation = pairs('activation', options.activation);
  const fill = pairs('fill', options.fill);
  const problems: string[] = [];
  const fixed = fixedBatch(signature);
  const inputs = signature.inputs.map((input) => {
    const cols = columns.get(input.name);
    if (input.type !== undefined && !(dtypes as readonly string[]).includes(input.type)) problems.push(unfedDtype(input.name, input.type));
    else if (!cols) problems.push(`input tensor "${input.name}" (${input.type} ${shapeText(input.shape)}) needs columns: add --columns ${input.name}=col1,col2,…`);
    // [4] fed 4 columns: a model exported for one row at a time, whose only dimension is the features.
    else if (input.shape.length === 1 && typeof input.shape[0] === 'number' && cols.length > 1 && cols.length === input.shape[0]) {
      problems.push(`input tensor "${input.name}" has shape [${input.shape[0]}] and --columns gives it ${cols.length} columns: the model takes one row at a time, with no batch dimension; re-export it with one (an input of shape [1, ${cols.length}] and dynamic_axes={"${input.name}": {0: "batch"}} in torch.onnx.export)`);
    }
    const rest = input.shape.slice(1);
    if (rest.some((d) => typeof d !== 'number' || d < 0)) problems.push(`input tensor "${input.name}" has dynamic dimensions ${shapeText(input.shape)}; describe it with --manifest`);
    // Text for a string tensor; numbers, or nan for a model that imputes missing values itself, for the others.
    const given = fill.get(input.name);
    const f = input.type === 'string' ? given : given?.map((x) => (/^nan$/i.test(x) ? Number.NaN : Number(x)));
    if (input.type !== 'string' && f?.some((x, k) => !Number.isFinite(x) && !/^nan$/i.test(given![k]!))) problems.push(`--fill ${input.name}=${given!.join(',')}: expected numbers (or nan), e.g. --fill ${input.name}=0`);
    return { tensor: input.name, dtype: input.type, shape: ['batch', ...rest], columns: cols ?? [], ...(f ? { fill: f.length === 1 ? f[0] : f } : {}) };
  });
  // Each flag names tensors of one side of the model: a name it lacks is a problem, as a misspelt --columns is.
  const inputNames = signature.inputs.map((i) => i.name);
  const tensorOutputs = signature.outputs.filter((o) => o.isTensor);
  const outputNames = tensorOutputs.map((o) => o.name);
  for (const [flag, map, names, what] of [['columns', columns, inputNames, 'input'], ['fill', fill, inputNames, 'input'], ['labels', labels, outputNames, 'tensor output'], ['activation', activation, outputNames, 'tensor output']] as const) {
    for (const name of map.keys()) if (!names.includes(name)) problems.push(`--${flag} ${name}=…: the model has no ${what} "${name}" (it has ${names.join(', ')})`);
  }
  if (problems.length > 0) throw new BentoError('USAGE', `Cannot pack ${options.model}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { hint: 'Run `bento-batch inspect MODEL.onnx` to see the tensors.' });
  // An output with no batch dimension (a scalar, a per-model constant: torch tuple outputs can be
  // such) has no value per row; unless named by --outputs it is left out, and said so.
  const perRow = (o: Signature['outputs'][number]) => o.shape.length > 0 && (typeof o.shape[0] !== 'number' || o.shape[0] < 0 || o.shape[0] === fixed);
  const tensors = tensorOutputs.filter((o) => (options.outputs ? options.outputs.includes(o.name) : perRow(o)));
  for (const o of tensorOutputs) if (!options.outputs && !perRow(o)) notes.push(`note: output "${o.name}" has shape ${shapeText(o.shape)}, no batch dimension: it holds no value per row and is not mapped`);
  if (tensors.length === 0 && !options.outputs && tensorOutputs.length > 0) {
    problems.push(`no output has a batch dimension (${tensorOutputs.map((o) => `"${o.name}" ${shapeText(o.shape)}`).join(', ')}), so none holds a value per row. A forward ending in .squeeze() drops the batch of a model exported with a batch of 1: squeeze only the other dimension (.squeeze(-1)) and export with dynamic_axes={"${tensorOutputs[0]!.name}": {0: "batch"}, …}`);
  }
  for (const name of options.outputs ?? []) {
    if (!outputNames.includes(name)) problems.push(`--outputs ${name}: the model has no tensor output "${name}" (it has ${outputNames.join(', ')})`);
  }
  if (problems.length > 0) throw new BentoError('USAGE', `Cannot pack ${options.model}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { hint: 'Run `bento-batch inspect MODEL.onnx` to see the tensors.' });
  const outputs = tensors.map((output) => {
    const prefix = tensors.length === 1 ? '' : `${output.name}_`;
    const rest = output.shape.slice(1);
    const width = rest.every((d) => typeof d === 'number' && d > 0) ? rest.reduce((a: number, d) => a * Number(d), 1) : undefined;
    // An sklearn classifier's probabilities take its class labels, as skl2onnx's ZipMap would give them.
    const fromGraph = labels.has(output.name) ? undefined : classLabels(nodes, output.name);
    const graphClasses = fromGraph && fromGraph.length > 1 && (width === undefined || width === fromGraph.length) ? fromGraph : undefined;
    if (graphClasses) notes.push(`note: output "${output.name}" holds the probabilities of the model's classifier: its columns are named after its classes [${columnList(graphClasses)}] (--labels ${output.name}=… names them otherwise)`);
    const classes = labels.get(output.name) ?? graphClasses;
    if (classes && width === 1 && (activation.get(output.name)?.[0] ?? 'softmax') === 'softmax') {
      throw new BentoError('USAGE', `Cannot pack ${options.model}: --labels ${output.name}=${classes.join(',')}: output "${output.name}" has one value per row, and a softmax over one value is always 1`, {
        hint: `For one score (a sigmoid probability), leave --labels ${output.name} out: it becomes a value column; for a logit, add --activation ${output.name}=sigmoid.`,
      });
    }
    if (classes) {
      return { tensor: output.name, activation: activation.get(output.name)?.[0] ?? 'softmax', labels: classes, columns: { label: `${prefix}label`, score: `${prefix}score`, probabilities: `${prefix}prob_` } };
    }
    const columnsOut = width === undefined ? { list: output.name } : width === 1 ? { values: [output.name] } : { values: Array.from({ length: width }, (_, k) => `${output.name}_${k}`) };
    return { tensor: output.name, activation: activation.get(output.name)?.[0] ?? 'none', columns: columnsOut };
  });
  return {
    bento: 1, name: options.name, version, created: new Date().toISOString(),
    ...(options.description ? { description: options.description } : {}),
    model: 'model.onnx',
    batch: batchOf(signature, options.maxBatch),
    inputs, outputs,
  };
}

/** Whether every row of an output is a probability distribution: values in [0, 1] summing to 1. */
function probabilities(tensor: TensorData): boolean {
  if (!(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) return false;
  const rows = tensor.dims[0] ?? 0;
  const width = rows > 0 ? tensor.data.length / rows : 0;
  if (width < 2) return false;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let k = 0; k < width; k++) {
      const v = tensor.data[r * width + k]!;
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/** Runs two generated rows through the model: zeros (or the fill, or the first category, or one its encoders know). */
async function tryOneBatch(pool: ModelPool, bundle: Bundle, modelFile: string, nodes: readonly GraphNode[]): Promise<Record<string, TensorData>> {
  const manifest = bundle.manifest;
  // Two rows, or as many as a fixed batch takes (one, for a model exported at batch 1).
  const rows = manifest.batch.fixed ? Math.min(2, manifest.batch.max_size) : 2;
  const columns = new Map<string, unknown[]>();
  if (manifest.text) columns.set(manifest.text.column, Array.from({ length: rows }, () => 'I was driving a BMW'));
  // Float cells of ones, then zeros: on zeros alone a linear model's logits are its bias, which may
  // happen to look like probabilities (see `probabilities`); 0 and 1 stay valid where a float
  // column carries a category code (cast to an index into an embedding).
  for (const input of manifest.inputs) {
    // A text or id the fill gives, or an encoder in the graph knows: skl2onnx's OneHotEncoder
    // refuses any other (zeros=0, sklearn's handle_unknown='error').
    const categories = knownCategories(nodes, input.tensor);
    const known = categories?.[0];
    const fills = Array.isArray(input.fill) ? input.fill : input.columns.map(() => input.fill);
    input.columns.forEach((column, j) => {
      const fill = fills[j];
      // A known category reaches a number input through a Cast: as a number (a text one only where it reads as one).
      // The first the input can hold as a number (a category -1 is none a uint8 input can be fed).
      const range = rangeOf(input.dtype);
      const knownNumber = (categories ?? []).map((c) => (typeof c === 'bigint' ? Number(c) : c.trim() !== '' && Number.isFinite(Number(c)) ? Number(c) : undefined))
        .find((n) => n !== undefined && (!range || (n >= range[0] && n <= range[1])));
      // A float input's rows stay ones and zeros unless a Cast leads it to an encoder: a fill of
      // zeros would give a linear model's bias, which may look like probabilities (see `probabilities`).
      const chosen = input.dtype === 'string' ? (typeof fill === 'string' ? fill : known !== undefined ? String(known) : 'text')
        : isInteger(input.dtype) && typeof fill === 'number' ? fill
        : input.dtype === 'int64' && typeof known === 'bigint' ? known
        : knownNumber;
      const value = (r: number) => (input.categories ? input.categories[0] : chosen !== undefined ? chosen : input.dtype === 'bool' ? false : /^float/.test(input.dtype) && r === 0 ? 1 : 0);
      // One column of lists (an embedding) holds the row's values in one cell.
      const list = isListInput(input) ? rowWidth(input)! : 0;
      columns.set(column, Array.from({ length: rows }, (_, r) => (list ? new Array(list).fill(value(r)) : value(r))));
    });
  }
  const batch: Batch = { index: 0, start: 0, length: rows, columns, segments: [{ file: '(generated)', fileRow: 0, offset: 0, length: rows }], end: { file: 0, row: rows } };
  try {
    const { feeds, context } = (await Preprocessor.create(bundle, pool.signature)).run(batch, manifest.batch.fixed ? manifest.batch.max_size : rows);
    const outputs = await pool.run(feeds, [...new Set(manifest.outputs.map((o) => o.tensor))]);
    postprocess(manifest, outputs, rows, modelFile, context);
    return outputs;
  } catch (error) {
    if (error instanceof BentoError) throw error;
    throw new BentoError('MODEL_RUN', `The packed model ${manifest.name} failed on a generated batch: ${oneLine((error as Error).message)}`, {
      file: modelFile, hint: 'Check the tensors\' dtypes and shapes with `bento-batch inspect`. The generated rows hold ones, zeros, "text", a category the graph\'s encoders list, or the --fill given for a text or whole-number input; where the model refuses those (a value it was not fitted on), give such an input --fill TENSOR=a value it knows, or describe the model with --manifest.',
    });
  }
}
