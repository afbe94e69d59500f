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

/** Eigenvalues (ascending) and eigenvectors (columns of the row-major `Q`: `n x n`, or the wanted range of them). */
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

/** A block of at most {@link LEAF_SIZE} by implicit QL: eigenvalues ascending, vectors as columns. */
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
 * `rows` of the kept columns whose type is in `types`, times the matching components of the secular vectors of
 * `roots` (`Ut`: `k x k`, one vector per row): yields one product, `m x roots.length`.
 */
function* keptProduct(cols: MergeColumns, kept: number[], Ut: Float64Array, roots: number[], rows: [number, number], types: readonly number[]): Computation<Float64Array> {
  const { s, Q, type } = cols;
  const k = kept.length;
  const m = rows[1] - rows[0];
  const nr = roots.length;
  const picked = kept.map((_, p) => p).filter((p) => types.includes(type[kept[p]!]!));
  const np = picked.length;
  if (np === 0 || m === 0 || nr === 0) return new Float64Array(m * nr);
  const A = new Float64Array(m * np);
  for (let r = 0; r < m; r++) {
    const o = (rows[0] + r) * s;
    for (let q = 0; q < np; q++) A[r * np + q] = Q[o + kept[picked[q]!]!]!;
  }
  const Bt = new Float64Array(nr * np);
  for (let j = 0; j < nr; j++) {
    const o = roots[j]! * k;
    for (let q = 0; q < np; q++) Bt[j * np + q] = Ut[o + picked[q]!]!;
  }
  return (yield request(view(A, m, np), view(Bt, nr, np), false, true)).data;
}

/** The merged block before its vectors are multiplied out: the deflated columns and the secular solution. */
interface MergedSpectrum {
  readonly cols: MergeColumns;
  /** `D` after deflation (the eigenvalue of each deflated column). */
  readonly D: Float64Array;
  readonly kept: number[];
  /** The secular roots (one per kept index) and their vectors, rows of `Ut`. */
  readonly lambda: Float64Array;
  readonly Ut: Float64Array;
  /** Every eigenvalue's source in ascending order: root `p` (`>= 0`) or deflated column `-1 - i`. */
  readonly sources: number[];
}

/** Deflates and solves the secular equation of two solved halves coupled by `rho` (the torn-off subdiagonal entry). */
function mergeSpectrum(top: TridiagonalEigen, bottom: TridiagonalEigen, rho: number): MergedSpectrum {
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
  const cols: MergeColumns = { s, n1, Q, type: new Uint8Array(s).fill(1, 0, n1).fill(3, n1) };
  const r2 = 2 * Math.abs(rho);
  const { kept, deflated } = deflate(D, z, r2, cols);
  const k = kept.length;
  const dk = Float64Array.from(kept, (i) => D[i]!);
  const zk = Float64Array.from(kept, (i) => z[i]!);
  const roots = secularRoots(dk, zk, r2, k);
  const Ut = secularVectors(dk, zk, roots, k);
  const lambda = roots.lambda;
  const sources = [...Array.from({ length: k }, (_, p) => p), ...deflated.map((i) => -1 - i)];
  const valueOf = (src: number) => (src >= 0 ? lambda[src]! : D[-1 - src]!);
  sources.sort((a, b) => valueOf(a) - valueOf(b) || a - b);
  return { cols, D, kept, lambda, Ut, sources };
}

/**
 * Merges two solved halves coupled by `rho`: all eigenvalues, and the eigenvectors of ascending indices
 * `[lo, hi)` (columns of `Q`, `s x (hi - lo)`).
 */
function* merge(top: TridiagonalEigen, bottom: TridiagonalEigen, rho: number, lo: number, hi: number): Computation<TridiagonalEigen> {
  const { cols, D, kept, lambda, Ut, sources } = mergeSpectrum(top, bottom, rho);
  const { s, n1, Q } = cols;
  const values = Float64Array.from(sources, (src) => (src >= 0 ? lambda[src]! : D[-1 - src]!));
  const wanted = sources.slice(lo, hi);
  const roots = wanted.filter((src) => src >= 0);
  const upper = yield* keptProduct(cols, kept, Ut, roots, [0, n1], [1, 2]);
  const lower = yield* keptProduct(cols, kept, Ut, roots, [n1, s], [2, 3]);
  // Where each wanted column comes from: position in `roots` (>= 0) or deflated column -1 - i.
  const slot = new Map(roots.map((src, j) => [src, j]));
  const from = Int32Array.from(wanted, (src) => (src >= 0 ? slot.get(src)! : src));
  const w = hi - lo;
  const nr = roots.length;
  const out = new Float64Array(s * w);
  for (let r = 0; r < s; r++) {
    const o = r * w;
    const part = r < n1 ? upper : lower;
    const po = (r < n1 ? r : r - n1) * nr;
    for (let p = 0; p < w; p++) {
      const src = from[p]!;
      out[o + p] = src >= 0 ? part[po + src]! : Q[r * s - 1 - src]!;
    }
  }
  return { values, Q: out };
}

/**
 * Solves the block `[from, to)` of the tridiagonal `(d, e)` (`d` is modified by the tears): all eigenvalues, the
 * eigenvectors of ascending indices `[lo, hi)` within the block (all of them below the top level).
 */
function* solveBlock(d: Float64Array, e: Float64Array, from: number, to: number, lo = 0, hi = to - from): Computation<TridiagonalEigen> {
  if (to - from <= LEAF_SIZE) {
    const all = leaf(d, e, from, to);
    return lo === 0 && hi === to - from ? all : { values: all.values, Q: columns(all.Q, to - from, lo, hi) };
  }
  const mid = from + ((to - from) >> 1);
  const rho = e[mid - 1]!;
  d[mid - 1] = d[mid - 1]! - Math.abs(rho);
  d[mid] = d[mid]! - Math.abs(rho);
  const top = yield* solveBlock(d, e, from, mid);
  const bottom = yield* solveBlock(d, e, mid, to);
  return yield* merge(top, bottom, rho, lo, hi);
}

/** Columns `[lo, hi)` of the `s x s` row-major `Q`. */
function columns(Q: Float64Array, s: number, lo: number, hi: number): Float64Array {
  const w = hi - lo;
  const out = new Float64Array(s * w);
  for (let r = 0; r < s; r++) out.set(Q.subarray(r * s + lo, r * s + hi), r * w);
  return out;
}

/**
 * The eigenvalues (ascending) of the symmetric tridiagonal matrix with diagonal `d` (length `n`) and subdiagonal
 * `e` (`e[j] = T[j + 1, j]`), and the eigenvectors of ascending indices `[lo, hi)` as the columns of `Q`
 * (`n x (hi - lo)`; default all). The matrix is scaled by a power of two to a largest entry in `(1/2, 1]` first (exact).
 */
export function* tridiagonalEigen(d: Float64Array, e: Float64Array, lo = 0, hi = d.length): Computation<TridiagonalEigen> {
  const n = d.length;
  let largest = 0;
  for (const v of d) largest = Math.max(largest, Math.abs(v));
  for (const v of e) largest = Math.max(largest, Math.abs(v));
  const scale = largest > 0 ? 2 ** -Math.ceil(Math.log2(largest)) : 1;
  const ds = Float64Array.from(d, (v) => v * scale);
  const es = Float64Array.from(e, (v) => v * scale);
  const result = n === 0 ? { values: new Float64Array(0), Q: new Float64Array(0) } : yield* solveBlock(ds, es, 0, n, lo, hi);
  for (let i = 0; i < n; i++) result.values[i] = result.values[i]! / scale;
  return result;
}
