/**
 * The grid search's path for *banded* energy grids with dense products: those where no weight (or neuron) is both
 * below a lower threshold and above an upper one, which holds whenever every `pMin + pMax <= 100` (and
 * `nMin + nMax <= 100`), as in the paper's default grid.
 *
 * In a banded grid every weight lies in one of the nested low bands (pruned by some `pMin` level) or in
 * one of the nested high bands (pruned by some `pMax` level), never both; neurons likewise. So the logits of
 * grid point `(a, b, an, bn)` are a sum of four groups of partial logits (low/high weights on low/high neurons),
 * each depending on two of the four levels. One GEMM per neuron band, with the weights stacked as suffix sums of
 * the weight bands, gives every group; the kernel's `bandedGridLogSumExp` accelerator (or, without one,
 * {@link bandedGridLogSumExpJs}) then scores all points (see `BandedGridShape` for the exact layout).
 */
import { gemm } from '../../gemm.js';
import { kernelAccelerator } from '../../kernel-accelerators.js';
import type { Matrix } from '../../matrix.js';
import { defaultBlockRows, gatherColumns } from './blocks.js';
import { bandedGridLogSumExpJs } from './banded-lse-js.js';
import { bandedPointMap, scoreBandedBlock, type BandedScorer } from './banded-scoring.js';
import type { LatticeRanks } from './lattice.js';
import type { GridPlan } from './plan.js';

/** One neuron band's columns and its weights stacked `[(weightLow + weightHigh) * C x |J|]`, scaled by `1/T`. */
interface NeuronPart {
  readonly columns: Int32Array;
  readonly stacked: Matrix;
}

/**
 * Scores every grid point of a banded energy plan into `scores[p][n]`: the parts come from one GEMM per neuron band
 * with the weights stacked as suffix sums of the weight bands, and are scored by the kernel's `bandedGridLogSumExp`
 * accelerator or, without one, by {@link bandedGridLogSumExpJs}.
 */
export async function scoreBandedDense(plan: GridPlan, scores: Float32Array[]): Promise<void> {
  const { features, head, kernel, temperature: T, reactClip } = plan;
  const scorer: BandedScorer = kernelAccelerator(kernel, 'bandedGridLogSumExp') ?? bandedGridLogSumExpJs;
  const { rows: C, cols: D, data: W } = head.weight;
  const [weightLow, weightHighLevels] = plan.weightLevels;
  const weightHigh = weightHighLevels - 1;
  const [neuronLow, neuronHighLevels] = plan.neuronLevels;
  const neuronHigh = neuronHighLevels - 1;
  // Partial logits per row: one [S x C] stack per neuron band, S = pMin levels + pMax levels - 1.
  const blockRows = plan.blockRows ?? defaultBlockRows((neuronLow + neuronHighLevels - 1) * (weightLow + weightHighLevels - 1) * C);
  const parts = neuronParts(W, C, D, plan.weightRanks, plan.neuronRanks, weightLow, weightHigh, neuronLow, neuronHigh, T);
  const bias = Float32Array.from(head.bias, (v) => v / T);
  const map = bandedPointMap(plan.pointLevels, { weightLow, weightHigh, neuronLow, neuronHigh });

  for (let start = 0; start < features.rows; start += blockRows) {
    const R = Math.min(blockRows, features.rows - start);
    const inputs = gatherColumns(features.data, D, start, R, parts.map((p) => p.columns), reactClip ?? Infinity);
    const outputs: Float32Array[] = [];
    for (const [k, part] of parts.entries()) {
      outputs.push((await gemm(kernel, { rows: R, cols: part.columns.length, data: inputs[k]! }, part.stacked, { transB: true })).data);
    }
    await scoreBandedBlock(outputs, { rows: R, classes: C, weightLow, weightHigh, neuronLow, neuronHigh }, bias, scorer, map, T, scores, start);
    plan.onProgress?.(start + R, features.rows);
  }
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
  const { low, high } = weightRanks;
  return columnsOf.map((columns) => {
    if (columns.length === 0) return { columns: Int32Array.of(0), stacked: { rows: S * C, cols: 1, data: new Float32Array(S * C) } };
    const J = columns.length;
    const data = new Float32Array(S * C * J);
    const stride = C * J; // from one stack entry to the next
    // Class by class, so consecutive columns write consecutive addresses of each stack entry.
    for (let c = 0; c < C; c++) {
      for (let jj = 0; jj < J; jj++) {
        const i = c * D + columns[jj]!;
        const l = low[i]!, h = high[i]!;
        if (l < 0 || h < 0) continue;
        const w = W[i]! / T;
        // Low side or centre: entries 0..l; high side: entries weightLow + 0..h.
        const first = h === weightHigh ? 0 : weightLow;
        const last = h === weightHigh ? l : weightLow + h;
        for (let s = first, at = (first * C + c) * J + jj; s <= last; s++, at += stride) data[at] = w;
      }
    }
    return { columns: Int32Array.from(columns), stacked: { rows: S * C, cols: J, data } };
  });
}
