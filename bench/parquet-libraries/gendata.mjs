// Deterministic synthetic data for writer benchmarks: generated chunk by chunk (columnar).
export const TOTAL = Number(process.env.ROWS || 1_000_000), RG = 100_000, EMB = 8;
export function chunk(start, n) {
  const id = new BigInt64Array(n), f1 = new Float64Array(n), f2 = new Float64Array(n), f3 = new Float64Array(n);
  const s = new Array(n), embFlat = new Float32Array(n * EMB), embOffsets = new Int32Array(n + 1);
  for (let j = 0; j < n; j++) {
    const i = start + j;
    id[j] = BigInt(i); f1[j] = i * 0.25; f2[j] = Math.sin(i); f3[j] = (i % 1000) / 8;
    s[j] = i % 13 === 0 ? null : `item_${i % 10007}_${'x'.repeat(i % 7)}`;
    for (let k = 0; k < EMB; k++) embFlat[j * EMB + k] = k + (i % 16) * 0.5;
    embOffsets[j + 1] = (j + 1) * EMB;
  }
  return { n, id, f1, f2, f3, s, embFlat, embOffsets };
}
export function expected() {
  const e = { n: TOTAL, sum_id: 0, sum_f1: 0, sum_f2: 0, sum_f3: 0, null_s: 0, len_s: 0, sum_emb: 0, n_emb: TOTAL * EMB };
  for (let i = 0; i < TOTAL; i++) {
    e.sum_id += i; e.sum_f1 += i * 0.25; e.sum_f2 += Math.sin(i); e.sum_f3 += (i % 1000) / 8;
    if (i % 13 === 0) e.null_s++; else e.len_s += `item_${i % 10007}_${'x'.repeat(i % 7)}`.length;
    for (let k = 0; k < EMB; k++) e.sum_emb += k + (i % 16) * 0.5;
  }
  return e;
}
