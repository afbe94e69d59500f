/**
 * Float64 running sums of float32 products (the OPNP sensitivity accumulation, docs/numerics.md#float64-accumulation):
 * adding several products per pass, and the finiteness check of a product.
 */

/** Whether every value is finite (one pass; `v * 0` is NaN exactly for NaN and infinities; four independent probes). */
export function allFinite(data: Float32Array): boolean {
  let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
  const n = data.length;
  const n4 = n - (n % 4);
  for (let i = 0; i < n4; i += 4) {
    p0 += data[i]! * 0;
    p1 += data[i + 1]! * 0;
    p2 += data[i + 2]! * 0;
    p3 += data[i + 3]! * 0;
  }
  for (let i = n4; i < n; i++) p0 += data[i]! * 0;
  return p0 + p1 + p2 + p3 === 0;
}

/**
 * `sum[i] = (...((sum[i] + parts[0][i]) + parts[1][i]) ...) + parts[k-1][i]`: the same float64 additions, in the same
 * order, as adding the parts one after another, four parts per pass over `sum` (half the JavaScript work per part).
 */
export function addProducts(sum: Float64Array, parts: readonly Float32Array[]): void {
  const n = sum.length;
  let k = 0;
  for (; k + 3 < parts.length; k += 4) {
    const a = parts[k]!, b = parts[k + 1]!, c = parts[k + 2]!, d = parts[k + 3]!;
    for (let i = 0; i < n; i++) sum[i] = sum[i]! + a[i]! + b[i]! + c[i]! + d[i]!;
  }
  for (; k < parts.length; k++) {
    const a = parts[k]!;
    for (let i = 0; i < n; i++) sum[i] = sum[i]! + a[i]!;
  }
}
