/**
 * @file The manifest against the model's real signature: every tensor named exists, dtypes
 * and fixed dims agree, every model input is fed, and fetched outputs are tensors.
 */
import { BentoError } from '../errors.js';
import type { Bundle } from './bundle.js';
import { dtypes, unfedDtype } from './manifest.js';
import { notTensorFix, type Signature, shapeText } from './session.js';

/** A dimension the graph leaves open (a name, or unknown). */
export const dynamicDim = (d: number | string) => typeof d !== 'number' || d <= 0;

/** Throws one MODEL_MISMATCH listing every disagreement between bento.yaml and the ONNX graph. */
export function validateSignature(bundle: Bundle, signature: Signature): void {
  const m = bundle.manifest;
  const problems: string[] = [];
  const inputNames = signature.inputs.map((i) => i.name);
  m.inputs.forEach((input, i) => {
    const actual = signature.inputs.find((x) => x.name === input.tensor);
    if (!actual) {
      problems.push(`inputs.${i}.tensor: the model has no input "${input.tensor}" (it has [${inputNames.join(', ')}]); it would be filled from columns [${input.columns.join(', ')}]`);
      return;
    }
    if (actual.type !== undefined && actual.type !== input.dtype) {
      problems.push(`inputs.${i}.dtype: ${(dtypes as readonly string[]).includes(actual.type) ? `the model's input "${input.tensor}" is ${actual.type}, the manifest says ${input.dtype}` : unfedDtype(input.tensor, actual.type)}`);
    }
    if (actual.shape.length > 0) {
      if (actual.shape.length !== input.shape.length) {
        problems.push(`inputs.${i}.shape: the model's input "${input.tensor}" has ${actual.shape.length} dimension(s) ${shapeText(actual.shape)}, the manifest says [${input.shape.join(', ')}]`);
      } else {
        input.shape.forEach((d, k) => {
          const real = actual.shape[k];
          if (k > 0 && typeof d === 'number' && typeof real === 'number' && real > 0 && real !== d) {
            problems.push(`inputs.${i}.shape: dimension ${k} of "${input.tensor}" is ${real} in the model, ${d} in the manifest`);
          }
        });
        const batchDim = actual.shape[0];
        // [4, N]: fixed first, dynamic after (a sequence-first export): rows fed as the first dimension
        // would be read down its columns, each prediction made of other rows' values. ([1, N] is an
        // export at batch 1 as much as a batch second of one column: taken as the former.)
        const later = typeof batchDim === 'number' && batchDim > 1 ? actual.shape.findIndex((d, k) => k > 0 && dynamicDim(d)) : -1;
        if (later > 0) {
          problems.push(`inputs.${i}.shape: the model's input "${input.tensor}" is ${shapeText(actual.shape)}, fixed first and dynamic at dimension ${later}: its batch is not the first dimension, which is where rows are fed; re-export the model with the batch first`);
        } else if (typeof batchDim === 'number' && batchDim > 0) {
          if (!m.batch.fixed) problems.push(`batch.fixed: the model's input "${input.tensor}" has a fixed batch dimension of ${batchDim}; set batch.fixed: true and batch.max_size: ${batchDim}`);
          else if (m.batch.max_size !== batchDim) problems.push(`batch.max_size: the model's fixed batch dimension is ${batchDim}, the manifest says ${m.batch.max_size}`);
        }
      }
    }
  });
  const textTensors = m.text ? [m.text.input_ids, m.text.attention_mask, ...(m.text.token_type_ids ? [m.text.token_type_ids] : [])] : [];
  for (const name of textTensors) {
    const actual = signature.inputs.find((x) => x.name === name);
    if (!actual) problems.push(`text: the model has no input "${name}" (it has [${inputNames.join(', ')}]); name its token tensors in the text section`);
    else if (actual.type !== 'int64') problems.push(`text: the model's input "${name}" is ${actual.type}; token tensors are fed as int64`);
  }
  for (const name of inputNames) {
    if (!m.inputs.some((x) => x.tensor === name) && !textTensors.includes(name)) problems.push(`inputs: the model's input "${name}" is not fed by any entry; add one with tensor: ${name}`);
  }
  m.outputs.forEach((output, i) => {
    const actual = signature.outputs.find((x) => x.name === output.tensor);
    if (!actual) problems.push(`outputs.${i}.tensor: the model has no output "${output.tensor}" (it has [${signature.outputs.map((o) => o.name).join(', ')}])`);
    else if (!actual.isTensor) problems.push(`outputs.${i}.tensor: the model's output "${output.tensor}" is not a tensor (a sequence or map) and cannot be fetched. If it is ${notTensorFix}`);
    else if (actual.shape.length === 0) problems.push(`outputs.${i}.tensor: the model's output "${output.tensor}" is a scalar (shape []): it has no batch dimension, so no value per row; leave it out`);
    // (A fixed first dimension alone may be a tracer's [1, 3] for a batch it was not told of, and a
    // fixed batch's output is [1, sequence, 9]: the run checks the rows that come back.)
    else if (!m.batch.fixed && !dynamicDim(actual.shape[0]!) && actual.shape.slice(1).some(dynamicDim)) problems.push(`outputs.${i}.tensor: the model's output "${output.tensor}" is ${shapeText(actual.shape)}, fixed first and dynamic after: its batch is not the first dimension, so its first dimension holds no value per row; leave it out, or re-export it with the batch first`);
    else if (output.activation === 'softmax' && actual.shape.length === 2 && actual.shape[1] === 1) problems.push(`outputs.${i}.activation: softmax over the one value a row of "${output.tensor}" has (shape ${shapeText(actual.shape)}) is always 1; leave it out (none), or use sigmoid for a logit`);
    else if (actual.type !== undefined && !/^float/.test(actual.type)) {
      // Arithmetic on the values needs numbers that are not whole numbers of 64 bits, flags or text.
      const needs = [...(output.activation && output.activation !== 'none' ? [`activation: ${output.activation}`] : []), ...(output.normalize ? ['normalize'] : []), ...((output.pooling ?? 'none') !== 'none' ? [`pooling: ${output.pooling}`] : [])];
      if (needs.length > 0) problems.push(`outputs.${i}: the model's output "${output.tensor}" is ${actual.type}; ${needs.join(', ')} needs a float output (leave ${needs.length === 1 ? 'it' : 'them'} out)`);
    }
  });
  if (problems.length > 0) {
    const head = problems.length === 1 ? problems[0] : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    throw new BentoError('MODEL_MISMATCH', `Manifest ${bundle.manifestFile} does not match the model ${bundle.modelFile}: ${head}`, {
      file: bundle.manifestFile, hint: 'Run `bento-batch inspect` on the bundle to see the model\'s real inputs and outputs, and fix bento.yaml.',
    });
  }
}
