/**
 * @file CSV/TSV reader: records split by source/csvsplit.ts (header, delimiter, quotes, CRLF,
 * BOM, encoding); the delimiter, unless set, is sniffed from the first file's head; numeric
 * columns are sniffed from the first chunk and converted as rows stream by.
 * Each row's end offset comes with it from the splitter, so a resume seeks to it.
 */
import { type CsvEncoding, CsvSplitter, LongRecordError, NotUtf8Error, UnclosedQuoteError } from './csvsplit.js';
import { BentoError, columnList, didYouMean } from '../errors.js';
import { chunkEnd, ColumnBuilder, convertColumn, fullByBytes, inexactIntegerHint, integerText, maxLineBytes, raiseChunkRows, requireColumns, sniffCsvType, textSource, typeMismatch } from './chunks.js';
import { convertTemporal, type DeclaredType, sniffTemporal, timestampShape, typeWords } from './csvtypes.js';
import { FilesAhead, smallFiles, statFiles } from './ahead.js';
import { ByteProgress, byteOrderMark, bytesLeft, isGzip, openFileStream, readStart, streamError } from './files.js';
import { type Field, lineColumn, localeHint, localeNumber, missingTokens, type RowChunk, type Source, type SourcePosition } from './types.js';

export interface CsvSourceOptions {
  readonly delimiter: string | undefined;
  readonly header: boolean;
  readonly quote: string;
  /** The decimal mark; undefined: sniffed (sniffDecimal). */
  readonly decimal?: ',' | '.';
  /** The separator between groups of digits, if numbers have one. */
  readonly thousands?: string;
  /** Default utf-8. */
  readonly encoding?: CsvEncoding;
  /** The columns' names, for a file without a header (Spark writes none by default) or in place of its header's. */
  readonly names?: readonly string[];
  /** Read only these columns; undefined reads all. */
  readonly columns: readonly string[] | undefined;
  /** Columns read as text whatever their cells look like (input.csv.text). */
  readonly text?: readonly string[];
  /** Columns' types as declared (input.csv.types), whatever their cells look like. */
  readonly types?: Readonly<Record<string, DeclaredType>>;
  /**
   * Sniff booleans, dates and timestamps too (for a Parquet output, which keeps them typed), except
   * in these columns (the model's, which read text and numbers as they always have).
   */
  readonly temporal?: { readonly except: readonly string[] };
  /** Where a code met after the first chunk typed its column as numbers is said, once a column. */
  readonly notes?: string[];
  /** Columns never read where `columns` is unset: partition keys, whose folder value stands for them (source/partitions.ts). */
  readonly exclude?: ReadonlySet<string>;
  readonly chunkRows: number;
  /** Rows of the first chunk, whose cells fix the column types, when more than `chunkRows`. */
  readonly typeRows?: number;
  /** input.chunk_rows was given (see chunkEnd). */
  readonly chunkRowsSet?: boolean;
  /**
   * Hand cells on as the text that was read (types are still sniffed for the schema): for CSV
   * output, kept columns are then written byte for byte, without a parse and a re-format.
   */
  readonly rawText?: boolean;
  /** limits.memory in MB: a record may take a sixteenth of it, as a JSON Lines line may (maxLineBytes). */
  readonly memoryMb?: number;
  /**
   * Add each record's text as the `lineColumn` chunk column when every file has this delimiter
   * and the quote is `"` (what a CSV writer with this delimiter would write).
   */
  readonly linesFor?: string;
  /**
   * With lines: the columns whose values are wanted (the model's). Chunks hold only these and
   * the line, so the other cells are never made into strings.
   */
  readonly valuesOf?: readonly string[];
}

/** A missing-value token (types.ts, missingTokens). Each starts with a letter or "#": a cell starting with a digit, sign or point is none, and needs no trim and lookup (most cells of a number column). */
function isMissing(v: string): boolean {
  const c = v.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45 || c === 46 || c === 43) return false;
  return missingTokens.has(v.trim());
}
const isTsv = (file: string) => /\.tsv(\.gz)?$/i.test(file);

/** Delimiters sniffed for when input.csv.delimiter is not set; a tie goes to the first. */
const sniffable = [',', ';', '\t', '|'];
/** The head of a file sniffed: tens of records of most files, read before the reading starts. */
const sniffBytes = 64 * 1024;
const sniffRecords = 100;

/**
 * The delimiter a CSV file most likely has, guessed from its head as DuckDB's and Python's
 * sniffers guess: of those that split the first record into several fields, the one that
 * splits the most of the next records into as many (then the one giving more fields). Excel
 * writes `;` where the decimal mark is a comma. `,` when none splits the first record.
 */
function sniffDelimiter(file: string, { bytes, whole }: Head, quote: string, encoding: CsvEncoding = 'utf-8'): { delimiter: string; encoding: CsvEncoding } {
  let best = { delimiter: ',', share: 0, width: 0 };
  let read = encoding;
  for (const delimiter of sniffable) {
    const splitter = new CsvSplitter(delimiter, quote, 0, encoding);
    splitter.feed(bytes);
    if (whole) splitter.end();
    // A record's fields, less an empty last one (a delimiter ending each row but not the header: same width).
    const records = (function* () {
      try {
        while (splitter.next()) yield splitter.count > 1 && splitter.fields[splitter.count - 1] === '' ? -splitter.count : splitter.count;
      } catch (error) {
        if (error instanceof NotUtf8Error) throw notUtf8(file, error);
        if (!(error instanceof UnclosedQuoteError)) throw error;
      }
    })();
    const first = records.next().value;
    const width = first === undefined ? undefined : Math.abs(first);
    read = splitter.encoding;
    if (width === undefined || width < 2) continue;
    let seen = 0;
    let same = 0;
    for (const count of records) {
      if (count === width || count === -width || count === -(width + 1)) same++;
      if (++seen === sniffRecords) break;
    }
    const share = seen === 0 ? 1 : same / seen;
    if (share > best.share || (share === best.share && width > best.width)) best = { delimiter, share, width };
  }
  return { delimiter: best.share >= 0.5 ? best.delimiter : ',', encoding: read };
}

const commaNumber = /^[-+]?\d+,(\d+)$/;
const pointNumber = /^[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Whether a file's numbers have a decimal comma, from its head (records after the header), as
 * Excel writes them where the comma is the decimal mark, with `;` or a tab between fields: some
 * column holds nothing but numbers once the comma is read as the mark, one of them with a comma
 * and not three digits after it ("1,234" may be a thousand with a separator, as US Excel writes
 * a formatted cell), and no column of numbers holds one with a decimal point. A text column's
 * cells that look like such numbers (versions, `1.2` beside `2.0.1`) say nothing of the mark.
 * Asked only when the fields are not comma-separated and input.csv sets neither decimal nor thousands.
 */
function sniffDecimal({ bytes, whole }: Head, delimiter: string, quote: string, header: boolean, encoding: CsvEncoding = 'utf-8'): boolean {
  const splitter = new CsvSplitter(delimiter, quote, 0, encoding);
  splitter.feed(bytes);
  if (whole) splitter.end();
  /** Per column: 0 no comma number yet, 1 comma numbers (none unambiguous), 2 an unambiguous one. */
  const columns: number[] = [];
  /** Columns with a number with a decimal point, and columns with a cell that is no number either way (text). */
  const points = new Set<number>();
  const text = new Set<number>();
  let records = 0;
  try {
    while (splitter.next() && records++ <= sniffRecords) {
      if (header && records === 1) continue;
      for (let j = 0; j < splitter.count; j++) {
        const cell = splitter.fields[j]!.trim();
        if (isMissing(cell) || integerText.test(cell)) continue;
        if (pointNumber.test(cell)) points.add(j);
        else {
          const comma = commaNumber.exec(cell);
          if (comma) columns[j] = Math.max(columns[j] ?? 0, comma[1]!.length === 3 ? 1 : 2);
          else text.add(j);
        }
      }
    }
  } catch {
    return false; // not CSV, or not UTF-8: the reader says so where it meets it
  }
  if ([...points].some((j) => !text.has(j))) return false;
  return columns.some((state, j) => state === 2 && !text.has(j) && !points.has(j));
}

function notUtf8(file: string, error: NotUtf8Error, firstLine = 0): BentoError {
  const line = firstLine + error.line;
  if (error.nul) {
    return new BentoError('INPUT_FORMAT', `${file} looks like UTF-16 without a byte-order mark: line ${line} holds NUL characters`, {
      file, hint: 'Set input.csv.encoding: utf-16le (utf-16be if each NUL comes before its character), or save the file as UTF-8.',
    });
  }
  if (error.utf16) {
    return new BentoError('INPUT_FORMAT', error.utf16 === 'odd'
      ? `${file} is not whole UTF-16: it ends in the middle of a character (an odd number of bytes), on line ${line}`
      : `${file} is not valid UTF-16: line ${line} holds half a character (a surrogate without its pair)`, {
      file, hint: 'The file was cut off or damaged in copying: copy it again, or save it again from the program that wrote it (Excel: "CSV UTF-8").',
    });
  }
  if (error.marked) {
    // The mark outranks input.csv.encoding (as in a browser), so setting it would change nothing.
    return new BentoError('INPUT_FORMAT', `${file} starts with a UTF-8 byte-order mark, but line ${line} holds bytes that are not UTF-8 text`, {
      file, hint: 'Part of the file was written in another encoding (a line pasted or appended from a windows-1252 file?). Save the whole file again as UTF-8, or remove its first three bytes (the mark) and set input.csv.encoding: windows-1252 if every line is in that encoding.',
    });
  }
  return new BentoError('INPUT_FORMAT', `${file} is not UTF-8: line ${line} holds bytes that are not UTF-8 text`, {
    file, hint: 'Save the file as UTF-8 (Excel: "CSV UTF-8"), or set input.csv.encoding: windows-1252 if it comes from Excel\'s plain "CSV" on Windows.',
  });
}

/** The first sniffBytes of a file (decompressed), and whether that is all of it. */
type Head = Awaited<ReturnType<typeof readStart>>;

/** Opens CSV files and reads the first chunk to fix the column types; throws INPUT_* errors. */
export async function openCsv(files: readonly string[], options: CsvSourceOptions): Promise<Source> {
  let schema: Field[] | undefined;
  const stats = await statFiles(files);
  const progress = new ByteProgress(stats.map((s) => s.size));
  // Files of one input share a dialect: the first that is not .tsv is sniffed for all of them.
  const sniffFrom = options.delimiter === undefined ? files.find((f) => !isTsv(f)) : undefined;
  // A head is read once, for both the delimiter and the decimal mark.
  const heads = new Map<string, Promise<Head>>();
  const headOf = (file: string): Promise<Head> => {
    let head = heads.get(file);
    if (!head) heads.set(file, (head = readStart(file, sniffBytes)));
    return head;
  };
  const { delimiter: sniffed, encoding: sniffedEncoding } = sniffFrom ? sniffDelimiter(sniffFrom, await headOf(sniffFrom), options.quote, options.encoding) : { delimiter: ',', encoding: options.encoding };
  const delimiterOf = (file: string) => options.delimiter ?? (isTsv(file) ? '\t' : sniffed);
  // Records go to a CSV writer as the text read only where every file has the first one's header:
  // a file with its columns in another order (or another set) is written cell by cell, by name.
  // Nor where the record holds a column not read (a partition key the folder stands for).
  const lines = options.linesFor !== undefined && options.quote === '"' && files.every((f) => delimiterOf(f) === options.linesFor) && (await sameHeaders()) && !(await excludedInHeader());
  const first = files[0]!;
  const decimal = options.decimal ?? (options.thousands === undefined && delimiterOf(first) !== ',' && sniffDecimal(await headOf(first), delimiterOf(first), options.quote, options.header, sniffedEncoding) ? ',' : '.');
  // Cells with a decimal comma or thousands separators are numbers only once read as such here, not as the text read.
  const rawText = options.rawText === true && decimal !== ',' && options.thousands === undefined;
  const parse = localeNumber(decimal, options.thousands);
  const narrow = lines && rawText && options.valuesOf !== undefined ? options.valuesOf : undefined;

  async function* readAll(from: SourcePosition): AsyncGenerator<RowChunk> {
    const ahead = new FilesAhead(files, stats, smallFiles);
    for (let index = from.file; index < files.length; index++) {
      const file = files[index]!;
      const at = index === from.file ? from : { file: index, row: 0, byte: 0, line: 0 };
      // The header (and a byte-order mark) is read from the top; the rows from where the last run stopped.
      const top = at.byte ? await readHeader(file) : undefined;
      const opened = openFileStream(file, at.byte ?? 0, undefined, await ahead.read(index), at);
      progress.enter(index, opened.bytes);
      yield* readFile(file, index, opened.stream, at, top);
    }
  }

  /**
   * The stream fed to a splitter a piece at a time: after each yield, read the records the piece
   * completed with `nextRecord`. One await per piece, not per record: an async generator step
   * per record was half of the reader's allocations (profile of 1M rows: 530 of 1,113 MB).
   */
  async function* fed(file: string, stream: NodeJS.ReadableStream, startByte: number, encoding = options.encoding): AsyncGenerator<CsvSplitter> {
    const splitter = new CsvSplitter(delimiterOf(file), options.quote, startByte, encoding, maxLineBytes(options.memoryMb ?? 256));
    try {
      for await (const piece of stream as AsyncIterable<Buffer>) {
        splitter.feed(piece);
        yield splitter;
      }
    } catch (error) {
      throw streamError(file, error);
    }
    splitter.end();
    yield splitter;
  }

  /** Positions the splitter on its next record, if one is complete; INPUT_FORMAT for what is not CSV. */
  function nextRecord(splitter: CsvSplitter, file: string, firstLine: number): boolean {
    try {
      return splitter.next();
    } catch (error) {
      if (error instanceof NotUtf8Error) throw notUtf8(file, error, firstLine);
      if (error instanceof LongRecordError) {
        const memoryMb = options.memoryMb ?? 256;
        const most = `${Math.round(maxLineBytes(memoryMb) / 1024 / 1024)} MB, the most one row may take with limits.memory ${memoryMb} MB (a sixteenth)`;
        throw new BentoError('MEMORY_LIMIT', error.quoted
          ? `${file}: a quoted field starting on line ${firstLine + error.line} is not closed within ${most}`
          : `Line ${firstLine + error.line} of ${file} has no line end within ${most}`, {
          file,
          hint: error.quoted
            ? `Close the quote if it is a mistake (a literal quote inside a quoted field is written twice: ""; input.csv.quote sets another quote character); a field really this long needs limits.memory of at least 16 times it (e.g. --set limits.memory=${memoryMb * 4}).`
            : `Check that the file is CSV with line ends (LF, CRLF or CR), and that no quote is left open; a record really this long needs limits.memory of at least 16 times it (e.g. --set limits.memory=${memoryMb * 4}).`,
        });
      }
      if (error instanceof UnclosedQuoteError) {
        throw new BentoError('INPUT_FORMAT', `${file} is not valid CSV: a quoted field starting on line ${firstLine + error.line} is not closed by the end of the file`, {
          file, hint: 'Close the quote (a literal quote inside a quoted field is written twice: ""), or set input.csv.quote if the file uses another quote character.',
        });
      }
      throw streamError(file, error);
    }
  }

  async function excludedInHeader(): Promise<boolean> {
    if (!options.exclude?.size) return false;
    const head = options.header ? (await firstRecord(files[0]!))?.fields : options.names;
    return head?.some((name) => options.exclude!.has(name.trim())) ?? false;
  }

  async function sameHeaders(): Promise<boolean> {
    if (files.length < 2 || !options.header) return true;
    const first = (await firstRecord(files[0]!))?.fields.join('\0');
    // Each file's first 64 KB read ahead (a gzipped one's are not its text: it is streamed).
    const headBytes = 64 * 1024;
    const heads = new FilesAhead(files, stats.map((s, i) => (isGzip(files[i]!) ? { ...s, regular: false } : s)), { ...smallFiles, most: headBytes, head: true });
    for (let index = 1; index < files.length; index++) {
      const file = files[index]!;
      const head = await heads.read(index);
      const record = await firstRecord(file, head && { bytes: head, whole: stats[index]!.size <= headBytes });
      // An empty file has no header to differ (and no record to copy).
      if (record && record.fields.join('\0') !== first) return false;
    }
    return true;
  }

  /**
   * A file's first record as read, and the encoding it was read in; a header is short, so a small
   * first read. `head`: the file's first bytes, read already; the file is streamed only where they
   * are not all of it and end inside the first record.
   */
  async function firstRecord(file: string, head?: { readonly bytes: Buffer; readonly whole: boolean }): Promise<{ fields: string[]; encoding: CsvEncoding } | undefined> {
    const first = (splitter: CsvSplitter) => (nextRecord(splitter, file, 0) ? { fields: splitter.fields.slice(0, splitter.count), encoding: splitter.encoding } : undefined);
    if (head) {
      const splitter = new CsvSplitter(delimiterOf(file), options.quote, 0, options.encoding, maxLineBytes(options.memoryMb ?? 256));
      splitter.feed(head.bytes);
      // The file's end is looked at only where the record is not complete before it, as when streamed:
      // a damaged last byte is the run's to meet, at its row.
      const record = first(splitter);
      if (record) return record;
      if (head.whole) {
        splitter.end();
        return first(splitter);
      }
    }
    const opened = openFileStream(file, 0, 64 * 1024);
    try {
      for await (const splitter of fed(file, opened.stream, 0)) {
        const record = first(splitter);
        if (record) return record;
      }
    } finally {
      opened.stream.destroy();
    }
    return undefined;
  }

  async function readHeader(file: string): Promise<{ header: string[]; encoding: CsvEncoding }> {
    const first = await firstRecord(file);
    if (!first) throw new BentoError('INPUT_FORMAT', `Input file ${file} is empty`, { file });
    return { header: names(first.fields, file), encoding: first.encoding };
  }

  const names = (record: string[], file: string) => {
    if (options.names) {
      if (options.names.length !== record.length) {
        throw new BentoError('INPUT_FORMAT', `${file} has ${record.length} fields a record, but input.csv.names gives ${options.names.length} names`, {
          file, hint: `Give one name a field, in order: the first record is ${record.slice(0, 8).map((f) => JSON.stringify(f)).join(', ')}${record.length > 8 ? ', …' : ''}.`,
        });
      }
      return [...options.names];
    }
    if (!options.header) return record.map((_, i) => `column${i}`);
    // Every field keeps a column of its own name: an empty one is named as without a header, and
    // a repeated one gets _1, _2, … as DuckDB's reader names it. Under one name, the output's
    // header had one column fewer than its rows.
    const seen = new Set<string>();
    return record.map((field, i) => {
      const name = field.trim() || `column${i}`;
      let unique = name;
      for (let k = 1; seen.has(unique); k++) unique = `${name}_${k}`;
      seen.add(unique);
      return unique;
    });
  };

  async function* readFile(file: string, index: number, stream: NodeJS.ReadableStream, at: SourcePosition, top: { header: string[]; encoding: CsvEncoding } | undefined): AsyncGenerator<RowChunk> {
    const offset = at.byte ?? 0;
    const firstLine = at.line ?? 0;
    let header = top?.header;
    let picks: number[] = [];
    let builder: ColumnBuilder | undefined;
    /** Cells a row puts in the chunk: a wide file's chunks hold fewer rows (chunkEnd). */
    let width = 1;
    const select = (present: string[], startByte: number, firstRow = at.row) => {
      const wanted = options.columns ?? schema?.map((f) => f.name) ?? present.filter((h) => !options.exclude?.has(h));
      requireColumns(file, present, wanted);
      // input.csv.text names columns of the first file (which fixes the types): a misspelt one would read its codes as numbers.
      if (index === 0) requireNamed(file, present);
      // A Spark or pandas export whose later parts gained a column: without a word it would vanish.
      if (index > 0 && schema && options.columns === undefined) {
        for (const name of present) {
          if (unread.has(name) || options.exclude?.has(name) || schema.some((f) => f.name === name)) continue;
          unread.add(name);
          options.notes?.push(`${file} has the column "${name}", which the first file, ${first}, does not: it is not read (an input's columns are its first file's)`);
        }
      }
      // Columns keep the file's order whatever order they were asked for in.
      const selected = schema?.map((f) => f.name).filter((name) => !narrow || narrow.includes(name)) ?? present.filter((h) => wanted.includes(h));
      picks = selected.map((name) => present.indexOf(name));
      width = selected.length;
      builder = new ColumnBuilder(selected, file, index, firstRow, startByte, lines, chunkEnd(options, true, width), bytesLeft(file, stats[index]!.size, startByte));
      // Once the first chunk has fixed the types, only the wanted cells become strings.
      if (narrow && schema) {
        only = new Uint8Array(present.length);
        for (const p of picks) only[p] = 1;
      }
    };
    let only: Uint8Array | undefined;
    if (header) select(header, offset);
    let rows = at.row;
    for await (const record of fed(file, stream, offset, top?.encoding)) {
      for (;;) {
        record.only = only;
        if (!nextRecord(record, file, firstLine)) break;
        if (header === undefined) {
          header = names(record.fields.slice(0, record.count), file);
          select(header, options.header ? record.endByte : offset);
          if (options.header) continue;
        }
        rows++;
        // A delimiter ending each row but not the header (some exporters write one): the empty
        // field past the header's is no column, as DuckDB reads it; a copied record drops it too.
        const trailing = record.count === header.length + 1 && record.fields[header.length] === '' && record.text.endsWith(delimiterOf(file));
        if (record.count !== header.length && !trailing) {
          const { row, byte } = builder!.next;
          // One field more than the header in its first field: R's write.table writes row names so, with no name in the header.
          const rowNames = record.count === header.length + 1 && row === 1 ? ' If every row has one field more than the header, as R\'s write.table writes row names, write the file with row.names = FALSE (or write.csv, which names that column).' : '';
          builder!.pushError(new BentoError('INPUT_FORMAT', `Row ${row} of ${file} has ${record.count} fields, expected ${header.length} (as in the header)`, {
            file, row, byte, value: record.text, hint: `Check the delimiter (input.csv.delimiter) and that quoted fields are closed.${rowNames}`,
          }), record.endByte, firstLine + record.endLine);
        } else builder!.pushFields(record.fields, picks, record.endByte, firstLine + record.endLine, lines ? (trailing ? record.text.slice(0, -1) : record.text) : undefined);
        if (builder!.length >= chunkEnd(options, schema !== undefined, width) || fullByBytes(options, schema !== undefined, builder!.bytes)) {
          yield typed(builder!.take()!);
          if (narrow && !only) select(header, builder!.next.byte, builder!.next.row - 1);
        }
      }
    }
    if (header === undefined) {
      // 0 bytes, one of several: an empty partition as Spark writes one without a header (its default).
      if (files.length > 1) return;
      throw new BentoError('INPUT_FORMAT', `Input file ${file} is empty`, { file, hint: 'Remove the file from the input, or check the step that writes it.' });
    }
    if (rows === 0 && options.header) {
      // One of several (an empty partition: Spark writes its header alone) holds no rows to lose, as
      // a Parquet file of no row groups; on its own it is more likely a failed export.
      if (files.length > 1) return;
      throw new BentoError('INPUT_FORMAT', `Input file ${file} has a header but no rows`, { file, hint: 'Remove the file from the input, or check the step that writes it.' });
    }
    const last = builder!.take();
    if (last) yield typed(last);
  }

  /** A column input.csv.text or input.csv.types names that the first file lacks: misspelt, it would leave the column sniffed. */
  function requireNamed(file: string, present: readonly string[]): void {
    for (const [key, names] of [['text', options.text ?? []], ['types', Object.keys(options.types ?? {})]] as const) {
      const name = names.find((n) => !present.includes(n));
      if (name === undefined) continue;
      const guess = didYouMean(name, present);
      throw new BentoError('COLUMN_MISSING', `input.csv.${key} names column "${name}", which ${file} does not have${guess ? `; the closest column is "${guess}"` : ''}`, {
        file, column: name, hint: guess ? `Fix the name in input.csv.${key} (did you mean "${guess}"?).` : `Fix the name in input.csv.${key}; the file has columns: ${columnList(present)}.`,
      });
    }
  }

  // Codes (a leading zero, a plus sign) are told from numbers in files of plain numbers only: in
  // one with a decimal comma or thousands separators, "018" beside "18,7" is a number, and a text
  // column would be read by a model without either.
  const codes = decimal === '.' && options.thousands === undefined;
  /** Columns of later files that the first lacks, said once each. */
  const unread = new Set<string>();
  /** Columns whose late code was said (a note a column). */
  const saidCodes = new Set<string>();

  /**
   * A column's type: as declared (input.csv.types, input.csv.text), else sniffed from its first
   * chunk's cells. A declared timestamp's unit and zone come from its cells all the same.
   */
  function fieldOf(name: string, values: ArrayLike<unknown>): Field {
    const declared = options.types?.[name] ?? (options.text?.includes(name) ? 'string' : undefined);
    if (declared === 'timestamp' || declared === 'timestamp_ns') {
      const unit = declared === 'timestamp' ? 'us' : 'ns';
      return { name, ...(timestampShape(values, isMissing, unit) ?? { type: 'timestamp', unit, naive: true }) };
    }
    if (declared !== undefined) return { name, type: declared };
    const temporal = options.temporal && !options.temporal.except.includes(name) ? sniffTemporal(values, isMissing) : undefined;
    return { name, ...(temporal ?? { type: sniffCsvType(values, isMissing, parse, codes) }) };
  }

  // The first chunk fixes each column's type; later chunks are converted to it.
  function typed(chunk: RowChunk): RowChunk {
    schema ??= [...chunk.columns].filter(([name]) => name !== lineColumn).map(([name, values]) => fieldOf(name, values as ArrayLike<unknown>));
    if (narrow) return { ...chunk, columns: new Map([...chunk.columns].filter(([name]) => name === lineColumn || narrow.includes(name))) };
    if (rawText) return chunk;
    const errors = new Map(chunk.errors);
    const columns = new Map(schema.map((field) => {
      const values = chunk.columns.get(field.name) as (string | null)[];
      const missing = (v: string | null) => v === null || isMissing(v);
      const declared = options.types?.[field.name] !== undefined;
      const redeclare = `Fix or remove the value, or declare another type for "${field.name}" in input.csv.types.`;
      if (field.type === 'bool' || field.type === 'date' || field.type === 'timestamp') {
        return [field.name, convertTemporal(values, field, isMissing, (i, value) => {
          if (errors.has(i)) return;
          errors.set(i, typeMismatch(chunk, i, field.name, typeWords(field), `"${value.slice(0, 40)}"`, value, declared
            ? redeclare
            : `Fix or remove the value, or list "${field.name}" in input.csv.text to read the column as text${field.unit === 'ns' ? ', or declare it timestamp in input.csv.types to read it to the microsecond (any year)' : ''}.`, declared));
        }, declared)];
      }
      // As DuckDB reads a code its sniffer did not see: as the number. Said once a column, with how to keep the text.
      const onCode = (i: number, value: string) => {
        if (saidCodes.has(field.name)) return;
        saidCodes.add(field.name);
        options.notes?.push(`${chunk.file} row ${chunk.fileRow + i + 1}: column "${field.name}" holds "${value.slice(0, 40)}", a code whose ${value.trim().startsWith('+') ? 'plus sign' : 'leading zero'} a number drops, in a column the first rows typed as numbers: it is read as a number, here and in any later such cell. List "${field.name}" in input.csv.text to keep the text`);
      };
      return [field.name, convertColumn(values as string[], field.type, missing, (i, value, inexact) => {
        if (errors.has(i)) return;
        const holds = field.type === 'int64' ? typeWords(field) : inexact ? 'numbers a double holds exactly' : 'numbers';
        errors.set(i, typeMismatch(chunk, i, field.name, holds, `"${value.slice(0, 40)}"`, value, inexact ? (declared ? `A whole number past 2^53 would be rounded to another: declare "${field.name}" bigint in input.csv.types to read it exactly.` : inexactIntegerHint(options))
          : (options.thousands === undefined ? localeHint(value) : undefined) ?? (declared ? redeclare
            : `Fix or remove the value, or ${raiseChunkRows(options)} so the column is seen as text.`), declared));
      }, parse, codes && !declared ? onCode : undefined)];
    }));
    return { ...chunk, columns, ...(errors.size > 0 ? { errors } : {}) };
  }

  // A byte-order mark chooses the encoding whatever the job says; unsniffed, the head is read for it alone.
  const readEncoding = sniffFrom ? sniffedEncoding : byteOrderMark((await headOf(first)).bytes)?.encoding ?? options.encoding;
  // Types are sniffed from the start of the first file, also when a resume starts elsewhere.
  const dialect = [
    ...(options.delimiter === undefined && sniffed !== ',' ? [`${JSON.stringify(sniffed)}-separated (sniffed)`] : []),
    ...(decimal === ',' ? [options.decimal === undefined ? 'decimal comma (sniffed)' : 'decimal comma'] : []),
    ...(options.thousands !== undefined ? [`thousands ${JSON.stringify(options.thousands)}`] : []),
    ...(readEncoding === 'windows-1252' ? ['windows-1252'] : readEncoding?.startsWith('utf-16') ? [readEncoding.toUpperCase()] : []),
  ].join(', ');
  return { ...(await textSource(files, readAll, () => schema, progress)), ...(dialect ? { dialect } : {}) };
}
