/**
 * Internal kernels over sorted scores: no validation; inputs are finite float64 arrays.
 *
 * Everything threshold-based in this package is a walk over the distinct score values ("tie groups") of the
 * ID and OOD scores merged in ascending order, so each metric costs one sort, O(n log n).
 */

/** Ascending float64 copy (a `Float64Array` sorts numerically; equal values, including -0 and +0, end up adjacent). */
export function sortedAscending(values: Float64Array): Float64Array {
  return values.slice().sort();
}

/**
 * Distinct values of the merged ID and OOD scores in ascending order, with how many ID and OOD scores take
 * each value. Group `g` holds `idCounts[g]` ID scores and `oodCounts[g]` OOD scores equal to `values[g]`.
 */
export interface TieGroups {
  readonly values: Float64Array;
  readonly idCounts: Uint32Array;
  readonly oodCounts: Uint32Array;
  /** Number of groups (the arrays above have exactly this length). */
  readonly length: number;
  readonly nId: number;
  readonly nOod: number;
}

/** Both score sets sorted ascending plus their tie groups: everything the OOD metrics need. */
export interface RankedScores {
  readonly idSorted: Float64Array;
  readonly oodSorted: Float64Array;
  readonly groups: TieGroups;
}

/** Merges two ascending arrays into tie groups, O(nId + nOod). */
export function tieGroups(idSorted: Float64Array, oodSorted: Float64Array): TieGroups {
  const nId = idSorted.length;
  const nOod = oodSorted.length;
  const values = new Float64Array(nId + nOod);
  const idCounts = new Uint32Array(nId + nOod);
  const oodCounts = new Uint32Array(nId + nOod);
  let i = 0;
  let j = 0;
  let g = 0;
  while (i < nId || j < nOod) {
    const v = i < nId && (j >= nOod || idSorted[i]! <= oodSorted[j]!) ? idSorted[i]! : oodSorted[j]!;
    let ci = 0;
    while (i < nId && idSorted[i] === v) {
      i++;
      ci++;
    }
    let co = 0;
    while (j < nOod && oodSorted[j] === v) {
      j++;
      co++;
    }
    values[g] = v;
    idCounts[g] = ci;
    oodCounts[g] = co;
    g++;
  }
  return {
    values: values.subarray(0, g),
    idCounts: idCounts.subarray(0, g),
    oodCounts: oodCounts.subarray(0, g),
    length: g,
    nId,
    nOod,
  };
}

/** Sorts both (already validated) score sets once and builds their tie groups. */
export function rankScores(id: Float64Array, ood: Float64Array): RankedScores {
  const idSorted = sortedAscending(id);
  const oodSorted = sortedAscending(ood);
  return { idSorted, oodSorted, groups: tieGroups(idSorted, oodSorted) };
}

/** First index `i` of ascending `sorted` with `sorted[i] >= x` (`sorted.length` if none). */
export function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index `i` of ascending `sorted` with `sorted[i] > x` (`sorted.length` if none). */
export function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
