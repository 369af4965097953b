/**
 * @file `bento-batch models list|show|delete|export|import`: the local model store.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BentoError, fsReason } from '../../errors.js';
import { directorySize, extractArchive, isBundleArchive, writeArchive } from '../../model/archive.js';
import { openBundle } from '../../model/bundle.js';
import { defaultMaxLength, fillText, isListInput, outputColumns } from '../../model/manifest.js';
import { rowWidth } from '../../model/shape.js';
import { deleteFromStore, listModels, modelsDir, resolveTag, saveToStore } from '../../model/store.js';

type Out = NodeJS.WritableStream;

export async function list(options: { json: boolean; warn?: (message: string) => void }, out: Out = process.stdout): Promise<void> {
  const unreadable: string[] = [];
  const models = await listModels(undefined, undefined, unreadable);
  const rows = await Promise.all(models.map(async (m) => ({ ...m, size: await directorySize(m.dir) })));
  for (const dir of unreadable) options.warn?.(`${dir}: this user may not read it (permission denied); its models are not listed`);
  if (options.json) {
    out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    out.write(`no models in ${modelsDir()} (pack one with \`bento-batch pack MODEL.onnx --name NAME\`)\n`);
    return;
  }
  const latest = new Map(rows.map((r) => [r.name, r.version]));
  const table = [['NAME', 'VERSION', 'CREATED', 'SIZE'], ...rows.map((r) => [r.name, `${r.version}${latest.get(r.name) === r.version ? ' (latest)' : ''}`, r.created, bytes(r.size)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) out.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

export async function show(options: { ref: string; json: boolean }, out: Out = process.stdout): Promise<void> {
  const stored = await resolveTag(options.ref);
  const bundle = await openBundle(stored.dir);
  const m = bundle.manifest;
  const info = {
    name: m.name, version: m.version, created: stored.created, dir: stored.dir,
    size: await directorySize(stored.dir),
    sha256: createHash('sha256').update(await readFile(bundle.modelFile)).digest('hex'),
    manifest: m,
  };
  if (options.json) {
    out.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  const lines = [
    `model    ${m.name}:${m.version}${m.description ? `  ${m.description}` : ''}`,
    `created  ${info.created}`,
    `path     ${info.dir}`,
    `size     ${bytes(info.size)}`,
    `sha256   ${info.sha256} (${m.model})`,
    `batch    max ${m.batch.max_size}${m.batch.fixed ? ' (fixed)' : ''}`,
    ...(m.text ? [`text     column "${m.text.column}" → ${m.text.tokenizer}, max_length ${m.text.max_length ?? `${defaultMaxLength} (default; the model's model_max_length where fewer)`}, truncation ${m.text.truncation ? 'on' : 'off'} → [${[m.text.input_ids, m.text.attention_mask, ...(m.text.token_type_ids ? [m.text.token_type_ids] : [])].join(', ')}]`] : []),
    'inputs',
    ...m.inputs.map((i) => `  ${i.tensor}: ${i.dtype} [${i.shape.join(', ')}] ← [${i.columns.join(', ')}]${isListInput(i) ? ` (a list of ${rowWidth(i)} a row)` : ''}${i.categories ? ` as categories [${i.categories.join(', ')}]` : ''}${i.fill !== undefined ? `, missing → ${fillText(i.fill)}` : ''}`),
    'outputs',
    ...m.outputs.map((o) => `  ${o.tensor}${o.activation && o.activation !== 'none' ? ` → ${o.activation}` : ''} → [${outputColumns(o).join(', ')}]`),
  ];
  out.write(`${lines.join('\n')}\n`);
}

export async function remove(options: { ref: string }, out: Out = process.stdout): Promise<void> {
  const model = await deleteFromStore(options.ref);
  out.write(`deleted ${model.name}:${model.version}\n`);
}

export async function exportModel(options: { ref: string; file: string }, out: Out = process.stdout): Promise<void> {
  const stored = await resolveTag(options.ref);
  const file = resolve(options.file);
  // Only a bundle archive is replaced (a re-export): a mistyped name must not take a data file with it, gzipped or not.
  if ((await stat(file).catch(() => undefined))?.isFile() && !(await isBundleArchive(file))) {
    throw new BentoError('USAGE', `Cannot write the archive ${file}: the file exists and is not a bundle archive`, { file, hint: 'Give a new file name, e.g. NAME.tar.gz, or remove the file first if it is to go.' });
  }
  await writeArchive(stored.dir, file).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === 'ENOENT' ? 'its folder does not exist' : fsReason(error) ?? error.message;
    throw new BentoError('OUTPUT_WRITE', `Cannot write the archive ${file}: ${why}`, { file, cause: error, hint: 'Give a file name (FILE.tar.gz) in an existing, writable folder.' });
  });
  out.write(`exported ${stored.name}:${stored.version} → ${file}\n`);
}

export async function importModel(options: { file: string }, out: Out = process.stdout): Promise<void> {
  const staging = await mkdtemp(join(tmpdir(), 'bento-batch-import-'));
  try {
    const archive = resolve(options.file);
    const dir = join(staging, 'bundle');
    try {
      await extractArchive(archive, dir);
      const bundle = await openBundle(dir, { confined: true });
      const stored = await saveToStore(dir, bundle.manifest.name, bundle.manifest.version, undefined, 'Change version: in the archive\'s bento.yaml');
      out.write(`imported ${stored.name}:${stored.version} → ${stored.dir}\n`);
    } catch (error) {
      // Name the archive and the file in it, not the folder it was unpacked to.
      if (!(error instanceof BentoError)) throw error;
      const inArchive = (text: string | undefined) => text?.replaceAll(`${dir}/`, `${archive}: `).replaceAll(dir, archive);
      throw new BentoError(error.code, inArchive(error.message)!, { file: archive, hint: inArchive(error.hint)?.replace(/Relative paths resolve against the current directory\.?\s*/, '') });
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}


