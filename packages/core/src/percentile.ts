/**
 * Percentiles with numpy's default 'linear' interpolation (SPEC: `P(x, q)`).
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
  return percentileOfSorted(sortedCopy(values), q);
}

/** Several percentiles of the same values, sorting once. */
export function percentiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const sorted = sortedCopy(values);
  return qs.map((q) => percentileOfSorted(sorted, q));
}
