/**
 * Implicit QL with plane rotations (EISPACK `tql2`, as in JAMA) for the small tridiagonal blocks at the leaves of
 * the divide and conquer (divide-and-conquer.ts). The QL recurrence never reads the eigenvector matrix, so the
 * rotations are logged and applied to cache-sized column blocks of it ({@link RotationLog}).
 */
import { OpnpError } from '../../errors.js';

/** Most rotations kept before they are applied (20 bytes each). */
const ROTATION_LOG_CAPACITY = 1 << 20;
/** Doubles in the column-block buffer of {@link RotationLog.flush} (256 KiB: stays in L2). */
const ROTATION_BLOCK_DOUBLES = 32_768;

/**
 * Plane rotations of rows `(i, i + 1)` of the row-major `n x n` matrix `U`:
 * `U[i + 1, :] = s U[i, :] + c U[i + 1, :]`, `U[i, :] = c U[i, :] - s U[i + 1, :]`, in order. Applying them
 * one at a time streams all of `U` through memory once per QL sweep; {@link RotationLog.flush} instead applies a
 * whole log to a block of columns held in a small buffer, one block after another. Every entry sees the same
 * operations in the same order, so the result is bitwise the same.
 */
class RotationLog {
  private readonly capacity: number;
  private readonly rows: Int32Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private count = 0;

  constructor(private readonly U: Float64Array, private readonly n: number) {
    this.capacity = Math.min(ROTATION_LOG_CAPACITY, Math.max(64, 2 * n * n));
    this.rows = new Int32Array(this.capacity);
    this.cos = new Float64Array(this.capacity);
    this.sin = new Float64Array(this.capacity);
  }

  push(i: number, c: number, s: number): void {
    if (this.count === this.capacity) this.flush();
    this.rows[this.count] = i;
    this.cos[this.count] = c;
    this.sin[this.count] = s;
    this.count++;
  }

  /** Applies and clears the logged rotations. */
  flush(): void {
    const { U, n, rows, cos, sin, count } = this;
    if (count === 0) return;
    const W = Math.max(4, Math.min(n, Math.floor(ROTATION_BLOCK_DOUBLES / n)));
    const block = new Float64Array(n * W);
    for (let k0 = 0; k0 < n; k0 += W) {
      const w = Math.min(W, n - k0);
      for (let i = 0; i < n; i++) block.set(U.subarray(i * n + k0, i * n + k0 + w), i * w);
      for (let r = 0; r < count; r++) {
        const c = cos[r]!;
        const s = sin[r]!;
        const o = rows[r]! * w;
        const o1 = o + w;
        for (let k = 0; k < w; k++) {
          const hk = block[o1 + k]!;
          const vk = block[o + k]!;
          block[o1 + k] = s * vk + c * hk;
          block[o + k] = c * vk - s * hk;
        }
      }
      for (let i = 0; i < n; i++) U.set(block.subarray(i * w, i * w + w), i * n + k0);
    }
    this.count = 0;
  }
}

/**
 * Implicit QL on the `n x n` tridiagonal with diagonal `d` and subdiagonal `e[1 .. n)` (`e[i] = T[i, i - 1]`,
 * `e[0]` unused), accumulating rotations into the rows of `U` (start from the identity to get the eigenvectors of
 * `T`). On exit `d` holds the eigenvalues (unsorted), row `i` of `U` the eigenvector of `d[i]`, and `e` is destroyed.
 * The QL recurrence never reads `U`, so rotations are logged and applied in column blocks ({@link RotationLog}).
 *
 * @throws OpnpError `NON_FINITE` when an eigenvalue does not converge in 200 sweeps
 */
export function tql2(n: number, U: Float64Array, d: Float64Array, e: Float64Array): void {
  const log = new RotationLog(U, n);
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 200) {
          throw new OpnpError('NON_FINITE', 'Symmetric eigendecomposition did not converge', { offset: l, hint: 'The matrix may contain extreme values' });
        }
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          log.push(i, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  log.flush();
}
