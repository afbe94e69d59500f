/**
 * Eigenvalues and eigenvectors of a symmetric tridiagonal matrix by Cuppen's divide and conquer (LAPACK
 * `dstedc`/`dlaed0`..`dlaed4`). The matrix is split in the middle by a rank-one tear, both halves are solved
 * recursively (implicit QL at blocks of at most {@link LEAF_SIZE}, tridiagonal-ql.ts), and each merge solves
 * `D + rho z z^T` (secular.ts) after deflating the entries whose `z` component is negligible or whose eigenvalues
 * nearly coincide (a plane rotation then zeroes one of the pair's `z`). The merged vectors are the halves' vectors
 * times the `k x k` secular vectors: two products (top rows, bottom rows) yielded as {@link ProductRequest}s, which
 * are nearly all of the work (at most `4/3 n^3` flops, much less when many entries deflate).
 */
import { request, view, type Computation } from './products.js';
import { secularRoots, secularVectors } from './secular.js';
import { tql2 } from './tridiagonal-ql.js';

/** Largest block solved by implicit QL. */
export const LEAF_SIZE = 32;
const EPS = 2 ** -52;

/** Eigenvalues (ascending) and eigenvectors (columns of the `n x n` row-major `Q`). */
export interface TridiagonalEigen {
  readonly values: Float64Array;
  readonly Q: Float64Array;
}

/** A block's eigenvector columns, with where each is non-zero (1 top rows, 3 bottom rows, 2 both). */
interface MergeColumns {
  readonly s: number;
  readonly n1: number;
  /** `s x s` row-major: `diag(Q1, Q2)`, rotated by deflation. */
  readonly Q: Float64Array;
  readonly type: Uint8Array;
}

function leaf(d: Float64Array, e: Float64Array, from: number, to: number): TridiagonalEigen {
  const s = to - from;
  const U = new Float64Array(s * s);
  for (let i = 0; i < s; i++) U[i * s + i] = 1;
  const dd = d.slice(from, to);
  const ee = new Float64Array(s);
  for (let i = 1; i < s; i++) ee[i] = e[from + i - 1]!;
  tql2(s, U, dd, ee);
  const order = Array.from({ length: s }, (_, i) => i).sort((a, b) => dd[a]! - dd[b]! || a - b);
  const values = new Float64Array(s);
  const Q = new Float64Array(s * s);
  order.forEach((src, p) => {
    values[p] = dd[src]!;
    for (let r = 0; r < s; r++) Q[r * s + p] = U[src * s + r]!;
  });
  return { values, Q };
}

/**
 * Deflation (LAPACK `dlaed2`): returns the non-deflated indices in ascending order of `D`; `D`, `z` and the columns
 * are modified by the rotations; the rest of the indices are deflated (eigenpair `D_i`, column `i`).
 */
function deflate(D: Float64Array, z: Float64Array, rho: number, cols: MergeColumns): { kept: number[]; deflated: number[] } {
  const { s, Q, type } = cols;
  const order = Array.from({ length: s }, (_, i) => i).sort((a, b) => D[a]! - D[b]! || a - b);
  let dMax = 0;
  let zMax = 0;
  for (let i = 0; i < s; i++) {
    dMax = Math.max(dMax, Math.abs(D[i]!));
    zMax = Math.max(zMax, Math.abs(z[i]!));
  }
  const tol = 8 * EPS * Math.max(dMax, zMax);
  const kept: number[] = [];
  const deflated: number[] = [];
  let pj = -1;
  for (const nj of order) {
    if (rho * Math.abs(z[nj]!) <= tol) {
      deflated.push(nj);
      continue;
    }
    if (pj < 0) {
      pj = nj;
      continue;
    }
    const tau = Math.hypot(z[nj]!, z[pj]!);
    const c = z[nj]! / tau;
    const sn = -z[pj]! / tau;
    if (Math.abs((D[nj]! - D[pj]!) * c * sn) <= tol) {
      z[nj] = tau;
      z[pj] = 0;
      if (type[nj] !== type[pj]) type[nj] = 2;
      for (let r = 0; r < s; r++) {
        const x = Q[r * s + pj]!;
        const y = Q[r * s + nj]!;
        Q[r * s + pj] = c * x + sn * y;
        Q[r * s + nj] = c * y - sn * x;
      }
      const t = D[pj]! * c * c + D[nj]! * sn * sn;
      D[nj] = D[pj]! * sn * sn + D[nj]! * c * c;
      D[pj] = t;
      deflated.push(pj);
    } else kept.push(pj);
    pj = nj;
  }
  if (pj >= 0) kept.push(pj);
  return { kept, deflated };
}

/**
 * `rows` of the kept columns whose type is in `types`, times the matching components of the secular vectors (`Ut`,
 * `k x k`, one vector per row): yields one product, `m x k`.
 */
function* keptProduct(cols: MergeColumns, kept: number[], Ut: Float64Array, rows: [number, number], types: readonly number[]): Computation<Float64Array> {
  const { s, Q, type } = cols;
  const k = kept.length;
  const m = rows[1] - rows[0];
  const picked = kept.map((_, p) => p).filter((p) => types.includes(type[kept[p]!]!));
  const np = picked.length;
  if (np === 0 || m === 0) return new Float64Array(m * k);
  const A = new Float64Array(m * np);
  for (let r = 0; r < m; r++) {
    const o = (rows[0] + r) * s;
    for (let q = 0; q < np; q++) A[r * np + q] = Q[o + kept[picked[q]!]!]!;
  }
  const Bt = new Float64Array(k * np);
  for (let j = 0; j < k; j++) for (let q = 0; q < np; q++) Bt[j * np + q] = Ut[j * k + picked[q]!]!;
  return (yield request(view(A, m, np), view(Bt, k, np), false, true)).data;
}

/** Merges two solved halves coupled by `rho` (the torn-off subdiagonal entry). */
function* merge(top: TridiagonalEigen, bottom: TridiagonalEigen, rho: number): Computation<TridiagonalEigen> {
  const n1 = top.values.length;
  const n2 = bottom.values.length;
  const s = n1 + n2;
  const D = new Float64Array(s);
  D.set(top.values);
  D.set(bottom.values, n1);
  const z = new Float64Array(s);
  const sign = rho < 0 ? -1 : 1;
  for (let i = 0; i < n1; i++) z[i] = top.Q[(n1 - 1) * n1 + i]! * Math.SQRT1_2;
  for (let i = 0; i < n2; i++) z[n1 + i] = sign * bottom.Q[i]! * Math.SQRT1_2;
  const Q = new Float64Array(s * s);
  for (let r = 0; r < n1; r++) Q.set(top.Q.subarray(r * n1, (r + 1) * n1), r * s);
  for (let r = 0; r < n2; r++) Q.set(bottom.Q.subarray(r * n2, (r + 1) * n2), (n1 + r) * s + n1);
  const type = new Uint8Array(s).fill(1, 0, n1).fill(3, n1);
  const cols: MergeColumns = { s, n1, Q, type };
  const r2 = 2 * Math.abs(rho);
  const { kept, deflated } = deflate(D, z, r2, cols);
  const k = kept.length;
  let lambda: Float64Array = new Float64Array(0);
  let upper: Float64Array = new Float64Array(0);
  let lower: Float64Array = new Float64Array(0);
  if (k > 0) {
    const dk = Float64Array.from(kept, (i) => D[i]!);
    const zk = Float64Array.from(kept, (i) => z[i]!);
    const roots = secularRoots(dk, zk, r2, k);
    const Ut = secularVectors(dk, zk, roots, k);
    lambda = roots.lambda;
    upper = yield* keptProduct(cols, kept, Ut, [0, n1], [1, 2]);
    lower = yield* keptProduct(cols, kept, Ut, [n1, s], [2, 3]);
  }
  // Sources of the merged columns in ascending order: root p (>= 0) or deflated column -1 - i.
  const sources = [...Array.from({ length: k }, (_, p) => p), ...deflated.map((i) => -1 - i)];
  const valueOf = (src: number) => (src >= 0 ? lambda[src]! : D[-1 - src]!);
  sources.sort((a, b) => valueOf(a) - valueOf(b) || a - b);
  const values = Float64Array.from(sources, valueOf);
  const out = new Float64Array(s * s);
  for (let r = 0; r < s; r++) {
    const o = r * s;
    const part = r < n1 ? upper : lower;
    const po = (r < n1 ? r : r - n1) * k;
    for (let p = 0; p < s; p++) {
      const src = sources[p]!;
      out[o + p] = src >= 0 ? part[po + src]! : Q[o - 1 - src]!;
    }
  }
  return { values, Q: out };
}

/** Solves the block `[from, to)` of the tridiagonal `(d, e)` (`d` is modified by the tears). */
function* solveBlock(d: Float64Array, e: Float64Array, from: number, to: number): Computation<TridiagonalEigen> {
  if (to - from <= LEAF_SIZE) return leaf(d, e, from, to);
  const mid = from + ((to - from) >> 1);
  const rho = e[mid - 1]!;
  d[mid - 1] = d[mid - 1]! - Math.abs(rho);
  d[mid] = d[mid]! - Math.abs(rho);
  const top = yield* solveBlock(d, e, from, mid);
  const bottom = yield* solveBlock(d, e, mid, to);
  return yield* merge(top, bottom, rho);
}

/**
 * All eigenpairs of the symmetric tridiagonal matrix with diagonal `d` (length `n`) and subdiagonal `e`
 * (`e[j] = T[j + 1, j]`). The matrix is scaled by a power of two to a largest entry in `(1/2, 1]` first (exact).
 */
export function* tridiagonalEigen(d: Float64Array, e: Float64Array): Computation<TridiagonalEigen> {
  const n = d.length;
  let largest = 0;
  for (const v of d) largest = Math.max(largest, Math.abs(v));
  for (const v of e) largest = Math.max(largest, Math.abs(v));
  const scale = largest > 0 ? 2 ** -Math.ceil(Math.log2(largest)) : 1;
  const ds = Float64Array.from(d, (v) => v * scale);
  const es = Float64Array.from(e, (v) => v * scale);
  const result = n === 0 ? { values: new Float64Array(0), Q: new Float64Array(0) } : yield* solveBlock(ds, es, 0, n);
  for (let i = 0; i < n; i++) result.values[i] = result.values[i]! / scale;
  return result;
}
