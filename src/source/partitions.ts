/**
 * @file Hive-style partition folders (`country=NO/year=2024/part-0.parquet`), the layout Spark's
 * `partitionBy`, Hive, DuckDB's `COPY … (PARTITION_BY …)` and Polars' `write_parquet(partition_by=…)`
 * write: the key is left out of the files and lives in the folder's name. A folder or glob input
 * reads each key as a column after the file's own, as DuckDB, Polars and pyarrow's datasets do.
 */
import { isUtf8 } from 'node:buffer';
import { dirname, relative, sep } from 'node:path';
import { BentoError } from '../errors.js';
import type { InputSpec } from '../job/spec.js';
import { hasMagic } from './files.js';
import { CodedColumn, type Column, type Field, int64Max, int64Min, MaskedColumn, type RowChunk, type Source } from './types.js';

export type Partitioning = NonNullable<InputSpec['partitioning']>;

/** The partition columns of a file list: the fields, and each file's value of each. */
export interface Partitions {
  readonly fields: readonly Field[];
  /** `values[file][k]`: file `file`'s value of `fields[k]`; null for Hive's null partition. */
  readonly values: readonly (readonly (string | bigint | null)[])[];
}

/**
 * The folder partition keys are read under: a folder input itself, a glob's folder before its
 * first wildcard; none for a file named on its own.
 */
export function partitionRoot(path: string, files: readonly string[]): string | undefined {
  const parts = path.split(sep);
  const firstMagic = parts.findIndex(hasMagic);
  if (firstMagic >= 0) return parts.slice(0, firstMagic).join(sep) || sep;
  return files.length === 1 && files[0] === path ? undefined : path;
}

/** Spark writes a null key as this folder name; DuckDB reads `NULL` in any case as one too. */
const nullValues = new Set(['__HIVE_DEFAULT_PARTITION__', 'NULL', 'null', 'Null']);
const integerValue = /^-?(0|[1-9]\d*)$/;

/** In `auto`, a folder name is a partition only as a column name, `=`, and a value: not a base64 id (aGVsbG8=) or a note (a=b c). */
const autoKey = /^[\p{L}_][\p{L}\p{N}_ .-]*$/u;

/**
 * The `key=value` folders between `root` and each file, checked to be the same keys in the same
 * order for every file. Undefined where there are none (or `mode` is none). A key's type is int64
 * where every value is a whole number written without leading zeros (`year=2024`), else string:
 * `month=01` stays the text it is (a model still reads it as the number 1), and so does a zip code.
 * `hive` requires them and throws where they are missing or differ between files; `auto` reads
 * them only where every file has the same keys, and otherwise says why in `notes` and reads none
 * (a folder that merely holds an `=` does not stop a job that ran before partitions were read).
 */
export function hivePartitions(root: string | undefined, files: readonly string[], mode: Partitioning, inputPath: string, notes?: string[]): Partitions | undefined {
  if (mode === 'none') return undefined;
  if (root === undefined) {
    if (mode === 'auto') return undefined;
    throw new BentoError('INPUT_FORMAT', `input.partitioning is hive, but input.path ${inputPath} names one file: its partition folders are read below a folder or a glob`, {
      file: inputPath, hint: 'Point input.path at the dataset\'s folder (or a glob over it), or leave input.partitioning out.',
    });
  }
  const perFile = files.map((file) => relative(root, dirname(file)).split(sep).flatMap((segment) => {
    const at = segment.indexOf('=');
    if (at <= 0) return [];
    const pair = [unescape(segment.slice(0, at)), unescape(segment.slice(at + 1))] as const;
    return mode === 'hive' || (autoKey.test(pair[0]) && pair[1] !== '') ? [pair] : [];
  }));
  const first = perFile.findIndex((keys) => keys.length > 0);
  if (first === -1) {
    if (mode === 'auto') return undefined;
    throw new BentoError('INPUT_FORMAT', `input.partitioning is hive, but no folder under ${root} is named key=value`, {
      file: inputPath, hint: 'Point input.path at the folder above the partition folders (e.g. data/ for data/year=2024/…), or leave input.partitioning out.',
    });
  }
  const keys = perFile[first]!.map(([key]) => key);
  const differing = perFile.findIndex((pairs) => !(pairs.length === keys.length && pairs.every(([key], k) => key === keys[k])));
  const repeated = keys.find((key, k) => keys.indexOf(key) !== k);
  if (differing >= 0 || repeated !== undefined) {
    const pairs = perFile[Math.max(differing, 0)]!;
    const theirs = pairs.length === 0 ? 'no partition folder' : `partition folders ${pairs.map(([key]) => key).join('/')}`;
    const why = repeated !== undefined ? `${files[first]} is under two partition folders named ${repeated}=` : `${files[first]} is in partition folders ${keys.join('/')}, ${files[differing]} in ${theirs}`;
    if (mode === 'auto') {
      notes?.push(`input.path ${inputPath} holds folders named key=value, but not as one partitioned dataset (${why}): they are read as plain folders, with no partition columns (input.partitioning: hive would stop here instead)`);
      return undefined;
    }
    throw new BentoError('INPUT_FORMAT', `Input files are partitioned differently: ${why}`, {
      file: files[Math.max(differing, first)], hint: 'Point input.path at one dataset\'s folder, whose files all sit under the same key=value folders, or set input.partitioning: none (or leave it out) to read the files without partition columns.',
    });
  }
  const raw = perFile.map((pairs) => pairs.map(([, value]) => (nullValues.has(value) ? null : value)));
  const fields: Field[] = keys.map((name, k) => ({ name, type: raw.every((values) => isInt64(values[k]!)) ? 'int64' : 'string' }));
  const values = raw.map((row) => row.map((value, k) => (value !== null && fields[k]!.type === 'int64' ? BigInt(value) : value)));
  return { fields, values };
}

/** The partition columns whose names pass `keep`, with their values; undefined when none does. */
export function keepFields(partitions: Partitions, keep: (name: string) => boolean): Partitions | undefined {
  const kept = partitions.fields.flatMap((field, k) => (keep(field.name) ? [k] : []));
  if (kept.length === 0) return undefined;
  return { fields: kept.map((k) => partitions.fields[k]!), values: partitions.values.map((row) => kept.map((k) => row[k]!)) };
}

function isInt64(value: string | null): boolean {
  if (value === null) return true;
  if (!integerValue.test(value)) return false;
  const n = BigInt(value);
  return n >= int64Min && n <= int64Max;
}

/**
 * Spark and Hive write `%`, `/`, `=`, `:` and the like as `%XX` in a folder name, and DuckDB,
 * pyarrow and Polars a non-ASCII character as the `%XX` of each of its UTF-8 bytes (`Z%C3%BCrich`):
 * a run of escapes is decoded as UTF-8 bytes, kept as written where they are not UTF-8; a `%`
 * that starts no escape is itself.
 */
function unescape(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    return isUtf8(bytes) ? bytes.toString('utf8') : run;
  });
}

/**
 * `source` with the partition columns after its own. A key the files hold too: with `hive`, the
 * folder's value stands for it, as in DuckDB (the readers were told not to read it); with `auto`,
 * the file's column is kept and the folder's value left out, as a job that ran before partitions
 * were read has it. Returns the partition fields added.
 */
export function withPartitions(source: Source, partitions: Partitions, mode: Partitioning): { source: Source; added: readonly Field[] } {
  const own = new Set(source.schema.map((f) => f.name));
  const added = mode === 'hive' ? partitions : keepFields(partitions, (name) => !own.has(name));
  if (added === undefined) return { source, added: [] };
  const keys = new Set(added.fields.map((f) => f.name));
  const schema = [...source.schema.filter((f) => !keys.has(f.name)), ...added.fields];
  const chunks = async function* (from?: Parameters<Source['chunks']>[0]): AsyncIterable<RowChunk> {
    for await (const chunk of source.chunks(from)) {
      const columns = new Map([...chunk.columns].filter(([name]) => !keys.has(name)));
      const values = added.values[chunk.fileIndex]!;
      added.fields.forEach((field, k) => columns.set(field.name, constant(field, values[k]!, chunk.length)));
      yield { ...chunk, columns };
    }
  };
  return {
    source: {
      files: source.files, schema, totalRows: source.totalRows, estimatedRows: source.estimatedRows, chunks,
      progress: () => source.progress(), ...(source.dialect !== undefined ? { dialect: source.dialect } : {}),
    },
    added: added.fields,
  };
}

/** `length` cells of one value, unboxed: a dictionary of one word, or a filled bigint array. */
function constant(field: Field, value: string | bigint | null, length: number): Column {
  if (field.type === 'int64') {
    const values = new BigInt64Array(length);
    if (value === null) return new MaskedColumn(values, new Uint8Array(length));
    return values.fill(value as bigint);
  }
  return new CodedColumn(new Int32Array(length).fill(value === null ? -1 : 0), value === null ? [] : [value as string]);
}
