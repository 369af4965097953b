/**
 * Parquet files as pyarrow and fastparquet write them (fixtures/data/tools/generate.py; expected
 * values as pyarrow reads them), and the LZ4 decoder (source/lz4.ts) on blocks made by hand.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lz4RawUncompress, lz4Uncompress } from '../../src/source/lz4.js';
import { openParquet } from '../../src/source/parquet.js';
import { fixtures, rejectsWith } from '../helpers.js';
import { concatColumns, drain } from './util.js';

const tools = join(fixtures, 'data', 'tools');
const expected = JSON.parse(await readFile(join(tools, 'expected.json'), 'utf8')) as {
  'fastparquet-lz4': { rows: number; flag: string };
  'pyarrow-lz4-nulls': { rows: number; body_mass_g_nulls: number };
};

describe('Parquet files from pyarrow and fastparquet', () => {
  test('pyarrow\'s LZ4 (LZ4_RAW) with a column of nulls alone, and a row group where a feature is all null', async () => {
    const rows = concatColumns(await drain(await openParquet([join(tools, 'pyarrow-lz4-nulls.parquet')], { columns: undefined, chunkRows: 1000 })));
    const penguins = concatColumns(await drain(await openParquet([join(fixtures, 'data', 'penguins.parquet')], { columns: undefined, chunkRows: 1000 })));
    assert.equal(rows.note!.length, expected['pyarrow-lz4-nulls'].rows);
    assert.ok(rows.note!.every((v) => v === null));
    assert.equal(rows.body_mass_g!.filter((v) => v === null).length, expected['pyarrow-lz4-nulls'].body_mass_g_nulls);
    assert.ok(rows.body_mass_g!.slice(100, 200).every((v) => v === null));
    assert.deepEqual(rows.species, penguins.species);
    assert.deepEqual(rows.bill_length_mm, penguins.bill_length_mm);
  });

  test('fastparquet\'s LZ4 (raw blocks, whose first bytes read as a Hadoop framing\'s sizes past 2^31)', async () => {
    const rows = concatColumns(await drain(await openParquet([join(tools, 'fastparquet-lz4.parquet')], { columns: ['species', 'flag'], chunkRows: 1000 })));
    assert.equal(rows.flag!.length, expected['fastparquet-lz4'].rows);
    assert.equal(rows.flag!.map((v) => (v ? '1' : '0')).join(''), expected['fastparquet-lz4'].flag);
  });

  test('two columns of one name (pyarrow writes them): refused where the name is read, read where it is not', async () => {
    const file = join(tools, 'duplicate-names.parquet');
    await rejectsWith(() => openParquet([file], { columns: undefined, chunkRows: 1000 }), 'INPUT_FORMAT', `Parquet file ${file} has 2 columns named "a", and columns are read by name`);
    const rows = concatColumns(await drain(await openParquet([file], { columns: ['species'], chunkRows: 1000 })));
    assert.equal(rows.species!.length, 344);
  });
});

describe('LZ4 blocks', () => {
  const literals = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);

  test('an empty block (a single zero token) is no bytes; literals, then an overlapping match, then literals', () => {
    assert.equal(lz4RawUncompress(Uint8Array.of(0), 0).length, 0);
    assert.equal(lz4Uncompress(Uint8Array.of(0), 0).length, 0);
    // "ab", then a match 2 back of 4 + 4 bytes, then "c".
    const block = Uint8Array.of(0x24, 0x61, 0x62, 0x02, 0x00, 0x10, 0x63);
    assert.equal(Buffer.from(lz4RawUncompress(block, 11)).toString('latin1'), 'ababababab' + 'c');
    assert.throws(() => lz4RawUncompress(block, 12), /the block holds 11 bytes, its page header says 12/);
    assert.throws(() => lz4RawUncompress(Uint8Array.of(0x10, 0x61, 0x05, 0x00), 5), /refers 5 bytes back/);
  });

  test('the LZ4 codec: Hadoop\'s framing where it fits, else a raw block', () => {
    const raw = Uint8Array.of(0x24, 0x61, 0x62, 0x02, 0x00, 0x10, 0x63);
    const frame = (block: Uint8Array, size: number) => {
      const out = new Uint8Array(8 + block.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, size);
      view.setUint32(4, block.length);
      out.set(block, 8);
      return out;
    };
    const twice = new Uint8Array([...frame(raw, 11), ...frame(raw, 11)]);
    assert.equal(Buffer.from(lz4Uncompress(twice, 22)).toString('latin1'), 'abababababc'.repeat(2));
    // 300 literals: the token 0xF0 and its length bytes make the first "size" 0xF0FF1E.. (past 2^31).
    const long = literals(300);
    const block = new Uint8Array([0xf0, 255, 30, ...long]);
    assert.deepEqual(lz4Uncompress(block, 300), long);
  });
});
