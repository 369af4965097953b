/**
 * @file Sources: the input files of a job, read as columnar chunks. Chooses the reader by
 * `input.format` or by the files' extensions (a pipe's by its first bytes).
 */
import { stat } from 'node:fs/promises';
import { BentoError } from '../errors.js';
import { type DataFormat, formatFromPath, type InputSpec, stdinPath } from '../job/spec.js';
import { openCsv } from './csv.js';
import { byteOrderMark, isGzip, jobInputFiles, jsonFile, readStart } from './files.js';
import { openJsonl } from './jsonl.js';
import { chunkOptions } from './chunks.js';
import { openParquet } from './parquet.js';
import { openStream } from './stream.js';
import { hivePartitions, keepFields, partitionRoot, withPartitions } from './partitions.js';
import type { Field, Source } from './types.js';

export type { Column, Field, FieldType, RowChunk, Source, SourceProgress } from './types.js';

/**
 * Resolves the input files, checks they share one format, and opens the matching reader.
 * `rawText`: CSV cells stay the text read (for CSV output, which writes them back unchanged).
 * `temporal`: CSV columns but these are sniffed for booleans, dates and timestamps too, JSON Lines
 * text for dates and timestamps (for a Parquet output, which keeps them typed). `linesFor`: also
 * hand on each CSV record's text (see lineColumn) for a CSV writer with this delimiter,
 * `jsonLines` each JSON Lines line's for a JSON Lines writer (where no partition folders add
 * columns); then `valuesOf` (the model's columns) are the only cells read as values. `required`:
 * the model's columns, which every JSON Lines file must hold as keys (CSV and Parquet files must
 * hold every column read, in their header or schema). `own`: files a folder or glob must not read
 * (job/spec.ts, writtenByRuns), listed in `skipped` when matched.
 */
export async function openSource(input: InputSpec, read: { rawText?: boolean; temporal?: { readonly except: readonly string[] }; linesFor?: string; jsonLines?: boolean; valuesOf?: readonly string[]; required?: readonly string[]; written?: ReadonlySet<string>; memoryMb?: number; typedLists?: ReadonlySet<string> } = {}, own?: (file: string) => boolean): Promise<Source & { format: DataFormat; skipped: readonly string[]; partitions: readonly Field[]; notes: readonly string[]; partitionKeys: readonly string[] }> {
  const skipped: string[] = [];
  const files = await jobInputFiles(input, own ?? (() => false), (file) => skipped.push(file));
  // Only a file named on its own can be a pipe: a folder's or glob's are regular files (walk).
  // Standard input is read as one even where it is a file (`< data.csv.gz`), as cat reads it.
  const piped = files.length === 1 && (files[0] === stdinPath || !(await stat(files[0]!).catch(() => undefined))?.isFile()) ? files[0] : undefined;
  if (piped) openStream(piped);
  const format = input.format ?? (piped && !formatFromPath(piped) ? await sniffFormat(piped) : formatOf(files));
  if (piped && format === 'parquet') {
    throw new BentoError('INPUT_FORMAT', `Input ${piped} is Parquet, which cannot be read from a pipe or standard input: a Parquet file is read from its end (the footer) first`, {
      file: piped, hint: 'Write the data to a file first, and point input.path at the file.',
    });
  }
  // Parquet is read in place, footer first, and compresses its own pages: a gzipped file cannot be.
  const gzipped = format === 'parquet' ? files.find(isGzip) : undefined;
  if (gzipped) {
    throw new BentoError('INPUT_FORMAT', `Input file ${gzipped} is gzipped Parquet, which cannot be read in place`, {
      file: gzipped, hint: `Decompress it first (gunzip -k ${gzipped}); a Parquet file compresses its own pages (snappy, gzip or zstd), so the writer need not gzip it.`,
    });
  }
  const notes: string[] = [];
  const mode = input.partitioning ?? 'auto';
  const found = hivePartitions(partitionRoot(input.path, files), files, mode, input.path, notes);
  const open = (opened: readonly string[], options: { columns: readonly string[] | undefined; exclude?: ReadonlySet<string> }, lines: boolean, valuesOf?: readonly string[], required?: readonly string[]) => {
    const chunking = chunkOptions(input);
    // input.csv.text and types name no partition key: its folder values are typed by their own rule (partitions.ts), text where they are codes.
    const folder = (name: string) => found?.fields.some((f) => f.name === name) ?? false;
    const csv = {
      ...input.csv,
      ...(input.csv.text ? { text: input.csv.text.filter((name) => !folder(name)) } : {}),
      ...(input.csv.types ? { types: Object.fromEntries(Object.entries(input.csv.types).filter(([name]) => !folder(name))) } : {}),
    };
    return format === 'csv' ? openCsv(opened, { ...csv, ...options, ...chunking, notes, rawText: read.rawText ?? false, ...(read.memoryMb ? { memoryMb: read.memoryMb } : {}), ...(read.temporal ? { temporal: read.temporal } : {}), ...(lines ? { linesFor: read.linesFor, valuesOf } : {}) })
      : format === 'jsonl' ? openJsonl(opened, { ...options, ...chunking, notes, ...(read.temporal ? { temporal: read.temporal } : {}), ...(required ? { required } : {}), ...(read.memoryMb ? { memoryMb: read.memoryMb } : {}), ...(read.typedLists ? { typedLists: read.typedLists } : {}), ...(lines ? { lines: true, valuesOf, typedLists: new Set(valuesOf), ...(read.written ? { written: read.written } : {}) } : {}) })
        : openParquet(opened, { ...options, ...chunking, ...(read.memoryMb ? { memoryMb: read.memoryMb } : {}), ...(read.typedLists ? { typedLists: read.typedLists } : {}) });
  };
  // With auto, a key the files hold too is theirs (withPartitions): where the job asks for a key by
  // name, the first file is looked at first, so that the files are asked for it where they hold it.
  let held: Set<string> = new Set();
  if (found && mode === 'auto') {
    const asked = new Set([...(input.columns ?? []), ...(read.valuesOf ?? []), ...(read.required ?? [])]);
    if (found.fields.some((f) => asked.has(f.name))) {
      const probe = await open([files[0]!], { columns: undefined }, false);
      held = new Set(probe.schema.map((f) => f.name).filter((name) => found.fields.some((f) => f.name === name)));
      for await (const chunk of probe.chunks()) if (chunk) break;
    }
  }
  // input.columns names the partition columns read too; the files are asked for the rest.
  const fromFolders = found && keepFields(found, (name) => !held.has(name));
  const partitions = fromFolders && input.columns ? keepFields(fromFolders, (name) => input.columns!.includes(name)) : fromFolders;
  const keys = new Set(partitions?.fields.map((f) => f.name));
  const fromFiles = (names: readonly string[] | undefined) => names?.filter((name) => !keys.has(name));
  // With hive, a key the files hold too is not read from them: the folder's value stands for it,
  // and its cells need not even agree in type. With auto the file's column is kept (withPartitions).
  const options = { columns: fromFiles(input.columns), ...(found && mode === 'hive' ? { exclude: new Set(found.fields.map((f) => f.name)) } : {}) };
  // A CSV record copied whole stands for the file's columns; partition columns are written after it (run/scorer.ts, afterLine).
  // A JSON Lines line copied whole would hold a partition key's file value beside its folder's: only without partitions.
  const lines = format === 'jsonl' ? read.jsonLines === true && !found : read.rawText === true && read.linesFor !== undefined;
  const source = await open(files, options, lines, fromFiles(read.valuesOf), fromFiles(read.required));
  const joined = partitions ? withPartitions(source, partitions, mode) : { source, added: [] };
  return Object.assign(joined.source, { format, skipped, partitions: joined.added, notes, partitionKeys: found?.fields.map((f) => f.name) ?? [] });
}

/**
 * The format of a stream without an extension (standard input): JSON Lines where its first line,
 * or most of its first 20, start with `{` or are a JSON array (a bad first line is a bad row, not CSV), Parquet
 * where it starts with PAR1 (refused), else CSV.
 */
async function sniffFormat(file: string): Promise<DataFormat> {
  const { bytes: head } = await readStart(file, 64 * 1024);
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  const mark = byteOrderMark(head);
  // UTF-16 (PowerShell's Out-File) is looked at as text, for the reader to say what it is.
  const text = mark?.encoding === 'utf-16le' ? head.subarray(2).toString('utf16le')
    : mark?.encoding === 'utf-16be' ? Buffer.from(head.subarray(2, head.length - (head.length % 2))).swap16().toString('utf16le')
      : head.subarray(mark ? 3 : 0).toString('utf8');
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '').slice(0, 20);
  // `[` starts a JSON array (alone on its line where it is pretty-printed), or a CSV header as SQL Server quotes its names (`[id],[name]`).
  const json = lines.map((line) => line.startsWith('{') || line === '[' || (line.startsWith('[') && isJson(line)));
  return json[0] || json.filter(Boolean).length * 2 > json.length ? 'jsonl' : 'csv';
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Excel saves "Text (Tab delimited)" and "Unicode Text" as .txt: a .txt file named on its own or
 * by a glob is read as CSV, its delimiter sniffed. A directory's .txt files are not read (a
 * README beside the data is not data).
 */
const textFile = /\.txt(\.gz)?$/i;

function formatOf(files: readonly string[]): DataFormat {
  let format: DataFormat | undefined;
  for (const file of files) {
    const f = formatFromPath(file) ?? (textFile.test(file) ? 'csv' : jsonFile.test(file) ? 'jsonl' : undefined);
    if (f === undefined) {
      throw new BentoError('INPUT_FORMAT', `Cannot tell the format of ${file} from its extension`, { file, hint: 'Set input.format to csv, jsonl or parquet, or use the extensions .csv .tsv .jsonl .ndjson .json .parquet (optionally .gz; .txt is read as CSV when named on its own or by a glob).' });
    }
    if (format !== undefined && f !== format) {
      throw new BentoError('INPUT_FORMAT', `Input files mix formats: ${files[0]} is ${format}, ${file} is ${f}`, { file, hint: 'Point input.path at files of one format.' });
    }
    format = f;
  }
  return format!;
}
