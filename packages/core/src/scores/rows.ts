/**
 * Per-row helpers on row-major `[N x C]` data shared by the scores.
 */

/** Index of the largest of `f[offset .. offset+C)`, ties to the lowest index (numpy / torch argmax). */
export function argmaxRow(f: ArrayLike<number>, offset: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (f[offset + c]! > f[offset + best]!) best = c;
  return best;
}
