/**
 * @file Cell values as text, shared by the CSV and JSONL writers: numbers kept exact and short,
 * float32 values printed as the shortest decimal that round-trips to the same float32.
 */
import { type Field, type FieldType, infinityDays, infinityStamp, maxSafeBig, type TimeUnit } from '../source/types.js';

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
  // The decimal point's place: the value is 0.digits × 10^point.
  const text = decimalLayout(digits, digits.length - s);
  return negative ? `-${text}` : text;
}

const fractionStarts = ['0.', '0.0', '0.00', '0.000', '0.0000', '0.00000'];

/** 0.digits × 10^point (digits without trailing zeros) laid out as ECMA-262's Number::toString lays it out. */
function decimalLayout(digits: string, point: number): string {
  const k = digits.length;
  if (point >= k && point <= 21) return digits + '0'.repeat(point - k);
  if (point > 0 && point <= 21) return `${digits.slice(0, point)}.${digits.slice(point)}`;
  if (point > -6 && point <= 0) return fractionStarts[-point]! + digits;
  return `${k === 1 ? digits : `${digits[0]}.${digits.slice(1)}`}e${point > 0 ? '+' : '-'}${Math.abs(point - 1)}`;
}

/** A number as text for its column type. */
export function numberText(value: number, type: FieldType): string {
  // String(-0) is "0": the sign of a negative zero (a rounded tiny loss) is kept, as DuckDB and pandas print it.
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  return type === 'float32' ? float32Text(value) : Number.isInteger(value) ? String(value) : doubleText(value);
}

/**
 * The values doubleText printed last, with their text: a model's score column repeats one of its
 * probabilities, and the writers print a row's cells one after another.
 */
const recentValues = new Float64Array(4).fill(NaN);
const recentTexts = ['', '', '', ''];
let recentAt = 0;

/**
 * `String(x)` for a double: the shortest decimal that reads back as x, the closest to x of those
 * (ECMA-262 Number::toString). Found with exact arithmetic where x × 10^s fits it, else left to
 * V8. 15–25% less time a row than `String` on softmax probabilities (four a row, one repeated).
 */
export function doubleText(x: number): string {
  if (x === recentValues[0]) return recentTexts[0]!;
  if (x === recentValues[1]) return recentTexts[1]!;
  if (x === recentValues[2]) return recentTexts[2]!;
  if (x === recentValues[3]) return recentTexts[3]!;
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const negative = x < 0;
  const magnitude = negative ? -x : x;
  let text = shortestDigits(magnitude) ?? String(magnitude);
  if (negative) text = `-${text}`;
  recentValues[recentAt] = x;
  recentTexts[recentAt] = text;
  recentAt = (recentAt + 1) & 3;
  return text;
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Veltkamp's splitter for doubles: 2^27 + 1. */
const splitter = 134217729;
/** Decisions this close to a boundary are left to V8: the arithmetic below is off by at most ~2e-8. */
const guard = 1e-6;
/** 2^(i - 1100), exact, for twoTo. */
const pow2 = new Float64Array(2200);
for (let i = 1100, v = 1; i < 2200; i++, v *= 2) pow2[i] = v;
for (let i = 1100, v = 1; i >= 0; i--, v /= 2) pow2[i] = v;
/** 2^k, exact, for −1100 ≤ k < 1100. */
const twoTo = (k: number) => pow2[k + 1100]!;
/** 5^s for s = 23…44 as high + low, both doubles, exactly (5^44 has 103 bits). */
const fiveHigh = new Float64Array(22);
const fiveLow = new Float64Array(22);
for (let s = 23; s <= 44; s++) {
  const five = 5n ** BigInt(s);
  fiveHigh[s - 23] = Number(five);
  fiveLow[s - 23] = Number(five - BigInt(fiveHigh[s - 23]!));
}

/** a × b − p exactly, for p = a × b rounded (Dekker's product: no fused multiply-add in JavaScript). */
function productError(a: number, b: number, p: number): number {
  let c = splitter * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = splitter * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}


/**
 * Number::toString's text for x > 0 in [1e-28, 1e17), not a power of two; undefined elsewhere
 * and wherever a decision falls within `guard` of its boundary. P = x × 10^s (s = 16 − ⌊log10 x⌋,
 * so 10^16 ≤ P < 10^17) is exact as a double-double (Dekker's product; 10^s is exact for s ≤ 22,
 * beyond it a double-double itself), and held as Q × 10^8 + R. The decimals that read back as x
 * are those within H (half the gap to the neighbouring doubles, scaled; 0.55 < H ≤ 11.1) of P. The shortest is the nearest
 * multiple of the largest power of ten that has one that close: of 100 or more, only the nearest
 * can be, and it is the same number whichever; of 10, the nearest if any; else the nearest
 * integer, which always is.
 */
function shortestDigits(x: number): string | undefined {
  bits[0] = x;
  const high = words[1]!;
  const exponentBits = high >>> 20;
  // Subnormals; powers of two, whose gap below is half the gap above.
  if (exponentBits === 0 || ((high & 0xfffff) === 0 && words[0] === 0)) return undefined;
  const e = Math.floor(Math.log10(x));
  const s = 16 - e;
  if (s < 0 || s > 44) return undefined;
  let ph: number;
  let pl: number;
  let h: number;
  if (s <= 22) {
    const ten = exactPow10[s]!;
    ph = x * ten;
    pl = productError(x, ten, ph);
    h = ten * twoTo(exponentBits - 1076);
  } else {
    // 10^s = (high + low) × 2^s with 5^s = high + low exactly; x × low is below ~11 and its
    // rounding, like H's (from high alone), is ~1e-15 off.
    const x2 = x * twoTo(s);
    const high = fiveHigh[s - 23]!;
    ph = x2 * high;
    pl = productError(x2, high, ph) + x2 * fiveLow[s - 23]!;
    h = high * twoTo(exponentBits - 1076 + s);
  }
  let q = Math.floor(ph / 1e8);
  let r = ph - q * 1e8 + pl;
  if (r < 0) {
    q--;
    r += 1e8;
  } else if (r >= 1e8) {
    q++;
    r -= 1e8;
  }
  // ⌊log10 x⌋ misjudged near a power of ten.
  if (q < 1e8 || q >= 1e9) return undefined;
  // The candidate, as cq × 10^8 + cr.
  let cq = q;
  let cr: number;
  const hundreds = distanceToMultiple(r, 100);
  if (Math.abs(hundreds - h) < guard) return undefined;
  if (hundreds < h) {
    // The one multiple of 100 that close: a multiple of a larger power of ten too, if one is that
    // close (that one would be it), so the digits with their trailing zeros off are the shortest.
    const below = r - remainder(r, 100);
    cr = r - below < 50 ? below : below + 100;
  } else {
    const tens = remainder(r, 10);
    const d = tens < 5 ? tens : 10 - tens;
    if (Math.abs(d - h) < guard || Math.abs(tens - 5) < guard) return undefined;
    if (d < h) cr = tens < 5 ? r - tens : r - tens + 10;
    else {
      const whole = Math.floor(r);
      if (Math.abs(r - whole - 0.5) < guard) return undefined;
      cr = r - whole < 0.5 ? whole : whole + 1;
    }
  }
  if (cr >= 1e8) {
    cq++;
    cr -= 1e8;
  }
  // Digits: cq's, then cr's in `width` places with trailing zeros off.
  let width = 8;
  if (cr === 0) width = 0;
  else {
    while (cr % 10 === 0) {
      cr /= 10;
      width--;
    }
  }
  let head = String(cq);
  if (width === 0) {
    let end = head.length;
    while (head.charCodeAt(end - 1) === 48) end--;
    head = head.slice(0, end);
  }
  const tail = width === 0 ? '' : String(cr).padStart(width, '0');
  // The value is 0.digits × 10^point.
  return decimalLayout(head + tail, (cq >= 1e9 ? 10 : 9) + 8 - s);
}

/** r mod step, for 0 ≤ r < 10^8 and step a power of ten (exact: both terms are multiples of r's ulp). */
function remainder(r: number, step: number): number {
  const m = r - Math.floor(r / step) * step;
  return m < 0 ? m + step : m >= step ? m - step : m;
}

function distanceToMultiple(r: number, step: number): number {
  const m = remainder(r, step);
  return m < step / 2 ? m : step - m;
}

/** JSON.stringify's replacer for wall-clock Dates: their ISO text without the Z (the value before toJSON is the holder's). */
function wallClock(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Date ? raw.toISOString().slice(0, -1) : value;
}

/** What a list's items that are not timestamps take from its field: nothing (and no object a cell). */
const noDetail: Pick<Field, 'unit' | 'naive' | 'fields'> = {};
const wallClockDetail: Pick<Field, 'unit' | 'naive' | 'fields'> = { naive: true };

/**
 * JSON text for any cell: NaN/Infinity become null (JSON has no such numbers), bigints stay
 * exact. `detail`, from the column's field: a timestamp's unit and whether it is a wall-clock
 * time (for a list of timestamps, its items'), a struct's member fields.
 */
export function jsonText(value: unknown, type: FieldType, items?: FieldType, detail: Pick<Field, 'unit' | 'naive' | 'fields'> = {}): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    // A date past what a Date holds comes as its days.
    case 'number': return !Number.isFinite(value) ? 'null' : type === 'date' ? `"${dayText(value)}"` : numberText(value, type);
    // Field.unit is set on fine timestamps only: their bigints are times, any other's are numbers,
    // but for a millisecond time past what a Date holds.
    case 'bigint': return detail.unit || type === 'timestamp' ? JSON.stringify(timestampText(value, detail.unit ?? 'ms', detail.naive)) : value.toString();
    case 'string': return JSON.stringify(value);
    case 'boolean': return value ? 'true' : 'false';
    default:
  }
  if (value instanceof Date) return JSON.stringify(dateText(value, type, detail.naive));
  if (type === 'binary' && value instanceof Uint8Array) return `"${base64(value)}"`;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<unknown>;
    // A list of timestamps carries their unit and zone on its field.
    // A JSON column's wall-clock flag holds for the objects in its lists too (a list of structs of wall-clock times).
    const item = items === 'timestamp' ? detail : type === 'json' && detail.naive ? wallClockDetail : noDetail;
    // Joined, not appended: 768 appends made a rope of as many pieces, which a Parquet writer held
    // at several times its text's size until the row group was encoded, and JSON Lines copied piece by piece.
    const parts = new Array<string>(list.length);
    for (let i = 0; i < list.length; i++) parts[i] = jsonText(list[i], items ?? 'json', undefined, item);
    return `[${parts.join(',')}]`;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    // A struct or map (Parquet), or a JSON object: its members as cells of their fields' types
    // where the column has fields (a DATE member as its day), so a 64-bit integer in it stays a
    // number with every digit (JSON.stringify can only quote a bigint as text).
    const typed = type === 'struct' && detail.fields !== undefined;
    if (!typed) {
      // JSON.stringify is native, ~3× faster than the loop below; it throws on a bigint, which the loop writes.
      // A map of wall-clock times (detail.naive) writes its Dates without the Z that would make them UTC.
      try {
        return detail.naive ? JSON.stringify(value, wallClock) : JSON.stringify(value);
      } catch {}
    }
    const members = value as Record<string, unknown>;
    let out = '{';
    const add = (key: string, member: unknown, field?: Field) => {
      if (member !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${jsonText(member, field?.type ?? 'json', field?.items, field)}`;
    };
    if (typed) for (const field of detail.fields!) add(field.name, members[field.name], field);
    else for (const key of Object.keys(members)) add(key, members[key]);
    return `${out}}`;
  }
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Bytes as standard base64 with padding, as BigQuery exports BYTES to CSV and JSON and Spark writes
 * binary to JSON: text that any language decodes back to the same bytes, in CSV, JSON Lines and
 * error reports alike.
 */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * A timestamp counted in `unit` since the epoch, in ISO 8601 with every digit of its unit
 * (`2024-01-01T00:00:00.123456Z`, nanoseconds 9 digits), as pandas and Spark print one; a
 * wall-clock (`naive`) one without the `Z`, which would say it is UTC. Milliseconds come here
 * only for times past JavaScript's Date (±275,760 years), which a millisecond column otherwise
 * holds as Dates.
 */
export function timestampText(units: bigint, unit: TimeUnit | 'ms', naive = false): string {
  // DuckDB and PostgreSQL store 'infinity' and '-infinity' as the int64 ends, and read these words back.
  if (units === infinityStamp) return 'infinity';
  if (units === -infinityStamp) return '-infinity';
  const digits = unit === 'ms' ? 3 : unit === 'us' ? 6 : 9;
  let seconds: number;
  let fraction: number | bigint;
  // Microseconds are exact in a double for ±285 years; nanoseconds only for ±104 days.
  if (unit === 'us' && units <= maxSafeBig && units >= -maxSafeBig) {
    const n = Number(units);
    seconds = Math.floor(n / 1e6);
    fraction = n - seconds * 1e6;
  } else {
    const perSecond = unit === 'ms' ? 1000n : unit === 'us' ? 1_000_000n : 1_000_000_000n;
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
    lastSecond = seconds;
    lastPrefix = Number.isNaN(date.getTime()) ? farSecondText(seconds) : date.toISOString().slice(0, -5);
  }
  return `${lastPrefix}.${String(fraction).padStart(digits, '0')}${naive ? '' : 'Z'}`;
}

/** A second past JavaScript's Date as `+290309-12-21T10:00:00`: Date's own form for years past 9999. */
function farSecondText(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const rest = seconds - days * 86_400;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${dayText(days)}T${two(Math.floor(rest / 3600))}:${two(Math.floor(rest / 60) % 60)}:${two(rest % 60)}`;
}

/**
 * A DATE's day count since 1970-01-01 as `2024-02-29`; years outside 0–9999 with a sign and six
 * or more digits (`+275761-01-01`, `-000044-03-15`), as JavaScript's Date and ISO 8601's expanded
 * years write them. DuckDB's 'infinity' and '-infinity' (the int32 ends but one) are those words.
 * The reader gives days, not a Date, only for dates past what a Date holds.
 */
export function dayText(days: number): string {
  if (days === infinityDays) return 'infinity';
  if (days === -infinityDays) return '-infinity';
  // The proleptic Gregorian calendar in 400-year eras of 146,097 days, counted from 0000-03-01 so
  // that a leap day ends its year (the civil-from-days method).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shifted = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1;
  const month = shifted < 10 ? shifted + 3 : shifted - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const yearText = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  return `${yearText}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
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
