/**
 * Packing and the model store, as a user runs them: pack → list → show → run by tag → export
 * → delete → import → run; `latest`; safe archive extraction; and the model shapes that must
 * work (ZipMap outputs, a fixed batch dimension, inputs of four dtypes).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { assertClose, duckdb, fixtures, penguinsCsv, readJson, readRows, runCli, withTempDir } from '../helpers.js';

const shapes = join(fixtures, 'models', 'shapes');
const columns = 'features=bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g';

/** The penguins rows with all four measurements, as CSV. */
async function completeRows(dir: string): Promise<string> {
  const { header, lines } = await penguinsCsv();
  const file = join(dir, 'complete.csv');
  await writeFile(file, [header, ...lines.filter((l) => !/^[^,]*,[^,]*,(,|[^,]*,,|[^,]*,[^,]*,,|[^,]*,[^,]*,[^,]*,,)/.test(l))].join('\n'));
  return file;
}

test('pack → list → show → run by tag → export → delete → import → run', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const cli = (...args: string[]) => runCli(args, { cwd: dir, env });
  const packed = await cli('--log-format', 'text', 'pack', join(shapes, 'zipmap.onnx'), '--name', 'linear', '--version', '1.0', '--columns', columns, '--outputs', 'probabilities', '--labels', 'probabilities=a,b,c', '--activation', 'probabilities=none', '--description', 'a linear classifier');
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(packed.stderr, /^packed linear:1\.0 → .*home\/models\/linear\/1\.0$/m);
  assert.match(packed.stderr, /note: output "output_probability" is not a tensor .* is not fetched/);

  // Off a terminal its lines are JSON log events, as every command's are.
  const second = await cli('pack', join(shapes, 'zipmap.onnx'), '--name', 'linear', '--columns', columns);
  assert.equal(second.code, 0, second.stderr);
  const events = second.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; event: string; message: string });
  assert.deepEqual(events.map((e) => [e.level, e.event]), [['info', 'packed'], ['warn', 'note']]);
  const version = /packed linear:(\S+)/.exec(events[0]!.message)![1]!;
  assert.match(version, /^\d{8}-\d{6}-[0-9a-f]{6}$/, 'default versions sort by time');

  const list = await cli('models', 'list', '--json');
  const models = JSON.parse(list.stdout) as { name: string; version: string }[];
  assert.deepEqual(models.map((m) => `${m.name}:${m.version}`), ['linear:1.0', `linear:${version}`]);

  const show = await cli('models', 'show', 'linear:1.0');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^model {4}linear:1\.0 {2}a linear classifier$/m);
  assert.match(show.stdout, /^sha256 {3}[0-9a-f]{64} \(model\.onnx\)$/m);
  assert.match(show.stdout, /^ {2}probabilities → \[label, score, prob_a, prob_b, prob_c\]$/m);

  // name:1.0 by tag; `linear` alone is the newest, which maps other columns.
  const input = await completeRows(dir);
  const expected = (await readJson<{ linear: { label: number; p0: number; p1: number; p2: number }[] }>(join(shapes, 'expected.json'))).linear;
  const job = join(dir, 'job.yaml');
  await writeFile(job, `input: { path: ${input} }\nmodel: linear:1.0\nbatch: { size: 7 }\noutput: { path: out.csv, keep: [] }\n`);
  const run = await cli('run', job, '--progress', 'none');
  assert.equal(run.code, 0, run.stderr);
  const rows = await readRows(join(dir, 'out.csv'));
  assert.equal(rows.length, expected.length);
  rows.forEach((row, i) => {
    const e = expected[i]!;
    assert.equal(row.label, ['a', 'b', 'c'][e.label], `row ${i}`);
    assertClose([row.prob_a, row.prob_b, row.prob_c], [e.p0, e.p1, e.p2], 1e-6, `row ${i}`);
  });
  const latest = await cli('run', job, '--progress', 'none', '--set', 'model=linear', '--set', 'output.path=latest.csv');
  assert.equal(latest.code, 0, latest.stderr);
  const latestRows = await readRows(join(dir, 'latest.csv'));
  // The second pack maps the tensors as they are: label (int64) and probabilities_0..2.
  assert.deepEqual(Object.keys(latestRows[0]!), ['label', 'probabilities_0', 'probabilities_1', 'probabilities_2']);
  latestRows.forEach((row, i) => assert.equal(row.label, expected[i]!.label));

  assert.equal((await cli('models', 'export', 'linear:1.0', join(dir, 'linear.tar.gz'))).code, 0);
  assert.equal((await cli('models', 'delete', 'linear:1.0')).code, 0);
  const gone = await cli('--log-format', 'text', 'run', job, '--progress', 'none', '--restart');
  assert.equal(gone.code, 4);
  assert.match(gone.stderr, new RegExp(`error: Model linear:1\\.0 is not in the store .*; it has versions ${version}`));
  const imported = await cli('models', 'import', join(dir, 'linear.tar.gz'));
  assert.equal(imported.code, 0, imported.stderr);
  const again = await cli('run', job, '--progress', 'none', '--restart', '--set', 'output.path=again.csv');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await readFile(join(dir, 'again.csv'), 'utf8'), await readFile(join(dir, 'out.csv'), 'utf8'));

  // The archive itself is a job's model too.
  const archived = await cli('run', job, '--progress', 'none', '--set', `model=${join(dir, 'linear.tar.gz')}`, '--set', 'output.path=archived.csv');
  assert.equal(archived.code, 0, archived.stderr);
  assert.equal(await readFile(join(dir, 'archived.csv'), 'utf8'), await readFile(join(dir, 'out.csv'), 'utf8'));
}));

/** A ustar archive of these entries (name, type, content), with or without tar's end blocks. */
function tarOf(entries: readonly (readonly [string, string, string?])[], end = true): Buffer {
  const parts = entries.flatMap(([name, type, content = 'x']) => {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100);
    h.write('0000644\0', 100);
    h.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(type, 156);
    h.write('ustar\0', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const data = Buffer.alloc(512);
    data.write(content);
    return content.length > 0 ? [h, data] : [h];
  });
  return gzipSync(Buffer.concat([...parts, Buffer.alloc(end ? 1024 : 0)]));
}

test('import refuses archives that escape the bundle or hold links', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  for (const [name, type, why, before] of [['../evil.txt', '0', 'it points outside the bundle'], ['/etc/evil', '0', 'it points outside the bundle'], ['a/../../evil', '0', 'it points outside the bundle'], ['link', '2', 'links are not allowed'],
    ['bento.yaml', '0', 'it is in the archive twice', 'bento.yaml'], ['a/b', '0', 'it and "a" are a file and a folder of one name', 'a'], ['.', '0', 'it names no file']] as const) {
    await writeFile(join(dir, 'bad.tar.gz'), tarOf([...(before ? [[before, '0'] as const] : []), [name, type]]));
    const result = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'bad.tar.gz')], { env });
    assert.equal(result.code, 4, result.stderr);
    assert.ok(result.stderr.includes(`error: Model archive ${join(dir, 'bad.tar.gz')} has an unsafe entry "${name}": ${why}; nothing was extracted from it`), result.stderr);
  }
  // Not there, or an archive of something else; a mistyped model file is not looked for in the store.
  for (const [args, message] of [
    [['models', 'import', join(dir, 'nope.tar.gz')], `error: Model archive ${join(dir, 'nope.tar.gz')} does not exist`],
    [['inspect', join(dir, 'nope.onnx')], `error: Model file ${join(dir, 'nope.onnx')} does not exist\nhint: Check the path; \`bento-batch models list\` shows the stored models, named NAME:VERSION.`],
    [['models', 'import', join(dir, 'data.tar.gz')], `error: Model archive ${join(dir, 'data.tar.gz')} holds no bento.yaml (it holds data.csv): it is not a bundle archive`],
  ] as const) {
    await writeFile(join(dir, 'data.tar.gz'), tarOf([['data.csv', '0', 'a,b\n']]));
    const result = await runCli(['--log-format', 'text', ...args], { env });
    assert.equal(result.code, 4, result.stderr);
    assert.ok(result.stderr.startsWith(message), result.stderr);
  }
  await rm(join(dir, 'data.tar.gz'));
  // A folder entry and then a file of its name; a gzipped file that is no tar.
  await writeFile(join(dir, 'bad.tar.gz'), tarOf([['bento.yaml', '0'], ['sub/', '5', ''], ['sub', '0']]));
  const clash = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'bad.tar.gz')], { env });
  assert.equal(clash.code, 4, clash.stderr);
  assert.match(clash.stderr, /has an unsafe entry "sub": it and the folder "sub\/" are a file and a folder of one name/);
  await writeFile(join(dir, 'bad.tar.gz'), gzipSync(Buffer.from('hello world\n'.repeat(100))));
  const notTar = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'bad.tar.gz')], { env });
  assert.equal(notTar.code, 4, notTar.stderr);
  assert.match(notTar.stderr, /^error: Model archive .*bad\.tar\.gz is not a tar archive \(its first block is no tar header\)/);
  // Cut short before its end blocks, as a copy that stopped: files may be missing.
  await writeFile(join(dir, 'bad.tar.gz'), tarOf([['bento.yaml', '0']], false));
  const cut = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'bad.tar.gz')], { env });
  assert.equal(cut.code, 4, cut.stderr);
  assert.match(cut.stderr, /is cut short: it ends without tar's end-of-archive blocks, so files may be missing from it\nhint: Copy or download it again\./);
  assert.deepEqual((await readdir(dir)).sort(), ['bad.tar.gz']);
}));

test('archives other tools write are read: GNU and PAX tar (Python\'s tarfile, bsdtar), the bundle in a folder of its own, macOS\'s ._ companions, long names (exported again with PAX)', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const bundle = join(dir, 'penguins-model');
  await cp(join(fixtures, 'models', 'penguins'), bundle, { recursive: true });
  // What macOS tar adds for a file with extended attributes, and a file past ustar's 100-byte name field.
  await writeFile(join(bundle, '._bento.yaml'), 'AppleDouble');
  const long = `notes-${'x'.repeat(120)}.txt`;
  await writeFile(join(bundle, long), 'a long name');
  for (const [format, from, what] of [['gnu', bundle, '.'], ['pax', bundle, '.'], ['pax', dir, 'penguins-model']] as const) {
    const archive = join(dir, `${format}-${what === '.' ? 'flat' : 'folder'}.tar.gz`);
    execFileSync('tar', [`--format=${format}`, '-czf', archive, '-C', from, what]);
    const shown = await runCli(['inspect', archive, '--json'], { env });
    assert.equal(shown.code, 0, `${archive}: ${shown.stderr}`);
    assert.equal((JSON.parse(shown.stdout) as { manifest: { name: string } }).manifest.name, 'penguins-species');
    const imported = await runCli(['models', 'import', archive], { env });
    assert.equal(imported.code, 0, `${archive}: ${imported.stderr}`);
    const stored = join(dir, 'home', 'models', 'penguins-species', '1.0.0');
    assert.deepEqual((await readdir(stored)).sort(), ['bento.yaml', 'model.onnx', long].sort());
    assert.equal(await readFile(join(stored, long), 'utf8'), 'a long name');
    // Exported again, the long name goes in a PAX header, which tar reads as the name.
    const exported = join(dir, `${format}-${what === '.' ? 'flat' : 'folder'}-again.tar.gz`);
    const again = await runCli(['models', 'export', 'penguins-species:1.0.0', exported], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(execFileSync('tar', ['-tzf', exported], { encoding: 'utf8' }).split('\n').filter(Boolean), ['bento.yaml', 'model.onnx', long]);
    assert.equal(execFileSync('tar', ['-xzOf', exported, long], { encoding: 'utf8' }), 'a long name');
    assert.equal((await runCli(['models', 'delete', 'penguins-species:1.0.0'], { env })).code, 0);
    assert.equal((await runCli(['models', 'import', exported], { env })).code, 0);
    assert.equal(await readFile(join(stored, long), 'utf8'), 'a long name');
    assert.equal((await runCli(['models', 'delete', 'penguins-species:1.0.0'], { env })).code, 0);
  }
}));

test('pack --file may not replace the model or manifest pack checked, or name a folder; pack of a bundle folder says so', () => withTempDir(async (dir) => {
  const penguins = join(fixtures, 'models', 'penguins');
  const packed = await runCli(['--log-format', 'text', 'pack', join(penguins, 'model.onnx'), '--name', 'p', '--columns', columns, '--output', join(dir, 'out'),
    '--file', join(fixtures, 'models', 'deep-mlp', 'model.onnx'), '--file', join(penguins, 'bento.yaml'), '--file', fixtures]);
  assert.equal(packed.code, 2, packed.stderr);
  assert.equal(packed.stderr, [
    `error: Cannot pack ${join(penguins, 'model.onnx')}:`,
    `  - --file ${join(fixtures, 'models', 'deep-mlp', 'model.onnx')}: the bundle's model.onnx is the model pack checked; rename the file`,
    `  - --file ${join(penguins, 'bento.yaml')}: the bundle's bento.yaml is the manifest pack writes (give yours with --manifest); rename the file`,
    `  - --file ${fixtures}: is not a file (a folder?); give each file with a --file of its own`,
    'hint: Fix the --file flags and run again.', ''].join('\n'));
  const folder = await runCli(['--log-format', 'text', 'pack', penguins, '--name', 'p', '--output', join(dir, 'out')]);
  assert.equal(folder.code, 4, folder.stderr);
  assert.match(folder.stderr, /is a folder\nhint: pack takes the \.onnx file itself; .* is a bundle already/);
  assert.deepEqual(await readdir(dir), []);
  await symlink(join(dir, 'nowhere'), join(dir, 'link'));
  const link = await runCli(['--log-format', 'text', 'pack', join(penguins, 'model.onnx'), '--name', 'p', '--columns', columns, '--output', join(dir, 'link')]);
  assert.equal(link.code, 2, link.stderr);
  assert.match(link.stderr, /--output .*link is a symbolic link to something that does not exist/);
}));

test('name:latest orders by the packing time; a created that is no time (a hand-written manifest) orders as the oldest, and the bundle still opens', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  for (const version of ['1', '2']) assert.equal((await runCli(['pack', join(fixtures, 'models', 'penguins', 'model.onnx'), '--name', 'p', '--version', version, '--columns', columns], { env })).code, 0);
  const manifest = join(dir, 'home', 'models', 'p', '1', 'bento.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/^created: .*$/m, 'created: next week'));
  const list = JSON.parse((await runCli(['models', 'list', '--json'], { env })).stdout) as { version: string }[];
  assert.deepEqual(list.map((m) => m.version), ['1', '2']);
  const shown = await runCli(['inspect', 'p:latest', '--json'], { env });
  assert.equal((JSON.parse(shown.stdout) as { manifest: { version: string } }).manifest.version, '2');
  assert.equal((await runCli(['inspect', 'p:1'], { env })).code, 0);
  // A stored model may be named like a file: the store is asked before the name is called a mistyped path.
  assert.equal((await runCli(['pack', join(fixtures, 'models', 'penguins', 'model.onnx'), '--name', 'p.onnx', '--version', '1', '--columns', columns], { env })).code, 0);
  assert.equal((await runCli(['inspect', 'p.onnx'], { env, cwd: dir })).code, 0);
}));

test('an archive whose manifest names a model outside it is refused (import and a job\'s model:); a bundle folder of one\'s own may name one', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const other = join(fixtures, 'models', 'deep-mlp', 'model.onnx');
  await cp(join(fixtures, 'models', 'penguins'), join(dir, 'bundle'), { recursive: true });
  const manifest = join(dir, 'bundle', 'bento.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/^model: .*$/m, `model: ${join(fixtures, 'models', 'penguins', 'model.onnx')}`));
  const job = join(dir, 'job.yaml');
  await writeFile(job, `input: { path: ${join(fixtures, 'data', 'penguins.csv')} }\nmodel: bundle\noutput: { path: out.csv }\n`);
  assert.equal((await runCli(['run', job, '--progress', 'none'], { env })).code, 0, 'a folder of one\'s own');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/^model: .*$/m, `model: ${other}`));
  execFileSync('tar', ['-czf', join(dir, 'evil.tar.gz'), '-C', join(dir, 'bundle'), '.']);
  for (const args of [['models', 'import', join(dir, 'evil.tar.gz')], ['run', job, '--progress', 'none', '--set', `model=${join(dir, 'evil.tar.gz')}`]]) {
    const result = await runCli(['--log-format', 'text', ...args], { env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`model: ${other.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} names a file outside the bundle, which an archive may not`));
  }
}));

test('a fixed batch dimension runs one row at a time', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const packed = await runCli(['pack', join(shapes, 'fixed1.onnx'), '--name', 'fixed', '--version', '1', '--columns', columns, '--output', join(dir, 'bundle')], { env });
  assert.equal(packed.code, 0, packed.stderr);
  const manifest = await readFile(join(dir, 'bundle', 'bento.yaml'), 'utf8');
  assert.match(manifest, /batch:\n {2}max_size: 1\n {2}fixed: true/);
  const inspect = await runCli(['inspect', join(dir, 'bundle')]);
  assert.match(inspect.stdout, /^batch {4}fixed at 1 \(rows run 1 at a time, the last batch padded\); manifest max_size 1$/m);
  const input = await completeRows(dir);
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${input} }\nmodel: bundle\noutput: { path: out.jsonl, keep: [] }\n`);
  const run = await runCli(['run', 'job.yaml', '--progress', 'none', '--summary-json', 'summary.json'], { cwd: dir, env });
  assert.equal(run.code, 0, run.stderr);
  const expected = (await readJson<{ linear: { label: number }[] }>(join(shapes, 'expected.json'))).linear;
  const rows = await readRows(join(dir, 'out.jsonl'));
  assert.deepEqual(rows.map((r) => r.label), expected.map((e) => e.label));
  assert.equal((await readJson<{ batch: { size: number; count: number } }>(join(dir, 'summary.json'))).batch.count, expected.length);
}));

test('inputs of four dtypes (float32, int64, bool, string) and two outputs', () => withTempDir(async (dir) => {
  const cases = (await readJson<{ mixed: { x: number[]; count: number; flag: boolean; word: string; score: number; word_id: number }[] }>(join(shapes, 'expected.json'))).mixed;
  await writeFile(join(dir, 'in.jsonl'), cases.map((c) => JSON.stringify({ a: c.x[0], b: c.x[1], n: c.count, ok: c.flag, w: c.word })).join('\n'));
  const packed = await runCli(['pack', join(shapes, 'mixed.onnx'), '--name', 'mixed', '--version', '1', '--columns', 'x=a,b', '--columns', 'count=n', '--columns', 'flag=ok', '--columns', 'word=w', '--output', join(dir, 'bundle')]);
  assert.equal(packed.code, 0, packed.stderr);
  await writeFile(join(dir, 'job.yaml'), 'input: { path: in.jsonl }\nmodel: bundle\noutput: { path: out.parquet, keep: [w] }\n');
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const rows = await readRows(join(dir, 'out.parquet'));
  assert.deepEqual(rows, cases.map((c) => ({ w: c.word, score: c.score, word_id: c.word_id })));
}));

test('an empty CSV cell for a string tensor is missing whatever the output format (a bad row, null in the errors file), and a text fill scores it', () => withTempDir(async (dir) => {
  await writeFile(join(dir, 'in.csv'), 'a,b,n,ok,w\n1,2,3,true,beta\n1,2,3,true,\n1,2,3,true,""\n1,2,3,true,gamma\n');
  const packed = await runCli(['pack', join(shapes, 'mixed.onnx'), '--name', 'mixed', '--version', '1', '--columns', 'x=a,b', '--columns', 'count=n', '--columns', 'flag=ok', '--columns', 'word=w', '--output', join(dir, 'bundle')]);
  assert.equal(packed.code, 0, packed.stderr);
  for (const format of ['csv', 'jsonl']) {
    await writeFile(join(dir, 'job.yaml'), `input: { path: in.csv }\nmodel: bundle\noutput: { path: out.${format}, keep: [w] }\n`);
    const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await readRows(join(dir, `out.${format}`))).map((r) => `${r.w} ${r.word_id}`), ['beta 2', 'gamma 3'], format);
    const errors = (await readFile(join(dir, `out.${format}.errors.jsonl`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { row: number; value: unknown; hint: string });
    assert.deepEqual(errors.map((e) => [e.row, e.value]), [[2, null], [3, null]], format);
    assert.equal(errors[0]!.hint, 'Fix the row, or give tensor "word" a `fill` value in bento.yaml.');
  }
  const manifest = await readFile(join(dir, 'bundle', 'bento.yaml'), 'utf8');
  await writeFile(join(dir, 'bundle', 'bento.yaml'), manifest.replace(/(tensor: word\n(?:.*\n)*?\s+columns:\n\s+- w\n)/, '$1    fill: alpha\n'));
  const filled = await runCli(['run', 'job.yaml', '--progress', 'none', '--restart'], { cwd: dir });
  assert.equal(filled.code, 0, filled.stderr);
  assert.deepEqual((await readRows(join(dir, 'out.jsonl'))).map((r) => `${r.w} ${r.word_id}`), ['beta 2', 'null 1', 'null 1', 'gamma 3']);
}));

test('pack says which input tensors still need columns', () => withTempDir(async (dir) => {
  const result = await runCli(['--log-format', 'text', 'pack', join(shapes, 'mixed.onnx'), '--name', 'mixed', '--columns', 'x=a,b', '--columns', 'cnt=n'], { env: { BENTO_BATCH_HOME: dir } });
  assert.equal(result.code, 2);
  assert.ok(result.stderr.includes([
    `error: Cannot pack ${join(shapes, 'mixed.onnx')}:`,
    '  - input tensor "count" (int64 [batch, 1]) needs columns: add --columns count=col1,col2,…',
    '  - input tensor "flag" (bool [batch, 1]) needs columns: add --columns flag=col1,col2,…',
    '  - input tensor "word" (string [batch, 1]) needs columns: add --columns word=col1,col2,…',
    '  - --columns cnt=…: the model has no input "cnt" (it has x, count, flag, word)',
    'hint: Run `bento-batch inspect MODEL.onnx` to see the tensors.',
  ].join('\n')), result.stderr);
}));

test('pack refuses a name or version that is no folder of the store or no half of a tag, and flags it would drop, before loading the model', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const model = join(shapes, 'zipmap.onnx');
  const pack = (...args: string[]) => runCli(['--log-format', 'text', 'pack', model, ...args], { cwd: dir, env });
  const part = 'expected letters, digits, ".", "_" and "-", starting with a letter or digit, at most 200 of them';
  for (const [args, problem] of [
    [['--name', 'p', '--version', '../../evil', '--columns', columns], `--version "../../evil": ${part}`],
    [['--name', 'p', '--version', '.hidden', '--columns', columns], `--version ".hidden": ${part}`],
    [['--name', 'p', '--version', 'latest', '--columns', columns], `--version "latest": ${part}; "latest" is the tag for the newest version, not a version`],
    [['--name', 'p', '--version', '1.0+build', '--columns', columns], `--version "1.0+build": ${part}`],
    [['--name', 'bad name', '--columns', columns], `--name "bad name": ${part}`],
    [['--name', 'p', '--columns', columns, '--columns', 'features=a,b,c,d'], '--columns features=…: given more than once; give each tensor once'],
    [['--name', 'p', '--manifest', 'm.yaml', '--columns', columns], '--columns: the manifest given with --manifest describes the tensors; put it there, or leave --manifest out'],
  ] as const) {
    const result = await pack(...args);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr, `error: Cannot pack ${model}: ${problem}\nhint: Fix the flags and run again; \`bento-batch pack --help\` lists them.\n`);
  }
  const several = await pack('--name', 'p', '--max-batch', 'abc', '--columns', columns, '--columns', 'features=a');
  assert.equal(several.code, 2, several.stderr);
  assert.ok(several.stderr.startsWith(`error: Cannot pack ${model}:\n  - --max-batch: expected a positive whole number\n  - --columns features=…: given more than once; give each tensor once\n`), several.stderr);
  // A fill is checked against its tensor's dtype: numbers (or nan) for a float one.
  const fill = await pack('--name', 'p', '--columns', columns, '--fill', 'features=x');
  assert.equal(fill.code, 2, fill.stderr);
  assert.match(fill.stderr, /  - --fill features=x: expected numbers \(or nan\), e\.g\. --fill features=0\n/);
  assert.deepEqual(await readdir(dir), [], 'nothing was written, in the store or beside it');
}));

test('import takes a bundle archived in a folder of its own, names the archive in its errors, and refuses a version that would leave the store', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const { cp, mkdir, readdir } = await import('node:fs/promises');
  const { execFileSync } = await import('node:child_process');
  await mkdir(join(dir, 'src', 'bundle'), { recursive: true });
  await cp(join(fixtures, 'models', 'penguins'), join(dir, 'src', 'bundle'), { recursive: true });
  execFileSync('tar', ['czf', join(dir, 'nested.tar.gz'), '-C', join(dir, 'src'), 'bundle']);
  const imported = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'nested.tar.gz')], { env });
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /^imported penguins-species:1\.0\.0 → /);
  const again = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'nested.tar.gz')], { env });
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /^hint: Change version: in the archive's bento\.yaml, or delete it first with `bento-batch models delete penguins-species:1\.0\.0`\.$/m);

  const manifest = await readFile(join(dir, 'src', 'bundle', 'bento.yaml'), 'utf8');
  await writeFile(join(dir, 'src', 'bundle', 'bento.yaml'), manifest.replace(/^version: .*$/m, 'version: "../../evil"'));
  execFileSync('tar', ['czf', join(dir, 'evil.tar.gz'), '-C', join(dir, 'src', 'bundle'), '.']);
  const evil = await runCli(['--log-format', 'text', 'models', 'import', join(dir, 'evil.tar.gz')], { env });
  assert.equal(evil.code, 2, evil.stderr);
  assert.ok(evil.stderr.startsWith(`error: Manifest ${join(dir, 'evil.tar.gz')}: bento.yaml: version: expected a version of letters, digits, ".", "_" and "-", starting with a letter or digit, at most 200 of them, other than "latest", got \`"../../evil"\` (string)\n`), evil.stderr);
  assert.deepEqual(await readdir(join(dir, 'home')), ['models']);
  assert.deepEqual(await readdir(join(dir, 'home', 'models')), ['penguins-species']);
}));

test('export to a folder that does not exist, or onto a folder, is an output error naming the path (exit 5)', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'folder'));
  const packed = await runCli(['pack', join(shapes, 'zipmap.onnx'), '--name', 'linear', '--version', '1', '--columns', columns], { env });
  assert.equal(packed.code, 0, packed.stderr);
  for (const [target, why] of [[join(dir, 'missing', 'x.tar.gz'), 'its folder does not exist'], [join(dir, 'folder'), 'it is a directory']] as const) {
    const result = await runCli(['--log-format', 'text', 'models', 'export', 'linear:1', target], { env });
    assert.equal(result.code, 5, result.stderr);
    assert.equal(result.stderr, `error: Cannot write the archive ${target}: ${why}\nhint: Give a file name (FILE.tar.gz) in an existing, writable folder.\n`);
  }
}));

test('pack --labels on an output that already holds probabilities adds no softmax (and says so); --labels, --fill or --activation naming no tensor of the model is refused', () => withTempDir(async (dir) => {
  const packed = await runCli(['--log-format', 'text', 'pack', join(shapes, 'zipmap.onnx'), '--name', 'zm', '--version', '1', '--columns', columns, '--labels', 'probabilities=a,b,c', '--output', join(dir, 'zm')]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(packed.stderr, /^note: output "probabilities" already holds probabilities \(each row sums to 1\): no softmax on it; give --activation probabilities=softmax to apply one$/m);
  assert.match(await readFile(join(dir, 'zm', 'bento.yaml'), 'utf8'), /- tensor: probabilities\n {4}activation: none\n/);
  const input = await completeRows(dir);
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${input} }\nmodel: zm\noutput: { path: out.csv, keep: [] }\n`);
  const run = await runCli(['run', 'job.yaml', '--progress', 'none'], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  const expected = (await readJson<{ linear: { p0: number; p1: number; p2: number }[] }>(join(shapes, 'expected.json'))).linear;
  const rows = await readRows(join(dir, 'out.csv'));
  rows.forEach((row, i) => assertClose([row.probabilities_prob_a, row.probabilities_prob_b, row.probabilities_prob_c], [expected[i]!.p0, expected[i]!.p1, expected[i]!.p2], 1e-6, `row ${i}`));

  const unknown = await runCli(['--log-format', 'text', 'pack', join(fixtures, 'models', 'penguins', 'model.onnx'), '--name', 'p', '--columns', columns, '--labels', 'logit=a,b,c', '--fill', 'feature=1,2,3,4', '--activation', 'logit=none', '--output', join(dir, 'p')]);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.ok(unknown.stderr.includes('  - --fill feature=…: the model has no input "feature" (it has features)\n  - --labels logit=…: the model has no tensor output "logit" (it has logits)\n  - --activation logit=…: the model has no tensor output "logit" (it has logits)\n'), unknown.stderr);
}));

test('pack without --version, twice in one second: the second gets -2, not "already in the store, choose another --version"', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const { createHash } = await import('node:crypto');
  const { mkdir } = await import('node:fs/promises');
  const model = join(shapes, 'zipmap.onnx');
  const hash = createHash('sha256').update(await readFile(model)).digest('hex').slice(0, 6);
  // The versions this second and the next would take, already in the store (a pack a moment ago).
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const now = Date.now();
  for (const t of [now, now + 1000, now + 2000]) await mkdir(join(dir, 'home', 'models', 'linear', `${stamp(t)}-${hash}`), { recursive: true });
  const packed = await runCli(['--log-format', 'text', 'pack', model, '--name', 'linear', '--columns', columns], { env });
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(packed.stderr, new RegExp(`^packed linear:\\d{8}-\\d{6}-${hash}-2 → `, 'm'));
}));

test('output dtypes as exporters write them: float16 as its values (not its bit patterns), bool as true/false, uint64 past 2^63 exactly (UBIGINT in Parquet), int64 ids past 2^53 exactly also from a CSV written to CSV', () => withTempDir(async (dir) => {
  // pack maps every output with a batch dimension and says it leaves out "prior" (shape [3]).
  const packed = await runCli(['--log-format', 'text', 'pack', join(shapes, 'outputs.onnx'), '--name', 'outs', '--version', '1', '--columns', 'x=a,b', '--columns', 'id=id', '--output', join(dir, 'bundle')]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.match(packed.stderr, /note: output "prior" has shape \[3\], no batch dimension: it holds no value per row and is not mapped/);
  assert.doesNotMatch(await readFile(join(dir, 'bundle', 'bento.yaml'), 'utf8'), /prior/);
  await writeFile(join(dir, 'in.csv'), 'a,b,id\n1.5,0.1,9007199254740993\n-2,65504,1234567890123456789\n0.333,-0.0001,5\n');
  const expected = [
    { half_0: 1.5, half_1: 0.0999755859375, flag: true, big: 9223372036854775809n, id_out: 9007199254740993n },
    { half_0: -2, half_1: 65504, flag: false, big: 18446744073709551615n, id_out: 1234567890123456789n },
    { half_0: 0.3330078125, half_1: -0.00010001659393310547, flag: true, big: 9223372036854775809n, id_out: 5n },
  ];
  for (const format of ['csv', 'jsonl', 'parquet']) {
    const out = join(dir, `out.${format}`);
    await writeFile(join(dir, `${format}.yaml`), `input: { path: in.csv }\nmodel: bundle\noutput: { path: out.${format}, keep: [] }\ncheckpoint: false\n`);
    const result = await runCli(['run', join(dir, `${format}.yaml`), '--progress', 'none']);
    assert.equal(result.code, 0, result.stderr);
    const rows = await duckdb(`SELECT half_0::DOUBLE AS half_0, half_1::DOUBLE AS half_1, flag, big::UBIGINT AS big, id_out::BIGINT AS id_out FROM ${format === 'csv' ? `read_csv('${out}', all_varchar = true)` : `'${out}'`}`);
    // float16 values printed as float32's shortest digits read back as the same double here.
    assert.deepEqual(rows.map((r) => ({ ...r, half_0: Math.fround(r.half_0 as number), half_1: Math.fround(r.half_1 as number), flag: r.flag === true || r.flag === 'true' })), expected.map((e) => ({ ...e, half_0: Math.fround(e.half_0), half_1: Math.fround(e.half_1) })), format);
    if (format === 'parquet') {
      const [types] = await duckdb(`SELECT typeof(big) AS big, typeof(flag) AS flag, typeof(half_0) AS half FROM '${out}' LIMIT 1`);
      assert.deepEqual(types, { big: 'UBIGINT', flag: 'BOOLEAN', half: 'FLOAT' });
    } else assert.match(await readFile(out, 'utf8'), format === 'csv' ? /^1\.5,0\.099975586,true,9223372036854775809,9007199254740993$/m : /"flag":true,"big":9223372036854775809,"id_out":9007199254740993/);
  }
  // Mapped by hand, the constant output stops the run naming it: read as rows it was junk.
  const manifest = join(dir, 'bundle', 'bento.yaml');
  await writeFile(manifest, `${await readFile(manifest, 'utf8')}  - tensor: prior\n    columns: { values: [p0, p1, p2] }\n`);
  await writeFile(join(dir, 'in.csv'), 'a,b,id\n1,1,1\n2,2,2\n3,3,3\n4,4,4\n');
  const prior = await runCli(['--log-format', 'text', 'run', join(dir, 'csv.yaml'), '--progress', 'none']);
  assert.equal(prior.code, 4, prior.stderr);
  assert.match(prior.stderr, /^error: Output tensor "prior" has dims \[3\] for a batch of 4 row\(s\): its first dimension is not the batch, so it holds no value per row$/m);
}));

test('pack: weights saved as external data go into the bundle (it loads and scores); a softmax over one value, or a model with no batch dimension, is refused with what to do', () => withTempDir(async (dir) => {
  const packed = await runCli(['pack', join(shapes, 'external', 'model.onnx'), '--name', 'ext', '--version', '1', '--columns', columns, '--output', join(dir, 'bundle')]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.deepEqual((await import('node:fs')).readdirSync(join(dir, 'bundle')).sort(), ['bento.yaml', 'model.onnx', 'model.onnx.data']);
  await writeFile(join(dir, 'job.yaml'), `input: { path: ${join(fixtures, 'data', 'penguins.csv')} }\nmodel: bundle\noutput: { path: out.csv, keep: [] }\nerrors: { emit: skip }\n`);
  const run = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const expected = (await readJson<{ linear: { p0: number; p1: number; p2: number }[] }>(join(shapes, 'expected.json'))).linear;
  assertClose((await readRows(join(dir, 'out.csv'))).map((r) => [r.probabilities_0, r.probabilities_1, r.probabilities_2].map(Number)), expected.map((e) => [e.p0, e.p1, e.p2]), 1e-6);
  const softmax = await runCli(['--log-format', 'text', 'pack', join(shapes, 'mixed.onnx'), '--name', 'm', '--columns', 'x=a,b', '--columns', 'count=n', '--columns', 'flag=ok', '--columns', 'word=w', '--labels', 'score=churn', '--output', join(dir, 'm')]);
  assert.equal(softmax.code, 2, softmax.stderr);
  assert.match(softmax.stderr, /--labels score=churn: output "score" has one value per row, and a softmax over one value is always 1\nhint: For one score \(a sigmoid probability\), leave --labels score out: it becomes a value column; for a logit, add --activation score=sigmoid\./);
}));


test('a mistyped stored name is answered with the closest one; a bare bento-batch off a terminal says no command was given', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  assert.equal((await runCli(['pack', join(fixtures, 'models', 'penguins', 'model.onnx'), '--name', 'penguins', '--version', '1', '--columns', columns], { env })).code, 0);
  const typo = await runCli(['--log-format', 'text', 'inspect', 'pengins:1'], { env });
  assert.equal(typo.code, 4, typo.stderr);
  assert.equal(typo.stderr, `error: Model pengins:1 is not in the store ${join(dir, 'home', 'models')}; did you mean penguins?\nhint: Use penguins:1; \`bento-batch models list\` shows what is stored.\n`);
  const bare = await runCli(['--log-format', 'json']);
  assert.equal(bare.code, 2);
  assert.equal((JSON.parse(bare.stderr.trim().split('\n').at(-1)!) as { message: string }).message, 'no command given');
}));

test('pack refuses graphs that hold no row a batch row (a batch second in an input or an output, an output of two rows a row, a constant), where a run read them as rows with exit 0; flag mistakes are the flags\' (exit 2) and name no staging file', () => withTempDir(async (dir) => {
  const pack = (model: string, ...args: string[]) => runCli(['--log-format', 'text', 'pack', join(shapes, model), '--name', 'm', '--version', '1', '--output', join(dir, model), ...args]);
  await writeFile(join(dir, 'second.yaml'), ['bento: 1', 'name: m', 'version: "1"', 'model: model.onnx', 'inputs:', '  - { tensor: x, dtype: float32, shape: [batch, 4], columns: [a, b, c, d] }', 'outputs:', '  - { tensor: y, columns: { values: [y] } }'].join('\n'));
  const cases: [string, string[], RegExp][] = [
    ['batch_second.onnx', ['--manifest', join(dir, 'second.yaml')], /the model's input "x" is \[4, N\], fixed first and dynamic at dimension 1: its batch is not the first dimension/],
    ['transpose_out.onnx', ['--columns', 'x=a,b,c,d', '--outputs', 'y'], /the model's output "y" is \[4, N\], fixed first and dynamic after: its batch is not the first dimension/],
    ['double_rows.onnx', ['--columns', 'x=a,b,c,d'], /Output tensor "y" has dims \[4, 2\] for a batch of 2 row\(s\): its first dimension is not the batch/],
    ['outputs.onnx', ['--columns', 'x=a,b', '--columns', 'id=id', '--outputs', 'half,prior'], /Output tensor "prior" has dims \[3\] for a batch of 2 row\(s\)/],
  ];
  for (const [model, args, message] of cases) {
    const packed = await pack(model, ...args);
    assert.notEqual(packed.code, 0, model);
    assert.match(packed.stderr, message, model);
    assert.doesNotMatch(packed.stderr, /bento-batch-pack-/, model);
  }
  // --labels asks for a softmax, which an integer output cannot take: the flags' fault, said as theirs.
  const labels = await pack('int_scores.onnx', '--columns', 'x=a,b,c', '--labels', 'y=p,q,r');
  assert.equal(labels.code, 2, labels.stderr);
  assert.match(labels.stderr, /^error: Cannot pack .*int_scores\.onnx: the manifest made from the flags does not match the model/m);
  assert.doesNotMatch(labels.stderr, /bento-batch-pack-/);
  // --max-batch is a whole number as written: 1e3 is no 1.
  const max = await pack('metadata.onnx', '--columns', 'x=a,b', '--max-batch', '1e3');
  assert.equal(max.code, 2, max.stderr);
  assert.match(max.stderr, /--max-batch: expected a positive whole number/);
  // --output under a file: a usage error, not an internal one.
  await writeFile(join(dir, 'afile'), '');
  const under = await runCli(['--log-format', 'text', 'pack', join(shapes, 'metadata.onnx'), '--name', 'm', '--columns', 'x=a,b', '--output', join(dir, 'afile', 'sub')]);
  assert.equal(under.code, 2, under.stderr);
  assert.match(under.stderr, /--output .*afile\/sub: its folder .*afile cannot be made/);
}));

test('pack: a linear classifier whose bias sums to 1 keeps its softmax (the probe\'s rows are no zeros); a metadata key "location" is no external data file', () => withTempDir(async (dir) => {
  const packed = await runCli(['--log-format', 'text', 'pack', join(shapes, 'bias_probs.onnx'), '--name', 'b', '--version', '1', '--columns', 'x=a,b', '--labels', 'logits=cat,dog,cow', '--output', join(dir, 'bias')]);
  assert.equal(packed.code, 0, packed.stderr);
  assert.doesNotMatch(packed.stderr, /already holds probabilities/);
  assert.match(await readFile(join(dir, 'bias', 'bento.yaml'), 'utf8'), /activation: softmax/);
  const meta = await runCli(['--log-format', 'text', 'pack', join(shapes, 'metadata.onnx'), '--name', 'meta', '--version', '1', '--columns', 'x=a,b', '--output', join(dir, 'meta')]);
  assert.equal(meta.code, 0, meta.stderr);
  assert.deepEqual((await readdir(join(dir, 'meta'))).sort(), ['bento.yaml', 'model.onnx']);
}));

test('the last version deleted takes its name along (no "did you mean" the name itself); a folder of a tag\'s name holding no bundle hides no stored model; inspect says which outputs hold no value a row', () => withTempDir(async (dir) => {
  const env = { BENTO_BATCH_HOME: join(dir, 'home') };
  const columns = 'x=a,b';
  assert.equal((await runCli(['pack', join(shapes, 'metadata.onnx'), '--name', 'meta', '--version', '1', '--columns', columns], { env })).code, 0);
  await mkdir(join(dir, 'meta'));
  const inspected = await runCli(['--log-format', 'text', 'inspect', 'meta'], { cwd: dir, env });
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.match(inspected.stdout, /^bundle {3}meta:1/m);
  assert.equal((await runCli(['models', 'delete', 'meta:1'], { env })).code, 0);
  const gone = await runCli(['--log-format', 'text', 'models', 'show', 'meta'], { env });
  assert.equal(gone.code, 4, gone.stderr);
  assert.doesNotMatch(gone.stderr, /did you mean/);
  assert.deepEqual(await readdir(join(dir, 'home', 'models')), []);
  const outputs = await runCli(['--log-format', 'text', 'inspect', join(shapes, 'outputs.onnx')]);
  assert.match(outputs.stdout, /prior: float32 \[3\] {2}\(no batch dimension: a per-model constant, no value per row\)/);
  const transposed = await runCli(['--log-format', 'text', 'inspect', join(shapes, 'transpose_out.onnx')]);
  assert.match(transposed.stdout, /y: float32 \[4, N\] {2}\(its batch is not the first dimension: no value per row\)/);
}));

test('pack and run take a model exported at batch 1 whose output\'s later dimension is open ([1, K]), and a float column carrying a category code (the probe\'s rows are ones and zeros, valid codes)', () => withTempDir(async (dir) => {
  const packed = await runCli(['--log-format', 'text', 'pack', join(shapes, 'fixed1_open.onnx'), '--name', 'f', '--version', '1', '--columns', 'x=a,b,c', '--output', join(dir, 'fixed')]);
  assert.equal(packed.code, 0, packed.stderr);
  await writeFile(join(dir, 'in.csv'), 'a,b,c\n1,2,3\n4,5,6\n7,8,9\n');
  await writeFile(join(dir, 'job.yaml'), ['input: { path: in.csv }', 'model: fixed', 'output: { path: out.csv, keep: [] }'].join('\n'));
  const run = await runCli(['run', join(dir, 'job.yaml'), '--progress', 'none']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(await readFile(join(dir, 'out.csv'), 'utf8'), 'y_0,y_1,y_2\n1,2,3\n4,5,6\n7,8,9\n');
  const coded = await runCli(['--log-format', 'text', 'pack', join(shapes, 'code_embedding.onnx'), '--name', 'c', '--version', '1', '--columns', 'x=a,b,code,d', '--output', join(dir, 'coded')]);
  assert.equal(coded.code, 0, coded.stderr);
}));
