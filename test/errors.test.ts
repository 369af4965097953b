/** Message helpers (src/errors.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { columnList, thousands, yamlList } from '../src/errors.js';

test('thousands writes numbers as toLocaleString("en-US") does, without loading ICU', () => {
  for (const n of [0, 7, 999, 1000, 65_536, 1_234_567, 3_100_128, 1e15, -1234, -999, 1234.5, 0.25, 12_345.678]) {
    assert.equal(thousands(n), n.toLocaleString('en-US', { maximumFractionDigits: 20 }), String(n));
  }
});

test('yamlList writes names as a YAML flow list that reads back as the same strings (commas, #, quotes, words YAML reads as other values)', () => {
  const names = ['species', 'x, y', '#tag', '"quoted"', 'null', 'True', '1', 'a b', 'é', 'col-1.x', '', ' lead', 'tab\there', '[x]', 'a: b'];
  assert.deepEqual(parse(`keep: ${yamlList(names)}`), { keep: names });
  assert.equal(yamlList(['species', 'island']), '[species, island]');
});

test('columnList names up to 30 columns, then counts the rest; invisible characters are shown', () => {
  assert.equal(columnList(['a', 'b\u200b']), 'a, b\\u200B');
  const many = Array.from({ length: 1005 }, (_, i) => `c${i}`);
  assert.equal(columnList(many), `${many.slice(0, 30).join(', ')} and 975 more`);
});
