/**
 * @file JSON Lines reader: one object per line, blank lines skipped, a line that is not a JSON
 * object fails naming the file and line. Column types come from the first chunk. Lines are
 * split here (not by readline) so each row's end offset is known and a resume can seek to it.
 */
import type { Readable } from 'node:stream';
import { dateOf, sniffTemporal, timestampOf, typeWords } from './csvtypes.js';
import { StringDecoder } from 'node:string_decoder';
import { usableCores } from '../cores.js';
import { BentoError, didYouMean } from '../errors.js';
import { chunkEnd, ColumnBuilder, fullByBytes, inexactIntegerHint, maxLineBytes, raiseChunkRows, sniffJsonType, textSource, typeMismatch } from './chunks.js';
import { FilesAhead, smallFiles, statFiles } from './ahead.js';
import { ByteProgress, byteOrderMark, bytesLeft, isGzip, notUtf8At, openFileStream, streamError } from './files.js';
import { parseExact } from './json.js';
import { LineParser, type ParsedLine, parseLine } from './json-thread.js';
import { jsonText } from '../sink/values.js';
import { cellBytes, type Field, int64Max, int64Min, lineColumn, type RowChunk, type Source, type SourcePosition } from './types.js';

export interface JsonlSourceOptions {
  readonly columns: readonly string[] | undefined;
  /** Where a key first met after the columns are fixed is said, once a key (with `columns` unset): it is not read. */
  readonly notes?: string[];
  /** Columns never read where `columns` is unset: partition keys, whose folder value stands for them (source/partitions.ts). */
  readonly exclude?: ReadonlySet<string>;
  readonly chunkRows: number;
  /** Rows of the first chunk, whose keys and values fix the columns and types, when more than `chunkRows`. */
  readonly typeRows?: number;
  /** input.chunk_rows was given (see chunkEnd). */
  readonly chunkRowsSet?: boolean;
  /**
   * Keys each file must hold (the model's columns): a key in no line of a file's first chunk is
   * misspelt there (`Text` for `text`), not null in every line, and would be read as null.
   */
  readonly required?: readonly string[];
  /** limits.memory in MB: a line may take a sixteenth of it (maxLineBytes). */
  readonly memoryMb?: number;
  /**
   * Type text columns of ISO dates and timestamps as such (for a Parquet output, which keeps them
   * typed, as DuckDB's read_json does), except these columns (the model's, which read text).
   */
  readonly temporal?: { readonly except: readonly string[] };
  /**
   * Add each line's text as the `lineColumn` chunk column, for a JSON Lines writer that copies
   * the input's keys as they are (every key kept, none from partition folders): the other
   * columns' values are then not collected after the first chunk, which types them.
   */
  readonly lines?: boolean;
  /** With lines: the columns whose values are wanted (the model's). */
  readonly valuesOf?: readonly string[];
  /**
   * With lines: the columns the run writes (predictions, `error`), filled in once known, before
   * the chunks after the first are read. A line holding one as a key (past the first chunk, whose
   * keys the run checks) is copied without it, and that said once a key: written twice, the key
   * would make a line DuckDB and others refuse.
   */
  readonly written?: ReadonlySet<string>;
  /**
   * Keys only the model reads (as a list of numbers, an embedding; with `lines`, whose copies hold
   * every key, the model's): with a file of more than 4 MB and a second core, lines are parsed on a
   * thread of their own too (json-thread.ts), and these keys' lists of numbers come as Float64Array views.
   */
  readonly typedLists?: ReadonlySet<string>;
}


/** Thrown by splitLines for a line past maxLineBytes; readFile, which counts lines, names it. `opens`: the line's first byte that is not a space. */
class LongLine extends Error {
  constructor(readonly opens: string) {
    super('a line past the longest one a row may take');
  }
}

/**
 * The memory a record's structs and lists take (cellBytes) among `names` (every key where
 * undefined): parsed, an object of 500 keys took ~4 times its text, and a first chunk of 32 MB of
 * such lines ran the scoring thread out of memory; a chunk counts them toward its byte bound.
 */
function nestedBytes(record: Record<string, unknown>, names: readonly string[] | undefined): number {
  let bytes = 0;
  for (const name of names ?? Object.keys(record)) {
    const v = record[name];
    if (v !== null && typeof v === 'object') bytes += cellBytes(v);
  }
  return bytes;
}

/** The first character that is not a space in the bytes of a line begun (a BOM skipped). */
function opening(pieces: readonly Uint8Array[]): string {
  for (const piece of pieces) {
    for (const byte of piece) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a && byte !== 0xef && byte !== 0xbb && byte !== 0xbf) return String.fromCharCode(byte);
  }
  return '';
}

/** A line as splitLines gives it: its text (a BOM that opens the file left out), and the offset just after it. */
interface RawLine {
  readonly text: string;
  readonly end: number;
  readonly notUtf8?: true;
}

/**
 * Lines of `stream` with the offset just after each (relative to `start`), a last line without
 * newline too; handed out a stream piece at a time, not an await per line (in the CSV reader,
 * an async generator step per record was half of its allocations).
 */
async function* splitLines(stream: Readable, start: number, file: string, maxLine: number): AsyncGenerator<RawLine[]> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let offset = start;
  const decoder = new StringDecoder('utf8');
  let head = start === 0;
  let first = start === 0;
  // A BOM may open the file (Windows tools write one): it is no part of the first line's JSON.
  const lineOf = (text: string, bytes: Uint8Array, end: number): RawLine => {
    const bare = first && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    first = false;
    return notUtf8At(text, bytes) >= 0 ? { text: bare, end, notUtf8: true } : { text: bare, end };
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    // Split at its 0x0A bytes, UTF-16 text made a bad row of every line: a run that exits 0 having written nothing.
    if (head && byteOrderMark(chunk)?.encoding.startsWith('utf-16')) {
      throw new BentoError('INPUT_FORMAT', `${file} is UTF-16 (it starts with a UTF-16 byte-order mark), but JSON Lines is UTF-8`, {
        file, hint: `Re-encode it, e.g. iconv -f UTF-16 -t UTF-8 ${file} > utf8.jsonl (PowerShell: Get-Content ${file} | Set-Content -Encoding utf8 utf8.jsonl), and point input.path at the copy.`,
      });
    }
    head = false;
    const lines: RawLine[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, nl + 1);
      if (pendingBytes + piece.length > maxLine) {
        // The lines before it are rows: yielded first, so that readFile, which counts them, names this one.
        if (lines.length > 0) yield lines;
        throw new LongLine(opening([...pending, piece]));
      }
      const bytes = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingBytes = 0;
      offset += bytes.length;
      lines.push(lineOf(decoder.write(bytes), bytes, offset));
      from = nl + 1;
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > maxLine) {
        if (lines.length > 0) yield lines;
        throw new LongLine(opening(pending));
      }
    }
    if (lines.length > 0) yield lines;
  }
  if (pending.length) {
    // A last line without its line break is checked as the others are: bytes that are not UTF-8 would be U+FFFD in every output.
    const bytes = Buffer.concat(pending);
    yield [lineOf(decoder.write(bytes) + decoder.end(), bytes, offset + bytes.length)];
  }
}

/** A line without its line break (LF or CRLF), found by its last characters rather than a regular expression run on every line. */
function lineText(raw: string): string {
  const n = raw.length;
  if (raw.charCodeAt(n - 1) !== 10) return raw;
  return raw.slice(0, raw.charCodeAt(n - 2) === 13 ? n - 2 : n - 1);
}

/** Lines' text a batch of them is parsed with at most (or one longer line), and their count. */
const BATCH_TEXT = 1 << 20;
const BATCH_LINES = 4096;
/**
 * Lines' text a batch must hold to be parsed on the thread: a small one (a small part file's lines)
 * is parsed sooner than a message goes there and back. 30,000 files of 20 lines took 11 s with each
 * file's lines sent, 7 s without (both before small files were read whole).
 */
const REMOTE_TEXT = 64 * 1024;

/** Lines as read, with their text (its line break off) and that text parsed, where it was ahead of them. */
interface LineBatch {
  readonly lines: readonly RawLine[];
  readonly texts?: readonly string[];
  readonly parsed?: readonly ParsedLine[];
}

/**
 * The lines of `pieces` a batch at a time, parsed ahead: read ahead, and parsed on `parser`'s
 * thread while it has fewer than two batches, else here (a line longer than a batch, here). A
 * failure of `pieces` (a line past the cap) comes after the lines read before it.
 */
async function* parsedLines(pieces: AsyncIterable<RawLine[]>, parser: LineParser): AsyncGenerator<LineBatch> {
  const lines = pieces[Symbol.asyncIterator]();
  let carry: RawLine[] = [];
  let taken = 0;
  let failure: { error: unknown } | undefined;
  let ended = false;
  const batch = async (): Promise<RawLine[]> => {
    const out: RawLine[] = [];
    let bytes = 0;
    while (bytes < BATCH_TEXT && out.length < BATCH_LINES) {
      if (taken === carry.length) {
        if (ended) break;
        try {
          const next = await lines.next();
          if (next.done) {
            ended = true;
            break;
          }
          carry = next.value;
          taken = 0;
        } catch (error) {
          failure = { error };
          ended = true;
          break;
        }
        continue;
      }
      const line = carry[taken++]!;
      out.push(line);
      bytes += line.text.length;
    }
    return out;
  };
  const queue: { lines: RawLine[]; texts: string[]; parsed: ParsedLine[] | Promise<ParsedLine[]> }[] = [];
  for (;;) {
    while (queue.length < 3 && !ended) {
      const read = await batch();
      if (read.length === 0) break;
      const texts = read.map((line) => lineText(line.text));
      let text = 0;
      let longest = 0;
      for (const t of texts) {
        text += t.length;
        if (t.length > longest) longest = t.length;
      }
      const remote = !parser.failed && parser.pending < 2 && text >= REMOTE_TEXT && longest <= BATCH_TEXT;
      const parsed = remote ? parser.parse(texts) : texts.map(parseLine);
      // A batch's failure is met when it is awaited, in turn: not an unhandled rejection before.
      if (parsed instanceof Promise) parsed.catch(() => undefined);
      queue.push({ lines: read, texts, parsed });
    }
    const next = queue.shift();
    if (next === undefined) break;
    let parsed: readonly ParsedLine[];
    try {
      parsed = await next.parsed;
    } catch {
      // The thread is only help: where it fails (its heap is small, and a line of 170,000 empty
      // objects filled it; LineParser says so), its batches and the rest are parsed here, as without it.
      parsed = next.texts.map(parseLine);
    }
    yield { lines: next.lines, texts: next.texts, parsed };
  }
  if (failure) throw failure.error;
}

/** splitLines' pieces as batches to parse a line at a time as they are read (without a thread, nothing is parsed ahead). */
async function* unparsed(pieces: AsyncIterable<RawLine[]>): AsyncGenerator<LineBatch> {
  for await (const lines of pieces) yield { lines };
}

/** A value read from JSON, as JSON text again (its 64-bit integers, which JSON.stringify refuses, as their digits in quotes). */
/**
 * A record's value for a key, null where the line lacks it. A key that names a member every object
 * inherits (`constructor`, `toString`, `__proto__`) read from a line without it gives Object's
 * function, or Object.prototype itself, which no JSON value is: taken as missing too, with no
 * lookup of the key a cell (the reader's hot path).
 */
function cellOf(record: Record<string, unknown>, key: string): unknown {
  const value = record[key];
  return value === undefined || typeof value === 'function' || value === Object.prototype ? null : value;
}

/**
 * A record's keys in the order its line writes them. JavaScript lists keys that read as array
 * indices first, in numeric order (`"name", "2024", "2023"` as 2023, 2024, name): the line's text
 * is then scanned for its top-level keys, so that columns keep the file's order, as DuckDB's.
 */
function keysAsWritten(record: Record<string, unknown>, text: string): Iterable<string> {
  let first: string | undefined;
  for (const key in record) {
    first = key;
    break;
  }
  if (first === undefined || !/^(?:0|[1-9]\d{0,9})$/.test(first)) return Object.keys(record);
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let end = i + 1;
      while (end < text.length && text.charCodeAt(end) !== 34) end += text.charCodeAt(end) === 92 ? 2 : 1;
      if (depth === 1) {
        let after = end + 1;
        while (after < text.length && /\s/.test(text[after]!)) after++;
        if (text.charCodeAt(after) === 58) keys.push(JSON.parse(text.slice(i, end + 1)) as string);
      }
      i = end;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  return keys;
}

/** A value as JSON text, as the line held it: a list the parsing thread made a Float64Array is its array (not `{"0":1,…}`). */
const jsonOf = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Float64Array ? Array.from(v) : v));

/**
 * Throws when a file's first line opens a JSON document rather than a JSON Lines record: an array
 * (pandas' to_json(orient='records'), an API's export), an object spread over lines (json.dump with
 * indent, jq, a wrapper such as {"data": [ …), or pandas' default to_json, one object of columns
 * ({"a": {"0": 1, "1": 2}, …}). Read as lines, its records would be bad rows and its keys missing
 * columns, or one row of nonsense.
 */
function documentNotLines(file: string, first: string): void {
  const text = first.trim();
  let what: string | undefined;
  let jq = '.';
  if (text.startsWith('[')) {
    what = 'a JSON array';
    jq = '.[]';
  } else if (text.startsWith('{')) {
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      // Left open at its end ({, [, a comma, a colon): it goes on below. A record broken otherwise
      // ({"a": 2,}) is one bad row of a JSON Lines file.
      if (/[[{,:]$/.test(text)) what = 'a JSON document spread over several lines';
    }
    if (row !== undefined && pandasColumns(row)) what = 'pandas\' default JSON (df.to_json(): one object of columns, each keyed by row number)';
  }
  if (what === undefined) return;
  const read = isGzip(file) ? `gunzip -c ${file} | jq -c '${jq}'` : `jq -c '${jq}' ${file}`;
  throw new BentoError('INPUT_FORMAT', `Input file ${file} is ${what}, not JSON Lines (one JSON object a line)`, {
    file, row: 1,
    hint: what.startsWith('pandas') ? 'Write it as JSON Lines and point input.path at that: df.to_json(path, orient="records", lines=True).'
      : `Convert it to JSON Lines and point input.path at the copy: ${read} > lines.jsonl${jq === '.' ? ' (for records wrapped in a key, .data[] or the like)' : ''} (pandas writes JSON Lines with df.to_json(path, orient="records", lines=True)).`,
  });
}

/** Whether `row` is pandas' column-oriented JSON: every value an object whose keys are row numbers, some with several. */
function pandasColumns(row: unknown): boolean {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return false;
  const columns = Object.values(row);
  return columns.length > 0 && columns.every((c) => c !== null && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).every((k) => /^\d+$/.test(k)))
    && columns.some((c) => Object.keys(c as object).length > 1);
}

/** Opens JSONL files and reads the first chunk to learn the columns; throws INPUT_* errors. */
export async function openJsonl(files: readonly string[], options: JsonlSourceOptions): Promise<Source> {
  let schema: Field[] | undefined;
  /** The columns, as a set, and the keys met beyond them (see `notes`). */
  let known: Set<string> | undefined;
  const unread = new Set<string>();
  const stats = await statFiles(files);
  const sizes = stats.map((s) => s.size);
  const progress = new ByteProgress(sizes);
  // A thread to parse on pays for itself past a few MB (the writer's own starts past 4 MB too).
  const parseThread = (options.typedLists?.size ?? 0) > 0 && usableCores().cores >= 2 && sizes.reduce((a, b) => a + b, 0) > 4 * 1024 * 1024;

  async function* readAll(from: SourcePosition): AsyncGenerator<RowChunk> {
    // One thread for every file: a folder of many small part files would start one a file.
    const parser = parseThread ? new LineParser([...options.typedLists!], Math.max(32, Math.round((options.memoryMb ?? 256) / 8)), options.notes) : undefined;
    try {
      const ahead = new FilesAhead(files, stats, smallFiles);
      for (let index = from.file; index < files.length; index++) {
        const at = index === from.file ? from : { file: index, row: 0, byte: 0, line: 0 };
        const opened = openFileStream(files[index]!, at.byte ?? 0, undefined, await ahead.read(index), at);
        progress.enter(index, opened.bytes);
        yield* readFile(files[index]!, index, opened.stream, at, parser);
      }
    } finally {
      await parser?.close();
    }
  }

  const maxLine = maxLineBytes(options.memoryMb ?? 256);

  async function* readFile(file: string, index: number, stream: Readable, at: SourcePosition, parser: LineParser | undefined): AsyncGenerator<RowChunk> {
    const lines = options.lines === true;
    let names = options.columns ?? (schema && narrowed(schema));
    const left = (byte: number) => bytesLeft(file, sizes[index]!, byte);
    let builder = names ? new ColumnBuilder(names, file, index, at.row, at.byte ?? 0, lines, chunkEnd(options, true, names.length), left(at.byte ?? 0)) : undefined;
    /** Cells a row puts in the chunk (its keys so far, until they are fixed): a wide file's chunks hold fewer rows (chunkEnd). */
    const width = () => names?.length ?? seen.size;
    // Until the first chunk fixes the columns, rows are kept whole to learn every key.
    let pending: { row: Record<string, unknown> | BentoError; end: number; line: number; text?: string }[] = [];
    /** What the pending records' structs and lists hold in memory (nestedBytes), beyond their text. */
    let pendingWeight = 0;
    let lastEnd = at.byte ?? 0;
    let line = at.line ?? 0;
    let rows = at.row;
    const seen = new Set<string>();
    /** Whether the line just parsed had a bare NaN or Infinity (parseExact). */
    let lenient = false;
    const lenientLine = { used: false };
    /** Keys of the lines of this file's first chunk, for `required`: undefined once checked, or when resumed past it. */
    let firstKeys: Set<string> | undefined = options.required?.length && at.row === 0 ? new Set() : undefined;
    let firstLeft = chunkEnd(options, false);
    const checkKeys = () => {
      const keys = firstKeys;
      firstKeys = undefined;
      if (!keys || keys.size === 0) return; // no line was an object: those are bad rows already
      const missing = options.required!.find((name) => !keys.has(name));
      if (missing === undefined) return;
      const present = [...keys];
      const guess = didYouMean(missing, present);
      const lines = rows < chunkEnd(options, false) ? 'no line' : `none of the first ${rows.toLocaleString('en-US')} lines`;
      throw new BentoError('COLUMN_MISSING', `Column "${missing}" is missing from ${file}: ${lines} holds the key "${missing}"${guess ? `; the closest is "${guess}"` : ''}`, {
        file, column: missing,
        hint: `${guess ? `Rename the key in the input, or fix the name in the manifest (did you mean "${guess}"? JSON keys are case-sensitive). ` : `The file's keys: ${present.slice(0, 20).join(', ')}${present.length > 20 ? ', …' : ''}. `}If the key is only left out where its value is null (Spark's JSON writer does so), write the nulls (ignoreNullFields: false) or raise input.chunk_rows.`,
      });
    };
    /** With lines, once the first chunk has typed every column: the model's alone collected from here on. */
    const narrow = () => {
      if (!lines || !schema || options.columns || names!.length === narrowed(schema).length) return;
      const next = builder!.next;
      names = narrowed(schema);
      builder = new ColumnBuilder(names, file, index, next.row - 1, next.byte, true, chunkEnd(options, true, names.length), left(next.byte));
    };
    const flushPending = () => {
      names = [...seen].filter((key) => !options.exclude?.has(key));
      builder = new ColumnBuilder(names, file, index, at.row, at.byte ?? 0, lines, chunkEnd(options, true, names.length), left(at.byte ?? 0));
      // Each record let go once its cells are in the columns: a wide file's records (500 keys, a
      // first chunk of 4,000 lines) weigh as much as its columns, and both at once neared the cap.
      const records = pending;
      pending = [];
      pendingWeight = 0;
      for (let k = 0; k < records.length; k++) {
        const { row, end, line: l, text } = records[k]!;
        records[k] = undefined as never;
        if (row instanceof BentoError) builder.pushError(row, end, l);
        else builder.push((i) => cellOf(row, names![i]!), end, l, text);
      }
    };
    try {
      const pieces = splitLines(stream, at.byte ?? 0, file, maxLine);
      const lineBatches = parser ? parsedLines(pieces, parser) : unparsed(pieces);
      for await (const { lines: batch, texts, parsed } of lineBatches) for (let k = 0; k < batch.length; k++) {
        const { text: raw, end, notUtf8 } = batch[k]!;
        line++;
        const text = texts ? texts[k]! : lineText(raw);
        const start = lastEnd;
        lastEnd = end;
        // A record opens with its brace; only another line can be blank.
        if (text.charCodeAt(0) !== 123 && text.trim() === '') continue;
        if (rows === 0) documentNotLines(file, text);
        let row: unknown;
        let problem: BentoError | undefined;
        if (notUtf8) {
          problem = new BentoError('INPUT_FORMAT', `Line ${line} of ${file} is not UTF-8`, {
            file, row: rows + 1, byte: start, value: text, hint: 'JSON text is UTF-8: re-encode the file (e.g. iconv -f windows-1252 -t utf-8), or fix the line.',
          });
        } else {
          let invalid: string | undefined;
          if (parsed) {
            const got = parsed[k]!;
            if ('error' in got) invalid = got.error;
            else ({ value: row, lenient } = got);
          } else {
            try {
              lenientLine.used = false;
              row = parseExact(text, lenientLine);
              lenient = lenientLine.used;
            } catch (error) {
              invalid = (error as Error).message;
            }
          }
          if (invalid !== undefined) {
            problem = new BentoError('INPUT_FORMAT', `Line ${line} of ${file} is not valid JSON: ${invalid}`, {
              file, row: rows + 1, byte: start, value: text, hint: 'Each line of a JSONL file must be one JSON object; fix or remove the line.',
            });
          }
        }
        if (!problem && (row === null || typeof row !== 'object' || Array.isArray(row))) {
          problem = new BentoError('INPUT_FORMAT', `Line ${line} of ${file} is not a JSON object (got ${Array.isArray(row) ? 'an array' : row === null ? 'null' : typeof row})`, {
            file, row: rows + 1, byte: start, value: text, hint: 'Each line of a JSONL file must be one JSON object such as {"text": "..."}.',
          });
        }
        rows++;
        if (problem) {
          if (builder === undefined) pending.push({ row: problem, end, line });
          else builder.pushError(problem, end, line);
          if (builder && (builder.length >= chunkEnd(options, schema !== undefined, width()) || fullByBytes(options, schema !== undefined, builder.bytes))) {
            yield typed(builder.take()!);
            narrow();
          }
          continue;
        }
        const record = row as Record<string, unknown>;
        // A line with a bare NaN is written as JSON again (NaN as null), as the writer writes a value: a copy would be no JSON.
        const copy = lines ? (lenient || clashes(record, file, line) ? jsonText(withoutWritten(record), 'json') : text) : undefined;
        if (firstKeys) {
          for (const key in record) firstKeys.add(key);
          if (--firstLeft === 0) checkKeys();
        }
        if (builder === undefined) {
          for (const key of keysAsWritten(record, text)) seen.add(key);
          pending.push({ row: record, end, line, ...(copy !== undefined ? { text: copy } : {}) });
          pendingWeight += nestedBytes(record, undefined);
          if (pending.length >= chunkEnd(options, schema !== undefined, width()) || fullByBytes(options, false, end - (at.byte ?? 0) + pendingWeight)) flushPending();
        } else {
          builder.push((i) => cellOf(record, names![i]!), end, line, copy);
          const weight = nestedBytes(record, names!);
          if (weight > 0) builder.weigh(weight);
          // A copied line keeps every key: none goes unread.
          if (options.notes && options.columns === undefined && !lines && schema && unread.size < 20) {
            known ??= new Set(schema.map((f) => f.name));
            for (const key in record) {
              if (known.has(key) || unread.has(key) || options.exclude?.has(key)) continue;
              // Spark's JSON leaves null fields out: a key absent from the first rows (a small first part file) would vanish without a word.
              unread.add(key);
              options.notes.push(`${file} line ${line} holds the key "${key}", which none of the first rows (those that fix the columns) holds: it is not read. List it in output.keep or input.columns to read it (the columns come from the first file's first rows)`);
            }
          }
        }
        if (builder && (builder.length >= chunkEnd(options, schema !== undefined, width()) || fullByBytes(options, schema !== undefined, builder.bytes))) {
          yield typed(builder.take()!);
          narrow();
        }
      }
    } catch (error) {
      if (error instanceof LongLine) {
        // A JSON array on one line (json.dump of a list, pandas' orient='records') is no row however much memory there is.
        if (rows === 0 && error.opens === '[') documentNotLines(file, '[');
        const mb = (bytes: number) => (bytes >= 1024 * 1024 ? `${Math.round(bytes / 1024 / 1024)} MB` : `${Math.round(bytes / 1024)} KB`);
        throw new BentoError('MEMORY_LIMIT', `Line ${line + 1} of ${file} is longer than ${mb(maxLine)}, the most one row may take with limits.memory ${options.memoryMb ?? 256} MB (a sixteenth)`, {
          file, row: rows + 1, byte: lastEnd,
          hint: `Raise limits.memory to at least 16 times the longest line (e.g. --set limits.memory=${(options.memoryMb ?? 256) * 4}), or split the line's record. A rerun resumes from the last checkpoint.`,
        });
      }
      throw streamError(file, error);
    }
    if (rows === 0) {
      // One of several (an empty partition) holds no rows to lose; on its own it is more likely a failed export.
      if (files.length > 1) return;
      throw new BentoError('INPUT_FORMAT', `Input file ${file} is empty`, { file, hint: 'Remove the file from the input, or check the step that writes it.' });
    }
    checkKeys();
    if (builder === undefined) flushPending();
    const last = builder!.take();
    if (last) yield typed(last);
  }

  /** Keys a line holds that the run writes too, said once a key; false where none (lines only). */
  const saidWritten = new Set<string>();
  function clashes(record: Record<string, unknown>, file: string, line: number): boolean {
    if (!options.written?.size) return false;
    let found = false;
    for (const key of options.written) {
      if (!Object.hasOwn(record, key)) continue;
      found = true;
      if (saidWritten.has(key)) continue;
      saidWritten.add(key);
      options.notes?.push(`${file} line ${line} holds the key "${key}", a column the run writes: the line is written without it, here and in any later line`);
    }
    return found;
  }
  // Written again, a list parsed on the thread is the array it stands for.
  const withoutWritten = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).filter(([key]) => !options.written?.has(key))
    .map(([key, value]) => [key, value instanceof Float64Array ? Array.from(value) : value]));

  /** The columns collected once the first chunk has typed them all: with lines, the model's only. */
  function narrowed(fields: readonly Field[]): string[] {
    const names = fields.map((f) => f.name);
    return options.lines && options.valuesOf ? names.filter((name) => options.valuesOf!.includes(name)) : names;
  }

  function typed(whole: RowChunk): RowChunk {
    // A key absent from a line is a null there, as in every JSONL tool; the first chunk fixes the set.
    schema ??= [...whole.columns].filter(([name]) => name !== lineColumn).map(([name, values]) => {
      const type = sniffJsonType(values as ArrayLike<unknown>);
      const temporal = type === 'string' && options.temporal && !options.temporal.except.includes(name) ? sniffTemporal(values as ArrayLike<unknown>, () => false, false) : undefined;
      return { name, ...(temporal ?? { type }) };
    });
    // With lines, the first chunk's other columns (typed now) are dropped as later chunks never collect them.
    const wanted = options.lines ? new Set([...narrowed(schema), lineColumn]) : undefined;
    const chunk = wanted ? { ...whole, columns: new Map([...whole.columns].filter(([name]) => wanted.has(name))) } : whole;
    // A later value the column's type does not hold is a bad row, as a CSV cell is; a writer would
    // otherwise coerce it ("false" to true, an object to "[object Object]") or fail on it.
    let errors: Map<number, BentoError> | undefined;
    const bad = (i: number, field: Field, holds: string, value: unknown, hint: string) => {
      const text = typeof value === 'bigint' ? String(value) : jsonOf(value);
      (errors ??= new Map(chunk.errors)).set(i, typeMismatch(chunk, i, field.name, holds, text.length > 40 ? `${text.slice(0, 40)}…` : text, text, hint));
    };
    const asJson = `Fix or remove the value, or ${raiseChunkRows(options)} so that the first chunk holds such a value and the column is kept as JSON.`;
    for (const field of schema) {
      // A column not collected (with lines, one the model does not read) goes out as its line holds it: nothing to check.
      if (field.type === 'json' || !chunk.columns.has(field.name)) continue;
      const values = chunk.columns.get(field.name) as unknown[] | undefined;
      for (let i = 0; values && i < values.length; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        // A row already bad (by another column, or unreadable) is not reported again, but its cells
        // are converted or nulled all the same: kept with `emit: null-row`, each must fit its column's writer.
        const report = !chunk.errors?.has(i) && !errors?.has(i);
        const misfit = (holds: string, hint: string) => {
          if (report) bad(i, field, holds, v, hint);
          values[i] = null;
        };
        if (field.type === 'float64') {
          if (typeof v === 'number') continue;
          if (typeof v === 'bigint') misfit('numbers a double holds exactly', inexactIntegerHint(options));
          else misfit('numbers', asJson);
        } else if (field.type === 'int64') {
          // 1e19 is a whole number too, past 64 bits; a bigint past them (2^64 − 1) as well.
          const whole = typeof v === 'bigint' ? v >= int64Min && v <= int64Max : typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63;
          if (!whole) misfit('whole numbers of 64 bits', asJson);
        } else if (field.type === 'bool') {
          if (typeof v !== 'boolean') misfit('true or false', asJson);
        } else if (field.type === 'date' || field.type === 'timestamp') {
          const day = typeof v === 'string' ? (field.type === 'date' ? dateOf(v) : timestampOf(v, field.unit ?? 'us', field.naive ?? false)) : undefined;
          if (day === undefined) misfit(typeWords(field), `Fix or remove the value, or ${raiseChunkRows(options)} so that the first chunk holds such a value and the column is kept as text.`);
          else values[i] = day;
        } else if (field.type === 'string' && typeof v !== 'string') {
          // A number where text was (a zip code, an id) keeps its JSON text: nothing is lost.
          values[i] = typeof v === 'object' ? jsonOf(v) : String(v);
        }
      }
    }
    return errors ? { ...chunk, errors } : chunk;
  }

  return textSource(files, readAll, () => schema, progress);
}
