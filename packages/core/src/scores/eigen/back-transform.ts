/**
 * Back-transformation of eigenvectors of the tridiagonal `T` to eigenvectors of `A = Q T Q^T`: `X <- Q X` with
 * `Q = H_0 ... H_{n-2}` applied as blocks of {@link REFLECTOR_BLOCK} reflectors in compact WY form
 * (`H_j0 ... H_j1-1 = I - V T V^T`, LAPACK `dlarft` + `dlarfb` as in `dormtr`), last block first. Each block costs
 * four products (`V^T V` for `T`, `W = V^T X`, `T W` and `V (T W)`), yielded as {@link ProductRequest}s.
 */
import type { Tridiagonal } from './tridiagonalize.js';
import { request, view, type Computation } from './products.js';

/** Reflectors per block (the inner dimension of the block products). */
export const REFLECTOR_BLOCK = 128;

/** The upper triangular `T` (`b x b`) of `I - V T V^T` from the Gram matrix `G = V^T V` of the block (`dlarft`). */
function blockTriangle(tau: Float64Array, j0: number, b: number, G: Float64Array): Float64Array {
  const T = new Float64Array(b * b);
  for (let i = 0; i < b; i++) {
    const ti = tau[j0 + i]!;
    T[i * b + i] = ti;
    // T[0:i, i] = -tau_i T[0:i, 0:i] G[0:i, i]
    for (let r = 0; r < i; r++) {
      let s = 0;
      for (let c = r; c < i; c++) s += T[r * b + c]! * G[c * b + i]!;
      T[r * b + i] = -ti * s;
    }
  }
  return T;
}

/**
 * `X <- Q X` for the `n x k` row-major `X` (columns are vectors in the tridiagonal basis), in place.
 */
export function* applyReflectors(tri: Tridiagonal, X: Float64Array, k: number): Computation<void> {
  const { n, reflectors, tau } = tri;
  if (n < 2 || k === 0) return;
  const starts: number[] = [];
  for (let j0 = 0; j0 < n - 1; j0 += REFLECTOR_BLOCK) starts.push(j0);
  for (const j0 of starts.reverse()) {
    const b = Math.min(REFLECTOR_BLOCK, n - 1 - j0);
    const m = n - j0 - 1;
    // V^T as b x m rows: reflector j0 + t restricted to rows j0 + 1 ..
    const Vt = new Float64Array(b * m);
    for (let t = 0; t < b; t++) Vt.set(reflectors.subarray((j0 + t) * n + j0 + 1, (j0 + t + 1) * n), t * m);
    const vt = view(Vt, b, m);
    const G = (yield request(vt, vt, false, true)).data;
    const T = blockTriangle(tau, j0, b, G);
    const rows = view(X, m, k, (j0 + 1) * k);
    const W = (yield request(vt, rows)).data;
    const TW = yield request(view(T, b, b), view(W, b, k));
    const P = (yield request(vt, TW, true, false)).data;
    const Xs = rows.data;
    for (let i = 0; i < m * k; i++) Xs[i] = Xs[i]! - P[i]!;
  }
}
