/**
 * @file Bundle archives (.tar.gz, ustar): write a bundle directory as one file, and extract one
 * safely: regular files and directories only, no absolute paths, no `..`, no links, sizes capped.
 * Archives other tools wrote are read too: PAX and GNU long names, macOS tar's `._` companions.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, normalize, relative, sep } from 'node:path';
import { createGunzip, createGzip } from 'node:zlib';
import { BentoError } from '../errors.js';
import { manifestName } from './manifest.js';

const block = 512;
/** Largest archive accepted, unpacked: models are big, but not this big by accident. */
export const maxUnpackedBytes = 64 * 1024 ** 3;

/**
 * Packs every regular file under `dir` (the manifest first, then sorted, paths relative to it)
 * into a gzipped tar, written beside `file` and renamed onto it: an export cut short leaves no
 * half archive, and the manifest first tells a later export that the file is one (isBundleArchive).
 */
export async function writeArchive(dir: string, file: string): Promise<void> {
  const files = await listFiles(dir);
  const ordered = [...files.filter((f) => f === manifestName), ...files.filter((f) => f !== manifestName)];
  // Streamed, a file at a time: a model of gigabytes never sits in memory.
  async function* tar(): AsyncGenerator<Buffer> {
    for (const path of ordered) {
      const size = (await stat(join(dir, path))).size;
      yield* entryHeaders(path.split(sep).join('/'), size);
      let written = 0;
      for await (const piece of createReadStream(join(dir, path)) as AsyncIterable<Buffer>) {
        written += piece.length;
        yield piece;
      }
      if (written !== size) throw new Error(`${join(dir, path)} changed size while it was archived`);
      yield Buffer.alloc((block - (size % block)) % block);
    }
    yield Buffer.alloc(2 * block);
  }
  const temp = `${file}.${process.pid}.bento-batch.tmp`;
  try {
    await pipeline(Readable.from(tar()), createGzip(), createWriteStream(temp));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Whether `file` is a bundle archive: a gzipped tar with a bento.yaml among its entries (an export
 * writes it first). Read as a stream and stopped there: a model's gigabytes after it are not
 * unpacked. A data file (a .csv.gz, another tar.gz) is not one.
 */
export async function isBundleArchive(file: string): Promise<boolean> {
  const gunzip = createGunzip();
  createReadStream(file).on('error', (error) => gunzip.destroy(error)).pipe(gunzip);
  let pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current entry's data still to pass over. */
  let skip = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const passed = Math.min(skip, pending.length);
        pending = pending.subarray(passed);
        skip -= passed;
        if (skip > 0 || pending.length < block) break;
        const h = pending.subarray(0, block);
        // Every entry's header is looked at (an export of an earlier version wrote its files sorted, bento.yaml among them).
        if (h.every((b) => b === 0) || cString(h.subarray(257, 262)) !== 'ustar') return false;
        if (basename(cString(h.subarray(0, 100))) === manifestName && h[156] !== 0x35) return true;
        skip = Math.ceil((entrySize(h) || 0) / block) * block;
        pending = pending.subarray(block);
      }
    }
    return false;
  } catch {
    return false;
  } finally {
    gunzip.destroy();
  }
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  // By code unit, not localeCompare: the same bundle packs to the same bytes under any LANG (da_DK sorts "aa" after "z").
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * A file's header; a path past ustar's 100 bytes goes before it in a PAX extended header
 * (`path=`), as `tar --format=pax` and Python's tarfile write it, and every tar reads it.
 */
function* entryHeaders(path: string, size: number): Generator<Buffer> {
  if (Buffer.byteLength(path) <= 100) return yield header(path, size);
  const body = ` path=${path}\n`;
  // The record's length counts its own digits.
  let length = Buffer.byteLength(body);
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  const record = Buffer.from(`${length}${body}`);
  yield header(`PaxHeaders/${Buffer.from(basename(path)).subarray(0, 80).toString('utf8').replace(/\uFFFD$/, '')}`, record.length, 'x');
  yield record;
  yield Buffer.alloc((block - (record.length % block)) % block);
  yield header(Buffer.from(path).subarray(0, 100).toString('utf8').replace(/\uFFFD$/, ''), size);
}

function header(path: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(block);
  h.write(path, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  // Past 8 GiB, 11 octal digits cannot hold the size: GNU's base-256 (the first byte's high bit set), as GNU tar writes it.
  if (size < 8 * 1024 ** 3) h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  else {
    h[124] = 0x80;
    for (let i = 135, n = BigInt(size); i > 124; i--, n >>= 8n) h[i] = Number(n & 0xffn);
  }
  h.write('00000000000\0', 136); // mtime 0: the same bundle always packs to the same bytes
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/**
 * Extracts `file` into `dir` (created, and removed again on any error: nothing is left of an
 * archive refused); throws MODEL_LOAD naming the entry that is unsafe. Streamed, a piece at a time:
 * a model of gigabytes (or an archive made to unpack to them) never sits in memory, and the bytes
 * written are capped at maxUnpackedBytes.
 */
export async function extractArchive(file: string, dir: string): Promise<string[]> {
  try {
    return await extractInto(file, dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof BentoError) throw error;
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' && e.path === file) throw new BentoError('MODEL_NOT_FOUND', `Model archive ${file} does not exist`, { file, cause: error, hint: 'Check the path; relative paths resolve against the current directory.' });
    if (e.code?.startsWith('Z_') || e.code === 'ERR_ZLIB_INITIALIZATION_FAILED' || e.code === 'EISDIR') {
      throw new BentoError('MODEL_LOAD', `Model archive ${file} is not a readable .tar.gz: ${e.message}`, { file, cause: error, hint: 'Export it again with `bento-batch models export`.' });
    }
    throw error;
  }
}

async function extractInto(file: string, dir: string): Promise<string[]> {
  const unsafe = (entry: string, why: string) => new BentoError('MODEL_LOAD', `Model archive ${file} has an unsafe entry "${entry}": ${why}; nothing was extracted from it`, {
    file, hint: 'Only import archives made by `bento-batch models export`.',
  });
  await mkdir(dir, { recursive: true });
  const gunzip = createGunzip();
  createReadStream(file).on('error', (error) => gunzip.destroy(error)).pipe(gunzip);
  const paths: string[] = [];
  /** Folder entries met: a file of one's name is no bundle file. */
  const folders: string[] = [];
  /** The next entry's name from a PAX extended header (`path=`) or a GNU long-name entry: longer than ustar's 255 bytes, or not ASCII. */
  let longName: string | undefined;
  let ended = false;
  let unpacked = 0;
  let pending: Buffer = Buffer.alloc(0);
  /** The entry whose data is being read: its bytes left, where they go (a file, or kept for a header), and its padding. */
  let entry: { left: number; padding: number; handle?: FileHandle; kept?: Buffer[]; type: string } | undefined;
  const finish = async (current: NonNullable<typeof entry>) => {
    await current.handle?.close();
    if (current.kept) {
      const data = Buffer.concat(current.kept);
      // Metadata of the next entry (Python's tarfile, bsdtar and `tar --format=pax` write PAX; GNU tar long names), or of the whole archive.
      if (current.type === 'x') longName = paxRecords(data).get('path');
      else if (current.type === 'L') longName = cString(data);
    }
  };
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (!ended) {
        if (entry && entry.left > 0) {
          if (pending.length === 0) break;
          const piece = pending.subarray(0, Math.min(entry.left, pending.length));
          pending = pending.subarray(piece.length);
          entry.left -= piece.length;
          if (entry.handle) await entry.handle.write(piece);
          else entry.kept?.push(Buffer.from(piece));
          if (entry.left > 0) break;
        }
        if (entry) {
          if (pending.length < entry.padding) break;
          pending = pending.subarray(entry.padding);
          const done = entry;
          entry = undefined;
          await finish(done);
        }
        if (pending.length < block) break;
        const h = pending.subarray(0, block);
        pending = pending.subarray(block);
        if (h.every((b) => b === 0)) {
          ended = true;
          break;
        }
        // Every tar header sums its own bytes (the sum's field as spaces): a gzipped file of another kind is told as that, not as an entry.
        if (!checksumOk(h)) {
          throw new BentoError('MODEL_LOAD', `Model archive ${file} is not a tar archive (${paths.length === 0 ? 'its first block is no tar header' : `a block after ${paths.at(-1)} is no tar header`}); nothing was extracted from it`, {
            file, hint: 'Give an archive of a bundle (`tar czf`, or `bento-batch models export NAME:VERSION FILE.tar.gz`).',
          });
        }
        const name = cString(h.subarray(0, 100));
        const prefix = cString(h.subarray(345, 500));
        const path = longName ?? (prefix ? `${prefix}/${name}` : name);
        const type = String.fromCharCode(h[156] || 48);
        const size = entrySize(h);
        if (!Number.isFinite(size) || size < 0) throw unsafe(path, 'its size is not a number');
        const padding = (block - (size % block)) % block;
        if (type === 'x' || type === 'L' || type === 'g') {
          if (size > 1024 ** 2) throw unsafe(path, 'its header is larger than any name');
          entry = { left: size, padding, kept: type === 'g' ? undefined : [], type };
          continue;
        }
        longName = undefined;
        // Folders are made for the files in them; macOS tar's AppleDouble companions (._bento.yaml) are extended attributes, not bundle files.
        if (type === '5' || basename(path).startsWith('._')) {
          if (type === '5') {
            const folder = normalize(path).replace(/\/+$/, '');
            if (paths.includes(folder)) throw unsafe(path, `it and the file "${folder}" are a folder and a file of one name`);
            folders.push(folder);
          }
          entry = { left: size, padding, type };
          continue;
        }
        if (type !== '0' && type !== '7') throw unsafe(path, type === '1' || type === '2' ? 'links are not allowed' : `entry type "${type}" is not a regular file`);
        const clean = normalize(path).replace(/\/+$/, '');
        if (path.startsWith('/') || clean.startsWith('..') || clean.split(sep).includes('..') || relative(dir, join(dir, clean)).startsWith('..')) throw unsafe(path, 'it points outside the bundle');
        if (clean === '.' || clean === '') throw unsafe(path, 'it names no file');
        // Written one over the other, or a file where a folder must be: the archive was not made as one bundle.
        const clash = paths.find((p) => p === clean || p.startsWith(clean + sep) || clean.startsWith(p + sep));
        if (clash) throw unsafe(path, clash === clean ? 'it is in the archive twice' : `it and "${clash}" are a file and a folder of one name`);
        if (folders.includes(clean)) throw unsafe(path, `it and the folder "${clean}/" are a file and a folder of one name`);
        unpacked += size;
        if (unpacked > maxUnpackedBytes) throw unsafe(path, `the archive unpacks to more than ${maxUnpackedBytes / 1024 ** 3} GiB`);
        paths.push(clean);
        await mkdir(dirname(join(dir, clean)), { recursive: true });
        entry = { left: size, padding, handle: await open(join(dir, clean), 'wx'), type };
      }
      if (ended) break;
    }
  } finally {
    await entry?.handle?.close();
    gunzip.destroy();
  }
  // Cut short: a copy or download that stopped, whose later files (a model's weights) are missing.
  if (!ended) {
    throw new BentoError('MODEL_LOAD', `Model archive ${file} is cut short: it ends without tar's end-of-archive blocks, so files may be missing from it`, { file, hint: 'Copy or download it again.' });
  }
  // `tar czf m.tar.gz bundle/` puts the bundle in a folder of its own: read it from there.
  const top = paths[0]?.split(sep)[0];
  if (top && !paths.includes(manifestName) && paths.includes(join(top, manifestName)) && paths.every((p) => p.startsWith(top + sep))) {
    const inner = join(dir, `.${top}.${process.pid}.unpacked`);
    await rename(join(dir, top), inner);
    for (const name of await readdir(inner)) await rename(join(inner, name), join(dir, name));
    await rm(inner, { recursive: true });
    paths.forEach((p, i) => (paths[i] = p.slice(top.length + 1)));
  }
  if (!paths.includes(manifestName)) {
    const listed = paths.slice(0, 5).join(', ');
    throw new BentoError('MODEL_LOAD', `Model archive ${file} holds no ${manifestName}${paths.length > 0 ? ` (it holds ${listed}${paths.length > 5 ? ', …' : ''})` : ''}: it is not a bundle archive`, {
      file, hint: 'Archive a bundle (the folder pack writes, with bento.yaml and the .onnx file), e.g. with `bento-batch models export NAME:VERSION FILE.tar.gz`.',
    });
  }
  return paths;
}

/** A tar header's size field: octal digits, or GNU's base-256 past 8 GiB (the first byte's high bit set). */
function entrySize(h: Buffer): number {
  if (!(h[124]! & 0x80)) return Number.parseInt(cString(h.subarray(124, 136)).trim() || '0', 8);
  let n = 0n;
  for (let i = 125; i < 136; i++) n = (n << 8n) | BigInt(h[i]!);
  return Number(n);
}

/** A PAX extended header's records: `<length> <key>=<value>\n`, each length counting the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const length = Number.parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (space < 0 || !(length > 0) || at + length > data.length) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString('utf8');
}

/** Total bytes of the regular files under `dir`. */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const path of await listFiles(dir)) total += (await stat(join(dir, path))).size;
  return total;
}

/** Whether a 512-byte tar header holds the sum of its bytes (the 8 bytes of the sum counted as spaces) in its checksum field. */
function checksumOk(h: Buffer): boolean {
  const field = cString(h.subarray(148, 156)).trim();
  if (!/^[0-7]+$/.test(field)) return false;
  // Some old tars summed the bytes as signed chars: either sum is taken.
  let sum = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < 512; i++) {
    if (i >= 148 && i < 156) continue;
    sum += h[i]!;
    signed += h[i]! > 127 ? h[i]! - 256 : h[i]!;
  }
  const stored = Number.parseInt(field, 8);
  return sum === stored || signed === stored;
}
