/**
 * @file Tensor shapes as a manifest declares them. Apart from manifest.ts so the scoring thread,
 * which is handed a checked manifest, loads no schema library.
 */
import type { InputTensor } from './manifest.js';

/** Number of values per row an input tensor takes: the product of its non-batch dims. */
export function rowWidth(input: InputTensor): number | undefined {
  let width = 1;
  for (const d of input.shape.slice(1)) {
    if (typeof d !== 'number') return undefined;
    width *= d;
  }
  return width;
}
