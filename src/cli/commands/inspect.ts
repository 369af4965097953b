/**
 * @file `bento-batch inspect BUNDLE|MODEL.onnx`: the model's real signature and, for a bundle,
 * how the manifest maps columns to tensors, so a manifest can be written without reading ONNX.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BentoError } from '../../errors.js';
import { type Bundle, resolveBundle } from '../../model/bundle.js';
import { defaultMaxLength, fillText, isListInput, outputColumns } from '../../model/manifest.js';
import { ModelPool } from '../../model/pool.js';
import { notTensorFix, type Signature, shapeText, type TensorInfo } from '../../model/session.js';
import { rowWidth } from '../../model/shape.js';
import { dynamicDim, validateSignature } from '../../model/validate.js';

export interface InspectOptions {
  readonly target: string;
  readonly json: boolean;
}

export async function inspect(options: InspectOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const target = resolve(options.target);
  const info = await stat(target).catch(() => undefined);
  const bare = info?.isFile() && target.toLowerCase().endsWith('.onnx');
  // A file that is neither a model nor a bundle archive would otherwise be looked up as a store tag.
  if (info?.isFile() && !bare && !/\.(tar\.gz|tgz)$/i.test(target)) {
    throw new BentoError('MODEL_NOT_FOUND', `${target} is not a model: inspect takes an .onnx file, a bundle directory, a bundle archive (.tar.gz) or a store tag`, { file: target, hint: 'Give the .onnx file or the bundle directory; `bento-batch models list` shows the stored tags.' });
  }
  const bundle = bare ? undefined : await resolveBundle(options.target, process.cwd());
  const modelFile = bundle?.modelFile ?? target;
  const pool = await ModelPool.create(modelFile, { size: 1, workers: { intraOp: 1, interOp: 1, graphOptimization: 'basic', providers: ['cpu'] } });
  let mismatch: string | undefined;
  try {
    if (bundle) {
      try {
        validateSignature(bundle, pool.signature);
      } catch (error) {
        mismatch = (error as Error).message;
      }
    }
  } finally {
    await pool.dispose();
  }
  const signature = pool.signature;
  if (options.json) {
    out.write(`${JSON.stringify({ model: modelFile, signature, manifest: bundle?.manifest, mismatch }, null, 2)}\n`);
    return;
  }
  out.write(render(modelFile, signature, bundle, mismatch));
}

function render(modelFile: string, signature: Signature, bundle: Bundle | undefined, mismatch: string | undefined): string {
  const lines: string[] = [];
  const m = bundle?.manifest;
  if (m) {
    lines.push(`bundle   ${m.name}:${m.version}  (${bundle!.dir})`);
    if (m.description) lines.push(`         ${m.description}`);
  }
  lines.push(`model    ${modelFile}`);
  const batchDims = signature.inputs.map((i) => i.shape[0]).filter((d) => typeof d === 'number' && d > 0);
  // [2, batch, 2] (sequence first) and [4] (one row's values) have a fixed first dimension that is no batch.
  const later = signature.inputs.find((i) => !dynamicDim(i.shape[0] ?? 'batch') && i.shape.slice(1).some(dynamicDim));
  const flat = signature.inputs.find((i) => i.shape.length === 1 && !dynamicDim(i.shape[0]!) && Number(i.shape[0]) > 1);
  // Fixed first and open after: a fixed batch with a sequence (token inputs, [4, sequence]), or the
  // batch in another dimension (a sequence-first export); at 1, an export at batch 1 (validate's rule).
  const batch = later && later.shape[0] === 1 ? `fixed at 1 (rows run one at a time), input "${later.name}" ${shapeText(later.shape)} open after it`
    : later ? `fixed at ${later.shape[0]}, with open dimensions after it in input "${later.name}" ${shapeText(later.shape)}: a sequence (token inputs), or else the batch in another dimension, which rows cannot be fed to (re-export with the batch first)`
    : flat ? `fixed at ${flat.shape[0]}, or none: input "${flat.name}" is [${flat.shape[0]}], which is also one row's ${flat.shape[0]} values for a model exported to take one row at a time`
      : batchDims.length > 0 ? `fixed at ${batchDims[0]} (rows run ${batchDims[0]} at a time, the last batch padded)` : 'dynamic';
  lines.push(`batch    ${batch}${m ? `; manifest max_size ${m.batch.max_size}` : ''}`);
  lines.push('inputs');
  for (const t of signature.inputs) {
    const text = m?.text && [m.text.input_ids, m.text.attention_mask, m.text.token_type_ids].includes(t.name) ? m.text : undefined;
    if (text) {
      lines.push(`  ${describe(t)}  ← text column "${text.column}" (${text.tokenizer}, max_length ${text.max_length ?? `${defaultMaxLength} (default; the model's model_max_length where fewer)`}, padded per batch)`);
      continue;
    }
    const mapped = m?.inputs.find((i) => i.tensor === t.name);
    lines.push(`  ${describe(t)}${mapped ? `  ← columns [${mapped.columns.join(', ')}]${isListInput(mapped) ? ` (a list of ${rowWidth(mapped)} a row)` : ''}${mapped.categories ? ` as categories [${mapped.categories.join(', ')}]` : ''}${mapped.fill !== undefined ? `, missing → ${fillText(mapped.fill)}` : ', missing → error'}` : ''}`);
  }
  lines.push('outputs');
  for (const t of signature.outputs) {
    const mapped = m?.outputs.find((o) => o.tensor === t.name);
    const fixedBatch = batchDims.length > 0;
    const note = !t.isTensor ? `  (not a tensor: cannot be fetched by onnxruntime-node. If it is ${notTensorFix})`
      : t.shape.length === 0 ? '  (a scalar: no value per row, not fetched)'
        : !fixedBatch && !dynamicDim(t.shape[0]!) && t.shape.length === 1 ? '  (no batch dimension: a per-model constant, no value per row)'
          : !fixedBatch && !dynamicDim(t.shape[0]!) && t.shape.slice(1).some(dynamicDim) ? '  (its batch is not the first dimension: no value per row)' : '';
    lines.push(`  ${describe(t)}${mapped ? `  → ${mapped.activation && mapped.activation !== 'none' ? `${mapped.activation} → ` : ''}[${outputColumns(mapped).join(', ')}]` : ''}${note}`);
  }
  if (mismatch) lines.push('', `problem  ${mismatch}`);
  return `${lines.join('\n')}\n`;
}

function describe(t: TensorInfo): string {
  return t.isTensor ? `${t.name}: ${t.type} ${shapeText(t.shape)}` : `${t.name}: (sequence/map)`;
}
