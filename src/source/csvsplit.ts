/**
 * @file RFC 4180 record splitter over raw bytes: the CSV reader's hot loop. It decodes the
 * input a whole block of complete lines at a time and walks the text with charCodeAt, so a
 * record costs its field strings and nothing else; each record's end is known as a byte offset
 * (what a resume seeks to) and a line number (what messages name) without extra work.
 *
 * Dialect, as Excel, pandas and Python's csv module read it: fields separated by a one-character
 * delimiter; a field that starts with the quote character runs to the matching quote, with a
 * doubled quote for a literal one and delimiters and newlines taken as data; records end at LF
 * or CRLF, or at CR in a file with no LF (crOnlyLines); a byte-order mark at the start of the
 * file is skipped, and decides the encoding (UTF-8, or UTF-16 as Excel's "Unicode Text" and
 * Windows PowerShell write); empty lines are skipped, and so is a first line `sep=;`, which
 * some exports write for Excel to read the delimiter from. Lenient where those readers are: a quote
 * inside an unquoted field is data, and text between a closing quote and the next delimiter is
 * appended to the field.
 */

import { byteOrderMark, notUtf8At } from './files.js';

const LF = 10;
const CR = 13;
const excelSepLine = /^sep=.$/;

/**
 * Encodings a CSV file may be read in: UTF-8; the Windows code page Excel's plain "CSV" writes
 * in the West; UTF-16, which Excel's "Unicode Text" and Windows PowerShell 5 write (with a
 * byte-order mark, which selects it whatever the job says, as a browser's decoder does).
 */
export type CsvEncoding = 'utf-8' | 'windows-1252' | 'utf-16le' | 'utf-16be';
/**
 * windows-1252 differs from latin1 in 0x80–0x9F only (WHATWG Encoding's table; 0x81, 0x8D, 0x8F,
 * 0x90 and 0x9D stay as they are). Node 20's TextDecoder('windows-1252') decodes those bytes as
 * latin1 (0x80 as U+0080, not €), so the difference is mapped here.
 */
const cp1252High = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f'
  + '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
function windows1252(raw: Buffer): string {
  return raw.toString('latin1').replace(/[\x80-\x9f]/g, (c) => cp1252High[c.charCodeAt(0) - 0x80]!);
}

/**
 * The input is not UTF-8; `line` (from the stream start) holds the first byte that is not, or,
 * when `nul`, the file's first line holds NUL characters: read as 8-bit text, UTF-16 without a
 * byte-order mark has one beside each ASCII character.
 */
export class NotUtf8Error extends Error {
  /** `marked`: the file starts with a UTF-8 byte-order mark, which chose UTF-8 whatever the job says. */
  constructor(readonly line: number, readonly nul = false, readonly marked = false, readonly utf16?: 'odd' | 'surrogate') {
    super(`line ${line} holds ${nul ? 'NUL characters' : utf16 ? 'bytes that are not UTF-16' : 'bytes that are not UTF-8'}`);
  }
}

/** The input ended inside a quoted field; `line` (from the stream start) is where the field starts. */
export class UnclosedQuoteError extends Error {
  constructor(readonly line: number) {
    super(`a quoted field starting on line ${line} is not closed`);
  }
}

/**
 * One record ran past the bytes a row may take: a line with no line end within them (`quoted`
 * false: a file of one huge line), or a quoted field that does not close within them (an
 * unclosed quote, mostly). Stopped there: the record's bytes were gathered and scanned again
 * for each piece read, and held whole, until memory ran out or node's string limit was hit.
 */
export class LongRecordError extends Error {
  constructor(readonly line: number, readonly quoted: boolean) {
    super(quoted ? `a quoted field starting on line ${line} is not closed within the bytes one row may take` : `line ${line} has no line end within the bytes one row may take`);
  }
}

export class CsvSplitter {
  /** Fields of the last record read by next(); the array is reused, read `count` of them. */
  readonly fields: string[] = [];
  count = 0;
  /**
   * Fields to read (by position) when set: the others are scanned but not made into strings,
   * and read as ''. Undefined reads every field, and so is any past its length (an extra field
   * is told empty or not).
   */
  only: Uint8Array | undefined;
  /** Byte offset just after the last record (its line ending included), from the stream start. */
  endByte: number;
  /** 1-based line, counted from the stream start, that the last record ends on. */
  endLine = 0;

  readonly #delimiter: number;
  readonly #quote: number;
  readonly #quoteChar: string;
  #encoding!: CsvEncoding;
  /** Bytes fed but not decoded yet (they do not end a line, or came after the decoded block). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #ended = false;
  #bomPossible: boolean;
  #marked = false;
  /** The decoded block, the bytes it came from, and where in the stream those start. */
  #text = '';
  #raw: Buffer = Buffer.alloc(0);
  #base: number;
  /** Whether char index = byte offset in #text (every char from one byte). */
  #oneByte = true;
  /** UTF-16: every char (UTF-16 unit) is two bytes. Set with the encoding (#use). */
  #twoBytes!: boolean;
  /** Lines end with CR alone (crOnlyLines); undefined until the input says. */
  #crOnly: boolean | undefined;
  #markChar = 0;
  #markByte = 0;
  #pos = 0;
  #line = 1;
  /** Where the record being read started, for putting it back when it runs past the block. */
  #recordStart = 0;
  #contentEnd = 0;
  #recordLine = 1;
  #quoteLine = 1;
  /** Whether no record has been read yet from the file's start (where a `sep=` line may be). */
  #firstRecord: boolean;

  /** The most bytes one record may take (LongRecordError past them). */
  readonly #maxRecord: number;

  /** `startByte`: where in the file the bytes fed start (0, or a resume offset); `maxRecord`: the most bytes a record may take. */
  constructor(delimiter: string, quote: string, startByte = 0, encoding: CsvEncoding = 'utf-8', maxRecord = Infinity) {
    this.#maxRecord = maxRecord;
    this.#use(encoding);
    this.#delimiter = delimiter.charCodeAt(0);
    this.#quote = quote.charCodeAt(0);
    this.#quoteChar = quote;
    this.#base = startByte;
    this.endByte = startByte;
    this.#bomPossible = startByte === 0;
    this.#firstRecord = startByte === 0;
  }

  #use(encoding: CsvEncoding): void {
    this.#encoding = encoding;
    this.#twoBytes = encoding === 'utf-16le' || encoding === 'utf-16be';
  }

  /** The encoding read: the one given, unless a byte-order mark said otherwise. */
  get encoding(): CsvEncoding {
    return this.#encoding;
  }

  /** The last record's text as read, without its line ending. */
  get text(): string {
    return this.#text.slice(this.#recordStart, this.#contentEnd);
  }

  feed(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  end(): void {
    this.#ended = true;
  }

  /**
   * Reads the next record into `fields` / `count`. False when the bytes fed so far hold no
   * further complete record (feed more, or end()), or the input is done. Throws
   * UnclosedQuoteError when the input ends inside a quoted field.
   */
  next(): boolean {
    for (;;) {
      if (this.#pos >= this.#text.length && !this.#decode()) return false;
      const read = this.#record();
      if (read === 'record') {
        if (!this.#firstRecord) return true;
        this.#firstRecord = false;
        // Excel's `sep=;` first line names the delimiter for Excel alone; the sniffer finds it in the lines after.
        if (!excelSepLine.test(this.text)) return true;
        continue;
      }
      if (read === 'past-end' && !this.#putBack()) return false;
    }
  }

  /** Makes the next block of complete lines (everything, once ended) the current text. */
  #decode(): boolean {
    if (this.#pendingBytes === 0) return false;
    let all = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [all];
    const fileStart = this.#bomPossible;
    if (fileStart) {
      // A UTF-8 mark is 3 bytes: wait for them, unless the input is shorter.
      if (all.length < 3 && !this.#ended) return false;
      this.#bomPossible = false;
      const bom = byteOrderMark(all);
      if (bom) {
        this.#marked = true;
        this.#use(bom.encoding);
        all = all.subarray(bom.length);
        this.#pending = [all];
        this.#pendingBytes = all.length;
        this.#base += bom.length;
      }
    }
    if (this.#crOnly === undefined && !this.#twoBytes) {
      const decided = crOnlyLines(all, this.#ended, this.#quote, this.#delimiter);
      if (decided === undefined) {
        if (all.length > this.#maxRecord) throw new LongRecordError(this.#line, false);
        return false;
      }
      this.#crOnly = decided;
    }
    const cut = this.#ended ? all.length - (this.#twoBytes ? all.length % 2 : 0)
      : this.#twoBytes ? lastLineEnd16(all, this.#encoding === 'utf-16le') : all.lastIndexOf(this.#crOnly ? CR : LF) + 1;
    // A byte left alone at the end of UTF-16 (after the last line, or the whole last line's worth): cut off.
    if (this.#ended && this.#twoBytes && cut === 0 && all.length > 0) throw new NotUtf8Error(this.#line, false, false, 'odd');
    if (cut === 0) {
      if (all.length > this.#maxRecord) throw new LongRecordError(this.#line, false);
      return false;
    }
    this.#base += this.#raw.length;
    const raw = all.subarray(0, cut);
    this.#raw = raw;
    if (this.#twoBytes) {
      // swap16 works in place, and #raw must keep the bytes as read (#putBack feeds them again).
      this.#text = this.#encoding === 'utf-16le' ? raw.toString('utf16le') : Buffer.from(raw).swap16().toString('utf16le');
      // A decoder would drop an odd last byte and keep a lone surrogate (a character cut in two)
      // without a word: a cut-off or corrupt file, stopped here as bytes that are not UTF-8 are.
      if (this.#ended && cut < all.length) throw new NotUtf8Error(this.#line + lineEnds(this.#text, this.#text.length), false, false, 'odd');
      if (!(this.#text as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new NotUtf8Error(this.#line + lineEnds(this.#text, loneSurrogate(this.#text)), false, false, 'surrogate');
    } else {
      // LF never occurs inside a multi-byte UTF-8 sequence, so a block cut after one decodes whole.
      this.#text = this.#encoding === 'windows-1252' ? windows1252(raw) : raw.toString('utf8');
      if (fileStart) {
        const nul = this.#text.indexOf('\0');
        const lineEnd = this.#text.indexOf('\n');
        if (nul >= 0 && (lineEnd < 0 || nul < lineEnd)) throw new NotUtf8Error(1, true);
      }
      // Every byte offset after such bytes (what a resume seeks to) would be wrong too.
      const replaced = this.#encoding === 'utf-8' ? notUtf8At(this.#text, raw) : -1;
      if (replaced >= 0) throw new NotUtf8Error(this.#line + lineEnds(this.#text, replaced), false, this.#marked);
    }
    // One char for one: the lengths, and so the byte offsets, stay.
    if (this.#crOnly) this.#text = this.#text.replaceAll('\r', '\n');
    // No decoded sequence has more UTF-16 units than bytes, so equal lengths mean one byte per char.
    this.#oneByte = this.#text.length === raw.length;
    this.#markChar = this.#markByte = 0;
    this.#pos = 0;
    const rest = all.subarray(cut);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return true;
  }

  /** The record ran past the block inside quotes: its bytes go back in front of the pending ones. */
  #putBack(): boolean {
    if (this.#ended) throw new UnclosedQuoteError(this.#quoteLine);
    const startByte = this.#byteAt(this.#recordStart);
    const tail = this.#raw.subarray(startByte);
    this.#pending.unshift(tail);
    this.#pendingBytes += tail.length;
    if (tail.length > this.#maxRecord) throw new LongRecordError(this.#quoteLine, true);
    this.#base += startByte;
    this.#raw = Buffer.alloc(0);
    this.#text = '';
    this.#pos = 0;
    this.#line = this.#recordLine;
    // Bytes after the block may hold no line end yet: wait for more input before decoding again.
    return false;
  }

  /** Reads one record at #pos: 'record', 'empty' (a skipped empty line), or 'past-end' of the block. */
  #record(): 'record' | 'empty' | 'past-end' {
    const s = this.#text;
    const n = s.length;
    const d = this.#delimiter;
    const q = this.#quote;
    const fields = this.fields;
    let pos = this.#pos;
    let line = this.#line;
    this.#recordStart = pos;
    this.#recordLine = line;
    let c = s.charCodeAt(pos);
    if (c === LF || (c === CR && s.charCodeAt(pos + 1) === LF)) {
      this.#pos = pos + (c === LF ? 1 : 2);
      this.#line = line + 1;
      this.endByte = this.#base + this.#byteAt(this.#pos);
      return 'empty';
    }
    let count = 0;
    for (;;) {
      let value: string;
      if (s.charCodeAt(pos) === q) {
        this.#quoteLine = line;
        const start = pos + 1;
        let from = start;
        let close: number;
        let doubled = false;
        // The closing quote first, then the cell's line breaks and its doubled quotes in one pass
        // each: per doubled quote, a search to the next line break and a string appended made a
        // cell of JSON or HTML (a "" every few characters) quadratic, 12 s for 4 MB.
        for (;;) {
          close = s.indexOf(this.#quoteChar, from);
          if (close === -1) return 'past-end';
          if (s.charCodeAt(close + 1) !== q) break;
          doubled = true;
          from = close + 2;
        }
        for (let i = s.indexOf('\n', start); i !== -1 && i < close; i = s.indexOf('\n', i + 1)) line++;
        value = doubled ? s.slice(start, close).replaceAll(this.#quoteChar + this.#quoteChar, this.#quoteChar) : s.slice(start, close);
        pos = close + 1;
        // Text between the closing quote and the delimiter stays in the field (as Python's csv reads it).
        let end = pos;
        while (end < n && (c = s.charCodeAt(end)) !== d && c !== LF && !(c === CR && s.charCodeAt(end + 1) === LF)) end++;
        if (end > pos) value += s.slice(pos, end);
        pos = end;
      } else {
        let end = pos;
        c = 0;
        while (end < n && (c = s.charCodeAt(end)) !== d && c !== LF) end++;
        // The CR of a CRLF ending is not data.
        value = this.only !== undefined && this.only[count] === 0 ? '' : s.slice(pos, c !== d && end > pos && s.charCodeAt(end - 1) === CR ? end - 1 : end);
        pos = end;
      }
      fields[count++] = value;
      if (pos >= n) break; // the input ends without a line end
      c = s.charCodeAt(pos);
      if (c === d) {
        pos++;
        if (pos < n) continue;
        fields[count++] = '';
        break;
      }
      pos += c === CR ? 2 : 1;
      line++;
      break;
    }
    this.#contentEnd = s.charCodeAt(pos - 1) !== LF ? pos : s.charCodeAt(pos - 2) === CR ? pos - 2 : pos - 1;
    this.#pos = pos;
    this.count = count;
    const endedLine = s.charCodeAt(pos - 1) === LF;
    this.endLine = endedLine ? line - 1 : line;
    this.#line = line;
    this.endByte = this.#base + this.#byteAt(pos);
    return 'record';
  }

  /** Byte offset of a char index of the current block, from the block's start. */
  #byteAt(index: number): number {
    if (this.#oneByte) return index;
    if (this.#twoBytes) return index * 2;
    if (index < this.#markChar) this.#markChar = this.#markByte = 0;
    this.#markByte += Buffer.byteLength(this.#text.slice(this.#markChar, index), 'utf8');
    this.#markChar = index;
    return this.#markByte;
  }
}

/** The LFs in `text` before `end`. */
function lineEnds(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Where `text` holds a surrogate without its pair (-1 if none). */
function loneSurrogate(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

const lf16le = Buffer.from([LF, 0]);
const lf16be = Buffer.from([0, LF]);

/**
 * Where a block of UTF-16 bytes (starting on a unit) is cut: after its last LF unit, or 0. The
 * byte pair must start on a unit, not straddle two (U+0A00 then U+00xx in little-endian).
 */
function lastLineEnd16(bytes: Buffer, littleEndian: boolean): number {
  const lf = littleEndian ? lf16le : lf16be;
  // lastIndexOf counts a negative offset from the end: stop before one.
  for (let from = bytes.length - 2; from >= 0;) {
    const at = bytes.lastIndexOf(lf, from);
    if (at < 0) return 0;
    if (at % 2 === 0) return at + 2;
    from = at - 1;
  }
  return 0;
}

/**
 * Whether lines end with CR alone, as classic Mac OS and Excel's "CSV (Macintosh)" write them:
 * the bytes hold a CR followed by something else (or ending the input) and no LF outside quoted
 * fields, where an LF is a cell's line break (Excel's Alt+Enter) and says nothing. Undefined
 * while they cannot tell yet. Read so, every CR becomes a line end, inside quotes too (as
 * Python's universal newlines read it); a CR inside a field of an LF file stays data.
 */
function crOnlyLines(bytes: Uint8Array, ended: boolean, quote: number, delimiter: number): boolean | undefined {
  const cr = bytes.indexOf(CR);
  const lf = bytes.indexOf(LF);
  // No CR, or an LF and no quote to hide it: decided at once (the common cases).
  if (cr < 0) return lf >= 0 || ended ? false : undefined;
  if (lf >= 0 && bytes.indexOf(quote) < 0) return false;
  let quoted = false;
  let lineEnd = false;
  // A quote left open (a stray one in an unquoted field is data) must not hold the whole file back.
  const end = Math.min(bytes.length, 1 << 20);
  for (let i = 0; i < end; i++) {
    const b = bytes[i];
    if (quoted) {
      // A doubled quote is one inside the field; a single one closes it.
      if (b === quote) {
        if (bytes[i + 1] === quote) i++;
        else quoted = false;
      }
    } else if (b === quote) {
      // A quote opens a field only at its start: one inside an unquoted field (12" pipe) is data.
      const before = i === 0 ? LF : bytes[i - 1];
      if (before === delimiter || before === LF || before === CR) quoted = true;
    } else if (b === LF) return false;
    else if (b === CR && (i + 1 < bytes.length || ended)) lineEnd = true;
  }
  if (end < bytes.length) return lineEnd || lf < 0;
  // No line end outside quotes at all (one record): CRs without LFs still read as line breaks.
  return lineEnd ? true : ended ? lf < 0 : undefined;
}
