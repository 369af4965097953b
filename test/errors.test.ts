/** Message helpers (src/errors.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { thousands } from '../src/errors.js';

test('thousands writes numbers as toLocaleString("en-US") does, without loading ICU', () => {
  for (const n of [0, 7, 999, 1000, 65_536, 1_234_567, 3_100_128, 1e15, -1234, -999, 1234.5, 0.25, 12_345.678]) {
    assert.equal(thousands(n), n.toLocaleString('en-US', { maximumFractionDigits: 20 }), String(n));
  }
});
