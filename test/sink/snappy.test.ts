/**
 * snappyCompress: the same bytes as hyparquet-writer's for every kind of page (so our pages stay
 * byte-identical to its), and bytes that decompress to the input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { snappyUncompress } from 'hyparquet';
import { snappyCompress as theirs } from 'hyparquet-writer/src/snappy.js';
import { snappyCompress } from '../../src/sink/snappy.js';
import { snappyInputs } from '../snappy-inputs.js';

describe('snappyCompress', () => {
  for (const [name, input] of snappyInputs()) {
    test(`${name}: hyparquet-writer's bytes, and they decompress to the input`, () => {
      const ours = snappyCompress(input).slice();
      assert.deepEqual(ours, theirs(input));
      const back = new Uint8Array(input.length);
      snappyUncompress(ours, back);
      assert.deepEqual(back, input);
    });
  }
});
