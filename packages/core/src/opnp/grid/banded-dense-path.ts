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
import type { BandedGridParts } from '../../kernel-accelerators.js';
import { bandedPointMap, scoreBandedBlock, type BandedLevels, type BandedScorer } from './banded-scoring.js';
import { highBandProduct, highBandWeights, type HighBandWeights } from './high-bands.js';
import type { GridPlan } from './plan.js';

/**
 * One neuron band's columns, its low-side weights stacked `[weightLow * C x |J|]` for a GEMM, and its high-side
 * weights for sparse products; all scaled by `1/T`.
 */
interface NeuronPart {
  readonly columns: Int32Array;
  readonly lowStacked: Matrix;
  readonly high: HighBandWeights;
}

/** A float32 array on a `SharedArrayBuffer` where there is one (so a kernel may score it on another thread), else an ordinary one. */
function sharedFloat32Array(length: number): Float32Array {
  return typeof SharedArrayBuffer === 'function' ? new Float32Array(new SharedArrayBuffer(4 * length)) : new Float32Array(length);
}

/** One block's parts for the scorer: per neuron part, `[rows x weightLow x C]` low-side and `[rows x weightHigh x C]` high-side entries. */
interface BlockParts {
  readonly low: Float32Array[];
  readonly high: Float32Array[];
}

/**
 * Scores every grid point of a banded energy plan into `scores[p][n]`: each neuron band's low-side stack entries come
 * from one GEMM (weights stacked as suffix sums of the low weight bands), its high-side entries from sparse products
 * ({@link highBandProduct}), and all are scored by the kernel's `bandedGridLogSumExp` accelerator or, without one,
 * by {@link bandedGridLogSumExpJs}.
 *
 * Blocks alternate between two sets of part buffers (on `SharedArrayBuffer`s where possible) and a block's scoring
 * is not awaited before the next block's products start: a kernel that scores on another thread (onnxruntime-node's
 * does, `offloadedBandedGridLogSumExp`) overlaps it with them. A set is reused only once its earlier block is scored.
 * Each GEMM output is copied into its set in one piece and dropped at once: onnxruntime allocates a new output per
 * call, and holding a block's worth of them makes the process fault in about twice the fresh pages per grid.
 */
export async function scoreBandedDense(plan: GridPlan, scores: Float32Array[]): Promise<void> {
  const { features, head, kernel, temperature: T, reactClip } = plan;
  const scorer: BandedScorer = kernelAccelerator(kernel, 'bandedGridLogSumExp') ?? bandedGridLogSumExpJs;
  const { rows: C, cols: D } = head.weight;
  const [weightLow, weightHighLevels] = plan.weightLevels;
  const weightHigh = weightHighLevels - 1;
  const [neuronLow, neuronHighLevels] = plan.neuronLevels;
  const neuronHigh = neuronHighLevels - 1;
  // Partial logits per row: weightLow + weightHigh class vectors per neuron band, in each of the two sets.
  const blockRows = plan.blockRows ?? defaultBlockRows(2 * (neuronLow + neuronHigh) * (weightLow + weightHigh) * C);
  const levels = { weightLow, weightHigh, neuronLow, neuronHigh };
  const parts = neuronParts(plan, levels);
  const bias = Float32Array.from(head.bias, (v) => v / T);
  const map = bandedPointMap(plan.pointLevels, levels);
  const setRows = Math.min(blockRows, features.rows);
  const sets: BlockParts[] = [0, 1].map(() => ({
    low: parts.map(() => sharedFloat32Array(setRows * weightLow * C)),
    high: parts.map(() => sharedFloat32Array(setRows * weightHigh * C)),
  }));
  const scoring: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  let scored = 0;
  for (let start = 0, block = 0; start < features.rows; start += blockRows, block++) {
    const R = Math.min(blockRows, features.rows - start);
    const set = block % 2;
    await scoring[set];
    const inputs = gatherColumns(features.data, D, start, R, parts.map((p) => p.columns), reactClip ?? Infinity);
    const blockParts = await blockPartials(plan, parts, inputs, R, sets[set]!, levels);
    const shape = { rows: R, classes: C, ...levels };
    const done = scoreBandedBlock(blockParts, shape, bias, scorer, map, T, scores, start).then(() => {
      scored += R;
      plan.onProgress?.(scored, features.rows);
    });
    done.catch(() => undefined); // awaited later; a failure must not be reported as unhandled meanwhile
    scoring[set] = done;
  }
  await Promise.all(scoring);
}

/** Rows `0 .. R` of `inputs` (one `[R x |J|]` matrix per part) through each part's GEMM and sparse products, into `set`. */
async function blockPartials(plan: GridPlan, parts: readonly NeuronPart[], inputs: readonly Float32Array[], R: number, set: BlockParts, levels: BandedLevels): Promise<BandedGridParts> {
  const C = plan.head.weight.rows;
  const { weightLow, weightHigh } = levels;
  const low: Float32Array[] = [];
  const high: Float32Array[] = [];
  for (const [k, part] of parts.entries()) {
    const J = part.columns.length;
    const product = await gemm(plan.kernel, { rows: R, cols: J, data: inputs[k]! }, part.lowStacked, { transB: true });
    const entries = set.low[k]!.subarray(0, R * weightLow * C);
    entries.set(product.data.subarray(0, R * weightLow * C));
    low.push(entries);
    const out = set.high[k]!.subarray(0, R * weightHigh * C);
    highBandProduct(part.high, inputs[k]!, R, J, { out, offset: 0, rowStride: weightHigh * C });
    high.push(out);
  }
  return { low, high };
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
