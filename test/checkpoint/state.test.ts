/**
 * differences(): what a refused resume says changed, and what a checkpoint written by an earlier
 * version (no `settings`) is not held to, so that an upgrade does not refuse a resume over nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { differences, type Fingerprint } from '../../src/checkpoint/state.js';

const input = { path: '/d/a.csv', size: 10, mtimeMs: 1, sample: 's' };
const now: Fingerprint = {
  job: 'j', settings: { job: { batch: { size: 16 } }, rows: { emit: 'skip', chunkRows: 2048 } }, inputs: [input],
  model: { name: 'm', version: '2.0', sha256: 'h', bundle: 'b', nested: 'n' }, rows: 'r', partitions: ['island'],
};

test('a checkpoint of this version is held to its nested bundle files, its partition columns and its version as written', () => {
  assert.deepEqual(differences(now, now), []);
  assert.deepEqual(differences({ ...now, model: { ...now.model, nested: 'other' } }, now), ['the bundle of m:2.0 changed (the weights or tokenizer in its subfolders)']);
  assert.deepEqual(differences({ ...now, partitions: undefined }, now), ['the columns read from key=value folder names changed (none → island)']);
  assert.deepEqual(differences({ ...now, model: { ...now.model, version: '2' } }, now), ['the model changed from m:2 to m:2.0']);
  assert.deepEqual(differences({ ...now, job: 'other', settings: { job: { batch: { size: 8 } }, rows: now.settings!.rows } }, now), ['the job file changed (batch.size 8 → 16)']);
  // The input's column types: compared where both recorded them (earlier versions did not; status does not open the input).
  assert.deepEqual(differences({ ...now, columns: 'a' }, { ...now, columns: 'b' }), ['the input\'s columns or their types, as its first rows give them, changed']);
  assert.deepEqual(differences(now, { ...now, columns: 'b' }), []);
  assert.deepEqual(differences({ ...now, columns: 'a' }, now), []);
  // Other columns kept are other columns read: the job file's change says it all.
  const keep = (columns: string[]) => ({ job: `keep ${columns.join()}`, settings: { job: { output: { keep: columns } }, rows: now.settings!.rows } });
  assert.deepEqual(differences({ ...now, ...keep(['a']), columns: 'a' }, { ...now, ...keep(['a', 'b']), columns: 'b' }), ['the job file changed (output.keep ["a"] → ["a","b"])']);
});

test('a checkpoint of an earlier version (no settings): no nested hash to compare, its unquoted 2.0 read as 2; new partition columns are refused, saying how to resume', () => {
  const earlier: Fingerprint = { job: 'j', inputs: [input], model: { name: 'm', version: '2', sha256: 'h', bundle: 'b' }, rows: 'r' };
  assert.deepEqual(differences(earlier, { ...now, partitions: undefined }), []);
  assert.deepEqual(differences(earlier, now), ['the columns read from key=value folder names changed (none → island; the checkpoint was made by a version that did not read them, and input.partitioning: none resumes it as it was)']);
  assert.deepEqual(differences(earlier, now, { partitionsUnknown: true }), []);
  // A run it finished stays finished (its output is complete as it was): not scored again over nothing.
  assert.deepEqual(differences(earlier, now, { finishedEarlier: true }), []);
  // Its 0x10 or 1e3 read as the number they are.
  assert.deepEqual(differences({ ...earlier, model: { ...earlier.model, version: '16' } }, { ...now, partitions: undefined, model: { ...now.model, version: '0x10' } }), []);
});

test('a dataset rewritten under new file names is said in a few lines, with a count', () => {
  const many = Array.from({ length: 40 }, (_, i) => ({ ...input, path: `/d/part-${i}.csv` }));
  const changes = differences({ ...now, inputs: many }, { ...now, inputs: [] });
  assert.equal(changes.length, 6);
  assert.equal(changes.at(-1), '35 more input files changed, are new or are gone');
});
