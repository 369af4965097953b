// Snappy on 512 KB pages of four kinds (random doubles, distinct strings, penguins measurements,
// float32 scores stored as doubles), against another build's module: median MB/s of 7 runs.
//   node bench/snappy-pages.js OLD_BUILD_DIR   (a checkout of an earlier commit, built)

const base = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const { snappyCompress: oldC } = await import(`${base}/dist/src/sink/snappy.js`);
const { snappyCompress: newC } = await import(new URL('../dist/src/sink/snappy.js', import.meta.url).href);
const pages = {};
const n = 1 << 19;
const d = new Float64Array(n / 8); for (let i = 0; i < d.length; i++) d[i] = Math.random(); pages.doubles = new Uint8Array(d.buffer);
const hex = Buffer.alloc(n); for (let i = 0; i + 36 <= n; i += 36) { hex.writeUInt32LE(32, i); Buffer.from(Math.random().toString(16).slice(2).padEnd(32, 'a')).copy(hex, i + 4); } pages.hex = new Uint8Array(hex);
const pen = new Float64Array(n / 8); for (let i = 0; i < pen.length; i++) pen[i] = [39.1, 18.7, 181, 3750, 40.2][i % 5] + (i % 97) / 10; pages.penguins = new Uint8Array(pen.buffer);
const probs = new Float64Array(n / 8); for (let i = 0; i < probs.length; i++) probs[i] = Math.fround(Math.random()); pages.f32probs = new Uint8Array(probs.buffer);
for (const [name, p] of Object.entries(pages)) if (!Buffer.from(oldC(p)).equals(Buffer.from(newC(p)))) throw new Error(`${name}: the two builds compress to other bytes`);
for (let w = 0; w < 50; w++) for (const p of Object.values(pages)) { oldC(p); newC(p); }
for (const [name, page] of Object.entries(pages)) {
  const r = { old: [], new: [] };
  for (let k = 0; k < 7; k++) for (const [label, f] of [['old', oldC], ['new', newC]]) {
    const t = performance.now(); for (let i = 0; i < 40; i++) f(page); r[label].push(40 * page.length / 1e6 / ((performance.now() - t) / 1000));
  }
  const med = (a) => a.sort((x, y) => x - y)[3].toFixed(0);
  console.log(name.padEnd(10), 'base', med(r.old), 'this', med(r.new), 'MB/s  ratio', (oldC(page).length / page.length).toFixed(3));
}
