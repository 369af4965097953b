/**
 * @file What pack reads from an ONNX graph beyond its inputs and outputs: the class labels of a
 * scikit-learn classifier (ai.onnx.ml LinearClassifier, TreeEnsembleClassifier, SVMClassifier),
 * which name its probability columns, and the categories an input is encoded with (OneHotEncoder,
 * LabelEncoder, CategoryMapper), which pack's probe must feed: skl2onnx writes OneHotEncoder with
 * zeros=0 for sklearn's default handle_unknown='error', and the model then fails on any other text.
 * A protobuf reader of the few fields it needs (ModelProto.graph, GraphProto.node, NodeProto and
 * AttributeProto); everything else, weights included, is skipped by its length.
 */
import { open } from 'node:fs/promises';

export interface GraphNode {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Attributes holding text (`strings`, or `s`) or whole numbers (`ints`, or `i`), by name. */
  readonly attributes: ReadonlyMap<string, readonly (string | bigint)[]>;
}

/**
 * A node field larger than this is read only if it is an attribute named in `wanted`: a tree
 * ensemble holds its trees in its own attributes (70 MB for 700,000 trees), a Constant its tensor.
 */
const smallField = 2 ** 20;
/** The attributes the readers below look at. */
const wanted = new Set(['classlabels_strings', 'classlabels_ints', 'classlabels_int64s', 'cats_strings', 'cats_int64s', 'keys_strings', 'keys_int64s']);

/**
 * The graph's nodes, or none where the file is not a graph this reader follows. Read a field
 * header at a time, so the weights (initializers, often most of the file, past 2 GB for some) are
 * skipped rather than read.
 */
export async function readNodes(modelFile: string): Promise<GraphNode[]> {
  const file = await open(modelFile, 'r');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(20);
    /** The field starting at `at` in the file (fieldIn over its first bytes), placed in the file. */
    const fieldAt = async (at: number, end: number): Promise<Field> => {
      const { bytesRead } = await file.read(header, 0, Math.min(header.length, end - at), at);
      const f = fieldIn(header.subarray(0, bytesRead), 0);
      return { ...f, start: at + f.start, end: at + f.end };
    };
    let graph: Field | undefined;
    for (let at = 0; at < size && !graph;) {
      const f = await fieldAt(at, size);
      if (f.end > size) return [];
      if (f.number === 7 && f.wire === 2) graph = f;
      at = f.end;
    }
    if (!graph) return [];
    const read = async (from: number, to: number) => {
      const bytes = Buffer.alloc(to - from);
      await file.read(bytes, 0, bytes.length, from);
      return bytes;
    };
    /** A node's bytes, less its large fields but the attributes wanted (their name is their first field). */
    const nodeBytes = async (f: Field): Promise<Buffer> => {
      if (f.end - f.start <= smallField) return read(f.start, f.end);
      const parts: Buffer[] = [];
      for (let at = f.start; at < f.end;) {
        const g = await fieldAt(at, f.end);
        if (g.end > f.end) break;
        let keep = g.end - at <= smallField;
        if (!keep && g.number === 5 && g.wire === 2) {
          // The attribute's name: its first field as writers put it, else wherever it is.
          for (let a = g.start; a < g.end;) {
            const name = await fieldAt(a, g.end);
            if (name.number === 1 && name.wire === 2) {
              keep = name.end - name.start < 256 && wanted.has((await read(name.start, name.end)).toString('utf8'));
              break;
            }
            a = name.end;
          }
        }
        if (keep) parts.push(await read(at, g.end));
        at = g.end;
      }
      return Buffer.concat(parts);
    };
    const nodes: GraphNode[] = [];
    for (let at = graph.start; at < graph.end;) {
      const f = await fieldAt(at, graph.end);
      if (f.end > graph.end) return [];
      if (f.number === 1 && f.wire === 2) {
        const bytes = await nodeBytes(f);
        nodes.push(node(bytes, 0, bytes.length));
      }
      at = f.end;
    }
    return nodes;
  } catch {
    return [];
  } finally {
    await file.close();
  }
}

interface Field {
  readonly number: number;
  readonly wire: number;
  /** The value's bytes (wire type 2), or the varint's value (wire type 0). */
  readonly start: number;
  readonly end: number;
  readonly value?: bigint;
}

function varint(bytes: Buffer, at: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    if (at >= bytes.length || shift > 63n) throw new Error('truncated varint');
    const b = bytes[at++]!;
    value |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [value, at];
  }
}

/** The field whose key starts at `at` in `bytes`: its number, wire type, and where its value starts and ends (which may lie past `bytes`). */
function fieldIn(bytes: Buffer, at: number): Field {
  const [key, next] = varint(bytes, at);
  const number = Number(key >> 3n);
  const wire = Number(key & 7n);
  if (wire === 0) {
    const [value, after] = varint(bytes, next);
    return { number, wire, start: next, end: after, value };
  }
  if (wire === 2) {
    const [length, after] = varint(bytes, next);
    return { number, wire, start: after, end: after + Number(length) };
  }
  if (wire === 1 || wire === 5) return { number, wire, start: next, end: next + (wire === 1 ? 8 : 4) };
  throw new Error(`wire type ${wire}`);
}

function fields(bytes: Buffer, start: number, end: number): Field[] {
  const out: Field[] = [];
  for (let at = start; at < end;) {
    const f = fieldIn(bytes, at);
    if (f.end > end) throw new Error('truncated field');
    out.push(f);
    at = f.end;
  }
  return out;
}

const text = (bytes: Buffer, f: Field) => bytes.toString('utf8', f.start, f.end);

function node(bytes: Buffer, start: number, end: number): GraphNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes = new Map<string, (string | bigint)[]>();
  let opType = '';
  let domain = '';
  for (const f of fields(bytes, start, end)) {
    if (f.wire !== 2) continue;
    if (f.number === 1) inputs.push(text(bytes, f));
    else if (f.number === 2) outputs.push(text(bytes, f));
    else if (f.number === 4) opType = text(bytes, f);
    else if (f.number === 7) domain = text(bytes, f);
    else if (f.number === 5) {
      // AttributeProto: name 1, i 3, s 4, ints 8 (packed or not), strings 9.
      let name = '';
      const values: (string | bigint)[] = [];
      for (const a of fields(bytes, f.start, f.end)) {
        if (a.number === 1 && a.wire === 2) name = text(bytes, a);
        else if ((a.number === 4 || a.number === 9) && a.wire === 2) values.push(text(bytes, a));
        else if ((a.number === 3 || a.number === 8) && a.wire === 0) values.push(BigInt.asIntN(64, a.value!));
        else if (a.number === 8 && a.wire === 2) for (let at = a.start; at < a.end;) {
          const [v, next] = varint(bytes, at);
          values.push(BigInt.asIntN(64, v));
          at = next;
        }
      }
      if (name) attributes.set(name, values);
    }
  }
  return { opType, domain, inputs, outputs, attributes };
}

const classifiers = new Set(['LinearClassifier', 'TreeEnsembleClassifier', 'SVMClassifier']);
/** Ops skl2onnx puts between a classifier's probabilities and the graph's output, which keep its columns. */
const keepsColumns = new Set(['Identity', 'Cast', 'Normalizer', 'Softmax']);

/** The class labels of the classifier whose probabilities `output` holds (through the ops that keep their columns), as text. */
export function classLabels(nodes: readonly GraphNode[], output: string): string[] | undefined {
  let name = output;
  for (let hops = 0; hops < 16; hops++) {
    const producer = nodes.find((n) => n.outputs.includes(name));
    if (!producer) return undefined;
    if (producer.domain === 'ai.onnx.ml' && classifiers.has(producer.opType)) {
      if (producer.outputs[1] !== name) return undefined;
      const labels = producer.attributes.get('classlabels_strings') ?? producer.attributes.get('classlabels_ints') ?? producer.attributes.get('classlabels_int64s');
      return labels && labels.length > 0 ? labels.map(String) : undefined;
    }
    if (!keepsColumns.has(producer.opType) || producer.inputs.length === 0) return undefined;
    name = producer.inputs[0]!;
  }
  return undefined;
}

/** The ai.onnx.ml encoders' attribute naming the values they know, by the input's kind. */
const knownValues: Record<string, { text: string; integer: string }> = {
  OneHotEncoder: { text: 'cats_strings', integer: 'cats_int64s' },
  LabelEncoder: { text: 'keys_strings', integer: 'keys_int64s' },
  CategoryMapper: { text: 'cats_strings', integer: 'cats_int64s' },
};

/** Ops that pass a value on as it is, or cast: an encoder after them still reads the input. */
const passesOn = new Set(['Identity', 'Cast']);

/**
 * The values an encoder reading `input` (directly, or through Identity and Cast) knows: its
 * categories, text where it has text ones, else whole numbers; for a generated row it will not refuse.
 */
export function knownCategories(nodes: readonly GraphNode[], input: string): readonly (string | bigint)[] | undefined {
  const seen = new Set<string>();
  const names = [input];
  while (names.length > 0) {
    const name = names.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const n of nodes) {
      if (n.inputs[0] !== name) continue;
      if (passesOn.has(n.opType) && n.outputs[0]) names.push(n.outputs[0]);
      const known = n.domain === 'ai.onnx.ml' ? knownValues[n.opType] : undefined;
      const values = known && (nonEmpty(n.attributes.get(known.text)) ?? nonEmpty(n.attributes.get(known.integer)));
      if (values) return values;
    }
  }
  return undefined;
}

const nonEmpty = <T>(values: readonly T[] | undefined) => (values && values.length > 0 ? values : undefined);
