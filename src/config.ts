/**
 * @file Shared by the job file and the bento manifest: read YAML, validate it against a zod
 * schema, and turn every issue into one line "dot.path: expected X, got `v` (type)".
 */
import { isUtf8 } from 'node:buffer';
import { open, readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
// A namespace import, here as in every module: esbuild then bundles only the parts of zod the schemas use (test/bundle.test.ts).
import * as z from 'zod';
import { BentoError, type BentoErrorCode, didYouMean, quote } from './errors.js';

/** Expectation text used as the zod error message, so the formatter can say "expected …". */
export const expect = (text: string) => ({ error: text });

export const positiveInt = (what = 'a positive integer') =>
  z.number(expect(what)).int(expect(what)).positive(expect(what));
export const nonEmptyString = (what = 'a non-empty string') => z.string(expect(what)).min(1, expect(what));
export const stringList = (what = 'a list of strings') => z.array(z.string(expect(what)), expect(what));

/**
 * What a file given as YAML is instead, from its name and first bytes: a model or a data file
 * (`bento-batch run model.onnx`, `run data.csv`), whose bytes a YAML error would otherwise quote.
 */
async function notYaml(file: string): Promise<string | undefined> {
  const ext = extname(file.replace(/\.gz$/i, '')).toLowerCase();
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return undefined;
  const head = Buffer.alloc(4096);
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  const bytes = head.subarray(0, bytesRead);
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return 'a Parquet file';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return /\.tar\.gz$|\.tgz$/i.test(file) ? 'a gzipped tar (a bundle archive?)' : 'a gzipped file';
  if (ext === '.onnx') return 'an ONNX model';
  if (ext === '.csv' || ext === '.tsv') return 'a CSV file';
  if (ext === '.jsonl' || ext === '.ndjson') return 'a JSON Lines file';
  // UTF-16 text has NULs too, after its byte-order mark; other control characters occur in text
  // (a Hive ^A delimiter pasted into csv.delimiter), NUL in none.
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  if (!utf16 && bytes.includes(0)) return 'a binary file';
  return undefined;
}

/** Reads and parses a YAML file; YAML syntax errors name the line and column. `asText`: top-level keys read as the text written. */
/** A quoted scalar that is one `${VAR}` as written: its value stays text whatever the variable holds (`name: "${RUN_DATE}"`). */
export class Quoted {
  constructor(readonly text: string) {}
}

/** `quotedVariables`: mark quoted `${VAR}` values (Quoted), which interpolation keeps as text. */
export async function readYaml(file: string, code: BentoErrorCode, what: string, asText: readonly string[] = [], quotedVariables = false): Promise<unknown> {
  let text: string;
  let notUtf8 = false;
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new BentoError(code === 'JOB_INVALID' ? 'USAGE' : code, `${what} ${file} is a folder`, { file, hint: `Give the ${what.toLowerCase()} itself${code === 'JOB_INVALID' ? ', e.g. job.yaml' : ''}.` });
  }
  const kind = info?.isFile() ? await notYaml(file) : undefined;
  if (kind) {
    const hint = code === 'JOB_INVALID'
      ? `A job file is YAML naming the input, the model and the output, e.g. \`input: { path: data.csv }\`, \`model: ./bundle\`, \`output: { path: scored.csv }\` on three lines (README, "The job file")${kind.startsWith('an ONNX') ? `; to see the model's inputs and outputs: bento-batch inspect ${file}` : ''}.`
      : `Give the bundle's bento.yaml${kind.startsWith('an ONNX') ? `; to make one for this model: bento-batch pack ${file} --name NAME` : ''}.`;
    throw new BentoError(code === 'JOB_INVALID' ? 'USAGE' : code, `${what} ${file} is ${kind}, not a ${what.toLowerCase()}`, { file, hint });
  }
  // A job file or manifest is a few kilobytes (a manifest with a long label or category list, some
  // megabytes: 600,000 categories are 15 MB); parsed, a file of 40 MB took 4.5 GB and failed.
  if (info && info.size > maxYamlBytes) {
    throw new BentoError(code, `${what} ${file} is ${(info.size / 1024 ** 2).toFixed(0)} MB, more than the ${maxYamlBytes / 1024 ** 2} MB a YAML file here may be`, { file, hint: `Check that it is the ${what.toLowerCase()} meant; long lists belong in a file of their own.` });
  }
  try {
    // YAML 1.2 is UTF-8 or UTF-16: PowerShell 5's `>` writes UTF-16 with a byte-order mark.
    const bytes = await readFile(file);
    const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : undefined;
    notUtf8 = !utf16 && !isUtf8(bytes);
    text = utf16 ? new TextDecoder(utf16).decode(bytes) : bytes.toString('utf8');
  } catch (cause) {
    if (cause instanceof BentoError) throw cause;
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BentoError(missing ? (code === 'JOB_INVALID' ? 'USAGE' : 'MODEL_NOT_FOUND') : code,
      `${what} ${file} ${missing ? 'does not exist' : `cannot be read: ${(cause as Error).message}`}`,
      { file, cause, hint: missing ? 'Check the path; relative paths resolve against the current directory.' : undefined });
  }
  const lines = new LineCounter();
  // Merge keys (`<<: *defaults`), as CI, Compose and Airflow files share settings.
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines, merge: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const at = lines.linePos(first.pos[0]);
    // The yaml library's advice for a second document (use parseAllDocuments) is for programmers.
    const message = /parseAllDocuments|multiple documents/i.test(first.message) ? 'it holds more than one YAML document (a line `---` starts another); the file is one document' : first.message.split('\n')[0];
    throw new BentoError(code, `${what} ${file} is not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${message}`, { file, hint: `Fix the ${what.toLowerCase()} and run again.` });
  }
  // A top-level key whose plain number is text as written: `version: 1.10` is not 1.1, nor `2.0` 2.
  for (const key of asText) {
    const node = doc.get(key, true);
    // Only where the text is one a tag may hold; `.5` or `+1` stay the number they were read as before.
    if (isScalar(node) && node.type === 'PLAIN' && typeof node.value === 'number' && typeof node.source === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(node.source)) node.value = node.source;
  }
  // One pass over the values: bytes that are not UTF-8 (a file saved as Latin-1) are U+FFFD, in a
  // value a path of another name than the one written (in a comment, nothing); and quoted `${VAR}`
  // values are marked (Quoted).
  if (notUtf8 || quotedVariables) {
    visit(doc, {
      Scalar(key, node) {
        if (notUtf8 && typeof node.value === 'string' && node.value.includes('\uFFFD')) {
          const line = node.range ? lines.linePos(node.range[0]).line : undefined;
          throw new BentoError(code, `${what} ${file} is not UTF-8 text${line ? `: line ${line} holds bytes that are not` : ''}`, { file, hint: `Save the ${what.toLowerCase()} as UTF-8 (a Latin-1 é is one byte, UTF-8's two).` });
        }
        if (quotedVariables && key !== 'key' && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && typeof node.value === 'string' && /^\$\{.*\}$/s.test(node.value)) node.value = new Quoted(node.value);
      },
    });
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    // An alias expanded past the count (a "billion laughs" file) would take the memory it is made to.
    throw new BentoError(code, `${what} ${file} is not valid here: ${(error as Error).message.replace(/\.?$/, '')}`, { file, hint: `Write the ${what.toLowerCase()} without repeated aliases (*name) that expand to so much.` });
  }
}

/** Largest job file or manifest read. */
const maxYamlBytes = 32 * 1024 ** 2;

/** Validates `raw`; on failure throws one BentoError listing every problem with its dot-path. */
export function validate<S extends z.ZodType>(schema: S, raw: unknown, code: BentoErrorCode, file: string, what: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw configError(code, file, what, result.error.issues.flatMap((issue) => describeIssue(schema, raw, issue)));
}

/** One BentoError for a list of "path: problem" lines. */
export function configError(code: BentoErrorCode, file: string, what: string, problems: string[]): BentoError {
  const head = problems.length === 1 ? `${what} ${file}: ${problems[0]}` : `${what} ${file} has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
  return new BentoError(code, head, { file, hint: `Fix the ${what.toLowerCase()} and run again.` });
}

function describeIssue(schema: z.ZodType, raw: unknown, issue: z.core.$ZodIssue): string[] {
  const path = issue.path.map(String);
  const where = path.length > 0 ? path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(shapeAt(schema, path) ?? {});
    return issue.keys.map((key) => {
      const guess = didYouMean(key, known);
      const at = [...path, key].join('.');
      return `${at}: unknown key${guess ? ` (did you mean \`${[...path, guess].join('.')}\`?)` : ''}; expected one of [${known.join(', ')}]`;
    });
  }
  if (issue.code === 'invalid_union') {
    // The branch that took the value's shape (every issue of it lies inside the value) knows what is wrong there.
    const inside = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0 || i.code === 'unrecognized_keys'));
    if (inside) return inside.flatMap((i) => describeIssue(schema, raw, { ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue));
  }
  const value = valueAt(raw, path);
  if (value === undefined) return [`${where}: is required, expected ${issue.message}`];
  return [`${where}: expected ${issue.message}, got ${show(value)}`];
}

function show(value: unknown): string {
  const type = Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value === 'object' ? 'mapping' : typeof value;
  const text = typeof value === 'object' && value !== null && !Array.isArray(value) ? '{…}' : quote(value);
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\` (${type})`;
}

function valueAt(raw: unknown, path: string[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The object shape that `path` points into, looking through optional/default/nullable wrappers. */
function shapeAt(schema: z.ZodType, path: string[]): Record<string, z.ZodType> | undefined {
  let node: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    if (node instanceof z.ZodObject) node = unwrap(node.shape[key] as z.ZodType);
    else if (node instanceof z.ZodArray) node = unwrap(node.element as z.ZodType);
    else if (node instanceof z.ZodUnion) node = (node.options as z.ZodType[]).map(unwrap).find((o) => o instanceof z.ZodObject || o instanceof z.ZodArray);
    else return undefined;
  }
  if (node instanceof z.ZodUnion) node = (node.options as z.ZodType[]).map(unwrap).find((o) => o instanceof z.ZodObject);
  return node instanceof z.ZodObject ? (node.shape as Record<string, z.ZodType>) : undefined;
}

function unwrap(node: z.ZodType | undefined): z.ZodType | undefined {
  while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodNullable || node instanceof z.ZodPrefault) {
    node = node.unwrap() as z.ZodType;
  }
  return node;
}
