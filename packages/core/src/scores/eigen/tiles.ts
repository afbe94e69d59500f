/**
 * Cache-friendly transposition helpers of the eigensolver: strided accesses go in 32 x 32 tiles, so each tile's
 * cache lines are used whole instead of one element per line.
 */

const TILE = 32;

/** `dst (cols x rows) = src (rows x cols)^T`, both row-major. */
export function transposeInto(src: Float64Array, rows: number, cols: number, dst: Float64Array): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const o = c * rows;
        for (let r = r0; r < r1; r++) dst[o + r] = src[r * cols + c]!;
      }
    }
  }
}

/** Copies the strict lower triangle of the `m x m` row-major `B` onto the upper one. */
export function mirrorLower(B: Float64Array, m: number): void {
  for (let r0 = 0; r0 < m; r0 += TILE) {
    const r1 = Math.min(m, r0 + TILE);
    for (let c0 = 0; c0 <= r0; c0 += TILE) {
      for (let c = c0; c < Math.min(c0 + TILE, r1); c++) {
        const o = c * m;
        for (let r = Math.max(r0, c + 1); r < r1; r++) B[o + r] = B[r * m + c]!;
      }
    }
  }
}
