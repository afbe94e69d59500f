/**
 * Blocked Householder reduction of a symmetric matrix to tridiagonal form, `A = Q T Q^T` (LAPACK `dsytrd` with its
 * panel routine `dlatrd`, lower variant, on row-major storage). Each panel of {@link PANEL} columns needs one
 * matrix-vector product with the trailing matrix per column (the level-2 half of the work) and ends with a
 * rank-`2 PANEL` update of the trailing matrix, `B -= V W^T + W V^T` (the level-3 half), both yielded as
 * {@link ProductRequest}s. The trailing matrix is kept compact (`m x m`, both triangles) so that every product
 * reads contiguous rows.
 */
import { request, view, type Computation } from './products.js';
import { mirrorLower, transposeInto } from './tiles.js';

/** Columns per panel (the rank of each trailing update is twice this). */
export const PANEL = 32;
/** Rows per product of the trailing update (only the lower triangle is computed, then mirrored). */
const UPDATE_ROWS = 256;

/** The tridiagonal form and the reflectors of `Q = H_0 H_1 ... H_{n-2}`, `H_j = I - tau_j v_j v_j^T`. */
export interface Tridiagonal {
  readonly n: number;
  /** Diagonal of `T`, length `n`. */
  readonly d: Float64Array;
  /** Subdiagonal of `T`: `e[j] = T[j + 1, j]`, length `max(0, n - 1)`. */
  readonly e: Float64Array;
  /** `n x n` row-major: row `j` is `v_j` (zero up to `j`, `1` at `j + 1`). */
  readonly reflectors: Float64Array;
  /** `tau_j`, length `max(0, n - 1)` (`0`: `H_j = I`). */
  readonly tau: Float64Array;
}

/**
 * The Householder vector of `x` (LAPACK `dlarfg`): `tau`, `beta` with `(I - tau v v^T) x = beta e_1`, `v_0 = 1`,
 * the rest of `v` written over `x[from + 1 .. to)`. `tau = 0` (and `beta = x_0`) when `x` is already a multiple of `e_1`.
 */
function householder(x: Float64Array, from: number, to: number): { tau: number; beta: number } {
  const alpha = x[from]!;
  let scale = 0;
  for (let i = from + 1; i < to; i++) scale = Math.max(scale, Math.abs(x[i]!));
  if (scale === 0) return { tau: 0, beta: alpha };
  let sum = 0;
  for (let i = from + 1; i < to; i++) sum += (x[i]! / scale) ** 2;
  const xnorm = scale * Math.sqrt(sum);
  const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, xnorm);
  const inv = 1 / (alpha - beta);
  for (let i = from + 1; i < to; i++) x[i] = x[i]! * inv;
  x[from] = 1;
  return { tau: (beta - alpha) / beta, beta };
}

/** Working storage of one reduction. */
interface Workspace {
  readonly out: Tridiagonal;
  /** The compact trailing matrix (`m x m` in its first `m^2` entries). */
  readonly B: Float64Array;
  /** Panel vectors by column (`2 PANEL x m`): column `t` of `V` at row `t`, of `W` at row `PANEL + t`. */
  readonly VWc: Float64Array;
  /** `[V | W]` and `[W | V]` row-major (`m x 2 PANEL`), for the trailing update. */
  readonly VW: Float64Array;
  readonly WV: Float64Array;
  /** Column buffer and padded reflector, length `n`. */
  readonly column: Float64Array;
  readonly padded: Float64Array;
}

/** Row `c` of the trailing matrix from column `c` on, with the panel's earlier updates applied, into `column`. */
function updatedRow(ws: Workspace, m: number, c: number): void {
  const { B, VWc, column } = ws;
  const len = m - c;
  for (let i = 0; i < len; i++) column[i] = B[c * m + c + i]!;
  // column -= V_t W[c, t] + W_t V[c, t], two panel columns per pass.
  let t = 0;
  for (; t + 1 < c; t += 2) {
    const v0 = t * m + c;
    const v1 = v0 + m;
    const w0 = (PANEL + t) * m + c;
    const w1 = w0 + m;
    const [a0, a1, b0, b1] = [VWc[w0]!, VWc[w1]!, VWc[v0]!, VWc[v1]!];
    for (let i = 0; i < len; i++) column[i] = column[i]! - VWc[v0 + i]! * a0 - VWc[w0 + i]! * b0 - VWc[v1 + i]! * a1 - VWc[w1 + i]! * b1;
  }
  if (t < c) {
    const v0 = t * m + c;
    const w0 = (PANEL + t) * m + c;
    const [a0, b0] = [VWc[w0]!, VWc[v0]!];
    for (let i = 0; i < len; i++) column[i] = column[i]! - VWc[v0 + i]! * a0 - VWc[w0 + i]! * b0;
  }
}

/** `p[t] = W_t . v`, `p[c + t] = V_t . v` over rows `c + 1 ..` (the reflector `v` in `padded`). */
function panelDots(ws: Workspace, m: number, c: number, p: Float64Array): void {
  const { VWc, padded } = ws;
  const len = m - c - 1;
  for (let t = 0; t < c; t++) {
    const vo = t * m + c + 1;
    const wo = (PANEL + t) * m + c + 1;
    let pw = 0;
    let pv = 0;
    for (let i = 0; i < len; i++) {
      const v = padded[c + 1 + i]!;
      pw += VWc[wo + i]! * v;
      pv += VWc[vo + i]! * v;
    }
    p[t] = pw;
    p[c + t] = pv;
  }
}

/**
 * `w = tau (B v - V (W^T v) - W (V^T v))`, then `w -= (tau / 2) (w . v) v`, from the product `y = B v` (rows
 * `c + 1 ..`); stored as column `c` of `W`.
 */
function panelW(ws: Workspace, m: number, c: number, tau: number, y: Float64Array): void {
  const { VWc, padded } = ws;
  const len = m - c - 1;
  const p = new Float64Array(2 * c);
  panelDots(ws, m, c, p);
  let t = 0;
  for (; t + 1 < c; t += 2) {
    const v0 = t * m + c + 1;
    const v1 = v0 + m;
    const w0 = (PANEL + t) * m + c + 1;
    const w1 = w0 + m;
    const [a0, a1, b0, b1] = [p[t]!, p[t + 1]!, p[c + t]!, p[c + t + 1]!];
    for (let i = 0; i < len; i++) y[i] = y[i]! - VWc[v0 + i]! * a0 - VWc[w0 + i]! * b0 - VWc[v1 + i]! * a1 - VWc[w1 + i]! * b1;
  }
  if (t < c) {
    const v0 = t * m + c + 1;
    const w0 = (PANEL + t) * m + c + 1;
    const [a0, b0] = [p[t]!, p[c + t]!];
    for (let i = 0; i < len; i++) y[i] = y[i]! - VWc[v0 + i]! * a0 - VWc[w0 + i]! * b0;
  }
  let dot = 0;
  for (let i = 0; i < len; i++) {
    y[i] = y[i]! * tau;
    dot += y[i]! * padded[c + 1 + i]!;
  }
  const shift = -0.5 * tau * dot;
  const wo = (PANEL + c) * m + c + 1;
  for (let i = 0; i < len; i++) VWc[wo + i] = y[i]! + shift * padded[c + 1 + i]!;
}

/** Reduces the `nb` columns of one panel of the `m x m` trailing matrix (global column `j0` first). */
function* reducePanel(ws: Workspace, m: number, nb: number, j0: number): Computation<void> {
  const { out, B, VWc, column, padded } = ws;
  const { n, d, e, reflectors, tau } = out;
  VWc.fill(0, 0, 2 * PANEL * m);
  for (let c = 0; c < nb; c++) {
    const j = j0 + c;
    updatedRow(ws, m, c);
    d[j] = column[0]!;
    const h = householder(column, 1, m - c);
    e[j] = h.beta;
    tau[j] = h.tau;
    if (h.tau === 0) column.fill(0, 2, m - c);
    column[1] = 1;
    padded.fill(0, 0, c + 1);
    for (let r = c + 1; r < m; r++) padded[r] = column[r - c]!;
    VWc.set(padded.subarray(c + 1, m), c * m + c + 1);
    reflectors.set(padded.subarray(c + 1, m), j * n + j0 + c + 1);
    if (h.tau === 0) continue;
    const y = yield request(view(B, m - c - 1, m, (c + 1) * m), view(padded, m, 1));
    panelW(ws, m, c, h.tau, y.data);
  }
}

/** `B22 -= V W^T + W V^T` on the trailing `(m - nb) x (m - nb)` block, compacted to the front of `B`. */
function* updateTrailing(ws: Workspace, m: number, nb: number): Computation<void> {
  const { B, VWc, VW, WV } = ws;
  const S = 2 * PANEL;
  const next = m - nb;
  transposeInto(VWc, S, m, VW);
  for (let r = 0; r < m; r++) {
    const o = r * S;
    WV.set(VW.subarray(o + PANEL, o + S), o);
    WV.set(VW.subarray(o, o + PANEL), o + PANEL);
  }
  const U = VW.subarray(nb * S);
  const Z = WV.subarray(nb * S);
  for (let r0 = 0; r0 < next; r0 += UPDATE_ROWS) {
    const r1 = Math.min(next, r0 + UPDATE_ROWS);
    const P = (yield request(view(U, r1 - r0, S, r0 * S), view(Z, r1, S), false, true)).data;
    // Compact in place: row r of the new matrix is written at or before where row r + nb of the old one is read.
    for (let r = r0; r < r1; r++) {
      const from = (r + nb) * m + nb;
      const to = r * next;
      const p = (r - r0) * r1;
      for (let c = 0; c <= r; c++) B[to + c] = B[from + c]! - P[p + c]!;
    }
  }
  mirrorLower(B, next);
}

/**
 * Reduces the symmetric `n x n` row-major `A` (both triangles; overwritten) to tridiagonal form.
 */
export function* tridiagonalize(A: Float64Array, n: number): Computation<Tridiagonal> {
  const out: Tridiagonal = {
    n,
    d: new Float64Array(n),
    e: new Float64Array(Math.max(0, n - 1)),
    reflectors: new Float64Array(n * n),
    tau: new Float64Array(Math.max(0, n - 1)),
  };
  const ws: Workspace = {
    out,
    B: A,
    VWc: new Float64Array(n * 2 * PANEL),
    VW: new Float64Array(n * 2 * PANEL),
    WV: new Float64Array(n * 2 * PANEL),
    column: new Float64Array(n),
    padded: new Float64Array(n),
  };
  let m = n;
  let j0 = 0;
  while (m > 1) {
    const nb = Math.min(PANEL, m - 1);
    yield* reducePanel(ws, m, nb, j0);
    yield* updateTrailing(ws, m, nb);
    m -= nb;
    j0 += nb;
  }
  if (n > 0) out.d[n - 1] = A[0]!;
  return out;
}
