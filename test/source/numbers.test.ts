/**
 * How a text cell reads as a number (CSV type sniffing and model inputs share it): the plain
 * decimal fast path must agree with the full pattern on every string it accepts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localeNumber, parseNumber, plainDecimal } from '../../src/source/types.js';
import { seededRandom } from '../helpers.js';

test('numbers as a spreadsheet user means them; everything else is not a number', () => {
  const cases: [string, number | undefined][] = [
    ['39.1', 39.1], ['-7', -7], ['3790.0', 3790], ['0', 0], ['-0.5', -0.5], ['.5', 0.5], ['5.', 5], ['-.25', -0.25],
    ['1e3', 1000], ['+2', 2], [' 12 ', 12], ['2.5E-3', 0.0025], ['inf', Infinity], ['-Infinity', -Infinity],
    ['', undefined], ['-', undefined], ['.', undefined], ['-.', undefined], ['1.2.3', undefined], ['0x10', undefined],
    ['1_000', undefined], ['1,5', undefined], ['NaN', undefined], ['abc', undefined], ['--1', undefined], ['1-', undefined],
    // Every spelling DuckDB casts: R writes Inf, C's printf -nan; NaN and nan alone are missing tokens, tested apart.
    ['Inf', Infinity], ['-Inf', -Infinity], ['INF', Infinity], ['+Inf', Infinity], ['+Infinity', Infinity], [' -INFINITY ', -Infinity],
    ['-nan', NaN], ['NAN', NaN], ['nan', undefined], ['infinit', undefined], ['-infinityy', undefined], ['in', undefined],
  ];
  for (const [text, expected] of cases) assert.ok(Object.is(parseNumber(text), expected), `${JSON.stringify(text)}: ${parseNumber(text)}`);
});

test('localeNumber: a decimal comma, and thousands separators between digits before the decimal mark; a separator elsewhere is not a number', () => {
  const cases: [ReturnType<typeof localeNumber>, string, number | undefined][] = [];
  const us = localeNumber('.', ',');
  const de = localeNumber(',', '.');
  const fr = localeNumber(',', ' ');
  const ch = localeNumber('.', "'");
  cases.push(
    [us, '1,234.5', 1234.5], [us, '-1,234,567', -1234567], [us, '12', 12], [us, ' 1,234 ', 1234], [us, '1,23,456.7', 123456.7],
    [us, ',123', undefined], [us, '1,', undefined], [us, '1,,234', undefined], [us, '1.5,2', undefined],
    [de, '1.234,5', 1234.5], [de, '1.234', 1234], [de, '39,1', 39.1], [de, '-0,25', -0.25], [de, '1.234.567,89', 1234567.89], [de, '1,234.5', undefined],
    [fr, '1 234,5', 1234.5], [fr, '1 234 567', 1234567], [fr, '1 234,5', 1234.5], [fr, '1  234', undefined],
    [ch, "1'234.5", 1234.5],
  );
  for (const [parse, text, expected] of cases) assert.equal(parse(text), expected, JSON.stringify(text));
  assert.equal(localeNumber(), parseNumber);
});

test('the fast path accepts only plain decimals, and reads each as Number() does', () => {
  const accepted = ['0', '-0', '-0.0', '123', '-123.456', '.5', '5.', '00012', '999999999999999', '9007199254740993', '3.141592653589793238462643383279', '0.1234567890123456789012', '1.00000000000000000000001'];
  for (const text of accepted) {
    assert.ok(Object.is(plainDecimal(text), Number(text)), text);
    assert.ok(Object.is(parseNumber(text), Number(text)), text);
  }
  for (const text of ['', '-', '.', '-.', '+1', '1e5', ' 1', '1 ', '1.2.3', '0x1', 'Infinity', '١٢٣']) assert.ok(Number.isNaN(plainDecimal(text)), JSON.stringify(text));
});

test('plain decimals of every length and scale read exactly as Number() reads them (200,000 random cells)', () => {
  const random = seededRandom(7);
  const next = (n: number) => Math.floor(random() * n);
  const seen = new Set<string>();
  for (let k = 0; k < 200000; k++) {
    const int = Array.from({ length: next(12) }, () => next(10)).join('');
    const frac = Array.from({ length: next(k % 10 === 0 ? 25 : 9) }, () => next(10)).join('');
    const text = `${next(3) === 0 ? '-' : ''}${int}${frac || next(2) ? `.${frac}` : ''}`;
    if (!/\d/.test(text)) continue;
    seen.add(text);
    assert.ok(Object.is(plainDecimal(text), Number(text)), text);
  }
  // Short cells repeat by chance; the old double-precision LCG gave only 1,563 distinct ones.
  assert.ok(seen.size > 150000, `only ${seen.size} distinct cells`);
});
