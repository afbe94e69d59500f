/**
 * Percentiles with numpy's default 'linear' interpolation (docs/numerics.md#percentiles).
 */
import { OpnpError } from './errors.js';

/** Throws unless `q` is a number in [0, 100]. */
export function assertPercentage(q: number, name = 'percentage'): void {
  if (typeof q !== 'number' || !Number.isFinite(q) || q < 0 || q > 100) {
    throw new OpnpError('INVALID_ARGUMENT', `${name} must be a number in [0, 100]`, { actual: q });
  }
}

/**
 * The `q`-th percentile of `sorted` (ascending, no NaN) with linear interpolation:
 * position `r = q/100 * (n-1)`, value `v[floor r] + (r - floor r) * (v[ceil r] - v[floor r])`.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  assertPercentage(q, 'percentile q');
  const n = sorted.length;
  if (n === 0) throw new OpnpError('EMPTY_INPUT', 'Cannot take a percentile of an empty array');
  const r = (q / 100) * (n - 1);
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  const vlo = sorted[lo]!;
  const vhi = sorted[hi]!;
  // Written as numpy does (lerp), so equal neighbours give exactly that value.
  return lo === hi ? vlo : vlo + (r - lo) * (vhi - vlo);
}

/** A sorted float64 copy of `values`; throws `NON_FINITE` on NaN (infinities are allowed). */
export function sortedCopy(values: ArrayLike<number>, name = 'values'): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i])) {
      throw new OpnpError('NON_FINITE', `${name} contains NaN`, { offset: i, hint: 'Percentiles of NaN are undefined; clean the input first' });
    }
  }
  out.sort();
  return out;
}

/**
 * `P(values, q)`: the `q`-th percentile (0-100) of all entries, numpy 'linear' interpolation.
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 50); // 2.5
 * ```
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  assertPercentage(q, 'percentile q');
  return percentiles(values, [q])[0]!; // the two order statistics by selection, not a full sort
}

/**
 * Several percentiles of the same values (`P(values, q)` for each `q`), without a full sort: the order statistics
 * they interpolate between are selected in expected `O(n log k)` time. Throws `NON_FINITE` on NaN like {@link sortedCopy}.
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[], name = 'values'): number[] {
  for (const q of qs) assertPercentage(q, 'percentile q');
  const a = Float64Array.from(values as ArrayLike<number>);
  const n = a.length;
  if (n === 0) throw new OpnpError('EMPTY_INPUT', 'Cannot take a percentile of an empty array');
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(a[i])) {
      throw new OpnpError('NON_FINITE', `${name} contains NaN`, { offset: i, hint: 'Percentiles of NaN are undefined; clean the input first' });
    }
  }
  const positions = qs.map((q) => (q / 100) * (n - 1));
  const ranks = [...new Set(positions.flatMap((r) => [Math.floor(r), Math.ceil(r)]))].sort((x, y) => x - y);
  selectOrderStatistics(a, ranks);
  return positions.map((r) => {
    const lo = Math.floor(r);
    const hi = Math.ceil(r);
    return lo === hi ? a[lo]! : a[lo]! + (r - lo) * (a[hi]! - a[lo]!);
  });
}

/**
 * Rearranges `a` (no NaN) in place so that `a[k]` equals the `k`-th smallest entry (0-based) for every `k` in
 * `ranks` (ascending, distinct), as if `a` had been sorted: quickselect on all ranks at once, with three-way
 * partitioning (runs of ties cost linear time) and a sort of any range that recurses too deep.
 */
export function selectOrderStatistics(a: Float64Array, ranks: readonly number[]): void {
  const depthLimit = 2 * Math.ceil(Math.log2(a.length + 1)) + 8;
  // Work items: [lo, hi) with the ranks ranks[kLo..kHi) inside it.
  const stack: number[] = [0, a.length, 0, ranks.length, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!, kHi = stack.pop()!, kLo = stack.pop()!, hi = stack.pop()!, lo = stack.pop()!;
    if (kLo >= kHi) continue;
    if (hi - lo <= 32 || depth > depthLimit) {
      a.subarray(lo, hi).sort();
      continue;
    }
    const mid = lo + ((hi - lo) >> 1);
    const x = a[lo]!, y = a[mid]!, z = a[hi - 1]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // Dutch national flag: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot.
    let lt = lo, i = lo, gt = hi - 1;
    while (i <= gt) {
      const v = a[i]!;
      if (v < pivot) {
        a[i++] = a[lt]!;
        a[lt++] = v;
      } else if (v > pivot) {
        a[i] = a[gt]!;
        a[gt--] = v;
      } else i++;
    }
    let k = kLo;
    while (k < kHi && ranks[k]! < lt) k++;
    let m = k;
    while (m < kHi && ranks[m]! <= gt) m++;
    stack.push(lo, lt, kLo, k, depth + 1, gt + 1, hi, m, kHi, depth + 1);
  }
}
