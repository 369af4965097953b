/** Inputs for the Snappy tests, both ways (test/sink/snappy.test.ts, test/source/snappy.test.ts). */

/** A small seeded generator, so a failure repeats. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** Pages of every kind Snappy meets: sizes around its length encodings, runs, repeats past its offset limit, numbers and text. */
export function snappyInputs(): [string, Uint8Array][] {
  const next = random(7);
  const bytes = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i));
  const doubles = (n: number, f: (i: number) => number) => new Uint8Array(Float64Array.from({ length: n }, (_, i) => f(i)).buffer);
  const text = (n: number) => new TextEncoder().encode(Array.from({ length: n }, (_, i) => `row ${i % 997} — ${['Adelie', 'Gentoo', 'Chinstrap'][i % 3]}`).join('\n'));
  const out: [string, Uint8Array][] = [];
  for (const n of [0, 1, 4, 14, 15, 16, 17, 31, 60, 61, 100, 255, 256, 2049]) out.push([`${n} random bytes`, bytes(n, () => Math.floor(next() * 256))]);
  for (const n of [15, 16, 100, 1000, 70_000]) out.push([`${n} equal bytes`, bytes(n, () => 7)]);
  out.push(['random bytes, 300,000 (incompressible, the skip heuristic)', bytes(300_000, () => Math.floor(next() * 256))]);
  out.push(['a 5,000-byte block repeated past the 65,535-byte offset limit', bytes(200_000, (i) => (i % 5000) * 31 + (i % 70_000 < 10 ? 1 : 0))]);
  out.push(['runs of 60–300 equal bytes (copies of 60, 64 and the rest)', bytes(100_000, (i) => Math.floor(i / (60 + (Math.floor(i / 997) % 240))) % 256)]);
  out.push(['jittered doubles, as a plain number page', doubles(65_536, (i) => Math.round((40 + (i % 50) + next()) * 10) / 10)]);
  out.push(['probabilities (float64)', doubles(131_071, () => next())]);
  out.push(['few doubles', doubles(20_000, (i) => [3.5, 0, 1e300][i % 3]!)]);
  out.push(['text', text(30_000)]);
  out.push(['a view into a larger buffer', text(5000).subarray(3, 40_003)]);
  return out;
}
