/**
 * @file Bundle archives (.tar.gz, ustar): write a bundle directory as one file, and extract one
 * safely: regular files and directories only, no absolute paths, no `..`, no links, sizes capped.
 * Archives other tools wrote are read too: PAX and GNU long names, macOS tar's `._` companions.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, normalize, relative, sep } from 'node:path';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { BentoError } from '../errors.js';
import { manifestName } from './manifest.js';

const block = 512;
/** Largest archive accepted, unpacked: models are big, but not this big by accident. */
export const maxUnpackedBytes = 4 * 1024 ** 3;

/**
 * Packs every regular file under `dir` (the manifest first, then sorted, paths relative to it)
 * into a gzipped tar, written beside `file` and renamed onto it: an export cut short leaves no
 * half archive, and the manifest first tells a later export that the file is one (isBundleArchive).
 */
export async function writeArchive(dir: string, file: string): Promise<void> {
  const parts: Buffer[] = [];
  const files = await listFiles(dir);
  for (const path of [...files.filter((f) => f === manifestName), ...files.filter((f) => f !== manifestName)]) {
    const data = await readFile(join(dir, path));
    parts.push(header(path.split(sep).join('/'), data.length), data, Buffer.alloc((block - (data.length % block)) % block));
  }
  parts.push(Buffer.alloc(2 * block));
  const temp = `${file}.${process.pid}.bento-batch.tmp`;
  try {
    await writeFile(temp, gzipSync(Buffer.concat(parts)));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Whether `file` is a bundle archive: a gzipped tar with a bento.yaml among its first entries
 * (an export writes it first). Read as a stream and stopped there: a model's gigabytes after it
 * are not unpacked. A data file (a .csv.gz, another tar.gz) is not one.
 */
export async function isBundleArchive(file: string): Promise<boolean> {
  const gunzip = createGunzip();
  createReadStream(file).on('error', (error) => gunzip.destroy(error)).pipe(gunzip);
  let pending = Buffer.alloc(0);
  /** Bytes of the current entry's data still to pass over. */
  let skip = 0;
  let entries = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const passed = Math.min(skip, pending.length);
        pending = pending.subarray(passed);
        skip -= passed;
        if (skip > 0 || pending.length < block) break;
        const h = pending.subarray(0, block);
        if (h.every((b) => b === 0) || cString(h.subarray(257, 262)) !== 'ustar' || ++entries > 64) return false;
        if (basename(cString(h.subarray(0, 100))) === manifestName && h[156] !== 0x35) return true;
        skip = Math.ceil((Number.parseInt(cString(h.subarray(124, 136)).trim() || '0', 8) || 0) / block) * block;
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
  for (const entry of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(dir, path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function header(path: string, size: number): Buffer {
  if (Buffer.byteLength(path) > 100) throw new Error(`path too long for the archive: ${path}`);
  const h = Buffer.alloc(block);
  h.write(path, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136); // mtime 0: the same bundle always packs to the same bytes
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Extracts `file` into `dir` (created); throws MODEL_LOAD naming the entry that is unsafe. */
export async function extractArchive(file: string, dir: string): Promise<string[]> {
  let tar: Buffer;
  try {
    tar = gunzipSync(await readFile(file), { maxOutputLength: maxUnpackedBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BentoError('MODEL_NOT_FOUND', `Model archive ${file} does not exist`, { file, cause: error, hint: 'Check the path; relative paths resolve against the current directory.' });
    throw new BentoError('MODEL_LOAD', `Model archive ${file} is not a readable .tar.gz: ${(error as Error).message}`, { file, cause: error, hint: 'Export it again with `bento-batch models export`.' });
  }
  const unsafe = (entry: string, why: string) => new BentoError('MODEL_LOAD', `Model archive ${file} has an unsafe entry "${entry}": ${why}; nothing was extracted from it`, {
    file, hint: 'Only import archives made by `bento-batch models export`.',
  });
  const entries: { path: string; data: Buffer }[] = [];
  /** The next entry's name from a PAX extended header (`path=`) or a GNU long-name entry: longer than ustar's 255 bytes, or not ASCII. */
  let longName: string | undefined;
  let ended = false;
  for (let at = 0; at + block <= tar.length;) {
    const h = tar.subarray(at, at + block);
    if (h.every((b) => b === 0)) {
      ended = true;
      break;
    }
    const name = cString(h.subarray(0, 100));
    const prefix = cString(h.subarray(345, 500));
    const path = longName ?? (prefix ? `${prefix}/${name}` : name);
    const type = String.fromCharCode(h[156] || 48);
    const size = Number.parseInt(cString(h.subarray(124, 136)).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0 || at + block + size > tar.length) throw unsafe(path, 'its size runs past the end of the archive');
    const data = tar.subarray(at + block, at + block + size);
    at += block + Math.ceil(size / block) * block;
    // Metadata of the next entry (Python's tarfile, bsdtar and `tar --format=pax` write PAX; GNU tar long names), or of the whole archive.
    if (type === 'x' || type === 'L') {
      longName = type === 'L' ? cString(data) : paxRecords(data).get('path');
      continue;
    }
    longName = undefined;
    if (type === 'g' || type === '5') continue;
    // macOS tar's AppleDouble companions (._bento.yaml): extended attributes, not bundle files.
    if (basename(path).startsWith('._')) continue;
    if (type !== '0' && type !== '7') throw unsafe(path, type === '1' || type === '2' ? 'links are not allowed' : `entry type "${type}" is not a regular file`);
    const clean = normalize(path).replace(/\/+$/, '');
    if (path.startsWith('/') || clean.startsWith('..') || clean.split(sep).includes('..') || relative(dir, join(dir, clean)).startsWith('..')) throw unsafe(path, 'it points outside the bundle');
    if (clean === '.' || clean === '') throw unsafe(path, 'it names no file');
    // Written one over the other, or a file where a folder must be: the archive was not made as one bundle.
    const clash = entries.find((e) => e.path === clean || e.path.startsWith(clean + sep) || clean.startsWith(e.path + sep));
    if (clash) throw unsafe(path, clash.path === clean ? 'it is in the archive twice' : `it and "${clash.path}" are a file and a folder of one name`);
    entries.push({ path: clean, data });
  }
  // Cut short: a copy or download that stopped, whose later files (a model's weights) are missing.
  if (!ended) {
    throw new BentoError('MODEL_LOAD', `Model archive ${file} is cut short: it ends without tar's end-of-archive blocks, so files may be missing from it`, { file, hint: 'Copy or download it again.' });
  }
  // `tar czf m.tar.gz bundle/` puts the bundle in a folder of its own: read it from there.
  const top = entries[0]?.path.split(sep)[0];
  if (top && !entries.some((e) => e.path === 'bento.yaml') && entries.some((e) => e.path === join(top, 'bento.yaml')) && entries.every((e) => e.path.startsWith(top + sep))) {
    for (const e of entries) e.path = e.path.slice(top.length + 1);
  }
  if (!entries.some((e) => e.path === manifestName)) {
    const listed = entries.slice(0, 5).map((e) => e.path).join(', ');
    throw new BentoError('MODEL_LOAD', `Model archive ${file} holds no ${manifestName}${entries.length > 0 ? ` (it holds ${listed}${entries.length > 5 ? ', …' : ''})` : ''}: it is not a bundle archive`, {
      file, hint: 'Archive a bundle (the folder pack writes, with bento.yaml and the .onnx file), e.g. with `bento-batch models export NAME:VERSION FILE.tar.gz`.',
    });
  }
  for (const { path, data } of entries) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data, { flag: 'wx' });
  }
  return entries.map((e) => e.path);
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
