/**
 * @file Batch columns → input tensors, as the manifest says: columns in order into a
 * [batch, …] tensor of the declared dtype, missing cells filled or refused, text mapped to
 * category indices. A cell that cannot be converted names its file, row and column.
 */
import { join } from 'node:path';
import { type Batch, locate } from '../batch/batcher.js';
import { BentoError } from '../errors.js';
import { formatFromPath } from '../job/spec.js';
import { blockArray } from '../source/blocks.js';
import { integerText } from '../source/chunks.js';
import { jsonText, numberText } from '../sink/values.js';
import { cell, type Column, int64Max, int64Min, localeHint, MaskedColumn, missingTokens, parseNumber, plainDecimal } from '../source/types.js';
import type { Bundle } from './bundle.js';
import { defaultMaxLength, type InputTensor, isInteger, isListInput, type Manifest, poolingMask, rangeOf } from './manifest.js';
import { rowWidth } from './shape.js';
import type { TextEncoder, TokenInfo } from './text.js';
import type { Signature, TensorData } from './session.js';

/** What postprocessing needs from preprocessing: the tokens of a text batch. */
export interface PreContext {
  readonly text?: { readonly info: readonly TokenInfo[]; readonly sequence: number; readonly mask: BigInt64Array };
  /** Masks read from columns, by input tensor, for pooling: mean (poolingMask): copies, as the feeds move to a model worker. */
  readonly masks?: ReadonlyMap<string, { readonly data: ArrayLike<number | bigint>; readonly sequence: number }>;
}

/** Column tensors plus, for text models, the tokenizer: built once per run. */
export class Preprocessor {
  readonly #manifest: Manifest;
  readonly #encoder: TextEncoder | undefined;

  /** The token inputs' fixed length, where the graph has one. */
  readonly #padTo: number | undefined;
  /** The inputs pooling: mean takes its mask from (poolingMask): none for most models. */
  readonly #maskInputs: readonly string[];
  /** CSV input: an empty text cell is a missing one (as an empty cell is in every other column), also where cells reach here as the text read. */
  readonly #csv: boolean;

  private constructor(manifest: Manifest, encoder: TextEncoder | undefined, padTo: number | undefined, csv: boolean) {
    this.#manifest = manifest;
    this.#encoder = encoder;
    this.#padTo = padTo;
    this.#csv = csv;
    this.#maskInputs = [...new Set(manifest.outputs.map((o) => poolingMask(manifest, o)).filter((name) => name !== undefined))];
  }

  /** `signature`: the graph's, whose fixed token length (if any) every text is padded to; `csv`: the input is CSV. */
  static async create(bundle: Bundle, signature?: Signature, csv = false): Promise<Preprocessor> {
    const text = bundle.manifest.text;
    // The tokenizer library is loaded only for a text model.
    const encoder = text ? await (await import('./text.js')).TextEncoder.load(bundle.dir, text.tokenizer) : undefined;
    // Past the model's positions, every long text fails in onnxruntime with a broadcast error a row at a time.
    if (encoder?.modelMaxLength !== undefined && text!.max_length !== undefined && text!.max_length > encoder.modelMaxLength) {
      throw new BentoError('MANIFEST_INVALID', `Bundle ${bundle.dir}: text.max_length ${text!.max_length} is more than the ${encoder.modelMaxLength} tokens the model takes (model_max_length in tokenizer_config.json)`, {
        file: bundle.manifestFile, hint: `Set text.max_length to ${encoder.modelMaxLength} or less in bento.yaml, or leave it out (then ${Math.min(defaultMaxLength, encoder.modelMaxLength)}: ${defaultMaxLength}, or the model's where fewer).`,
      });
    }
    const ner = bundle.manifest.outputs.findIndex((o) => o.task === 'token-classification');
    if (encoder?.unaligned && ner >= 0) {
      throw new BentoError('MANIFEST_INVALID', `Bundle ${bundle.dir}: outputs.${ner} is token-classification, whose entities need each token's place in the text, but tokenizer ${text!.tokenizer} cannot give it: ${encoder.unaligned}`, {
        file: join(bundle.dir, text!.tokenizer), hint: 'Pack the model with a WordPiece tokenizer (BERT, DistilBERT, ELECTRA), or leave out the entities column and report the tags another way.',
      });
    }
    // A model exported from a tokenizer called with padding="max_length" takes that many tokens, no fewer.
    const fixed = text && signature?.inputs.find((i) => i.name === text.input_ids)?.shape[1];
    const padTo = typeof fixed === 'number' && fixed > 0 ? fixed : undefined;
    if (padTo !== undefined && text!.max_length !== undefined && text!.max_length > padTo) {
      throw new BentoError('MANIFEST_INVALID', `Bundle ${bundle.dir}: text.max_length ${text!.max_length} is more than the ${padTo} tokens the model's input "${text!.input_ids}" holds (a fixed length in the graph)`, {
        file: bundle.manifestFile, hint: `Set text.max_length to ${padTo} or less in bento.yaml, or leave it out (then ${padTo}).`,
      });
    }
    return new Preprocessor(bundle.manifest, encoder, padTo, csv);
  }

  /** Copies of the mask feeds that pooling: mean reads (none for most models). */
  #masks(feeds: Record<string, TensorData>): PreContext {
    if (this.#maskInputs.length === 0) return {};
    const masks = new Map(this.#maskInputs.map((name) => {
      const feed = feeds[name]!;
      return [name, { data: (feed.data as Int32Array | BigInt64Array | Float32Array).slice(), sequence: Number(feed.dims[1] ?? 1) }];
    }));
    return { masks };
  }

  /** Feeds for one batch padded to `rows`, and the context its postprocessing needs. */
  run(batch: Batch, rows: number, errors?: RowErrors): { feeds: Record<string, TensorData>; context: PreContext } {
    const feeds = preprocess(batch, this.#manifest, rows, errors, this.#csv);
    const text = this.#manifest.text;
    if (!text || !this.#encoder) return { feeds, context: this.#masks(feeds) };
    // A bad text is its row's error, or the batch's when no row errors are kept.
    const reject = (i: number, why: string, value: unknown, hint: string) => {
      const { file, row, byte } = locate(batch, i);
      const error = new BentoError('INVALID_VALUE', `Invalid value: column "${text.column}" ${why} at ${file} row ${row}`, { file, row, byte, column: text.column, value, hint });
      if (!errors) throw error;
      if (!errors.has(i)) errors.set(i, error);
    };
    const column = textOfBytes(batch.columns.get(text.column)!, (i, bytes) => reject(i, `${notText}, got ${show(bytes)}`, bytes, 'Fix or remove the value in the input.'));
    // A number is read as the writers print it (a FLOAT's 0.1, not 0.10000000149011612, the float32's double; -0).
    const float32 = column instanceof Float32Array || (column instanceof MaskedColumn && column.values instanceof Float32Array);
    const texts: string[] = Array.from({ length: rows }, (_, i) => {
      const v = i < batch.length ? cell(column, i) : '';
      if (v === null || v === undefined || (this.#csv && v === '' && i < batch.length)) {
        // Scored as "", a missing text gets a confident label of whatever the model says of nothing.
        if (text.fill === undefined) reject(i, 'has no text (the cell is missing)', null, 'Fill it in the input, or set text.fill in bento.yaml (fill: "" scores a missing text as empty text).');
        return text.fill ?? '';
      }
      // A struct, map or list cell is its JSON text, as for a string tensor.
      return typeof v === 'string' ? v : typeof v === 'object' ? jsonText(v, 'json') : typeof v === 'number' ? numberText(v, float32 ? 'float32' : 'float64') : String(v);
    });
    const maxLength = text.max_length ?? Math.min(defaultMaxLength, this.#encoder.modelMaxLength ?? defaultMaxLength, this.#padTo ?? defaultMaxLength);
    const encoded = this.#encoder.encode(texts, { maxLength, truncation: text.truncation, tokenTypeIds: text.token_type_ids !== undefined, ...(this.#padTo ? { padTo: this.#padTo } : {}) },
      (i, why) => reject(i, why, texts[i], 'Shorten the text, or set text.truncation: true in bento.yaml.'));
    const dims = [rows, encoded.sequence];
    feeds[text.input_ids] = { type: 'int64', data: encoded.inputIds, dims };
    // The feeds' buffers move to the model worker; postprocessing keeps its own copy of the mask.
    feeds[text.attention_mask] = { type: 'int64', data: encoded.attentionMask, dims };
    if (text.token_type_ids && encoded.tokenTypeIds) feeds[text.token_type_ids] = { type: 'int64', data: encoded.tokenTypeIds, dims };
    return { feeds, context: { text: { info: encoded.info, sequence: encoded.sequence, mask: encoded.attentionMask.slice() } } };
  }
}

/** The least double that rounds to Infinity as a float32: 2^128 − 2^103. */
const float32Overflow = 3.4028235677973366e38;

/** The least double that rounds to Infinity as a float16: 65504 + half its last step. */
const float16Overflow = 65520;

/** A finite double a tensor cannot hold where it becomes Infinity past `overflow`. */
const beyond = (v: number, overflow: number) => (v >= overflow || v <= -overflow) && v !== Infinity && v !== -Infinity;

type Writable = Float32Array | Float64Array | Int32Array | Int16Array | Uint16Array | Int8Array | BigInt64Array | Uint8Array | string[];

/**
 * Where bad cells go. Without one, the first bad cell throws; with one, it is recorded against
 * its row (the first problem of a row wins) and the row gets a placeholder value, so the batch
 * keeps its shape and the row is dropped from the output later.
 */
export type RowErrors = Map<number, BentoError>;

/** Builds the feeds for one batch. `rows` is the tensor's batch dim: the batch length, or the fixed size to pad to. */
export function preprocess(batch: Batch, manifest: Manifest, rows: number, errors?: RowErrors, csv = false): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const input of manifest.inputs) feeds[input.tensor] = buildTensor(batch, input, rows, errors, csv);
  return feeds;
}

function buildTensor(batch: Batch, input: InputTensor, rows: number, errors: RowErrors | undefined, csv: boolean): TensorData {
  const width = rowWidth(input)!;
  if (isListInput(input) && rows === batch.length && (input.dtype === 'float32' || input.dtype === 'float64')) {
    const column = batch.columns.get(input.columns[0]!);
    const data = column && inPlace(column, rows, width, input.dtype === 'float32' ? Float32Array : Float64Array);
    if (data) return { type: input.dtype, data, dims: [rows, ...input.shape.slice(1).map(Number)] };
  }
  const data = allocate(input.dtype, rows * width);
  if (isListInput(input)) {
    // One column of lists (an embedding), each element filled as a column of its own would be.
    const name = input.columns[0]!;
    const column = batch.columns.get(name);
    if (column === undefined) throw new Error(`column ${name} is not in the batch`);
    // One fill for every element, or one an element.
    const fillOf = (j: number) => (Array.isArray(input.fill) ? input.fill[input.fill.length === width ? j : 0] : input.fill);
    if (input.dtype === 'float32' || input.dtype === 'float64') {
      const fills = Array.from({ length: width }, (_, j) => fillOf(j));
      const shape = input.shape.slice(1).map(Number);
      if (plainLists(data as Float32Array | Float64Array, column, batch.length, width, shape, fills.every((f) => typeof f === 'number') ? fills as number[] : undefined)) return { type: input.dtype, data, dims: [rows, ...shape] };
    }
    const elements = listElements(column, batch, width, input, name, errors, csv, input.fill !== undefined);
    elements.forEach((element, j) => fillColumn(data, element, batch.length, width, j, input, name, fillOf(j), batch, errors, csv));
  } else {
    input.columns.forEach((name, j) => {
      const column = batch.columns.get(name);
      // The run checks columns against the source schema before reading; this is a bug guard.
      if (column === undefined) throw new Error(`column ${name} is not in the batch`);
      const fill = Array.isArray(input.fill) ? input.fill[j] : input.fill;
      fillColumn(data, column, batch.length, width, j, input, name, fill, batch, errors, csv);
    });
  }
  const dims = [rows, ...input.shape.slice(1).map(Number)];
  // A float16 tensor is filled as doubles (allocate), then rounded to half precision.
  if (input.dtype === 'float16') return { type: 'float16', data: halfBits(data as Float64Array), dims };
  return { type: input.dtype, data, dims };
}

/**
 * A tensor's storage. Numbers go in a view of a shared block (blockArray): a fresh few-KB typed
 * array a batch cost ~3 µs to allocate and collect, a fifth of a tiny model's whole call (14 µs
 * with one input buffer reused, 17.5 µs with a new one a call, onnxruntime-node's binding). A
 * model worker gets its own copy (ModelWorker.run): a view's buffer cannot be moved there.
 */
function allocate(dtype: InputTensor['dtype'], n: number): Writable {
  switch (dtype) {
    case 'float32': return blockArray(Float32Array, n);
    case 'float16': case 'float64': return blockArray(Float64Array, n);
    case 'int8': return blockArray(Int8Array, n);
    case 'uint8': return blockArray(Uint8Array, n);
    case 'int16': return blockArray(Int16Array, n);
    case 'uint16': return blockArray(Uint16Array, n);
    case 'int32': return blockArray(Int32Array, n);
    case 'int64': return blockArray(BigInt64Array, n);
    case 'bool': return blockArray(Uint8Array, n);
    case 'string': return new Array<string>(n).fill('');
  }
}

/**
 * Doubles as IEEE 754 half-precision bit patterns, rounded to nearest, ties to even, once (a
 * double rounded to float32 first could round again: 65519.999 to 65520, then to Infinity). The
 * significand is scaled to 11 bits by a power of two, exactly, then rounded as an integer.
 */
export function halfBits(values: Float64Array): Uint16Array {
  const out = blockArray(Uint16Array, values.length);
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const high = words[i * 2 + 1]!;
    const sign = (high >>> 16) & 0x8000;
    if (v !== v) {
      out[i] = 0x7e00;
      continue;
    }
    const x = Math.abs(v);
    if (x >= 65520) {
      out[i] = sign | 0x7c00;
      continue;
    }
    // Below 2^-14 a half is subnormal: a count of 2^-24.
    const exponent = x < 6.103515625e-5 ? -14 : ((high >>> 20) & 0x7ff) - 1023;
    const scaled = x * 2 ** (10 - exponent);
    let m = Math.floor(scaled);
    const rest = scaled - m;
    if (rest > 0.5 || (rest === 0.5 && (m & 1) === 1)) m++;
    // A carry to 2^11 is the next binade's 1.0: the exponent field's step takes it.
    out[i] = sign | (exponent === -14 && m < 1024 ? m : ((exponent + 15) << 10) + (m - 1024));
  }
  return out;
}

/** Whether a file may have been read as CSV, where input.csv.decimal applies: any name but JSONL's and Parquet's. */
function readAsCsv(file: string): boolean {
  const format = formatFromPath(file);
  return format !== 'jsonl' && format !== 'parquet';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const notText = 'holds bytes that are not UTF-8 text';

/**
 * A column of bytes (a Parquet BYTE_ARRAY with no text annotation: a BLOB, or text an old writer
 * stored so) as the text its cells hold, since a model reads text and numbers; a cell that is not
 * UTF-8 goes to `bad` and becomes null. Columns of another kind come back as they are, after a
 * look at their first present cell (a column holds one kind).
 */
function textOfBytes(column: Column, bad: (i: number, bytes: Uint8Array) => void): Column {
  if (!Array.isArray(column)) return column;
  let first = 0;
  while (first < column.length && (column[first] === null || column[first] === undefined)) first++;
  if (!(column[first] instanceof Uint8Array)) return column;
  return column.map((v: unknown, i) => {
    if (!(v instanceof Uint8Array)) return v;
    const text = utf8Text(v);
    if (text === undefined) bad(i, v);
    return text ?? null;
  });
}

/** Bytes as the UTF-8 text they hold; undefined where they are none. */
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const fillHint = (input: InputTensor) => `Fix the row, or give tensor "${input.tensor}" a \`fill\` value in bento.yaml.`;

/** `csv`: the cells are a CSV file's text as read (for a CSV output), where an empty cell is "" and is missing, as it is null in the other outputs. */
function fillColumn(data: Writable, cells: Column, length: number, width: number, j: number, input: InputTensor, name: string, given: number | string | undefined, batch: Batch, errors: RowErrors | undefined, csv: boolean): void {
  // The manifest's rules give a string tensor a text fill and the others a number.
  const fill = typeof given === 'number' ? given : undefined;
  const fail = (i: number, cellValue: unknown, why: string): 0 => {
    // A row already bad keeps its first error: a list refused whole reaches here once an element (768 errors built a row).
    if (errors?.has(i)) return 0;
    // A CSV cell read as text (for a CSV output) is "" where it is empty: missing, as null is in the other outputs.
    const value = cellValue === '' ? null : cellValue;
    const { file, row, byte } = locate(batch, i);
    const error = new BentoError('INVALID_VALUE', `Invalid value: column "${name}" ${why}, got ${show(value)} at ${file} row ${row}`, {
      file, row, column: name, value, byte,
      hint: value === null ? fillHint(input)
        : (readAsCsv(file) && typeof value === 'string' ? localeHint(value) : undefined) ?? 'Fix or remove the value in the input.',
    });
    if (!errors) throw error;
    if (!errors.has(i)) errors.set(i, error);
    return 0;
  };
  const column = textOfBytes(cells, (i, bytes) => fail(i, bytes, notText));
  const expects = `expects ${input.dtype} (tensor "${input.tensor}")`;
  if (input.dtype === 'float16' || input.dtype === 'float32' || input.dtype === 'float64') {
    const out = data as Float32Array | Float64Array;
    // Numeric Parquet columns arrive as typed arrays, masked where they have nulls: no parsing,
    // only NaN (missing, as in a text cell) to look for.
    const numbers = column instanceof MaskedColumn ? column.values : column;
    // A finite double past float32's (float16's) largest would become Infinity in the tensor, and the model's output NaN (±Infinity itself is kept: trees, for one, take it).
    const half = input.dtype === 'float16';
    const narrows = half || out instanceof Float32Array;
    const overflow = half ? float16Overflow : float32Overflow;
    const outside = half ? `${expects}, within float16's range (±65504)` : `${expects}, within float32's range (±3.4e38)`;
    if (numbers instanceof Float64Array || numbers instanceof Float32Array || numbers instanceof Int32Array) {
      const valid = column instanceof MaskedColumn ? column.valid : undefined;
      const check = half || (narrows && numbers instanceof Float64Array);
      for (let i = 0; i < length; i++) {
        const v = numbers[i]!;
        // v !== v: NaN.
        if ((valid && !valid[i]) || v !== v) out[i * width + j] = fill ?? fail(i, null, `${expects}; it has no value and the tensor has no fill`);
        else if (check && beyond(v, overflow)) fail(i, v, outside);
        else out[i * width + j] = v;
      }
      return;
    }
    for (let i = 0; i < length; i++) {
      const v = cell(column, i);
      // The common cells first, with no number boxed on the way: a plain decimal's text (CSV), a number (JSONL).
      const x = typeof v === 'string' ? plainDecimal(v) : typeof v === 'number' ? v : NaN;
      if (x === x && !(narrows && beyond(x, overflow))) {
        out[i * width + j] = x;
        continue;
      }
      const n = x === x ? x : toNumber(v);
      if (n === undefined) out[i * width + j] = fill ?? fail(i, v, `${expects}; it has no value and the tensor has no fill`);
      else if (Number.isNaN(n)) fail(i, v, expects);
      else if (narrows && beyond(n, overflow)) fail(i, v, outside);
      else out[i * width + j] = n;
    }
    return;
  }
  if (isInteger(input.dtype)) {
    const categories = input.categories ? new Map(input.categories.map((c, k) => [c, k])) : undefined;
    const big = input.dtype === 'int64';
    const range = rangeOf(input.dtype);
    const within = `within the ${input.dtype} range${range && input.dtype !== 'int32' ? ` (${range[0]} to ${range[1]})` : big ? ' (-2^63 to 2^63 - 1)' : ''}`;
    for (let i = 0; i < length; i++) {
      const v = cell(column, i);
      let n: number | bigint | undefined;
      if (categories) {
        if (v === null || v === undefined || v === '') n = fill;
        else {
          n = categories.get(String(v));
          // A number kept as text for a code beside it ("07", "1.0" in a column with a "07") may have been trained as the number (7, 1).
          if (n === undefined && typeof v === 'string') {
            const number = parseNumber(v);
            if (number !== undefined) n = categories.get(String(number));
          }
          // A missing-value token (NA, N/A, null, …) that is not itself a category is missing, as in a number column.
          if (n === undefined && typeof v === 'string' && missingTokens.has(v)) n = fill;
          else if (n === undefined) n = fail(i, v, `expects one of [${input.categories!.join(', ')}] (tensor "${input.tensor}")`);
        }
      } else if (typeof v === 'bigint') n = v;
      else if (typeof v === 'string' && (integerText.test(v) || wholeDecimal.test(v))) {
        // Whole-number text (a CSV cell kept as text for a CSV output; 123.0 as pandas writes an
        // integer column with a missing value) exactly, not through a double: a 64-bit id past 2^53 stays itself.
        const b = BigInt(v.trim().replace(/\.0*$/, ''));
        n = b < int64Min || b > int64Max ? fail(i, v, `${expects}, ${within}`) : b;
      } else {
        const x = toNumber(v);
        // A fraction written out is no whole number, though its double may be one (9007199254740993.5 rounds to …994).
        n = x !== undefined && (!Number.isInteger(x) || (typeof v === 'string' && writtenFraction.test(v))) ? fail(i, v, `${expects}, a whole number`) : x ?? fill;
      }
      if (n === undefined) n = fail(i, v, `${expects}; it has no value and the tensor has no fill`);
      if (range && (Number(n) < range[0] || Number(n) > range[1])) n = fail(i, v, `${expects}, ${within}`);
      // A BigInt64Array wraps what it is given: 2^64 − 1 (a UBIGINT, a JSON id) would be fed as −1, 1e19 as −8.4e18.
      else if (big && (typeof n === 'bigint' ? n < int64Min || n > int64Max : !(n! >= -(2 ** 63) && n! < 2 ** 63))) n = fail(i, v, `${expects}, ${within}`);
      if (big) (data as BigInt64Array)[i * width + j] = BigInt(n!);
      else (data as Int32Array)[i * width + j] = Number(n);
    }
    return;
  }
  if (input.dtype === 'bool') {
    for (let i = 0; i < length; i++) {
      const v = cell(column, i);
      const b = v === true || v === 1 || v === 'true' || v === 'True' || v === '1' ? 1 : v === false || v === 0 || v === 'false' || v === 'False' || v === '0' ? 0 : undefined;
      (data as Uint8Array)[i * width + j] = b ?? fill ?? fail(i, v, `${expects} (true/false)`);
    }
    return;
  }
  // A number is its text as the writers print it (a FLOAT's 0.1, not 0.10000000149011612; -0), as a text model reads it.
  const float32 = column instanceof Float32Array || (column instanceof MaskedColumn && column.values instanceof Float32Array);
  for (let i = 0; i < length; i++) {
    const v = cell(column, i);
    if (v === null || v === undefined || (csv && v === '')) {
      if (typeof given === 'string') (data as string[])[i * width + j] = given;
      else fail(i, null, `${expects}; it has no value and the tensor has no fill`);
    } else (data as string[])[i * width + j] = typeof v === 'string' ? v : typeof v === 'object' ? jsonText(v, 'json') : typeof v === 'number' ? numberText(v, float32 ? 'float32' : 'float64') : String(v);
  }
}

/**
 * The tensor of a batch of typed rows (a Parquet list only the model reads) that lie one after
 * another in one buffer, as the rows of a page read in place do, each `width` long and every
 * value finite: a view of them, nothing copied. Undefined where any row is otherwise (a missing
 * value to fill, a row of another page): the batch is then copied.
 */
function inPlace(column: Column, rows: number, width: number, Type: Float32ArrayConstructor | Float64ArrayConstructor): Float32Array | Float64Array | undefined {
  if (!Array.isArray(column) || rows === 0) return undefined;
  const first: unknown = column[0];
  if (!(first instanceof Type)) return undefined;
  const step = width * Type.BYTES_PER_ELEMENT;
  for (let i = 0; i < rows; i++) {
    const row: unknown = column[i];
    if (!(row instanceof Type) || row.length !== width || row.buffer !== first.buffer || row.byteOffset !== first.byteOffset + i * step) return undefined;
  }
  const data = new Type(first.buffer as ArrayBuffer, first.byteOffset, rows * width);
  // Never a whole buffer: a post to a model worker moves such a tensor's (compact), and the rows' with it.
  if (data.byteLength === data.buffer.byteLength) return undefined;
  return finite(data, 0, data.length) ? data : undefined;
}

/**
 * Whether values `[from, to)` are all finite, looked at as sums of `x * 0` (NaN for NaN and ±Infinity, else 0)
 * in four chains: half the time of a test a value (~0.5 against ~1.1 ns a float), as the adds of
 * one chain wait on each other and four chains do not.
 */
function finite(values: Float32Array | Float64Array, from: number, to: number): boolean {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const four = to - ((to - from) % 4);
  let k = from;
  for (; k < four; k += 4) {
    a += values[k]! * 0;
    b += values[k + 1]! * 0;
    c += values[k + 2]! * 0;
    d += values[k + 3]! * 0;
  }
  for (; k < to; k++) a += values[k]! * 0;
  return a + b + c + d === 0;
}

/**
 * A batch of list cells, each `width` numbers a float32 or float64 tensor holds (an embedding
 * read from Parquet or JSON Lines; nested as the input's dimensions, or flat), written straight
 * into the tensor, a missing list or element (null, NaN) taking its fill: as `width` columns
 * (listElements, fillColumn) they took a third of the reading thread's time for 768 floats a row.
 * False where any cell needs their care (a missing value without a fill, text, other nesting or
 * length, a value past float32's range); the batch then goes that way whole, which writes the
 * same values for these cells.
 */
function plainLists(data: Float32Array | Float64Array, cells: Column, length: number, width: number, dims: readonly number[], fills: readonly number[] | undefined): boolean {
  const narrows = data instanceof Float32Array;
  const limit = narrows ? float32Overflow : Infinity;
  const put = (value: unknown, o: number, k: number): boolean => {
    // A list's text keeps its numbers as text: read as fillColumn reads a cell, a plain decimal first.
    let x = value;
    if (typeof value === 'string') {
      const plain = plainDecimal(value);
      x = plain === plain ? plain : toNumber(value);
    }
    // x === x: not NaN, which is missing as in a column of its own.
    if (typeof x === 'number' && x === x) {
      if (narrows && beyond(x, float32Overflow)) return false;
      data[o] = x;
      return true;
    }
    if (fills === undefined || !(x === null || x === undefined || (typeof x === 'number' && typeof value !== 'string'))) return false;
    data[o] = fills[k]!;
    return true;
  };
  // A row nested as the dimensions after the batch are: each level a list of its dimension's length,
  // each of its items `strides[d]` values of the row.
  const strides = dims.map((_, d) => dims.slice(d + 1).reduce((a, b) => a * b, 1));
  const nested = (list: unknown, d: number, o: number, k: number): boolean => {
    if (!Array.isArray(list) || list.length !== dims[d]) return false;
    const stride = strides[d]!;
    for (let j = 0; j < list.length; j++) {
      if (d === dims.length - 1 ? !put(list[j], o + j, k + j) : !nested(list[j], d + 1, o + j * stride, k + j * stride)) return false;
    }
    return true;
  };
  for (let i = 0; i < length; i++) {
    const value = cell(cells, i);
    // Text (a CSV cell, bytes) that is a list, flat once read; anything else goes the careful way.
    const text = value instanceof Uint8Array ? utf8Text(value) : typeof value === 'string' ? value : undefined;
    const list = text === undefined ? value : text === '' ? false : listOfText(text, dims) ?? false;
    const at = i * width;
    if (list === false) return false;
    if (list === null || list === undefined) {
      if (fills === undefined) return false;
      data.set(fills, at);
    } else if (list instanceof Float64Array || list instanceof Float32Array) {
      // A typed row (a Parquet list read as one) is copied whole; NaN (missing: its fill) and a
      // double past the tensor's range (a bad row) are looked for after.
      if (list.length !== width) return false;
      data.set(list, at);
      // Looked at in the tensor, where a double past float32's range has become ±Infinity.
      if (finite(data, at, at + width)) continue;
      for (let k = 0; k < width; k++) {
        const x = list[k]!;
        if (!(x < limit && x > -limit) && !put(x, at + k, k)) return false;
      }
    } else if (Array.isArray(list) && (dims.length === 1 || !Array.isArray(list[0]))) {
      if (list.length !== width) return false;
      // Finite numbers in the tensor's range are stored as they come, in a loop of their own
      // (put's care, for every element, was most of this function's time for 768 floats a row);
      // the first other element and those after it go through put.
      let k = 0;
      for (; k < width; k++) {
        const x: unknown = list[k];
        if (typeof x !== 'number' || !(x < limit && x > -limit)) break;
        data[at + k] = x;
      }
      for (; k < width; k++) {
        const x: unknown = list[k];
        if (Array.isArray(x) || !put(x, at + k, k)) return false;
      }
    } else if (!nested(list, 0, at, 0)) return false;
  }
  return true;
}

/**
 * A list column's cells as `width` columns, one an element: a list (Parquet LIST, a JSON array;
 * nested lists flattened, for a [batch, 2, 3] input) or its text, also in bytes (`[0.1, 0.2]` as
 * JSON or pandas writes it, or numpy's `[0.1 0.2]`). A missing cell is missing in every element
 * (its fill, or a bad row); a list of another length, one with a missing element and no fill, or
 * text that is no list, is a bad row, its elements left missing so that nothing more is said of it.
 */
function listElements(cells: Column, batch: Batch, width: number, input: InputTensor, name: string, errors: RowErrors | undefined, csv: boolean, filled: boolean): unknown[][] {
  const elements = Array.from({ length: width }, () => new Array<unknown>(batch.length).fill(null));
  const dims = input.shape.slice(1).map(Number);
  const expects = `expects a list of ${width} numbers${dims.length > 1 ? ` (or of ${dims.join(' × ')})` : ''} (tensor "${input.tensor}")`;
  /** Row `i`'s error (`got` completes the message after what the column expects), or the batch's where no row errors are kept. */
  const reject = (i: number, got: string, value: unknown, hint: string) => {
    if (errors?.has(i)) return;
    const { file, row, byte } = locate(batch, i);
    const error = new BentoError('INVALID_VALUE', `Invalid value: column "${name}" ${expects}${got} at ${file} row ${row}`, { file, row, column: name, value, byte, hint });
    if (!errors) throw error;
    errors.set(i, error);
  };
  for (let i = 0; i < batch.length; i++) {
    const value = cell(cells, i);
    // A missing-value word (NA, NULL) is a missing list, as it is a missing number: the fill's, or told as itself.
    if (value === null || value === undefined || (csv && value === '') || (typeof value === 'string' && missingTokens.has(value.trim()))) {
      const shown = value === '' || value === undefined ? null : value;
      if (!filled) reject(i, `; it has no value and the tensor has no fill, got ${show(shown)}`, shown, fillHint(input));
      continue;
    }
    // Bytes (a Parquet BLOB) are the text they hold, as for any other input.
    // (Bytes that are no UTF-8 text are no list: never their byte values.)
    const text = value instanceof Uint8Array ? utf8Text(value) ?? '' : typeof value === 'string' ? value : undefined;
    const list = text !== undefined ? listOfText(text, dims) : Array.isArray(value) ? shaped(value, dims) : ArrayBuffer.isView(value) && !(value instanceof DataView) ? (value as unknown as ArrayLike<unknown>) : undefined;
    const missing = list && list.length === width && !filled ? firstMissing(list) : -1;
    if (list === undefined || list.length !== width || missing >= 0) {
      const got = list === undefined ? show(value) : list.length !== width ? `a list of ${list.length}` : `a list whose element ${missing + 1} has no value`;
      reject(i, `, got ${got}`, value, missing >= 0 ? fillHint(input) : 'Fix or remove the value in the input.');
      continue;
    }
    for (let k = 0; k < width; k++) elements[k]![i] = list[k];
  }
  return elements;
}

/**
 * A list's values in order: flat, or nested as the input's dimensions after the batch are (a
 * [batch, 2, 3] input's row as [[1, 2, 3], [4, 5, 6]]); undefined for lists nested otherwise.
 */
function shaped(list: readonly unknown[], dims: readonly number[]): readonly unknown[] | undefined {
  if (!list.some((v) => Array.isArray(v))) return list;
  const fits = (v: unknown, d: number): boolean => (d === dims.length ? !Array.isArray(v) : Array.isArray(v) && v.length === dims[d] && v.every((x) => fits(x, d + 1)));
  return dims.length > 1 && fits(list, 0) ? list.flat(dims.length) : undefined;
}

function firstMissing(list: ArrayLike<unknown>): number {
  for (let k = 0; k < list.length; k++) if (list[k] === null || list[k] === undefined) return k;
  return -1;
}

/**
 * A list written as text: JSON's `[0.1, 0.2]` (numbers, quoted numbers, null, nested), numpy's
 * `[0.1 0.2]` as pandas writes an array cell (nested over lines too), or a Python list of numpy 2
 * scalars, `[np.float32(0.1), np.float32(0.2)]`; undefined for other text
 * (an empty slot, `[1 2] [3 4]`). Numbers stay text, for an int64 past 2^53 to keep its digits.
 */
function listOfText(text: string, dims: readonly number[]): readonly unknown[] | undefined {
  let at = 0;
  const space = () => {
    while (at < text.length && blank(text.charCodeAt(at))) at++;
  };
  const value = (): unknown => {
    space();
    const c = text.charCodeAt(at);
    if (c === 91) {
      at++;
      const items: unknown[] = [];
      space();
      if (text.charCodeAt(at) === 93) {
        at++;
        return items;
      }
      // Items apart by commas (JSON) or by spaces (numpy), one or the other in a list: `[0,5 1,5]`
      // (a decimal comma) or `[1, 2 3, 4]` is no list, where mixing them read 0, 5, 1, 5.
      let commas: boolean | undefined;
      for (;;) {
        items.push(value());
        const before = at;
        space();
        const next = text.charCodeAt(at);
        if (next === 93) {
          at++;
          return items;
        }
        const comma = next === 44;
        if (!comma && (at >= text.length || at === before)) throw new Error('no list');
        if (commas !== undefined && commas !== comma) throw new Error('no list');
        commas = comma;
        if (comma) at++;
      }
    }
    if (c === 34) {
      const close = text.indexOf('"', at + 1);
      if (close < 0) throw new Error('no list');
      const item = text.slice(at + 1, close);
      at = close + 1;
      return item;
    }
    const start = at;
    while (at < text.length && !ends(text.charCodeAt(at))) at++;
    if (at === start) throw new Error('no list');
    const item = text.slice(start, at);
    // numpy 2 writes its scalars as `np.float32(0.1)`: a list of them (list(array), then pandas' to_csv) holds them so.
    const scalar = text.charCodeAt(start) === 110 ? numpyScalar.exec(item) : null;
    return scalar ? scalar[1] : item === 'null' ? null : item;
  };
  try {
    space();
    if (text.charCodeAt(at) !== 91) return undefined;
    const list = value() as unknown[];
    space();
    return at === text.length ? shaped(list, dims) : undefined;
  } catch {
    return undefined;
  }
}

/** A numpy 2 scalar's repr, its number inside: `np.float32(0.1)`, `np.int64(-3)`, `np.float64(nan)`. */
const numpyScalar = /^np\.(?:float|int|uint)(?:8|16|32|64|128)?\(([^()]*)\)$/;

// listOfText reads by character codes: a 768-number cell is ~15,000 characters, read for every row.
const blank = (c: number) => c === 32 || (c >= 9 && c <= 13);
const ends = (c: number) => blank(c) || c === 44 || c === 91 || c === 93 || c === 34; // , [ ] "

/** A whole number written with a decimal point and zeros (123.0). */
const wholeDecimal = /^\s*[+-]?\d+\.0*\s*$/;
/** A plain decimal with a fraction that is not zero (12.5, 12.0000000000000000001). */
const writtenFraction = /^\s*[+-]?\d*\.\d*[1-9]\d*\s*$/;

/** A cell as a number; undefined when missing; NaN when present but not numeric. */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isNaN(v) ? undefined : v;
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    // The same reading of a text cell as the CSV reader's type sniffing, so the two never disagree
    // (no missing token reads as a number).
    const n = parseNumber(v);
    // A NaN read (-nan, NAN) is missing, as a NaN number is.
    if (n !== undefined) return Number.isNaN(n) ? undefined : n;
    return missingTokens.has(v.trim()) ? undefined : NaN;
  }
  return NaN;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'an empty cell';
  if (value instanceof Uint8Array) return `bytes ${Buffer.from(value.subarray(0, 24)).toString('hex')}${value.length > 24 ? '…' : ''} (${value.length} byte${value.length === 1 ? '' : 's'})`;
  // jsonText: a struct or list cell may hold 64-bit integers, which JSON.stringify refuses.
  const text = typeof value === 'string' ? `"${value}"` : typeof value === 'object' ? jsonText(value, 'json') : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}
