/**
 * @file Cell values as text, shared by the CSV and JSONL writers: numbers kept exact and short,
 * float32 values printed as the shortest decimal that round-trips to the same float32.
 */
import { type Field, type FieldType, maxSafeBig, type TimeUnit } from '../source/types.js';

/** Shortest decimal for a float32 value (what numpy prints), e.g. 0.1f → "0.1", not 0.10000000149011612. */
export function float32Text(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  for (let precision = 6; precision < 9; precision++) {
    const text = value.toPrecision(precision);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(Number(value.toPrecision(9)));
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
