/**
 * @file CSV cells as booleans, dates and timestamps, the types DuckDB's CSV sniffer gives beside
 * numbers and text: sniffed from the first chunk for a Parquet output (which keeps them as
 * BOOLEAN, DATE and TIMESTAMP columns), or declared in input.csv.types. JSON Lines text is
 * sniffed for dates and timestamps the same way.
 */
import type { Column, Field, FieldType, TimeUnit } from './types.js';

/** The types input.csv.types may declare, as the job writes them (ours, and DuckDB's names), and the column type each is. */
export const declarableTypes: Readonly<Record<string, CsvType>> = {
  string: 'string', text: 'string', varchar: 'string',
  float64: 'float64', double: 'float64',
  int64: 'int64', bigint: 'int64',
  bool: 'bool', boolean: 'bool',
  date: 'date',
  timestamp: 'timestamp',
};

export type CsvType = Extract<FieldType, 'string' | 'float64' | 'int64' | 'bool' | 'date' | 'timestamp'>;

/** What a type-checked cell of each type is called in a message. */
export const typeWords: Readonly<Record<CsvType, string>> = {
  string: 'text', float64: 'numbers', int64: 'whole numbers of 64 bits', bool: 'booleans (true/false)', date: 'dates (2024-02-29)', timestamp: 'timestamps (2024-02-29 13:45:01)',
};

/** DuckDB's boolean words, case aside: `1`/`0` make a number column first. */
const booleans = new Map([['true', true], ['false', false], ['t', true], ['f', false], ['yes', true], ['no', false]]);

export function booleanOf(text: string): boolean | undefined {
  return booleans.get(text.trim().toLowerCase());
}

// ISO 8601 as DuckDB's sniffer reads it: the day, then optionally a time (a `T` or a space
// between), to the minute, second, or a fraction of up to nine digits, and a UTC offset. A day
// alone is a timestamp at midnight too, as DuckDB casts one.
const datePattern = /^\s*(-?\d{4,})-(\d\d?)-(\d\d?)\s*$/;
const timestampPattern = /^\s*(-?\d{4,})-(\d\d?)-(\d\d?)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?)?\s*$/i;

/** Milliseconds since the epoch of a day, or undefined where there is no such day (February 30th). */
function dayMs(year: number, month: number, day: number): number | undefined {
  const at = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  at.setUTCFullYear(year, month - 1, day);
  return at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === day ? at.getTime() : undefined;
}

/** A date cell as a Date at midnight UTC (as the Parquet reader gives a DATE), or undefined. */
export function dateOf(text: string): Date | undefined {
  const m = datePattern.exec(text);
  if (!m) return undefined;
  const ms = dayMs(Number(m[1]), Number(m[2]), Number(m[3]));
  return ms === undefined ? undefined : new Date(ms);
}

/** A timestamp cell's parts: its instant to the millisecond, the digits below it, their count, and whether it gave a UTC offset. */
interface Stamp {
  readonly ms: number;
  /** The fraction's digits after the third (up to six more), as written. */
  readonly below: string;
  readonly digits: number;
  readonly zoned: boolean;
}

function stampOf(text: string): Stamp | undefined {
  const m = timestampPattern.exec(text);
  if (!m) return undefined;
  const day = dayMs(Number(m[1]), Number(m[2]), Number(m[3]));
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (day === undefined || hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = m[7] ?? '';
  let ms = day + ((hour * 60 + minute) * 60 + second) * 1000 + Number(fraction.slice(0, 3).padEnd(3, '0'));
  const zone = m[8];
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(zone.length === 6 ? 4 : 3) || 0);
    if (hours > 23 || minutes > 59) return undefined;
    // The instant is the wall-clock time less its offset: 10:00+02:00 is 08:00 UTC.
    ms -= (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  return { ms, below: fraction.slice(3), digits: fraction.length, zoned: zone !== undefined };
}

/** A timestamp cell counted in `unit` since the epoch, or undefined if it is none, or is finer than the unit, or says a zone the column does not (or none where it does). */
export function timestampOf(text: string, unit: TimeUnit, naive: boolean): bigint | undefined {
  const stamp = stampOf(text);
  if (!stamp || stamp.zoned === naive || (unit === 'us' && stamp.digits > 6)) return undefined;
  return BigInt(stamp.ms) * (unit === 'us' ? 1000n : 1_000_000n) + BigInt(stamp.below.padEnd(unit === 'us' ? 3 : 6, '0'));
}

/**
 * A timestamp column's unit and zone from its first cells: microseconds (DuckDB's TIMESTAMP)
 * unless a cell has more digits (pandas writes nanoseconds), and a wall-clock time unless every
 * cell gives an offset. Undefined when a cell is no timestamp or the cells mix zoned and not.
 */
export function timestampShape(values: ArrayLike<unknown>, isMissing: (v: string) => boolean): Pick<Field, 'type' | 'unit' | 'naive'> | undefined {
  let zoned: boolean | undefined;
  let digits = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null;
    if (v === null || isMissing(v)) continue;
    const stamp = stampOf(v);
    if (!stamp || (zoned !== undefined && stamp.zoned !== zoned)) return undefined;
    zoned = stamp.zoned;
    digits = Math.max(digits, stamp.digits);
  }
  if (zoned === undefined) return undefined;
  return { type: 'timestamp', unit: digits > 6 ? 'ns' : 'us', naive: !zoned };
}

/**
 * A column's type where its present cells of the first chunk are all booleans, all dates or all
 * timestamps (of one zone kind); undefined otherwise (numbers and text are sniffCsvType's).
 * Without `booleans`, for JSON text, where a boolean is a value of its own and "yes" is text.
 */
export function sniffTemporal(values: ArrayLike<unknown>, isMissing: (v: string) => boolean, booleans = true): Pick<Field, 'type' | 'unit' | 'naive'> | undefined {
  let first: string | undefined;
  for (let i = 0; i < values.length && first === undefined; i++) {
    const v = values[i] as string | null;
    if (v !== null && !isMissing(v)) first = v;
  }
  if (first === undefined) return undefined;
  const every = (test: (v: string) => boolean) => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as string | null;
      if (v !== null && !isMissing(v) && !test(v)) return false;
    }
    return true;
  };
  if (booleans && booleanOf(first) !== undefined) return every((v) => booleanOf(v) !== undefined) ? { type: 'bool' } : undefined;
  // Days alone are dates; days beside timestamps are timestamps at midnight.
  if (dateOf(first) && every((v) => dateOf(v) !== undefined)) return { type: 'date' };
  return timestampShape(values, isMissing);
}

/** A column's cells as `field`'s type (bool, date or timestamp), null where missing, with `onBad` told of a cell that is none. */
export function convertTemporal(values: readonly (string | null)[], field: Field, isMissing: (v: string) => boolean, onBad: (index: number, value: string) => void): Column {
  const read: (v: string) => unknown = field.type === 'bool' ? booleanOf
    : field.type === 'date' ? dateOf
      : (v) => timestampOf(v, field.unit ?? 'us', field.naive ?? false);
  return values.map((v, i) => {
    if (v === null || isMissing(v)) return null;
    const value = read(v);
    if (value === undefined) onBad(i, v);
    return value ?? null;
  });
}
