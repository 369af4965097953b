/** The warning where a cgroup's memory limit is below what a run may take (src/run/memory.ts). */
import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryLimitWarning } from '../../src/run/memory.js';
import { root, runCliInShell, withTempDir } from '../helpers.js';

const MB = 1024 ** 2;

test('no warning without a limit (node reports none, or 2^64 for an unlimited cgroup v1) or with room for the heaps, node and the weights', () => {
  assert.equal(memoryLimitWarning(256, 5 * MB, 2, undefined), undefined);
  assert.equal(memoryLimitWarning(256, 5 * MB, 2, 18446744073709552000), undefined);
  assert.equal(memoryLimitWarning(256, 5 * MB, 2, 512 * MB), undefined);
  assert.equal(memoryLimitWarning(256, 0, 2, 356 * MB), undefined);
});

test('a limit below limits.memory + node + the weights in each session is warned of, with what to set', () => {
  assert.equal(memoryLimitWarning(256, 0, 2, 300 * MB),
    'the process may use 300 MB (its cgroup\'s memory limit), less than limits.memory (256 MB) + ~100 MB for node and onnxruntime: the kernel may kill the run (exit 137, OOMKilled; it resumes from its checkpoint). Set limits.memory to 200MB or less, or raise the container\'s memory limit.');
  assert.match(memoryLimitWarning(256, 100 * MB, 2, 512 * MB) ?? '', /\+ the model's weights in 2 session\(s\) \(200 MB\): .* Set limits\.memory to 212MB or less/);
  // Too little for any heap: only a larger limit (or fewer sessions) helps.
  assert.match(memoryLimitWarning(256, 100 * MB, 2, 300 * MB) ?? '', /Raise the container's memory limit, or lower batch\.concurrency \(a model session each\)\.$/);
});

test('a run in a cgroup whose memory limit is too small for limits.memory warns, and one with limits.memory lowered does not', async (t) => {
  const cgroup = `/sys/fs/cgroup/memory/bento-batch-test-${process.pid}`;
  try {
    mkdirSync(cgroup);
    writeFileSync(join(cgroup, 'memory.limit_in_bytes'), String(300 * MB));
  } catch {
    return t.skip('needs a cgroup v1 memory hierarchy this user may write');
  }
  t.after(() => rmdirSync(cgroup));
  await withTempDir(async (dir) => {
    // The shell joins the cgroup, then becomes the CLI.
    const run = (...set: string[]) => runCliInShell(`echo $$ > ${cgroup}/cgroup.procs && exec "$0" "$@"`, ['run', 'jobs/penguins.yaml', '--set', `output.path=${join(dir, 'out.csv')}`, '--set', 'checkpoint=false', '--log-format', 'json', ...set.flatMap((s) => ['--set', s])]);
    const warnings = (stderr: string) => stderr.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: string; message: string }).filter((e) => e.level === 'warn').map((e) => e.message);
    const tight = await run();
    assert.equal(tight.code, 0, tight.stderr);
    assert.deepEqual(warnings(tight.stderr), [memoryLimitWarning(256, 0, 2, 300 * MB)!.replace(/^/, 'penguins-species: ')]);
    const lowered = await run('limits.memory=192MB');
    assert.equal(lowered.code, 0, lowered.stderr);
    assert.deepEqual(warnings(lowered.stderr), []);
  });
});

test('the weights counted are the graph\'s file and the external data it names (a model past 2 GB keeps them beside it)', async () => {
  const { weightBytes } = await import('../../src/model/external.js');
  const { statSync } = await import('node:fs');
  const dir = join(root, 'fixtures', 'models', 'shapes', 'external');
  assert.equal(await weightBytes(join(dir, 'model.onnx')), statSync(join(dir, 'model.onnx')).size + statSync(join(dir, 'model.onnx.data')).size);
  const plain = join(root, 'fixtures', 'models', 'penguins', 'model.onnx');
  assert.equal(await weightBytes(plain), statSync(plain).size);
});
