/**
 * Contiguous, balanced shards of a list of indices: what every sharded run (features, sensitivity, scores) splits
 * its samples with.
 */

/** Part `index` (1-based) of `count` contiguous, balanced shards of `indices` (sizes differ by at most one). */
export function shardOf(indices: Uint32Array, index: number, count: number): Uint32Array {
  const n = indices.length;
  return indices.subarray(Math.floor(((index - 1) * n) / count), Math.floor((index * n) / count));
}
