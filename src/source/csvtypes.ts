/**
 * @file CSV cells as booleans, dates and timestamps, the types DuckDB's CSV sniffer gives beside
 * numbers and text: sniffed from the first chunk for a Parquet output (which keeps them as
 * BOOLEAN, DATE and TIMESTAMP columns), or declared in input.csv.types. JSON Lines text is
 * sniffed for dates and timestamps the same way.
 */
import { type Column, type Field, type FieldType, infinityDays, infinityStamp, MaskedColumn, type TimeUnit } from './types.js';

/** The types input.csv.types may declare, as the job writes them (ours, and DuckDB's names), and the column type each is. */
export const declarableTypes: Readonly<Record<string, DeclaredType>> = {
  string: 'string', text: 'string', varchar: 'string',
  float64: 'float64', double: 'float64',
  int64: 'int64', bigint: 'int64',
  bool: 'bool', boolean: 'bool',
  date: 'date',
  timestamp: 'timestamp', timestamp_ns: 'timestamp_ns',
};

/** The declared type a job names (any case), or undefined; never an Object.prototype member (`constructor`). */
export function declaredType(name: string): DeclaredType | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(declarableTypes, key) ? declarableTypes[key] : undefined;
}

export type CsvType = Extract<FieldType, 'string' | 'float64' | 'int64' | 'bool' | 'date' | 'timestamp'>;
/** A column type, or a timestamp to the nanosecond (TIMESTAMP_NS; `timestamp` is to the microsecond, DuckDB's TIMESTAMP). */
export type DeclaredType = CsvType | 'timestamp_ns';

/** What a type-checked cell of `field`'s type is called in a message. */
export function typeWords(field: Pick<Field, 'type' | 'unit' | 'naive'>): string {
  switch (field.type) {
    case 'bool': return 'booleans (true/false)';
    case 'date': return 'dates (2024-02-29)';
    case 'timestamp': return `timestamps ${field.naive ? 'without a UTC offset (2024-02-29 13:45:01)' : 'with a UTC offset (2024-02-29 13:45:01+02:00)'}${field.unit === 'ns' ? ' to the nanosecond, within 1677-09-21 and 2262-04-11' : ''}`;
    case 'int64': return 'whole numbers of 64 bits';
    case 'float64': return 'numbers';
    default: return 'text';
  }
}

/** DuckDB's boolean words, case aside: `1`/`0` make a number column first. */
const booleans = new Map([['true', true], ['false', false], ['t', true], ['f', false], ['yes', true], ['no', false]]);

export function booleanOf(text: string): boolean | undefined {
  return booleans.get(text.trim().toLowerCase());
}

const dayMs = 86_400_000;

/**
 * Days since 1970-01-01 of a day of the proleptic Gregorian calendar, or undefined where there is
 * no such day (February 30th): arithmetic, as a Date would cost a third of a microsecond a cell
 * (the days-from-civil algorithm, eras of 400 years).
 */
function epochDay(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31)) return undefined;
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

/**
 * What the last parse read: the instant to the millisecond, the fraction's next six digits (below
 * the millisecond, in nanoseconds), how many digits the fraction had, and whether a UTC offset
 * was given. Module state rather than an object a cell: a column of a million cells makes none.
 */
let stampMs = 0;
let stampBelow = 0;
let stampDigits = 0;
let stampZoned = false;
/** 1 or -1 where the cell was DuckDB's and PostgreSQL's `infinity` or `-infinity` (any case), which fit a column of either zone kind; 0 for a time. */
let stampInfinite = 0;

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Where digitsAt stopped. */
let at = 0;

/** The number of `min` to `max` digits at `i` of `text` (-1 where there are fewer, or more), `at` set past them. */
function digitsAt(text: string, i: number, min: number, max: number): number {
  let v = 0;
  const start = i;
  const n = text.length;
  while (i < n && i - start < max) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + c - 48;
    i++;
  }
  at = i;
  return i - start < min || (i < n && isDigit(text.charCodeAt(i))) ? -1 : v;
}
const isSpace = (c: number) => c === 32 || c === 9 || c === 160;

/**
 * Reads an ISO 8601 day or timestamp as DuckDB's sniffer does: the day (`-` or `/` between its
 * parts, a year of four to six digits), then optionally a time (a `T` or a space between), to the
 * minute, the second or a fraction, and a UTC offset (`Z`, `+02:00`, `+0200`, `+02`); 24:00:00 is
 * the next midnight. With `dayOnly`, the day alone. A scan of character codes, not a regular
 * expression and its substrings: a timestamp column is read at ~0.1 µs a cell.
 */
function parseStamp(text: string, dayOnly: boolean): boolean {
  const n = text.length;
  let i = 0;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  const negative = text.charCodeAt(i) === 45;
  if (negative) i++;
  if ((text.charCodeAt(i) | 32) === 105) return infinityAt(text, i, negative);
  stampInfinite = 0;
  let year = digitsAt(text, i, 4, 6);
  i = at;
  if (year < 0) return false;
  if (negative) year = -year;
  const separator = text.charCodeAt(i);
  if (separator !== 45 && separator !== 47) return false;
  i++;
  const month = digitsAt(text, i, 1, 2);
  i = at;
  if (month < 0 || text.charCodeAt(i++) !== separator) return false;
  const day = digitsAt(text, i, 1, 2);
  i = at;
  const days = day < 0 ? undefined : epochDay(year, month, day);
  // A Date reaches ±100 million days.
  if (days === undefined || Math.abs(days) > 1e8) return false;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let below = 0;
  let digits = 0;
  let zoned = false;
  let offset = 0;
  const c = text.charCodeAt(i);
  if (i < n && !dayOnly && (c === 84 || c === 116 || c === 32)) {
    i++;
    hour = digitsAt(text, i, 1, 2);
    i = at;
    if (hour < 0 || text.charCodeAt(i++) !== 58) return false;
    minute = digitsAt(text, i, 2, 2);
    i = at;
    if (minute < 0) return false;
    if (text.charCodeAt(i) === 58) {
      i++;
      second = digitsAt(text, i, 2, 2);
      i = at;
      if (second < 0) return false;
      if (text.charCodeAt(i) === 46) {
        i++;
        let ms = 0;
        while (i < n && isDigit(text.charCodeAt(i))) {
          const d = text.charCodeAt(i++) - 48;
          if (digits < 3) ms = ms * 10 + d;
          else if (digits < 9) below = below * 10 + d;
          digits++;
        }
        if (digits === 0) return false;
        for (let k = digits; k < 3; k++) ms *= 10;
        for (let k = Math.max(digits, 3); k < 9; k++) below *= 10;
        second += ms / 1000;
      }
    }
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    const z = text.charCodeAt(i);
    if (z === 90 || z === 122) {
      zoned = true;
      i++;
    } else if (z === 43 || z === 45) {
      i++;
      // +02, +0200 or +02:00.
      const start = i;
      let hours = digitsAt(text, i, 2, 4);
      i = at;
      let minutes = 0;
      if (i - start === 4) {
        minutes = hours % 100;
        hours = Math.floor(hours / 100);
      } else if (i - start !== 2) hours = -1;
      else if (text.charCodeAt(i) === 58) {
        i++;
        minutes = digitsAt(text, i, 2, 2);
        i = at;
      }
      if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return false;
      zoned = true;
      // The instant is the wall-clock time less its offset: 10:00+02:00 is 08:00 UTC.
      offset = (z === 45 ? -1 : 1) * (hours * 60 + minutes) * 60_000;
    }
    // 24:00:00 is the next midnight, as DuckDB reads it.
    const midnight = hour === 24 && minute === 0 && second === 0 && below === 0;
    if ((hour > 23 && !midnight) || minute > 59 || second >= 60) return false;
  }
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  if (i !== n) return false;
  // The seconds' fraction to the millisecond is exact in thousandths: rounded back to whole milliseconds.
  stampMs = days * dayMs + Math.round(((hour * 60 + minute) * 60 + second) * 1000) - offset;
  stampBelow = below;
  stampDigits = digits;
  stampZoned = zoned;
  return true;
}

/** Whether `text` from `i` is the word `infinity` (any case) and spaces; if so, it is the last parse's. */
function infinityAt(text: string, i: number, negative: boolean): boolean {
  if (text.length < i + 8 || text.slice(i, i + 8).toLowerCase() !== 'infinity') return false;
  for (let k = i + 8; k < text.length; k++) if (!isSpace(text.charCodeAt(k))) return false;
  stampInfinite = negative ? -1 : 1;
  stampDigits = 0;
  return true;
}

/**
 * A date cell as a Date at midnight UTC (as the Parquet reader gives a DATE), or undefined;
 * `infinity` and `-infinity` as DuckDB's DATE holds them, the int32 ends but one, in days (as the
 * Parquet reader gives a date past what a Date holds).
 */
export function dateOf(text: string): Date | number | undefined {
  return parseStamp(text, true) ? (stampInfinite === 0 ? new Date(stampMs) : stampInfinite * infinityDays) : undefined;
}

/**
 * The nanoseconds a TIMESTAMP_NS holds as DuckDB reads one: INT64's ends are its ±infinity, and
 * below ~1677-09-21 00:12:43.145225 its reader's microseconds would overflow.
 */
const nsMin = -9_223_372_036_854_775_000n;
const nsMax = 2n ** 63n - 2n;

/**
 * The last parse's instant counted in `unit` since the epoch: digits past the unit are dropped
 * (as DuckDB drops those past the microsecond); undefined past what an INT64 of the unit holds.
 */
function stampCount(unit: TimeUnit): bigint | undefined {
  // DuckDB's ±infinity in every unit.
  if (stampInfinite !== 0) return stampInfinite > 0 ? infinityStamp : -infinityStamp;
  if (unit === 'us') {
    const us = stampMicros();
    // A microsecond count past ±2^53, but within a Date's range, is within an INT64's.
    return us !== undefined ? BigInt(us) : BigInt(stampMs) * 1000n + BigInt(Math.floor(stampBelow / 1000));
  }
  const ns = BigInt(stampMs) * 1_000_000n + BigInt(stampBelow);
  return ns > nsMax || ns < nsMin ? undefined : ns;
}

/** The last parse's microseconds as a number, where they are within ±2^53 (±285 years of 1970) and so exact; else undefined. */
function stampMicros(): number | undefined {
  if (stampInfinite !== 0) return undefined;
  const us = stampMs * 1000 + Math.floor(stampBelow / 1000);
  return Math.abs(us) <= Number.MAX_SAFE_INTEGER ? us : undefined;
}

/** Parses a timestamp cell for a column of this zone kind; `anyZone` (a declared column) takes either kind. */
function parseFor(text: string, naive: boolean, anyZone: boolean): boolean {
  return parseStamp(text, false) && (stampZoned !== naive || anyZone || stampInfinite !== 0);
}

/**
 * Timestamp cells as a BigInt64Array (masked where missing or bad), as the Parquet reader gives a
 * timestamp column: microseconds within ±2^53 are written as their two 32-bit words, with no
 * bigint made for a cell.
 */
function timestampColumn(values: readonly (string | null)[], unit: TimeUnit, naive: boolean, anyZone: boolean, isMissing: (v: string) => boolean, onBad: (index: number, value: string) => void): Column {
  const out = new BigInt64Array(values.length);
  const words = new Uint32Array(out.buffer);
  const valid = new Uint8Array(values.length);
  let present = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === null || isMissing(v)) continue;
    if (!parseFor(v, naive, anyZone)) {
      onBad(i, v);
      continue;
    }
    const us = unit === 'us' ? stampMicros() : undefined;
    if (us !== undefined) {
      const high = Math.floor(us / 2 ** 32);
      words[2 * i] = us - high * 2 ** 32;
      words[2 * i + 1] = high;
    } else {
      const count = stampCount(unit);
      if (count === undefined) {
        onBad(i, v);
        continue;
      }
      out[i] = count;
    }
    valid[i] = 1;
    present++;
  }
  return present === values.length ? out : new MaskedColumn(out, valid);
}

/**
 * A timestamp cell counted in `unit` since the epoch, or undefined if it is none, is past the
 * unit's range, or says a zone the column does not (or none where it does). `anyZone` (a declared
 * column's) reads both, as DuckDB casts them: a zoned cell in a wall-clock column as its instant in
 * UTC, a cell without an offset in a zoned column as a UTC time.
 */
export function timestampOf(text: string, unit: TimeUnit, naive: boolean, anyZone = false): bigint | undefined {
  return parseFor(text, naive, anyZone) ? stampCount(unit) : undefined;
}

/**
 * A timestamp column's unit and zone from its first cells: microseconds (DuckDB's TIMESTAMP)
 * unless a cell has more digits (pandas writes nanoseconds) and every cell is within what
 * nanoseconds reach (1677 to 2262: not SQL Server's 9999-12-31 23:59:59.9999999, whose last
 * digit is then dropped, as DuckDB drops it), and a wall-clock time unless every cell gives an
 * offset. Undefined when a cell is no timestamp or the cells mix zoned and not. `unit` fixes the
 * unit (a declared column's).
 */
export function timestampShape(values: ArrayLike<unknown>, isMissing: (v: string) => boolean, unit?: TimeUnit): Pick<Field, 'type' | 'unit' | 'naive'> | undefined {
  let zoned: boolean | undefined;
  let fine = false;
  let nsReach = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null;
    if (v === null || isMissing(v)) continue;
    if (!parseStamp(v, false)) return undefined;
    // Infinity fits either kind: the times decide; a column of infinities alone is no timestamp column (numbers, ±Infinity).
    if (stampInfinite !== 0) continue;
    if (zoned !== undefined && stampZoned !== zoned) return undefined;
    zoned = stampZoned;
    fine ||= stampDigits > 6;
    nsReach &&= stampCount('ns') !== undefined;
  }
  if (zoned === undefined) return undefined;
  // Zoned nanoseconds DuckDB reads as microseconds (TIMESTAMPTZ), rounding toward zero rather than down: kept as microseconds.
  return { type: 'timestamp', unit: unit ?? (fine && nsReach && !zoned ? 'ns' : 'us'), naive: !zoned };
}

/**
 * A column's type where its present cells of the first chunk are all booleans, all dates or all
 * timestamps (of one zone kind); undefined otherwise (numbers and text are sniffCsvType's).
 * Without `booleans`, for JSON text, where a boolean is a value of its own and "yes" is text.
 */
export function sniffTemporal(values: ArrayLike<unknown>, isMissing: (v: string) => boolean, booleans = true): Pick<Field, 'type' | 'unit' | 'naive'> | undefined {
  // The first cell that is not an infinity decides: a column of `infinity` alone is no date column (numbers, ±Infinity).
  let first: string | undefined;
  for (let i = 0; i < values.length && first === undefined; i++) {
    const v = values[i] as string | null;
    if (v !== null && !isMissing(v) && !(parseStamp(v, false) && stampInfinite !== 0)) first = v;
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

/**
 * A column's cells as `field`'s type (bool, date or timestamp), null where missing, with `onBad`
 * told of a cell that is none. A `declared` timestamp column takes cells with or without an offset.
 */
export function convertTemporal(values: readonly (string | null)[], field: Field, isMissing: (v: string) => boolean, onBad: (index: number, value: string) => void, declared = false): Column {
  if (field.type === 'timestamp') return timestampColumn(values, field.unit ?? 'us', field.naive ?? false, declared, isMissing, onBad);
  const read: (v: string) => unknown = field.type === 'bool' ? booleanOf : dateOf;
  return values.map((v, i) => {
    if (v === null || isMissing(v)) return null;
    const value = read(v);
    if (value === undefined) onBad(i, v);
    return value ?? null;
  });
}
