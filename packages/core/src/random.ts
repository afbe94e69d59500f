/**
 * The toolkit's seeded PRNG (mulberry32): reproducible subsets, splits and random ablation pruners.
 */

/**
 * mulberry32: a function yielding uniform floats in [0, 1) from a 32-bit seed (same seed, same sequence
 * on every platform).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A permutation of `[0, n)` whose first `k` entries are a uniformly random `k`-subset in random order
 * (partial Fisher-Yates with `random`); the rest are the remaining indices.
 */
export function partialShuffle(n: number, k: number, random: () => number): Uint32Array {
  const pool = new Uint32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool;
}

/** `k` distinct indices of `[0, n)` chosen uniformly at random (partial Fisher-Yates), in ascending order. */
export function sampleIndices(n: number, k: number, random: () => number): Uint32Array {
  return partialShuffle(n, k, random).slice(0, k).sort();
}
