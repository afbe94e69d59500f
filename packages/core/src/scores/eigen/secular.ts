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
function solveRoot(d: Float64Array, z2: Float64Array, rho: number, k: number, i: number, out: SecularRoots): void {
  const last = i === k - 1;
  let origin = i;
  let lo = 0;
  let hi: number;
  if (last) {
    let norm2 = 0;
    for (let j = 0; j < k; j++) norm2 += z2[j]!;
    hi = rho * norm2;
  } else {
    const mid = (d[i + 1]! - d[i]!) / 2;
    let f = 1;
    for (let j = 0; j < k; j++) f += (rho * z2[j]!) / (d[j]! - d[i]! - mid);
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
    let w = 1;
    let dPsi = 0;
    let dPhi = 0;
    let absSum = 0;
    for (let j = 0; j < k; j++) {
      const diff = delta[j]! - tau;
      const term = (rho * z2[j]!) / diff;
      w += term;
      absSum += Math.abs(term);
      if (j <= left) dPsi += term / diff;
      else dPhi += term / diff;
    }
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
  const z2 = new Float64Array(k);
  for (let j = 0; j < k; j++) z2[j] = z[j]! * z[j]!;
  const out: SecularRoots = { lambda: new Float64Array(k), delta: new Float64Array(k * k) };
  if (k === 1) {
    out.delta[0] = -rho * z2[0]!;
    out.lambda[0] = d[0]! + rho * z2[0]!;
    return out;
  }
  for (let i = 0; i < k; i++) solveRoot(d, z2, rho, k, i, out);
  return out;
}

/**
 * The orthonormal eigenvectors of `D + rho z z^T` as the columns of a `k x k` row-major matrix (column `i` belongs
 * to `lambda_i`), by the Gu-Eisenstat formula (`z` gives only the signs).
 */
export function secularVectors(d: Float64Array, z: Float64Array, roots: SecularRoots, k: number): Float64Array {
  const { delta } = roots;
  const zhat = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let w = delta[i * k + i]!;
    for (let j = 0; j < k; j++) if (j !== i) w *= delta[j * k + i]! / (d[i]! - d[j]!);
    zhat[i] = Math.sign(z[i]!) * Math.sqrt(Math.max(0, -w));
  }
  const U = new Float64Array(k * k);
  const column = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let norm2 = 0;
    const o = j * k;
    for (let i = 0; i < k; i++) {
      const v = zhat[i]! / delta[o + i]!;
      column[i] = v;
      norm2 += v * v;
    }
    const inv = 1 / Math.sqrt(norm2);
    for (let i = 0; i < k; i++) U[i * k + j] = column[i]! * inv;
  }
  return U;
}
