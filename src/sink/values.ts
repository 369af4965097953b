/**
 * @file Cell values as text, shared by the CSV and JSONL writers: numbers kept exact and short,
 * float32 values printed as the shortest decimal that round-trips to the same float32.
 */
import { type Field, type FieldType, maxSafeBig, type TimeUnit } from '../source/types.js';

/** Shortest decimal for a float32 value (what numpy prints), e.g. 0.1f → "0.1", not 0.10000000149011612. */
export function float32Text(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  return float32Digits(value < 0 ? -value : value, value < 0) ?? float32TextByPrecision(value);
}

/**
 * The definition float32Text keeps: the first of 6, 7 and 8 significant digits (`toPrecision`)
 * whose decimal reads back as the same float32, else 9, printed as JavaScript prints that decimal.
 * ~700 ns a softmax probability on the 2-core VM, most of a CSV writer's time on a model's float32
 * columns; float32Digits gives the same text in ~1/5 of that and leaves its rare cases here.
 */
export function float32TextByPrecision(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  for (let precision = 6; precision < 9; precision++) {
    const text = value.toPrecision(precision);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
}

/** Powers of ten that doubles hold exactly. */
const exactPow10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * float32TextByPrecision's text for x > 0, with the digits rounded in integer arithmetic: x ×
 * 10^s is one correctly rounded operation while 10^s is exact (|s| ≤ 22), so it is off the exact
 * product by at most half an ulp, < 1e-7 below 10^9; away from a tie by more than that it rounds
 * to the digits `toPrecision` gives, and n / 10^s is the double `Number` reads from them. Undefined
 * (left to toPrecision) near a tie, where log10 misjudges the exponent, and for x beyond 10^±16.
 */
function float32Digits(x: number, negative: boolean): string | undefined {
  const e = Math.floor(Math.log10(x));
  for (let p = 6; p <= 9; p++) {
    const s = p - 1 - e;
    if (s > 22 || s < -22) return undefined;
    const scaled = s >= 0 ? x * exactPow10[s]! : x / exactPow10[-s]!;
    let n = Math.floor(scaled);
    const fraction = scaled - n;
    if (n < exactPow10[p - 1]! || Math.abs(fraction - 0.5) < 1e-6) return undefined;
    if (fraction > 0.5) n++;
    if (n >= exactPow10[p]!) return undefined;
    if (p === 9 || Math.fround(s >= 0 ? n / exactPow10[s]! : n * exactPow10[-s]!) === x) return decimalText(n, s, negative);
  }
  return undefined;
}

/** n × 10^-s (n > 0, at most 9 digits) as JavaScript's Number.prototype.toString prints it (ECMA-262 Number::toString). */
function decimalText(n: number, s: number, negative: boolean): string {
  while (n % 10 === 0) {
    n /= 10;
    s--;
  }
  const digits = String(n);
  const k = digits.length;
  // The decimal point's place: the value is 0.digits × 10^point.
  const point = k - s;
  let text: string;
  if (point >= k && point <= 21) text = digits + '0'.repeat(point - k);
  else if (point > 0 && point <= 21) text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  else if (point > -6 && point <= 0) text = `0.${'0'.repeat(-point)}${digits}`;
  else text = `${k === 1 ? digits : `${digits[0]}.${digits.slice(1)}`}e${point > 0 ? '+' : '-'}${Math.abs(point - 1)}`;
  return negative ? `-${text}` : text;
}

/** A number as text for its column type. */
export function numberText(value: number, type: FieldType): string {
  return type === 'float32' ? float32Text(value) : String(value);
}

/** JSON text for any cell: NaN/Infinity become null (JSON has no such numbers), bigints stay exact; `time`: a timestamp column's unit and whether it is a wall-clock time. */
export function jsonText(value: unknown, type: FieldType, items?: FieldType, time: Pick<Field, 'unit' | 'naive'> = {}): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number': return Number.isFinite(value) ? numberText(value, type) : 'null';
    // Field.unit is set on fine timestamps only: their bigints are times, any other's are numbers.
    case 'bigint': return time.unit ? JSON.stringify(timestampText(value, time.unit, time.naive)) : value.toString();
    case 'string': return JSON.stringify(value);
    case 'boolean': return value ? 'true' : 'false';
    default:
  }
  if (value instanceof Date) return JSON.stringify(dateText(value, type, time.naive));
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<unknown>;
    let out = '[';
    for (let i = 0; i < list.length; i++) out += (i ? ',' : '') + jsonText(list[i], items ?? 'json');
    return `${out}]`;
  }
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * A timestamp counted in `unit` since the epoch, in ISO 8601 with every digit of its unit
 * (`2024-01-01T00:00:00.123456Z`, nanoseconds 9 digits), as pandas and Spark print one; a
 * wall-clock (`naive`) one without the `Z`, which would say it is UTC.
 */
export function timestampText(units: bigint, unit: TimeUnit, naive = false): string {
  const us = unit === 'us';
  let seconds: number;
  let fraction: number | bigint;
  // Microseconds are exact in a double for ±285 years; nanoseconds only for ±104 days.
  if (us && units <= maxSafeBig && units >= -maxSafeBig) {
    const n = Number(units);
    seconds = Math.floor(n / 1e6);
    fraction = n - seconds * 1e6;
  } else {
    const perSecond = us ? 1_000_000n : 1_000_000_000n;
    let whole = units / perSecond;
    let rest = units % perSecond;
    if (rest < 0n) {
      rest += perSecond;
      whole -= 1n;
    }
    seconds = Number(whole);
    fraction = rest;
  }
  // Rows in time order share their second: its text is made once.
  if (seconds !== lastSecond) {
    const date = new Date(seconds * 1000);
    if (Number.isNaN(date.getTime())) return '';
    lastSecond = seconds;
    lastPrefix = date.toISOString().slice(0, -5);
  }
  return `${lastPrefix}.${String(fraction).padStart(us ? 6 : 9, '0')}${naive ? '' : 'Z'}`;
}

let lastSecond = Number.NaN;
let lastPrefix = '';

/**
 * A timestamp in ISO 8601 UTC (`2024-02-29T13:45:01.000Z`), a wall-clock (`naive`) one without
 * the `Z`; a `date` column's day alone (`2024-02-29`), as a DATE is written.
 */
export function dateText(value: Date, type?: FieldType, naive = false): string {
  if (Number.isNaN(value.getTime())) return '';
  const text = value.toISOString();
  return type === 'date' ? text.slice(0, text.indexOf('T')) : naive ? text.slice(0, -1) : text;
}
