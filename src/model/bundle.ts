/**
 * @file A packed model on disk: a directory with bento.yaml and the ONNX file it names.
 * The store (name:version tags) will resolve to one of these.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readYaml } from '../config.js';
import { BentoError } from '../errors.js';
import { type Manifest, parseManifest } from './manifest.js';

export interface Bundle {
  readonly dir: string;
  readonly manifestFile: string;
  readonly modelFile: string;
  readonly manifest: Manifest;
}

export const manifestName = 'bento.yaml';

/** Reads and validates a bundle directory; throws MODEL_NOT_FOUND or MANIFEST_INVALID. */
export async function openBundle(path: string): Promise<Bundle> {
  const dir = resolve(path);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) {
    throw new BentoError('MODEL_NOT_FOUND', `Model bundle ${dir} does not exist`, { file: dir, hint: 'Set model to a bundle directory holding bento.yaml and the .onnx file.' });
  }
  if (!info.isDirectory()) {
    throw new BentoError('MODEL_NOT_FOUND', `Model ${dir} is a file, expected a bundle directory holding ${manifestName} and the .onnx file`, {
      file: dir, hint: 'Point model at the bundle directory (the folder that contains bento.yaml).',
    });
  }
  const manifestFile = join(dir, manifestName);
  const manifest = parseManifest(await readYaml(manifestFile, 'MANIFEST_INVALID', 'Manifest'), manifestFile);
  const modelFile = resolve(dir, manifest.model);
  if (!(await stat(modelFile).catch(() => undefined))?.isFile()) {
    throw new BentoError('MODEL_NOT_FOUND', `Model file ${modelFile} named in ${manifestFile} does not exist`, { file: modelFile, hint: 'Fix `model:` in bento.yaml or copy the .onnx file into the bundle.' });
  }
  return { dir, manifestFile, modelFile, manifest };
}
