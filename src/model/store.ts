/**
 * @file The local model store: bundles saved under `<home>/models/<name>/<version>/`, found by
 * tag (`name:version`, `name:latest`, or `name` for latest). Home is $BENTO_BATCH_HOME or
 * ~/.bento-batch.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BentoError, didYouMean, type Environment } from '../errors.js';
import { directorySize } from './archive.js';
import { isTime, isVersion, manifestName, readManifest, tagPart, tagPartWords } from './manifest.js';

export interface StoredModel {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  /** ISO time the bundle was packed (from its manifest), or the directory's time. */
  readonly created: string;
}

export const homeDir = (env: Environment = process.env) => env.BENTO_BATCH_HOME || join(userHome(), '.bento-batch');

/** The user's home; a process with no HOME and a uid with no user entry (OpenShift, docker --user 12345) has none. */
function userHome(): string {
  try {
    return homedir();
  } catch (error) {
    throw new BentoError('USAGE', 'This process has no home directory (no HOME, and its user id has no entry) for the model store and its cache', {
      cause: error, hint: 'Set BENTO_BATCH_HOME (or HOME) to a writable folder.',
    });
  }
}
export const modelsDir = (env?: Environment) => join(homeDir(env), 'models');

/** `name`, `name:latest` or `name:version`: a reference the store can resolve. */
export function parseTag(ref: string): { name: string; version: string | undefined } | undefined {
  const [name, version, extra] = ref.split(':');
  if (extra !== undefined || !name || !tagPart.test(name) || (version !== undefined && !tagPart.test(version))) return undefined;
  return { name, version: version === 'latest' ? undefined : version };
}

/**
 * Every stored version of every model (or of `name`), oldest first within a name. A folder this
 * user may not read (another user's import under umask 077) is not passed over as if absent:
 * with `name`, it stops with a message saying so; listing all, it goes to `unreadable`.
 */
export async function listModels(name?: string, env?: Environment, unreadable?: string[]): Promise<StoredModel[]> {
  const root = modelsDir(env);
  const denied = (error: NodeJS.ErrnoException) => error.code === 'EACCES' || error.code === 'EPERM';
  const hint = 'Give this user read access to the store (chmod -R a+rX, or a group), or use a BENTO_BATCH_HOME of its own.';
  const stored = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (!denied(error)) return [] as string[];
    if (!name) unreadable?.push(root);
    else throw new BentoError('MODEL_NOT_FOUND', `The model store ${root} cannot be read by this user (permission denied), so model ${name} cannot be looked up`, { file: root, hint });
    return [] as string[];
  });
  const names = name ? [name] : stored;
  const out: StoredModel[] = [];
  for (const n of names.sort()) {
    const versions = await readdir(join(root, n), { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (!denied(error)) return [];
      if (!name) unreadable?.push(join(root, n));
      else throw new BentoError('MODEL_NOT_FOUND', `Model ${n} is in the store ${root}, but this user may not read its folder ${join(root, n)} (permission denied)`, { file: join(root, n), hint });
      return [];
    });
    const models: StoredModel[] = [];
    for (const v of versions) {
      if (!v.isDirectory() || v.name.startsWith('.')) continue;
      const dir = join(root, n, v.name);
      const manifest = (await readManifest(join(dir, manifestName)).catch(() => ({}))) as { created?: unknown };
      // Pack writes an ISO time; other text (a hand-written manifest's) orders as the oldest, never as the newest.
      const created = typeof manifest.created === 'string' ? manifest.created : (await stat(dir)).mtime.toISOString();
      models.push({ name: n, version: v.name, dir, created });
    }
    // Newest last: by creation time, then version (timestamp versions sort by time too).
    const time = (m: StoredModel) => (isTime(m.created) ? Date.parse(m.created) : Number.NEGATIVE_INFINITY);
    models.sort((a, b) => time(a) - time(b) || a.created.localeCompare(b.created, 'en') || a.version.localeCompare(b.version, 'en', { numeric: true }));
    out.push(...models);
  }
  return out;
}

/** Resolves a tag to a stored bundle; `name` and `name:latest` mean the newest version. */
export async function resolveTag(ref: string, env?: Environment): Promise<StoredModel> {
  const tag = parseTag(ref);
  if (!tag) throw new BentoError('MODEL_NOT_FOUND', `"${ref}" is not a model tag (name, name:latest or name:version)`, { hint: 'Give a bundle directory, a bundle archive (.tar.gz) or a tag from `bento-batch models list`.' });
  const versions = await listModels(tag.name, env);
  const found = tag.version === undefined ? versions.at(-1) : versions.find((m) => m.version === tag.version);
  if (!found) {
    const known = versions.map((m) => m.version);
    // A mistyped name: the stored name closest to it.
    // (Not the name itself: a folder left without versions.)
    const closest = known.length ? undefined : didYouMean(tag.name, (await readdir(modelsDir(env)).catch(() => [] as string[])).filter((name) => name !== tag.name));
    throw new BentoError('MODEL_NOT_FOUND', `Model ${ref} is not in the store ${modelsDir(env)}${known.length ? `; it has versions ${known.join(', ')}` : closest ? `; did you mean ${closest}?` : ''}`, {
      hint: known.length ? `Use one of ${known.map((v) => `${tag.name}:${v}`).join(', ')} or ${tag.name}:latest.`
        : closest ? `Use ${closest}${tag.version !== undefined ? `:${tag.version}` : ''}; \`bento-batch models list\` shows what is stored.`
          : 'Pack it first with `bento-batch pack MODEL.onnx --name NAME`, or import it with `bento-batch models import FILE.tar.gz`. `bento-batch models list` shows what is stored.',
    });
  }
  return found;
}

/** Copies a bundle directory into the store as name:version, atomically; refuses to overwrite. */
export async function saveToStore(bundleDir: string, name: string, version: string, env?: Environment, another = 'Choose another --version'): Promise<StoredModel> {
  // The manifest was checked; this guards the folder names themselves (a path outside the store).
  if (!tagPart.test(name) || !isVersion(version)) throw new BentoError('USAGE', `Cannot store a model as ${name}:${version}: a name and a version are ${tagPartWords}`, { hint: 'Choose another name or version.' });
  const dir = join(modelsDir(env), name, version);
  const taken = () => new BentoError('USAGE', `Model ${name}:${version} is already in the store (${dir})`, { hint: `${another}, or delete it first with \`bento-batch models delete ${name}:${version}\`.` });
  if (await stat(dir).catch(() => undefined)) throw taken();
  const temp = join(modelsDir(env), name, `.${version}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(temp, { recursive: true });
  try {
    await cp(bundleDir, temp, { recursive: true });
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // Another pack or import of the same tag got there between the look and the rename.
    if (['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw taken();
    throw error;
  }
  return (await listModels(name, env)).find((m) => m.version === version)!;
}

/** Removes name:version from the store. */
export async function deleteFromStore(ref: string, env?: Environment): Promise<StoredModel> {
  const tag = parseTag(ref);
  if (!tag?.version) throw new BentoError('USAGE', `Expected NAME:VERSION to delete, got "${ref}"`, { hint: 'Name the version explicitly; `bento-batch models list` shows them.' });
  const model = await resolveTag(ref, env);
  await rm(model.dir, { recursive: true, force: true });
  // The name's folder goes with its last version (a name without versions is no stored model).
  await rmdir(join(modelsDir(env), tag.name)).catch(() => undefined);
  return model;
}

export { directorySize };
