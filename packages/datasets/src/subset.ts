/**
 * Seeded, deterministic subsets and held-out splits of dataset indices.
 */
import { mulberry32, partialShuffle } from '@opnp/core/base';
import { argumentError } from './errors.js';

/** A seeded subset: either a `fraction` in (0, 1] or a `count` of samples; `seed` defaults to 0. */
export interface SubsetOptions {
  fraction?: number;
  count?: number;
  seed?: number;
}

/** Number of samples a subset of `n` takes: `count`, or `round(fraction * n)` (at least 1 when n > 0). */
export function subsetSize(n: number, options: SubsetOptions): number {
  const { fraction, count } = options;
  if ((fraction === undefined) === (count === undefined)) throw argumentError('A subset needs exactly one of fraction or count', { actual: options });
  if (count !== undefined) {
    if (!Number.isInteger(count) || count < 0 || count > n) throw argumentError('subset.count must be an integer in [0, dataset size]', { expected: `0..${n}`, actual: count });
    return count;
  }
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) throw argumentError('subset.fraction must be in (0, 1]', { actual: fraction });
  return n === 0 ? 0 : Math.max(1, Math.round(fraction * n));
}

/** A seeded permutation of `[0, n)`, only its first `k` entries shuffled (partial Fisher-Yates). */
function seededShuffle(n: number, k: number, seed: number): Uint32Array {
  if (!Number.isInteger(seed)) throw argumentError('subset.seed must be an integer', { actual: seed });
  return partialShuffle(n, k, mulberry32(seed));
}

/**
 * Ascending indices `[k]` of a seeded random subset of `[0, n)` (same seed, same subset).
 *
 * @example
 * ```ts
 * subsetIndices(1_281_167, { fraction: 0.01, seed: 0 }); // 12812 ImageNet training images
 * ```
 */
export function subsetIndices(n: number, options: SubsetOptions): Uint32Array {
  const k = subsetSize(n, options);
  return seededShuffle(n, k, options.seed ?? 0).slice(0, k).sort();
}

/**
 * Splits `[0, n)` into a seeded held-out `validation` part (size from `fraction` or `count`) and the
 * remaining `train` part; both ascending, disjoint, and together covering every index.
 */
export function splitIndices(n: number, options: SubsetOptions): { train: Uint32Array; validation: Uint32Array } {
  const k = subsetSize(n, options);
  const perm = seededShuffle(n, k, options.seed ?? 0);
  return { validation: perm.slice(0, k).sort(), train: perm.slice(k).sort() };
}

/** Validates explicit indices (ascending, unique, `< n`) or draws a seeded subset; `undefined` = all. */
export function resolveIndices(n: number, subset: SubsetOptions | Uint32Array | undefined): Uint32Array {
  if (subset === undefined) {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  if (subset instanceof Uint32Array) {
    for (let i = 0; i < subset.length; i++) {
      const v = subset[i]!;
      if (v >= n || (i > 0 && v <= subset[i - 1]!)) {
        throw argumentError('Subset indices must be strictly ascending and below the dataset size', { offset: i, actual: v, expected: `< ${n}` });
      }
    }
    return subset;
  }
  return subsetIndices(n, subset);
}
