/**
 * The `bandedGridLogSumExp` step of banded grid scoring in JavaScript (float64 math, float32 results), used when the
 * kernel has no such accelerator.
 */
import type { BandedGridLogSumExp, BandedGridParts, BandedGridShape } from '../../kernel-accelerators.js';

/**
 * For `i = count-1 .. 0`: `cum += P_{first + i}` (row `r`: its `weightLow` low entries, then its `S - weightLow` high
 * ones), then writes the low entries (`a < weightLow`, plus `bias` when given) to `lo[(a * count + i) * C + c]` and the high entries to
 * `hi[(b * count + i) * C + c]`. Returns the maxima of the two groups (`-Infinity` when empty).
 */
function cumulativeGroups(
  parts: BandedGridParts,
  first: number,
  count: number,
  r: number,
  S: number,
  C: number,
  weightLow: number,
  cum: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  bias: Float32Array | null,
): [number, number] {
  let maxLo = -Infinity, maxHi = -Infinity;
  cum.fill(0);
  for (let i = count - 1; i >= 0; i--) {
    const lowPart = parts.low[first + i]!, lowBase = r * weightLow * C, lowEnd = weightLow * C;
    for (let e = 0; e < lowEnd; e++) cum[e] = cum[e]! + lowPart[lowBase + e]!;
    const highPart = parts.high[first + i]!, highBase = r * (S - weightLow) * C - lowEnd;
    for (let e = lowEnd; e < S * C; e++) cum[e] = cum[e]! + highPart[highBase + e]!;
    for (let s = 0; s < S; s++) {
      const low = s < weightLow;
      const out = ((low ? s : s - weightLow) * count + i) * C;
      const target = low ? lo : hi;
      let max = low ? maxLo : maxHi;
      for (let c = 0; c < C; c++) {
        const v = cum[s * C + c]! + (low && bias ? bias[c]! : 0);
        target[out + c] = v;
        if (v > max) max = v;
      }
      if (low) maxLo = max;
      else maxHi = max;
    }
  }
  return [maxLo, maxHi];
}

/**
 * The `bandedGridLogSumExp` accelerator operation in JavaScript (float64 math, float32 results), for kernels without
 * their own: each group is shifted by its row maximum and exponentiated once per entry, and each point's sum over
 * classes is `sum_c X[an] Y[bn]` with `X`, `Y` the products of the groups that depend on `an`, `bn`.
 */
export function bandedGridLogSumExpJs(parts: BandedGridParts, shape: BandedGridShape, bias: Float32Array): BandedGridLogSumExp {
  const { rows: R, classes: C, weightLow: wL, weightHigh: wH, neuronLow: nL, neuronHigh: nH } = shape;
  const S = wL + wH;
  const B = wH + 1, Bn = nH + 1;
  const combos = wL * B * Bn * nL;
  const logSum = new Float32Array(R * combos);
  const shifts = new Float32Array(R * 4);
  // Exponentials per row: ell[(a*nL + an)*C + c], ehl[(b*nL + an)*C + c] (b < wH), elh[(a*nH + bn)*C + c], ehh[(b*nH + bn)*C + c].
  const ell = new Float64Array(wL * nL * C);
  const ehl = new Float64Array(wH * nL * C);
  const elh = new Float64Array(wL * nH * C);
  const ehh = new Float64Array(wH * nH * C);
  const cum = new Float64Array(S * C);
  const xs = new Float64Array(nL * C);
  const ys = new Float64Array(nH * C);
  for (let r = 0; r < R; r++) {
    // Group values before exponentials: cumulative sums over the low-side neuron parts (from the centre down),
    // then over the high-side ones.
    const [maxLL, maxHL] = cumulativeGroups(parts, 0, nL, r, S, C, wL, cum, ell, ehl, bias);
    const [maxLH, maxHH] = cumulativeGroups(parts, nL, nH, r, S, C, wL, cum, elh, ehh, null);
    const shift = [maxLL, nH > 0 ? maxLH : 0, wH > 0 ? maxHL : 0, wH > 0 && nH > 0 ? maxHH : 0];
    shifts.set(shift, r * 4);
    for (let i = 0; i < ell.length; i++) ell[i] = Math.exp(ell[i]! - shift[0]!);
    for (let i = 0; i < elh.length; i++) elh[i] = Math.exp(elh[i]! - shift[1]!);
    for (let i = 0; i < ehl.length; i++) ehl[i] = Math.exp(ehl[i]! - shift[2]!);
    for (let i = 0; i < ehh.length; i++) ehh[i] = Math.exp(ehh[i]! - shift[3]!);
    // Every (a, b): z[bn, an] = sum_c x_an y_bn with x_an = ell[a, an] * ehl[b, an], y_bn = elh[a, bn] * ehh[b, bn]
    // (factors of absent groups are 1).
    for (let a = 0; a < wL; a++) {
      for (let b = 0; b < B; b++) {
        const high = b < wH;
        // xs[an] = ell[a, an] * ehl[b, an], ys[bn] = elh[a, bn] * ehh[b, bn] as contiguous class vectors.
        for (let an = 0; an < nL; an++) {
          const e = (a * nL + an) * C, h = (b * nL + an) * C, o = an * C;
          if (high) for (let c = 0; c < C; c++) xs[o + c] = ell[e + c]! * ehl[h + c]!;
          else for (let c = 0; c < C; c++) xs[o + c] = ell[e + c]!;
        }
        for (let bn = 0; bn < nH; bn++) {
          const e = (a * nH + bn) * C, h = (b * nH + bn) * C, o = bn * C;
          if (high) for (let c = 0; c < C; c++) ys[o + c] = elh[e + c]! * ehh[h + c]!;
          else for (let c = 0; c < C; c++) ys[o + c] = elh[e + c]!;
        }
        const out = r * combos + (a * B + b) * Bn * nL;
        for (let an = 0; an < nL; an++) {
          const xo = an * C;
          let plain = 0;
          for (let c = 0; c < C; c++) plain += xs[xo + c]!;
          logSum[out + nH * nL + an] = Math.log(plain); // bn = nH: no high-side neuron part
          for (let bn = 0; bn < nH; bn++) {
            const yo = bn * C;
            let dot = 0;
            for (let c = 0; c < C; c++) dot += xs[xo + c]! * ys[yo + c]!;
            logSum[out + bn * nL + an] = Math.log(dot);
          }
        }
      }
    }
  }
  return { logSum, shifts };
}
