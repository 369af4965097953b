/**
 * @file Struct, list and map columns of a Parquet row group, read a chunk of rows at a time. Each
 * leaf column chunk's pages are read in turn, and a page's repetition and definition levels and
 * its values are decoded only as far as rows are taken; hyparquet's own assembly (assembleLists,
 * assembleNested) then makes the rows' values, so they are what its parquetRead gives (a LIST of
 * one leaf and a struct of plain members are made here, in one pass, as it makes them). That read
 * a row group's nested columns whole, at ~48 bytes a value: DuckDB's default row group of 20,000
 * embeddings of 768 floats took ~700 MB, and DuckDB writes such a column chunk as one page.
 */
import type { AsyncBuffer, RowGroup, SchemaTree } from 'hyparquet';
import { assembleLists, assembleNested } from 'hyparquet/src/assemble.js';
import { convert, convertWithDictionary, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath, isListLike, isMapLike } from 'hyparquet/src/schema.js';
import type { ColumnDecoder, DecodedArray, PageHeader, ParquetParsers } from 'hyparquet/src/types.js';
import { HybridReader } from './parquet-hybrid.js';
import { ChunkBytes, decompressors, deltaIntegers, dictionaryPage, pageSections, pageValues } from './parquet-pages.js';

/** How a nested column's values are converted: the parsers, and whether unannotated bytes stay bytes (utf8: false). */
export interface NestedDecoding {
  readonly parsers: Partial<ParquetParsers>;
  readonly utf8?: boolean;
  /**
   * A LIST of one FLOAT or DOUBLE leaf may give its rows as Float32Array or Float64Array views
   * (where a row has no null element), for a column that only the model reads: no array of numbers
   * made a row (and collected), and a batch of rows that lie together is its tensor (preprocess.ts).
   */
  readonly typedRows?: boolean;
}

/** One struct, list or map column (or a top-level repeated one) of a row group, read a chunk of rows at a time. */
export class NestedColumnReader {
  readonly #node: SchemaTree;
  readonly #parsers: ParquetParsers;
  readonly #leaves: LeafReader[];
  /** Whether the column is a LIST of one leaf, whose reader gives its cells as they are (LeafReader's `listed`). */
  readonly #list: boolean;
  /** A struct of plain members: their names, in the schema's order, as the leaves are read (LeafReader's `member`). */
  readonly #members: readonly string[] | undefined;
  /**
   * For a repeated field or a list that hyparquet assembles, the definition level from which a
   * row is a list, empty or not (0, or 1 where the column may be null): hyparquet makes an empty
   * one null where the repeated node is the leaf or the column itself (a two-level list, a
   * repeated field), and these rows are made [] again.
   */
  readonly #listFrom: number | undefined;

  constructor(file: AsyncBuffer, group: RowGroup, tree: SchemaTree, node: SchemaTree, decoding: NestedDecoding) {
    const name = node.element.name;
    this.#node = node;
    this.#parsers = { ...DEFAULT_PARSERS, ...decoding.parsers };
    // A LIST of one leaf (an embedding: DuckDB, pyarrow, Polars and Spark write them so) is assembled
    // in one pass into arrays made at their length: assembleLists pushed each value into a row,
    // nested, then unwrapped, and with the collections that made took ~75% of reading such a column.
    const item = isListLike(node) && node.children[0]!.children.length === 1 ? node.children[0]!.children[0]! : undefined;
    this.#list = item !== undefined && item.children.length === 0 && item.element.repetition_type !== 'REPEATED';
    const listed = this.#list ? (node.element.repetition_type === 'OPTIONAL' ? 1 : 0) : undefined;
    // A struct of plain members (no list, map or struct in it) is made here too, an object a row
    // from its members' values: hyparquet's assembleNested wrapped each value in an array and each
    // object in another, and inverted them key by key (a struct of 200 doubles: 2.2 s and half the
    // collections of 20,000 rows).
    const plain = node.children.length > 0 && !this.#list && !isListLike(node) && !isMapLike(node) && node.element.logical_type?.type !== 'VARIANT'
      && node.element.repetition_type !== 'REPEATED'
      && node.children.every((child) => child.children.length === 0 && child.element.repetition_type !== 'REPEATED');
    this.#members = plain ? node.children.map((child) => child.element.name) : undefined;
    const member = plain ? (node.element.repetition_type === 'OPTIONAL' ? 1 : 0) : undefined;
    this.#listFrom = !this.#list && (isListLike(node) || node.element.repetition_type === 'REPEATED') ? (node.element.repetition_type === 'OPTIONAL' ? 1 : 0) : undefined;
    this.#leaves = group.columns.flatMap((column) => {
      const chunk = column.meta_data;
      if (chunk?.path_in_schema[0] !== name) return [];
      const schemaPath = getTreePath(tree, chunk.path_in_schema);
      const decoder: ColumnDecoder = {
        pathInSchema: chunk.path_in_schema, element: schemaPath.at(-1)!.element, schemaPath, type: chunk.type, codec: chunk.codec,
        parsers: this.#parsers, compressors: decompressors, ...(decoding.utf8 === undefined ? {} : { utf8: decoding.utf8 }),
      };
      // Polars leaves dictionary_page_offset out; the chunk then starts at its first page either way.
      const start = Number(chunk.dictionary_page_offset || chunk.data_page_offset);
      const typed = listed !== undefined && decoding.typedRows === true && (chunk.type === 'FLOAT' || chunk.type === 'DOUBLE');
      return [new LeafReader(new ChunkBytes(file, start, start + Number(chunk.total_compressed_size)), decoder, listed, member, typed, this.#listFrom !== undefined)];
    });
    if (this.#leaves.length === 0) throw new Error(`row group has no column chunk for "${name}"`);
  }

  /** The next `count` rows' values: objects for structs and maps, arrays for lists; a null cell undefined, as hyparquet gives it. */
  async take(count: number): Promise<unknown[]> {
    const data = new Map<string, DecodedArray>();
    for (const leaf of this.#leaves) data.set(leaf.key, await leaf.take(count, true));
    if (this.#list) return data.values().next().value as unknown[];
    if (this.#members) {
      const cells = new Map(this.#leaves.map((leaf) => [leaf.name, data.get(leaf.key) as unknown[]]));
      return this.#objects(this.#members.map((name) => cells.get(name)!), count);
    }
    if (this.#node.children.length > 0) assembleNested(data, this.#node, this.#parsers);
    const rows = data.get(this.#node.element.name) as unknown[];
    if (this.#listFrom !== undefined) {
      const starts = this.#leaves[0]!.rowDefs;
      for (let i = 0; i < rows.length; i++) if ((rows[i] === null || rows[i] === undefined) && starts[i]! >= this.#listFrom) rows[i] = [];
    }
    return rows;
  }

  /** A plain struct's rows from its members' cells (`absent` where the struct is null, as undefined): as hyparquet's assembly makes them. */
  #objects(members: readonly unknown[][], count: number): unknown[] {
    const names = this.#members!;
    const out = new Array<unknown>(count);
    for (let i = 0; i < count; i++) {
      if (members[0]![i] === absent) continue;
      const row: Record<string, unknown> = {};
      for (let k = 0; k < members.length; k++) {
        // A member named __proto__ is a member: assigned, it would set the object's prototype (a DATE member made the row a Date).
        if (names[k] === '__proto__') Object.defineProperty(row, '__proto__', { value: members[k]![i], enumerable: true, writable: true, configurable: true });
        else row[names[k]!] = members[k]![i];
      }
      out[i] = row;
    }
    return out;
  }

  /** Passes over the next `count` rows (a resume inside the row group), a block of levels at a time. */
  async skip(count: number): Promise<void> {
    for (const leaf of this.#leaves) await leaf.take(count, false);
  }
}

/** A plain struct member's cell where the struct itself is null. */
const absent = Symbol('absent');

/** Level entries decoded at a time: a row of an embedding is 768 of them. */
const BLOCK = 4096;
/**
 * Levels of a block for a list read as typed rows: a row that goes on into the next block is one
 * view only where the two blocks' values lie together (#emitList), and with 768-float rows one in
 * five went on past a block of 4,096.
 */
const TYPED_BLOCK = 65_536;

/** The largest buffer a typed row may view (it then keeps it whole while it lives); rows of a bigger one view copies of their blocks' values (#copied). */
export const VIEWED_BUFFER = 16 * 1024 * 1024;
/** The buffers those copies are made in, one after another: 1,365 rows of 768 floats. */
const SEGMENT_BYTES = 4 * 1024 * 1024;

/** A data page being read: its entries' levels and its values, each in order, as far as asked. */
interface LevelPage {
  /**
   * Fills `[0, count)` of `reps` and `defs` with the next `count` entries' levels (an array the
   * column has no levels for is left alone); true where every entry is at the full definition level
   * (a value, no null), which the levels' runs often tell without a look at each.
   */
  levels(reps: Uint8Array, defs: Uint8Array, count: number): boolean;
  /** The next `count` values (the entries at the leaf's full definition level), converted. */
  values(count: number): DecodedArray;
}

/** One leaf column chunk: hands out whole rows, as hyparquet assembles a leaf's levels into nested arrays. */
class LeafReader {
  readonly key: string;
  /** The leaf's own name (a struct member's). */
  readonly name: string;
  readonly #bytes: ChunkBytes;
  readonly #decoder: ColumnDecoder;
  readonly #maxRep: number;
  readonly #maxDef: number;
  #dictionary: DecodedArray | undefined;
  #page: LevelPage | undefined;
  /** Entries of #page whose levels are not yet in the block. */
  #pageLeft = 0;
  /** The block: levels of entries read from #page, [#at, #have) not yet handed out. */
  readonly #reps: Uint8Array<ArrayBuffer>;
  readonly #defs: Uint8Array<ArrayBuffer>;
  #at = 0;
  #have = 0;
  /** Whether every entry of the block has a value (no null list, struct or element). */
  #full = false;
  /** The block's repetition levels, `[0, #have)` of #reps: searched for row starts with indexOf. */
  #blockReps = new Uint8Array(0);
  /** Rows handed out so far, for a message. */
  #rows = 0;
  /** For the leaf of a LIST of one leaf, the definition level of an empty list (1 where the list may be null, else 0): rows are then made here, as the column's cells. */
  readonly #listed: number | undefined;
  /** The row being filled, which the next entries may continue. */
  #row: unknown[] | undefined;
  /** Where typed rows of a page past VIEWED_BUFFER are copied to, block after block, and how much of it is used. */
  #segment: Float32Array | Float64Array | undefined;
  #segmentUsed = 0;
  /** For a plain struct's member, the definition level below which the struct itself is null (1 where it may be, else 0): its cells are then the value, null, or `absent`. */
  readonly #member: number | undefined;

  /** Rows of a LIST of one leaf may be typed views (NestedDecoding's typedRows). */
  readonly #typed: boolean;
  /** The definition level of each row's first entry, of the last take's rows, where asked for (`starts`). */
  #rowDefs: number[] = [];
  readonly #starts: boolean;

  constructor(bytes: ChunkBytes, decoder: ColumnDecoder, listed?: number, member?: number, typed = false, starts = false) {
    this.#typed = typed;
    this.#starts = starts;
    this.#reps = new Uint8Array(typed ? TYPED_BLOCK : BLOCK);
    this.#defs = new Uint8Array(typed ? TYPED_BLOCK : BLOCK);
    this.key = decoder.pathInSchema.join('.');
    this.name = decoder.pathInSchema.at(-1)!;
    this.#bytes = bytes;
    this.#decoder = decoder;
    this.#listed = listed;
    this.#member = member;
    this.#maxRep = getMaxRepetitionLevel(decoder.schemaPath);
    this.#maxDef = getMaxDefinitionLevel(decoder.schemaPath);
  }

  /**
   * The next `count` rows. A row ends where an entry at repetition level 0 starts the next one, so
   * the levels are read one entry past the last row, across pages (a V1 page may end inside a
   * row). Nothing is assembled when `keep` is false.
   */
  async take(count: number, keep: boolean): Promise<unknown[]> {
    const out: unknown[] = [];
    const gathered: Gathered = { reps: [], defs: [], values: [] };
    if (this.#starts) this.#rowDefs = [];
    let started = 0;
    for (;;) {
      if (this.#at === this.#have && !(await this.#fill())) break;
      let end = this.#at;
      if (this.#maxRep === 0) {
        end += Math.min(this.#have - this.#at, count - started);
        started += end - this.#at;
      } else {
        // A row starts at each level 0: found by indexOf (native), not a look at each entry, as
        // a row of a list holds hundreds (768 floats an embedding).
        for (;;) {
          const start = this.#blockReps.indexOf(0, end);
          if (start === -1) {
            end = this.#have;
            break;
          }
          if (started === count) {
            end = start;
            break;
          }
          started++;
          end = start + 1;
        }
      }
      if (end > this.#at) this.#emit(out, gathered, end, keep);
      if (started === count && (this.#maxRep === 0 || this.#at < this.#have)) break;
    }
    if (started < count) throw new Error(`column "${this.key}" ends after ${this.#rows + started} rows, inside its row group`);
    if (keep && this.#listed === undefined && this.#member === undefined) this.#assemble(out, gathered);
    if (keep && out.length !== count) throw new Error(`column "${this.key}" assembles ${out.length} rows from levels that start ${count}`);
    this.#rows += count;
    return out;
  }

  /**
   * A take's entries as hyparquet assembles them, at once: its assembleLists cannot go on with a
   * row that a block or a page cut where the leaf itself is REPEATED (a two-level list, a repeated
   * field), and a take's entries start and end with whole rows.
   */
  #assemble(out: unknown[], gathered: Gathered): void {
    const values = joined(gathered.values);
    if (this.#maxDef === 0 && this.#maxRep === 0) {
      for (let i = 0; i < values.length; i++) out.push(values[i]);
      return;
    }
    const defs = this.#maxDef > 0 ? joined(gathered.defs) : undefined;
    const reps = this.#maxRep > 0 ? joined(gathered.reps) : [];
    assembleLists(out, defs as number[] | undefined, reps as number[], values as DecodedArray, this.#decoder.schemaPath);
  }

  /** Hands the block's entries `[#at, end)` and their values on: to `out` for a LIST of one leaf or a plain struct's member, else to `gathered` (assembled at the take's end). */
  #emit(out: unknown[], gathered: Gathered, end: number, keep: boolean): void {
    const from = this.#at;
    this.#at = end;
    const defs = this.#maxDef > 0 ? this.#defs.subarray(from, end) : undefined;
    let present = end - from;
    if (defs && !this.#full) for (let i = 0; i < defs.length; i++) if (defs[i] !== this.#maxDef) present--;
    const values = this.#page!.values(present);
    if (!keep) return;
    if (this.#listed !== undefined) {
      this.#emitList(out, from, end, values, this.#listed);
      return;
    }
    if (this.#member !== undefined) {
      this.#emitMember(out, from, end, values, this.#member);
      return;
    }
    gathered.values.push(values);
    if (defs) gathered.defs.push(defs.slice());
    if (this.#maxRep > 0) gathered.reps.push(this.#reps.slice(from, end));
    if (this.#starts) for (let i = from; i < end; i++) if (this.#maxRep === 0 || this.#reps[i] === 0) this.#rowDefs.push(this.#maxDef > 0 ? this.#defs[i]! : 0);
  }

  get rowDefs(): readonly number[] {
    return this.#rowDefs;
  }

  /** Entries `[from, end)` of a plain struct's member, an entry a row: its value, null, or `absent` where the struct itself is null (below `struct`). */
  #emitMember(out: unknown[], from: number, end: number, values: DecodedArray, struct: number): void {
    const max = this.#maxDef;
    let v = 0;
    for (let i = from; i < end; i++) {
      const def = max > 0 ? this.#defs[i]! : max;
      out.push(def === max ? values[v++] : def < struct ? absent : null);
    }
  }

  /**
   * Entries `[from, end)` of a LIST of one leaf as the cells hyparquet's assembly makes of them: a
   * null list undefined, an empty one [], a null element null. A row is made at the length of its
   * entries in the block, and grows only where it goes on past it.
   */
  #emitList(out: unknown[], from: number, end: number, values: DecodedArray, empty: number): void {
    const reps = this.#reps;
    const defs = this.#defs;
    const max = this.#maxDef;
    let row = this.#row;
    let v = 0;
    // Typed rows view the values where they are when that holds little: a page of up to 16 MB, or
    // the block's values that hyparquet copied as they started unaligned (DuckDB's V1 pages). A
    // copy of our own a block was 15–25% of reading 4,096-row groups of 768 floats. A view keeps its
    // whole buffer while its row lives, so rows of a bigger page (DuckDB writes ~100 MB ones, read
    // in place where aligned) view a copy of the block's values instead, in a 4 MB segment.
    const typed = this.#typed && (values instanceof Float32Array || values instanceof Float64Array) ? values : undefined;
    const own = typed && typed.buffer.byteLength > VIEWED_BUFFER ? this.#copied(typed) : typed;
    let i = from;
    if (i < end && reps[i] !== 0 && ArrayBuffer.isView(row)) {
      // A typed row that went on past its block: where this block's values follow its own in one
      // buffer (a page read in place) and none is null, it views them all; else it is made an array.
      const stop = this.#blockReps.indexOf(0, i);
      const upto = stop === -1 || stop > end ? end : stop;
      const view = row as unknown as Float32Array | Float64Array;
      if (own && own.buffer === view.buffer && own.byteOffset === view.byteOffset + view.byteLength && (this.#full || allAt(defs, i, upto, max))) {
        row = new (view.constructor as Float32ArrayConstructor)(view.buffer as ArrayBuffer, view.byteOffset, view.length + upto - i) as unknown as unknown[];
        v = upto - i;
        i = upto;
      } else row = Array.from(view);
      out[out.length - 1] = row;
    }
    for (; i < end;) {
      if (reps[i] !== 0) {
        if (row === undefined) throw new Error(`column "${this.key}" continues a list its column chunk does not start`);
        row.push(defs[i] === max ? values[v++] : null);
        i++;
        continue;
      }
      const def = defs[i]!;
      if (def <= empty) {
        row = def < empty ? undefined : [];
        out.push(row);
        i++;
        continue;
      }
      let next = this.#blockReps.indexOf(0, i + 1);
      if (next === -1 || next > end) next = end;
      if (own && (this.#full || allAt(defs, i, next, max))) {
        // A row with no null element in this block, as a view of the block's values (one that goes on past it, of its part here).
        row = own.subarray(v, v + next - i) as unknown as unknown[];
        v += next - i;
        i = next;
        out.push(row);
        continue;
      }
      row = new Array<unknown>(next - i);
      if (this.#full) {
        for (let k = 0; i < next; i++, k++) row[k] = values[v++];
      } else {
        for (let k = 0; i < next; i++, k++) row[k] = defs[i] === max ? values[v++] : null;
      }
      out.push(row);
    }
    this.#row = row;
  }

  /**
   * A block's values copied into the segment after the block before's, so that rows of a big page
   * lie one after another as a page read in place does (a row on past its block stays one view; a
   * batch of them is its tensor, preprocess.ts): a new segment of SEGMENT_BYTES where this one is full.
   */
  #copied(values: Float32Array | Float64Array): Float32Array | Float64Array {
    let segment = this.#segment;
    // A leaf's values are all of its one type: a segment's type is theirs.
    if (segment === undefined || this.#segmentUsed + values.length > segment.length) {
      const Type = values.constructor as Float32ArrayConstructor | Float64ArrayConstructor;
      segment = this.#segment = new Type(Math.max(values.length, SEGMENT_BYTES / Type.BYTES_PER_ELEMENT));
      this.#segmentUsed = 0;
    }
    const at = this.#segmentUsed;
    segment.set(values, at);
    this.#segmentUsed += values.length;
    return segment.subarray(at, at + values.length);
  }

  /** Reads the next block of levels, from the next page where this one is done; false at the chunk's end. */
  async #fill(): Promise<boolean> {
    // The page done with (its values all taken) goes before the next is read and decompressed.
    if (this.#pageLeft === 0) this.#page = undefined;
    while (this.#pageLeft === 0) {
      if (this.#bytes.done) return false;
      const { header, bytes } = await this.#bytes.page();
      const decoder = this.#decoder;
      if (header.type === 'DICTIONARY_PAGE') {
        this.#dictionary = convert(dictionaryPage(bytes, header, decoder), decoder);
      } else if (header.type === 'DATA_PAGE' || header.type === 'DATA_PAGE_V2') {
        this.#pageLeft = pageValues(header);
        this.#page = levelPage(bytes, header, decoder, this.#dictionary, this.#maxRep, this.#maxDef);
      }
      // Index pages and unknown page types carry no rows.
    }
    const n = Math.min(this.#reps.length, this.#pageLeft);
    this.#full = this.#page!.levels(this.#reps, this.#defs, n);
    this.#blockReps = this.#reps.subarray(0, n);
    this.#pageLeft -= n;
    this.#at = 0;
    this.#have = n;
    return true;
  }
}

/** Whether `levels[from, to)` are all `level`. */
function allAt(levels: Uint8Array, from: number, to: number, level: number): boolean {
  for (let i = from; i < to; i++) if (levels[i] !== level) return false;
  return true;
}

/** A take's levels and values, a block's piece at a time. */
interface Gathered {
  readonly reps: Uint8Array[];
  readonly defs: Uint8Array[];
  readonly values: DecodedArray[];
}

/** Pieces as one: the piece itself where there is one. */
function joined(pieces: readonly ArrayLike<unknown>[]): ArrayLike<unknown> {
  if (pieces.length === 1) return pieces[0]!;
  if (pieces.every((p) => p instanceof Uint8Array)) {
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of pieces) {
      out.set(p as Uint8Array, at);
      at += p.length;
    }
    return out;
  }
  const out: unknown[] = [];
  for (const p of pieces) for (let i = 0; i < p.length; i++) out.push(p[i]);
  return out;
}

/**
 * Opens a data page. Its levels are read as asked where they are RLE (every writer's, and V2's
 * always), and so are its values where they are PLAIN, dictionary indexes or BYTE_STREAM_SPLIT
 * (DuckDB's floats in its V2 files); DELTA_BINARY_PACKED integers are unpacked into one typed
 * array. Other pages (booleans, DELTA byte arrays) are decoded whole by hyparquet.
 */
function levelPage(bytes: Uint8Array, header: PageHeader, decoder: ColumnDecoder, dictionary: DecodedArray | undefined, maxRep: number, maxDef: number): LevelPage {
  const v2 = header.type === 'DATA_PAGE_V2';
  const h1 = header.data_page_header;
  const encoding = v2 ? header.data_page_header_v2!.encoding : h1!.encoding;
  const dictionaryEncoded = (encoding === 'PLAIN_DICTIONARY' || encoding === 'RLE_DICTIONARY') && dictionary !== undefined;
  const split = encoding === 'BYTE_STREAM_SPLIT' && fixedWidth[decoder.type] !== undefined;
  const lazyValues = (encoding === 'PLAIN' && decoder.type !== 'BOOLEAN') || dictionaryEncoded || split || encoding === 'DELTA_BINARY_PACKED';
  const rleLevels = v2 || ((maxRep === 0 || h1!.repetition_level_encoding === 'RLE') && (maxDef === 0 || h1!.definition_level_encoding === 'RLE'));
  if (!lazyValues || !rleLevels) return wholePage(bytes, header, decoder, dictionary, maxDef);
  const { reps, defs, values } = pageSections(bytes, header, decoder, maxRep, maxDef, encoding === 'PLAIN' ? fixedWidth[decoder.type] : undefined);
  return {
    levels(repOut, defOut, count) {
      reps?.read(repOut, 0, count);
      return defs === undefined || defs.read(defOut, 0, count) === maxDef;
    },
    values: dictionaryEncoded ? dictionaryValues(values, dictionary!)
      : split ? splitValues(values, decoder)
        : encoding === 'DELTA_BINARY_PACKED' ? sliced(deltaIntegers(values, decoder.type), (raw) => convert(raw, decoder))
          : plainValues(values, decoder),
  };
}

/** PLAIN values read as asked; bytes copied, as a value kept would otherwise keep the whole page. */
function plainValues(values: Uint8Array, decoder: ColumnDecoder): LevelPage['values'] {
  const reader = { view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0 };
  return (count) => copyBytes(convert(readPlain(reader, decoder.type, count, decoder.element.type_length), decoder));
}

/** Dictionary indexes read as asked, each the dictionary's (converted) value. */
function dictionaryValues(values: Uint8Array, dictionary: DecodedArray): LevelPage['values'] {
  const indexes = new HybridReader(values.subarray(1), values[0] ?? 0);
  return (count) => {
    const read = new Int32Array(count);
    indexes.read(read, 0, count);
    const out = new Array<unknown>(count);
    for (let i = 0; i < count; i++) out[i] = dictionary[read[i]!];
    return out as DecodedArray;
  };
}

/** The bytes of a value of the fixed-width types (BYTE_STREAM_SPLIT streams, PLAIN values read in place). */
const fixedWidth: Partial<Record<ColumnDecoder['type'], number>> = { FLOAT: 4, DOUBLE: 8, INT32: 4, INT64: 8 };

/** BYTE_STREAM_SPLIT values read as asked: value i's byte b is at b × count + i, count being the page's values. */
function splitValues(values: Uint8Array, decoder: ColumnDecoder): LevelPage['values'] {
  const width = fixedWidth[decoder.type]!;
  const total = Math.floor(values.length / width);
  let at = 0;
  return (count) => {
    if (at + count > total) throw new Error(`a BYTE_STREAM_SPLIT page holds ${total} values, fewer than its levels say`);
    const bytes = new Uint8Array(count * width);
    for (let b = 0; b < width; b++) {
      const stream = b * total + at;
      for (let i = 0; i < count; i++) bytes[i * width + b] = values[stream + i]!;
    }
    at += count;
    const raw = decoder.type === 'FLOAT' ? new Float32Array(bytes.buffer) : decoder.type === 'DOUBLE' ? new Float64Array(bytes.buffer)
      : decoder.type === 'INT32' ? new Int32Array(bytes.buffer) : new BigInt64Array(bytes.buffer);
    return convert(raw, decoder);
  };
}

/** Values decoded at once, handed out in order, `convert`ed a piece at a time. */
function sliced(all: DecodedArray, convertPiece: (raw: DecodedArray) => DecodedArray = (raw) => raw): LevelPage['values'] {
  let at = 0;
  return (count) => {
    if (at + count > all.length) throw new Error(`a data page holds ${all.length} values, fewer than its levels say`);
    const piece = Array.isArray(all) ? all.slice(at, at + count) : (all as Int32Array).subarray(at, at + count);
    at += count;
    return convertPiece(piece as DecodedArray);
  };
}

/** A page decoded whole by hyparquet, handed out in pieces. */
function wholePage(bytes: Uint8Array, header: PageHeader, decoder: ColumnDecoder, dictionary: DecodedArray | undefined, maxDef: number): LevelPage {
  const v2 = header.type === 'DATA_PAGE_V2';
  const { definitionLevels, repetitionLevels, dataPage } = v2
    ? readDataPageV2(bytes, header, decoder)
    : readDataPage(decompressPage(bytes, header.uncompressed_page_size, decoder.codec, decoder.compressors), header.data_page_header!, decoder);
  const encoding = v2 ? header.data_page_header_v2!.encoding : header.data_page_header!.encoding;
  let at = 0;
  return {
    levels(reps, defs, count) {
      for (let i = 0; i < count; i++) reps[i] = repetitionLevels[at + i] ?? 0;
      // hyparquet leaves the definition levels out of a page without a null.
      for (let i = 0; i < count; i++) defs[i] = definitionLevels?.length ? definitionLevels[at + i]! : maxDef;
      at += count;
      return !definitionLevels?.length;
    },
    values: sliced(copyBytes(convertWithDictionary(dataPage, dictionary, encoding, decoder))),
  };
}

/** Values with each Uint8Array copied out of the page it views. */
function copyBytes(values: DecodedArray): DecodedArray {
  if (Array.isArray(values)) for (let i = 0; i < values.length; i++) if (values[i] instanceof Uint8Array) values[i] = (values[i] as Uint8Array).slice();
  return values;
}
