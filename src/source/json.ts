/**
 * @file JSON values read exactly, for every reader that meets JSON text (JSON Lines lines, Parquet
 * JSON columns): whole numbers past ±2^53 as bigints, and the bare NaN and Infinity Python writes.
 */

/** What stands for a whole number past ±2^53 (or a bare NaN or Infinity) while a line is parsed again: a string no JSON line holds by chance. */
const bigMarker = `\u0000bento-batch-int:${Math.random().toString(36).slice(2)}:`;
const bigMarkerJson = JSON.stringify(bigMarker).slice(1, -1);
const wholeNumber = /^-?\d+$/;

/**
 * JSON.parse, except that whole numbers past ±2^53 (64-bit ids: Snowflake, Twitter, hashed
 * keys) come as bigints, exact, instead of doubles rounded to another id. A line is parsed again
 * only when a number in it came out that large (checking the parsed values costs ~0.1 µs a line;
 * a regular expression over the text cost 0.5 µs): its whole numbers outside strings that a
 * double cannot hold are then read as marked strings and turned into bigints.
 */
export function parseExact(text: string, lenient?: { used: boolean }): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Python's json.dumps writes NaN, Infinity and -Infinity bare (allow_nan, its default), as
    // DuckDB and pandas read them; anything else wrong with the line is still JSON.parse's to say.
    if (!/NaN|Infinity/.test(text)) throw error;
    try {
      const read = parseMarked(text);
      if (lenient) lenient.used = true;
      return read;
    } catch {
      throw error;
    }
  }
  return hasLarge(value) ? parseMarked(text) : value;
}

/** The bare tokens Python's json module writes for floats JSON has no numbers for. */
const nonFinite = new Map([['NaN', Number.NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]]);

function hasLarge(value: unknown): boolean {
  if (typeof value === 'number') return value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    // Numbers looked at here, not a call each: an embedding's line holds hundreds.
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'number' ? item > Number.MAX_SAFE_INTEGER || item < -Number.MAX_SAFE_INTEGER : hasLarge(item)) return true;
    }
    return false;
  }
  for (const key in value) if (hasLarge((value as Record<string, unknown>)[key])) return true;
  return false;
}

const isNumberChar = (c: number) => (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;

function parseMarked(text: string): unknown {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 78 || c === 73 || (c === 45 && text.charCodeAt(i + 1) === 73)) {
      const token = c === 78 ? 'NaN' : c === 73 ? 'Infinity' : '-Infinity';
      // Only a whole token: a letter after it leaves the line as invalid as it was.
      if (!text.startsWith(token, i) || /\w/.test(text[i + token.length] ?? '')) continue;
      out += `${text.slice(copied, i)}"${bigMarkerJson}${token}"`;
      copied = i + token.length;
      i = copied - 1;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      // Digits, a point, an exponent and its sign: the rest of the number.
      while (j < text.length && isNumberChar(text.charCodeAt(j))) j++;
      const token = text.slice(i, j);
      if (wholeNumber.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(copied, i)}"${bigMarkerJson}${token}"`;
        copied = j;
      }
      i = j - 1;
    }
  }
  if (copied === 0) return JSON.parse(text);
  return JSON.parse(out + text.slice(copied), (key, value: unknown) => {
    // A bare token where a key stands ({"a": 1, NaN: 2}) is no JSON, from Python or anyone.
    if (key.startsWith(bigMarker)) throw new SyntaxError(`${key.slice(bigMarker.length)} where a key belongs`);
    if (typeof value !== 'string' || !value.startsWith(bigMarker)) return value;
    const token = value.slice(bigMarker.length);
    return nonFinite.get(token) ?? BigInt(token);
  });
}
