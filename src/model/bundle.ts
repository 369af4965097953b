/**
 * @file A packed model on disk: a directory with bento.yaml and the ONNX file it names.
 * The store (name:version tags) will resolve to one of these.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BentoError, type Environment, fsReason, unreachable } from '../errors.js';
import { extractArchive } from './archive.js';
import { type Manifest, manifestName, outsideBundle, parseManifest, readManifest } from './manifest.js';
import { homeDir, parseTag, resolveTag } from './store.js';

export interface Bundle {
  /** What the job named: a directory, an archive or a tag. */
  readonly ref?: string;
  readonly dir: string;
  readonly manifestFile: string;
  readonly modelFile: string;
  readonly manifest: Manifest;
}

export { manifestName };

/** Reads and validates a bundle directory; throws MODEL_NOT_FOUND or MANIFEST_INVALID. */
export async function openBundle(path: string, options: { readonly confined?: boolean } = {}): Promise<Bundle> {
  const dir = resolve(path);
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => unreachable(error, 'MODEL_NOT_FOUND', 'Model bundle', dir));
  if (info === undefined) {
    throw new BentoError('MODEL_NOT_FOUND', `Model bundle ${dir} does not exist`, { file: dir, hint: 'Set model to a bundle directory holding bento.yaml and the .onnx file.' });
  }
  if (!info.isDirectory()) {
    throw new BentoError('MODEL_NOT_FOUND', `Model ${dir} is a file, expected a bundle directory holding ${manifestName} and the .onnx file`, {
      file: dir, hint: 'Point model at the bundle directory (the folder that contains bento.yaml).',
    });
  }
  const manifestFile = join(dir, manifestName);
  const unreadable = (file: string) => new BentoError('MODEL_LOAD', `${file === manifestFile ? 'Manifest' : 'Model file'} ${file} cannot be read: permission denied`, {
    file, hint: 'Give this user read access to the bundle\'s files (a store packed under umask 077 is readable by its owner only).',
  });
  await access(manifestFile, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EACCES' || error.code === 'EPERM') throw unreadable(manifestFile);
  });
  const manifest = parseManifest(await readManifest(manifestFile), manifestFile);
  const outside = options.confined ? outsideBundle(manifest) : undefined;
  if (outside !== undefined) {
    throw new BentoError('MANIFEST_INVALID', `Manifest ${manifestFile}: ${outside} names a file outside the bundle, which an archive may not`, {
      file: manifestFile, hint: 'Name the files inside the bundle (model: model.onnx) and archive them with it; a bundle folder of your own may link to a file kept elsewhere (ln -s /models/m.onnx bundle/model.onnx).',
    });
  }
  const modelFile = resolve(dir, manifest.model);
  if (!(await stat(modelFile).catch(() => undefined))?.isFile()) {
    throw new BentoError('MODEL_NOT_FOUND', `Model file ${modelFile} named in ${manifestFile} does not exist`, { file: modelFile, hint: 'Fix `model:` in bento.yaml or copy the .onnx file into the bundle.' });
  }
  await access(modelFile, constants.R_OK).catch(() => {
    throw unreadable(modelFile);
  });
  return { dir, manifestFile, modelFile, manifest };
}

/**
 * Finds the bundle a job's `model:` names: a bundle directory, a bundle archive (extracted once
 * into the store's cache), or a store tag (`name`, `name:latest`, `name:version`).
 */
export async function resolveBundle(ref: string, baseDir: string, env?: Environment): Promise<Bundle> {
  const path = resolve(baseDir, ref);
  const missingFile = () => new BentoError('MODEL_NOT_FOUND', `Model file ${path} does not exist`, {
    file: path, hint: `Check the path${ref.startsWith('/') ? '' : ` (relative to ${baseDir})`}; \`bento-batch models list\` shows the stored models, named NAME:VERSION.`,
  });
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() && /\.(tar\.gz|tgz)$/i.test(path)) return { ...(await openBundle(await extractCached(path, env), { confined: true })), ref };
  if (info?.isFile() && path.toLowerCase().endsWith('.onnx')) {
    throw new BentoError('MODEL_NOT_FOUND', `Model ${path} is a bare ONNX file, not a packed bundle`, {
      file: path, hint: `Pack it first: bento-batch pack ${ref} --name NAME --columns TENSOR=col1,col2 (see \`bento-batch inspect ${ref}\` for its tensors).`,
    });
  }
  if (info === undefined && parseTag(ref) && !ref.includes('/')) {
    const stored = await resolveTag(ref, env).catch((error: unknown) => {
      // A file's name that is no stored model's either (a tag may hold dots): a mistyped path.
      if (/\.(onnx|tar\.gz|tgz)$/i.test(ref) && error instanceof BentoError && error.code === 'MODEL_NOT_FOUND') throw missingFile();
      throw error;
    });
    return { ...(await openBundle(stored.dir)), ref };
  }
  if (info === undefined && /\.(onnx|tar\.gz|tgz)$/i.test(ref)) throw missingFile();
  // A folder of the tag's name that is no bundle (no bento.yaml: an output folder, a checkout) hides no stored model.
  if (info?.isDirectory() && parseTag(ref) && !ref.includes('/') && !(await stat(join(path, manifestName)).catch(() => undefined))) {
    const stored = await resolveTag(ref, env).catch(() => undefined);
    if (stored) return { ...(await openBundle(stored.dir)), ref };
  }
  return { ...(await openBundle(path)), ref };
}

async function extractCached(archive: string, env?: Environment): Promise<string> {
  // Streamed: an archive of gigabytes is not read into memory to be named.
  const hash = createHash('sha256');
  for await (const piece of createReadStream(archive) as AsyncIterable<Buffer>) hash.update(piece);
  const sha = hash.digest('hex');
  const dir = join(homeDir(env), 'cache', sha.slice(0, 32));
  if (await stat(join(dir, manifestName)).catch(() => undefined)) return dir;
  const temp = `${dir}.${process.pid}.tmp`;
  try {
    await rm(temp, { recursive: true, force: true });
    await extractArchive(archive, temp);
    await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another run extracted the same archive meanwhile: use theirs.
      await rm(temp, { recursive: true, force: true });
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    if (error instanceof BentoError || typeof e.code !== 'string') throw error;
    // A read-only root file system (Kubernetes' readOnlyRootFilesystem) makes mkdir say ENOENT.
    const why = e.code === 'ENOENT' ? 'a folder on the way cannot be made (a read-only file system?)' : fsReason(e) ?? e.message;
    throw new BentoError('OUTPUT_WRITE', `Cannot unpack model archive ${archive} into the cache ${dir}: ${why}`, {
      file: dir, cause: error, hint: 'Set BENTO_BATCH_HOME to a writable folder (on a read-only root file system, an emptyDir volume), or unpack the archive and set model to its folder.',
    });
  }
  return dir;
}
