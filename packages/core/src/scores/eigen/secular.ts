/**
 * The eigenproblem of a rank-one modified diagonal matrix `D + rho z z^T` (`d` strictly increasing, every `z_i`
 * non-zero, `rho > 0`), the merge step of the divide and conquer (LAPACK `dlaed4` + `dlaed3`):
 *
 * - the eigenvalue `lambda_i` is the root of the secular equation `f(x) = 1 + rho sum_j z_j^2 / (d_j - x)` in
 *   `(d_i, d_{i+1})` (the last one in `(d_{k-1}, d_{k-1} + rho |z|^2)`). Each root is found relative to its nearer
 *   pole (`lambda_i = d_origin + tau`, so the differences `d_j - lambda_i = (d_j - d_origin) - tau` keep full
 *   relative accuracy) by the rational two-pole model of `f` (Bunch, Nielsen and Sorensen; LAPACK's "middle way"),
 *   safeguarded by bisection on a bracket;
 * - the eigenvectors use the Gu-Eisenstat recomputation of `z` from the computed roots, which makes them
 *   orthogonal to working precision however close the roots are: `zhat_i^2 = -prod_j (d_i - lambda_j) /
 *   prod_{j != i} (d_i - d_j)`, `u_j ~ zhat / (d - lambda_j)`, normalised.
 */

const EPS = 2 ** -52;
const MAX_ITERATIONS = 200;

/** Roots of the secular equation with the pole differences `delta[i k + j] = d_j - lambda_i`. */
export interface SecularRoots {
  readonly lambda: Float64Array;
  readonly delta: Float64Array;
}

/** One root, `i`, written into `lambda[i]` and row `i` of `delta`. */
function solveRoot(d: Float64Array, rz2: Float64Array, k: number, i: number, out: SecularRoots): void {
  const last = i === k - 1;
  let origin = i;
  let lo = 0;
  let hi: number;
  if (last) {
    hi = 0;
    for (let j = 0; j < k; j++) hi += rz2[j]!;
  } else {
    const mid = (d[i + 1]! - d[i]!) / 2;
    let f = 1;
    for (let j = 0; j < k; j++) f += rz2[j]! / (d[j]! - d[i]! - mid);
    if (f >= 0) hi = mid;
    else {
      origin = i + 1;
      lo = d[i]! - d[i + 1]! + mid;
      hi = 0;
    }
  }
  const delta = out.delta.subarray(i * k, (i + 1) * k);
  for (let j = 0; j < k; j++) delta[j] = d[j]! - d[origin]!;
  // The two poles of the model: i and i + 1 (the last root: k - 2 and k - 1; k >= 2).
  const left = last ? k - 2 : i;
  const right = last ? k - 1 : i + 1;
  let tau = (lo + hi) / 2;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    // Terms of poles left of the root are negative, right of it positive: |sum| = phi - psi.
    let psi = 0;
    let dPsi = 0;
    for (let j = 0; j <= left; j++) {
      const inv = 1 / (delta[j]! - tau);
      const term = rz2[j]! * inv;
      psi += term;
      dPsi += term * inv;
    }
    let phi = 0;
    let dPhi = 0;
    for (let j = left + 1; j < k; j++) {
      const inv = 1 / (delta[j]! - tau);
      const term = rz2[j]! * inv;
      phi += term;
      dPhi += term * inv;
    }
    const w = 1 + psi + phi;
    const absSum = phi - psi;
    if (w > 0) hi = Math.min(hi, tau);
    else lo = Math.max(lo, tau);
    if (Math.abs(w) <= EPS * (8 * (1 + absSum) + Math.abs(tau) * (dPsi + dPhi)) || hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) break;
    // Model c + s / (D1 - eta) + S / (D2 - eta), matching f and its derivative split at the two poles.
    const D1 = delta[left]! - tau;
    const D2 = delta[right]! - tau;
    const c = w - dPsi * D1 - dPhi * D2;
    const b = c * (D1 + D2) + dPsi * D1 * D1 + dPhi * D2 * D2;
    const cc = D1 * D2 * w;
    const disc = Math.sqrt(Math.max(0, b * b - 4 * c * cc));
    const eta = b >= 0 ? (2 * cc) / (b + disc) : (2 * cc) / (b - disc);
    const next = tau + eta;
    tau = next > lo && next < hi && Number.isFinite(next) ? next : (lo + hi) / 2;
  }
  for (let j = 0; j < k; j++) delta[j] = delta[j]! - tau;
  out.lambda[i] = d[origin]! + tau;
}

/** All roots of the secular equation of `D + rho z z^T`. */
export function secularRoots(d: Float64Array, z: Float64Array, rho: number, k: number): SecularRoots {
  const rz2 = new Float64Array(k);
  for (let j = 0; j < k; j++) rz2[j] = rho * z[j]! * z[j]!;
  const out: SecularRoots = { lambda: new Float64Array(k), delta: new Float64Array(k * k) };
  if (k === 1) {
    out.delta[0] = -rz2[0]!;
    out.lambda[0] = d[0]! + rz2[0]!;
    return out;
  }
  for (let i = 0; i < k; i++) solveRoot(d, rz2, k, i, out);
  return out;
}

/**
 * The orthonormal eigenvectors of `D + rho z z^T` as the rows of a `k x k` row-major matrix (row `j` belongs to
 * `lambda_j`), by the Gu-Eisenstat formula (`z` gives only the signs).
 */
export function secularVectors(d: Float64Array, z: Float64Array, roots: SecularRoots, k: number): Float64Array {
  const { delta } = roots;
  // w_i = (d_i - lambda_i) prod_{j != i} (d_i - lambda_j) / (d_i - d_j), accumulated root by root (rows of delta).
  const w = new Float64Array(k);
  for (let i = 0; i < k; i++) w[i] = delta[i * k + i]!;
  for (let j = 0; j < k; j++) {
    const o = j * k;
    const dj = d[j]!;
    for (let i = 0; i < k; i++) if (i !== j) w[i] = w[i]! * (delta[o + i]! / (d[i]! - dj));
  }
  const zhat = new Float64Array(k);
  for (let i = 0; i < k; i++) zhat[i] = Math.sign(z[i]!) * Math.sqrt(Math.max(0, -w[i]!));
  const U = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    const o = j * k;
    let norm2 = 0;
    for (let i = 0; i < k; i++) {
      const v = zhat[i]! / delta[o + i]!;
      U[o + i] = v;
      norm2 += v * v;
    }
    const inv = 1 / Math.sqrt(norm2);
    for (let i = 0; i < k; i++) U[o + i] = U[o + i]! * inv;
  }
  return U;
}
