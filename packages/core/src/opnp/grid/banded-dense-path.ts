/**
 * The grid search's path for *banded* energy grids with dense products: those where no weight (or neuron) is both
 * below a lower threshold and above an upper one, which holds whenever every `pMin + pMax <= 100` (and
 * `nMin + nMax <= 100`), as in the paper's default grid.
 *
 * In a banded grid every weight lies in one of the nested low bands (pruned by some `pMin` level) or in
 * one of the nested high bands (pruned by some `pMax` level), never both; neurons likewise. So the logits of
 * grid point `(a, b, an, bn)` are a sum of four groups of partial logits (low/high weights on low/high neurons),
 * each depending on two of the four levels. One GEMM per neuron band, with the low-side weights stacked as suffix sums
 * of the low weight bands, gives the low-side entries; the high-side entries hold only the few most sensitive weights
 * and come from sparse products over their nonzeros (`high-bands.ts`). The kernel's `bandedGridLogSumExp` accelerator (or, without one,
 * {@link bandedGridLogSumExpJs}) then scores all points (see `BandedGridShape` for the exact layout).
 */
import { gemm } from '../../gemm.js';
import { kernelAccelerator } from '../../kernel-accelerators.js';
import type { Matrix } from '../../matrix.js';
import { defaultBlockRows, gatherColumns } from './blocks.js';
import { bandedGridLogSumExpJs } from './banded-lse-js.js';
import { bandedPointMap, scoreBandedBlock, type BandedLevels, type BandedScorer } from './banded-scoring.js';
import { highBandProduct, highBandWeights, type HighBandWeights } from './high-bands.js';
import type { GridPlan } from './plan.js';

/**
 * Rows of a block whose high-side products are computed and scored together (a multiple of the high-band kernel's
 * sixteen-row tiles): their high-side entries stay in cache between being written and being copied by the scorer.
 */
export const BANDED_SCORING_ROWS = 128;

/**
 * One neuron band's columns, its low-side weights stacked `[weightLow * C x |J|]` for a GEMM, and its high-side
 * weights for sparse products; all scaled by `1/T`.
 */
interface NeuronPart {
  readonly columns: Int32Array;
  readonly lowStacked: Matrix;
  readonly high: HighBandWeights;
}

/**
 * Scores every grid point of a banded energy plan into `scores[p][n]`: each neuron band's low-side stack entries come
 * from one GEMM (weights stacked as suffix sums of the low weight bands), its high-side entries from sparse products
 * ({@link highBandProduct}), and all are scored by the kernel's `bandedGridLogSumExp` accelerator or, without one, by
 * {@link bandedGridLogSumExpJs}. Each GEMM output is copied in one piece into the scorer's `BandedGridParts.low`
 * (no interleaving with the high-side entries); the high-side products and the scoring go {@link BANDED_SCORING_ROWS}
 * rows of a block at a time.
 */
export async function scoreBandedDense(plan: GridPlan, scores: Float32Array[]): Promise<void> {
  const { features, head, kernel, temperature: T, reactClip } = plan;
  const scorer: BandedScorer = kernelAccelerator(kernel, 'bandedGridLogSumExp') ?? bandedGridLogSumExpJs;
  const { rows: C, cols: D } = head.weight;
  const [weightLow, weightHighLevels] = plan.weightLevels;
  const weightHigh = weightHighLevels - 1;
  const [neuronLow, neuronHighLevels] = plan.neuronLevels;
  const neuronHigh = neuronHighLevels - 1;
  // Partial logits per row: weightLow + weightHigh class vectors per neuron band (pMin levels + pMax levels - 1).
  const blockRows = plan.blockRows ?? defaultBlockRows((neuronLow + neuronHigh) * (weightLow + weightHigh) * C);
  const levels = { weightLow, weightHigh, neuronLow, neuronHigh };
  const parts = neuronParts(plan, levels);
  const bias = Float32Array.from(head.bias, (v) => v / T);
  const map = bandedPointMap(plan.pointLevels, levels);

  // Each part's low-side entries [R x weightLow x C] of a block and high-side entries [rows x weightHigh x C] of one
  // chunk of it, reused by every block and chunk (every entry is written before it is read). The GEMM's output is
  // copied in one piece rather than kept: onnxruntime allocates a new output per call, and holding a block's worth of
  // them (instead of dropping each at once) makes the process fault in about twice the fresh pages per grid.
  const chunkRows = Math.min(BANDED_SCORING_ROWS, blockRows, features.rows);
  const lowBuffers = parts.map(() => new Float32Array(Math.min(blockRows, features.rows) * weightLow * C));
  const highBuffers = parts.map(() => new Float32Array(chunkRows * weightHigh * C));
  for (let start = 0; start < features.rows; start += blockRows) {
    const R = Math.min(blockRows, features.rows - start);
    const inputs = gatherColumns(features.data, D, start, R, parts.map((p) => p.columns), reactClip ?? Infinity);
    const low: Float32Array[] = [];
    for (const [k, part] of parts.entries()) {
      const product = await gemm(kernel, { rows: R, cols: part.columns.length, data: inputs[k]! }, part.lowStacked, { transB: true });
      const entries = lowBuffers[k]!.subarray(0, R * weightLow * C);
      entries.set(product.data.subarray(0, R * weightLow * C));
      low.push(entries);
    }
    for (let r0 = 0; r0 < R; r0 += chunkRows) {
      const rows = Math.min(chunkRows, R - r0);
      const high = parts.map((part, k) => {
        const J = part.columns.length;
        const out = highBuffers[k]!.subarray(0, rows * weightHigh * C);
        highBandProduct(part.high, inputs[k]!.subarray(r0 * J, (r0 + rows) * J), rows, J, { out, offset: 0, rowStride: weightHigh * C });
        return out;
      });
      const lowRows = low.map((l) => l.subarray(r0 * weightLow * C, (r0 + rows) * weightLow * C));
      await scoreBandedBlock({ low: lowRows, high }, { rows, classes: C, ...levels }, bias, scorer, map, T, scores, start + r0);
    }
    plan.onProgress?.(start + R, features.rows);
  }
}

/**
 * The neuron parts of a banded lattice: low-side neurons by lower rank (the last is the centre), then
 * high-side neurons by upper rank. Stack entry `a < weightLow` of a part holds the weights with lower rank
 * `>= a` (low side and centre), in `lowStacked`; entry `weightLow + b` the high-side weights with upper rank `>= b`,
 * whose bands (upper rank exactly `b`) are in `high`. A part with no neuron gets one zero column, so every part exists.
 */
function neuronParts(plan: GridPlan, levels: BandedLevels): NeuronPart[] {
  const { rows: C, cols: D, data: W } = plan.head.weight;
  const { weightLow, weightHigh, neuronLow, neuronHigh } = levels;
  const T = plan.temperature;
  const columnsOf: number[][] = Array.from({ length: neuronLow + neuronHigh }, () => []);
  for (let j = 0; j < D; j++) {
    const l = plan.neuronRanks.low[j]!, h = plan.neuronRanks.high[j]!;
    if (l < 0 || h < 0) continue;
    columnsOf[h === neuronHigh ? l : neuronLow + h]!.push(j);
  }
  const { low, high } = plan.weightRanks;
  return columnsOf.map((list) => {
    const columns = list.length === 0 ? Int32Array.of(0) : Int32Array.from(list);
    const J = columns.length;
    const data = new Float32Array(weightLow * C * J);
    const highEntries: [number, number, number, number][] = [];
    if (list.length === 0) return { columns, lowStacked: { rows: weightLow * C, cols: J, data }, high: highBandWeights(C, weightHigh, highEntries) };
    const stride = C * J; // from one stack entry to the next
    // Class by class, so consecutive columns write consecutive addresses of each stack entry.
    for (let c = 0; c < C; c++) {
      for (let jj = 0; jj < J; jj++) {
        const i = c * D + columns[jj]!;
        const l = low[i]!, h = high[i]!;
        if (l < 0 || h < 0) continue;
        const w = W[i]! / T;
        if (h < weightHigh) highEntries.push([c, jj, h, w]);
        // Low side or centre: entries 0..l.
        else for (let s = 0, at = c * J + jj; s <= l; s++, at += stride) data[at] = w;
      }
    }
    return { columns, lowStacked: { rows: weightLow * C, cols: J, data }, high: highBandWeights(C, weightHigh, highEntries) };
  });
}
