/**
 * The grid search's kernel path for *banded* grids: those where no weight (or neuron) is both below a
 * lower threshold and above an upper one, which holds whenever every `pMin + pMax <= 100` (and
 * `nMin + nMax <= 100`), as in the paper's default grid.
 *
 * In a banded grid every weight lies in one of the nested low bands (pruned by some `pMin` level) or in
 * one of the nested high bands (pruned by some `pMax` level), never both; neurons likewise. So the logits of
 * grid point `(a, b, an, bn)` are a sum of four groups of partial logits (low/high weights on low/high neurons),
 * each depending on two of the four levels. One GEMM per neuron band, with the weights stacked as suffix sums of
 * the weight bands, gives every group; the kernel's {@link GemmKernel.bandedGridLogSumExp} then scores all
 * points (see {@link BandedGridShape} for the exact layout).
 */
import { BANDED_GRID_MIN_LOG_SUM, gemm, type BandedGridLogSumExp, type BandedGridShape, type GemmKernel } from '../gemm.js';
import type { LinearHead } from '../head.js';
import type { Matrix } from '../matrix.js';

/** Per-entry `(lowRank, highRank)` of a percentile lattice (see `bandRanks` in grid.ts); `-1` = kept by no point. */
export interface LatticeRanks {
  readonly low: Int32Array;
  readonly high: Int32Array;
}

/**
 * True when every entry kept by some point lies on the lattice's top row or right column: below no upper
 * threshold or above no lower one (`levels` = numbers of lower and upper levels).
 */
export function isBandedLattice(ranks: LatticeRanks, levels: readonly [number, number]): boolean {
  const lMax = levels[0] - 1;
  const hMax = levels[1] - 1;
  for (let i = 0; i < ranks.low.length; i++) {
    const l = ranks.low[i]!, h = ranks.high[i]!;
    if (l >= 0 && h >= 0 && l !== lMax && h !== hMax) return false;
  }
  return true;
}

/** Everything {@link scoreBandedGrid} needs. */
export interface BandedGridInput {
  readonly features: Matrix;
  readonly head: LinearHead;
  /** The GEMM kernel (its `bandedGridLogSumExp`, when it has one, scores the parts). */
  readonly kernel: GemmKernel;
  readonly weightRanks: LatticeRanks;
  readonly neuronRanks: LatticeRanks;
  /** Numbers of `pMin` and `pMax` levels. */
  readonly weightLevels: readonly [number, number];
  /** Numbers of `nMin` and `nMax` levels. */
  readonly neuronLevels: readonly [number, number];
  /** Level indices `(a, b, an, bn)` of each grid point. */
  readonly pointLevels: readonly (readonly [number, number, number, number])[];
  readonly temperature: number;
  readonly reactClip: number | undefined;
  readonly blockRows: number;
  /** Output: `scores[p][n]`, the energy of point `p` on row `n`. */
  readonly scores: Float32Array[];
}

/** One neuron band's columns and its weights stacked `[(weightLow + weightHigh) * C x |J|]`, scaled by `1/T`. */
interface NeuronPart {
  readonly columns: Int32Array;
  readonly stacked: Matrix;
}

/** Computes {@link BandedGridLogSumExp} from parts: a kernel's `bandedGridLogSumExp` or {@link bandedGridLogSumExpJs}. */
export type BandedScorer = (parts: readonly Float32Array[], shape: BandedGridShape, bias: Float32Array) => Promise<BandedGridLogSumExp> | BandedGridLogSumExp;

/** Where each grid point reads its value in a {@link BandedGridLogSumExp} result, and which group shifts it adds. */
export interface BandedPointMap {
  /** Level combinations per row. */
  readonly combos: number;
  readonly pointCombo: readonly number[];
  readonly pointShifts: readonly (readonly [boolean, boolean, boolean, boolean])[];
}

/** The {@link BandedPointMap} of points with level indices `(a, b, an, bn)` in a lattice of `shape`'s sizes. */
export function bandedPointMap(pointLevels: readonly (readonly [number, number, number, number])[], shape: Omit<BandedGridShape, 'rows' | 'classes'>): BandedPointMap {
  const { weightLow, weightHigh, neuronLow, neuronHigh } = shape;
  const B = weightHigh + 1, Bn = neuronHigh + 1;
  return {
    combos: weightLow * B * Bn * neuronLow,
    pointCombo: pointLevels.map(([a, b, an, bn]) => ((a * B + b) * Bn + bn) * neuronLow + an),
    pointShifts: pointLevels.map(([, b, , bn]) => [true, bn < neuronHigh, b < weightHigh, b < weightHigh && bn < neuronHigh] as const),
  };
}

/**
 * Scores one block of rows (`start .. start + shape.rows`) from its parts: `scores[p][n] = T * (logSum + shifts)`, and
 * an exact float64 re-scoring of rows whose `logSum` is below {@link BANDED_GRID_MIN_LOG_SUM} or not finite.
 */
export async function scoreBandedBlock(
  parts: readonly Float32Array[],
  shape: BandedGridShape,
  bias: Float32Array,
  scorer: BandedScorer,
  map: BandedPointMap,
  T: number,
  scores: Float32Array[],
  start: number,
): Promise<void> {
  const { logSum, shifts } = await scorer(parts, shape, bias);
  const { combos, pointCombo, pointShifts } = map;
  for (let r = 0; r < shape.rows; r++) {
    let accurate = true;
    for (let g = 0; g < combos && accurate; g++) {
      const v = logSum[r * combos + g]!;
      accurate = v >= BANDED_GRID_MIN_LOG_SUM && v < Infinity;
    }
    if (!accurate) {
      const exact = exactRow(parts, r, shape, bias);
      pointCombo.forEach((g, p) => (scores[p]![start + r] = T * exact[g]!));
      continue;
    }
    const s = shifts.subarray(r * 4, r * 4 + 4);
    pointCombo.forEach((g, p) => {
      const use = pointShifts[p]!;
      let value = logSum[r * combos + g]!;
      for (let k = 0; k < 4; k++) if (use[k]) value += s[k]!;
      scores[p]![start + r] = T * value;
    });
  }
}

/**
 * Scores every grid point on `features` (energy only): the parts come from one GEMM per neuron band with the weights
 * stacked as suffix sums of the weight bands, and are scored by the kernel's `bandedGridLogSumExp` or, without one,
 * by {@link bandedGridLogSumExpJs}.
 */
export async function scoreBandedGrid(input: BandedGridInput): Promise<void> {
  const { features, head, kernel, temperature: T, reactClip, blockRows, scores } = input;
  const scorer: BandedScorer = kernel.bandedGridLogSumExp?.bind(kernel) ?? bandedGridLogSumExpJs;
  const { rows: C, cols: D, data: W } = head.weight;
  const [weightLow, weightHighLevels] = input.weightLevels;
  const weightHigh = weightHighLevels - 1;
  const [neuronLow, neuronHighLevels] = input.neuronLevels;
  const neuronHigh = neuronHighLevels - 1;
  const parts = neuronParts(W, C, D, input.weightRanks, input.neuronRanks, weightLow, weightHigh, neuronLow, neuronHigh, T);
  const bias = Float32Array.from(head.bias, (v) => v / T);
  const map = bandedPointMap(input.pointLevels, { weightLow, weightHigh, neuronLow, neuronHigh });

  for (let start = 0; start < features.rows; start += blockRows) {
    const R = Math.min(blockRows, features.rows - start);
    const inputs = gatherColumns(features.data, D, start, R, parts.map((p) => p.columns), reactClip ?? Infinity);
    const outputs: Float32Array[] = [];
    for (const [k, part] of parts.entries()) {
      outputs.push((await gemm(kernel, { rows: R, cols: part.columns.length, data: inputs[k]! }, part.stacked, { transB: true })).data);
    }
    await scoreBandedBlock(outputs, { rows: R, classes: C, weightLow, weightHigh, neuronLow, neuronHigh }, bias, scorer, map, T, scores, start);
  }
}

/**
 * Rows `start .. start+R` of `data [N x D]` restricted to each column list and clipped at `clip`: one
 * `[R x |columns|]` matrix per list, filled row by row so each source row is read from cache once.
 */
export function gatherColumns(data: Float32Array, D: number, start: number, R: number, columnLists: readonly Int32Array[], clip: number): Float32Array[] {
  const outs = columnLists.map((columns) => new Float32Array(R * columns.length));
  for (let r = 0; r < R; r++) {
    const src = (start + r) * D;
    for (let k = 0; k < columnLists.length; k++) {
      const columns = columnLists[k]!;
      const out = outs[k]!;
      const J = columns.length;
      const o = r * J;
      for (let jj = 0; jj < J; jj++) {
        const v = data[src + columns[jj]!]!;
        out[o + jj] = v > clip ? clip : v;
      }
    }
  }
  return outs;
}

/**
 * The neuron parts of a banded lattice: low-side neurons by lower rank (the last is the centre), then
 * high-side neurons by upper rank. Stack entry `a < weightLow` of a part holds the weights with lower rank
 * `>= a` (low side and centre); entry `weightLow + b` the high-side weights with upper rank `>= b`. A part with
 * no neuron gets one zero column, so every part exists.
 */
function neuronParts(
  W: Float32Array,
  C: number,
  D: number,
  weightRanks: LatticeRanks,
  neuronRanks: LatticeRanks,
  weightLow: number,
  weightHigh: number,
  neuronLow: number,
  neuronHigh: number,
  T: number,
): NeuronPart[] {
  const columnsOf: number[][] = Array.from({ length: neuronLow + neuronHigh }, () => []);
  for (let j = 0; j < D; j++) {
    const l = neuronRanks.low[j]!, h = neuronRanks.high[j]!;
    if (l < 0 || h < 0) continue;
    columnsOf[h === neuronHigh ? l : neuronLow + h]!.push(j);
  }
  const S = weightLow + weightHigh;
  return columnsOf.map((columns) => {
    if (columns.length === 0) return { columns: Int32Array.of(0), stacked: { rows: S * C, cols: 1, data: new Float32Array(S * C) } };
    const J = columns.length;
    const data = new Float32Array(S * C * J);
    for (let jj = 0; jj < J; jj++) {
      const j = columns[jj]!;
      for (let c = 0; c < C; c++) {
        const i = c * D + j;
        const l = weightRanks.low[i]!, h = weightRanks.high[i]!;
        if (l < 0 || h < 0) continue;
        const w = W[i]! / T;
        // Low side or centre: entries 0..l; high side: entries weightLow + 0..h.
        const [first, last] = h === weightHigh ? [0, l] : [weightLow, weightLow + h];
        for (let s = first; s <= last; s++) data[(s * C + c) * J + jj] = w;
      }
    }
    return { columns: Int32Array.from(columns), stacked: { rows: S * C, cols: J, data } };
  });
}

/**
 * Log-sum-exp of every level combination of row `r`, straight from {@link BandedGridShape}'s definition in
 * float64 (for the rows the kernel's float32 result cannot be trusted on).
 */
function exactRow(parts: readonly Float32Array[], r: number, shape: BandedGridShape, bias: Float32Array): Float64Array {
  const { classes: C, weightLow, weightHigh, neuronLow, neuronHigh } = shape;
  const S = weightLow + weightHigh;
  const B = weightHigh + 1, Bn = neuronHigh + 1;
  const out = new Float64Array(weightLow * B * neuronLow * Bn);
  const logits = new Float64Array(C);
  let g = 0;
  for (let a = 0; a < weightLow; a++) {
    for (let b = 0; b < B; b++) {
      for (let bn = 0; bn < Bn; bn++) {
        for (let an = 0; an < neuronLow; an++) {
          logits.set(bias);
          const add = (k: number): void => {
            const base = r * S * C;
            const part = parts[k]!;
            for (let c = 0; c < C; c++) logits[c] = logits[c]! + part[base + a * C + c]!;
            if (b < weightHigh) for (let c = 0; c < C; c++) logits[c] = logits[c]! + part[base + (weightLow + b) * C + c]!;
          };
          for (let k = an; k < neuronLow; k++) add(k);
          for (let k = bn; k < neuronHigh; k++) add(neuronLow + k);
          let max = -Infinity;
          for (let c = 0; c < C; c++) if (logits[c]! > max) max = logits[c]!;
          let sum = 0;
          for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
          out[g++] = max === -Infinity || max === Infinity ? max : max + Math.log(sum);
        }
      }
    }
  }
  return out;
}

/**
 * For `i = count-1 .. 0`: `cum += parts[first + i]` (one row, `[S x C]` at `base`), then writes the low entries
 * (`a < weightLow`, plus `bias` when given) to `lo[(a * count + i) * C + c]` and the high entries to
 * `hi[(b * count + i) * C + c]`. Returns the maxima of the two groups (`-Infinity` when empty).
 */
function cumulativeGroups(
  parts: readonly Float32Array[],
  first: number,
  count: number,
  base: number,
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
    const part = parts[first + i]!;
    for (let e = 0; e < S * C; e++) cum[e] = cum[e]! + part[base + e]!;
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
 * {@link GemmKernel.bandedGridLogSumExp} in JavaScript (float64 math, float32 results), for kernels without
 * their own: each group is shifted by its row maximum and exponentiated once per entry, and each point's sum over
 * classes is `sum_c X[an] Y[bn]` with `X`, `Y` the products of the groups that depend on `an`, `bn`.
 */
export function bandedGridLogSumExpJs(parts: readonly Float32Array[], shape: BandedGridShape, bias: Float32Array): BandedGridLogSumExp {
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
    const base = r * S * C;
    // Group values before exponentials: cumulative sums over the low-side neuron parts (from the centre down),
    // then over the high-side ones.
    const [maxLL, maxHL] = cumulativeGroups(parts, 0, nL, base, S, C, wL, cum, ell, ehl, bias);
    const [maxLH, maxHH] = cumulativeGroups(parts, nL, nH, base, S, C, wL, cum, elh, ehh, null);
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
