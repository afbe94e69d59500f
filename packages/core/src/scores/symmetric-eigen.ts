/**
 * Symmetric eigendecomposition in float64 (Householder tridiagonalisation + implicit QL, the EISPACK
 * `tred2`/`tql2` pair as in JAMA), and the pseudo-inverse built from it. O(n^3), single-threaded plain
 * JavaScript: every inner loop runs along a contiguous row, and the QL rotations are logged and applied to
 * cache-sized column blocks of the eigenvector matrix instead of streaming it once per sweep (same arithmetic,
 * bitwise). `npm run bench -w @opnp/core` times it against `numpy.linalg.eigh` (packages/core/README.md).
 */
import { OpnpError } from '../errors.js';
import { assertNoNaN } from './validate.js';

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

/** Eigenvalues (descending) and orthonormal eigenvectors of a symmetric matrix. */
export interface SymmetricEigen {
  /** Order `n`. */
  readonly n: number;
  /** Eigenvalues, largest first. */
  readonly values: Float64Array;
  /** Eigenvectors as rows, `n x n` row-major: row `i` is the unit eigenvector of `values[i]`. */
  readonly vectors: Float64Array;
}

/**
 * Householder reduction to tridiagonal form. `U` holds `V^T` of the classical algorithm (so that every
 * inner loop runs along a contiguous row); on exit row `j` of `U` is column `j` of the orthogonal `Q`.
 */
function tred2(n: number, U: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = U[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = U[j * n + i - 1]!;
        U[j * n + i] = 0;
        U[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        U[i * n + j] = f;
        const row = j * n;
        g = e[j]! + U[row + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = U[row + k]!;
          g += v * d[k]!;
          e[k] = e[k]! + v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        const row = j * n;
        for (let k = j; k <= i - 1; k++) U[row + k] = U[row + k]! - (f * e[k]! + g * d[k]!);
        d[j] = U[row + i - 1]!;
        U[row + i] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    U[i * n + n - 1] = U[i * n + i]!;
    U[i * n + i] = 1;
    const h = d[i + 1]!;
    const next = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = U[next + k]! / h;
      for (let j = 0; j <= i; j++) {
        const row = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += U[next + k]! * U[row + k]!;
        for (let k = 0; k <= i; k++) U[row + k] = U[row + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) U[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = U[j * n + n - 1]!;
    U[j * n + n - 1] = 0;
  }
  U[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * Implicit QL on the tridiagonal `(d, e)`, accumulating rotations into the rows of `U`. The QL recurrence never
 * reads `U`, so rotations are logged and applied in column blocks ({@link RotationLog}).
 */
function tql2(n: number, U: Float64Array, d: Float64Array, e: Float64Array): void {
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

/**
 * Eigendecomposition `A = V diag(values) V^T` of a symmetric `n x n` float64 matrix (row-major; only
 * symmetric input is meaningful, which is not checked beyond NaN). `A` is not modified.
 *
 * @throws OpnpError `NON_FINITE` when `A` contains NaN or infinity
 */
export function symmetricEigen(A: ArrayLike<number>, n: number): SymmetricEigen {
  if (!Number.isInteger(n) || n < 0 || A.length !== n * n) {
    throw new OpnpError('SHAPE_MISMATCH', 'symmetricEigen needs an n x n row-major matrix', { expected: n * n, actual: A.length });
  }
  assertNoNaN(A, 'symmetric matrix', false);
  const U = Float64Array.from(A);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n > 0) {
    tred2(n, U, d, e);
    tql2(n, U, d, e);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b]! - d[a]! || a - b);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src]!;
    vectors.set(U.subarray(src * n, (src + 1) * n), dst * n);
  });
  return { n, values, vectors };
}

/** Default relative eigenvalue cutoff of {@link symmetricPseudoInverse} (docs/numerics.md#mahalanobis: `1e-6` times the largest). */
export const PINV_RELATIVE_TOLERANCE = 1e-6;

/**
 * Number of leading eigenpairs (of a descending {@link SymmetricEigen}) treated as non-zero: eigenvalues
 * `>= relativeTolerance * largest` and `> 0`.
 */
export function effectiveRank(eigen: SymmetricEigen, relativeTolerance = PINV_RELATIVE_TOLERANCE): number {
  const largest = eigen.n > 0 ? eigen.values[0]! : 0;
  const cutoff = relativeTolerance * largest;
  let r = 0;
  while (r < eigen.n && eigen.values[r]! > 0 && eigen.values[r]! >= cutoff) r++;
  return r;
}

/**
 * Moore-Penrose pseudo-inverse of a symmetric positive semi-definite `n x n` matrix:
 * `sum_i v_i v_i^T / lambda_i` over eigenvalues `lambda_i >= relativeTolerance * lambda_max` (and `> 0`),
 * the rest treated as zero. Float64, row-major.
 */
export function symmetricPseudoInverse(A: ArrayLike<number>, n: number, relativeTolerance = PINV_RELATIVE_TOLERANCE): Float64Array {
  const eigen = symmetricEigen(A, n);
  const r = effectiveRank(eigen, relativeTolerance);
  const out = new Float64Array(n * n);
  const V = eigen.vectors;
  for (let i = 0; i < r; i++) {
    const inv = 1 / eigen.values[i]!;
    const vi = i * n;
    for (let a = 0; a < n; a++) {
      const va = V[vi + a]! * inv;
      if (va === 0) continue;
      const row = a * n;
      for (let b = 0; b < n; b++) out[row + b] = out[row + b]! + va * V[vi + b]!;
    }
  }
  return out;
}
