/**
 * The OPNP steps of the core benchmark, each in interleaved rounds (the machine is shared and noisy: every figure is
 * the median over the rounds, with its range, and every ratio is the median of per-round ratios of measurements taken
 * back to back):
 *
 * - sensitivity: `SensitivityAccumulator` over the training features in batches of 2000 (`sensitivityBatch`) and of
 *   256 (the batch size `opnp eval` feeds it), the bare kernel GEMM `P^T |H|` of one batch, and numpy's float32
 *   `P.T @ H` of the same shapes in a child `python3`;
 * - dense evaluation: energy scores of the ID + OOD features through the kernel (logits `H W^T + b`, then the float64
 *   log-sum-exp in JavaScript, as the pipeline scores), and its GEMM alone;
 * - grid search: `gridScores` over the full default grid on the same features, with the time inside the kernel's GEMMs
 *   and inside its `bandedGridLogSumExp` scoring step.
 */
import { spawnSync } from 'node:child_process';
import { gemm, portableGemmKernel, type GemmKernel } from '../src/gemm.js';
import { logitsWith, type LinearHead } from '../src/head.js';
import { rowEnergy } from '../src/internal/logsumexp.js';
import { kernelAccelerator } from '../src/kernel-accelerators.js';
import { concatRows, sliceRows, type Matrix } from '../src/matrix.js';
import { gridScores } from '../src/opnp/grid.js';
import { bandedGridLogSumExpWasm } from '../src/opnp/grid/banded-lse-wasm.js';
import { neuronSensitivity } from '../src/opnp/neuron-sensitivity.js';
import { SensitivityAccumulator } from '../src/opnp/sensitivity.js';
import type { BenchData } from './data.js';

/** Median and range of a measurement over the rounds. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const rounded = (s: Spread, digits = 3): [number, number] => [round(s.min, digits), round(s.max, digits)];

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Wall and CPU seconds (this process, every thread) of an async step. */
async function timed<T>(step: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await step();
  const used = process.cpuUsage(cpu);
  return { value, seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Float32 GEMM GFLOP/s of numpy on `P.T @ H` with `P [n x c]`, `H [n x d]`, or undefined if numpy is unavailable. */
function numpyGflops(n: number, c: number, d: number): number | undefined {
  const reps = Math.max(3, Math.round(6000 / n));
  const script = [
    'import json, time, numpy as np',
    `n, c, d, reps = ${n}, ${c}, ${d}, ${reps}`,
    'rng = np.random.default_rng(0)',
    'p = rng.random((n, c), dtype=np.float32)',
    'h = np.abs(rng.standard_normal((n, d), dtype=np.float32))',
    'p.T @ h',
    't = time.perf_counter()',
    'for _ in range(reps): p.T @ h',
    'print(json.dumps({"gflops": 2 * n * c * d * reps / (time.perf_counter() - t) / 1e9}))',
  ].join('\n');
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const run = spawnSync('python3', ['-c', script], { env, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) {
    log(`numpy reference skipped (${(run.stderr || run.error?.message || 'python3 failed').trim().split('\n').pop()})`);
    return undefined;
  }
  try {
    return (JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as { gflops: number }).gflops;
  } catch {
    return undefined;
  }
}

/** Accumulates the sensitivity of `features` (with their logits) in batches of `batch` rows. */
async function accumulate(kernel: GemmKernel, head: LinearHead, features: Matrix, logits: Matrix, batch: number): Promise<void> {
  const acc = new SensitivityAccumulator(head, { kernel });
  for (let s = 0; s < features.rows; s += batch) await acc.add(sliceRows(features, s, s + batch), sliceRows(logits, s, s + batch));
  acc.result();
}

/** One sensitivity round: both batch sizes, the bare GEMM and numpy at both shapes. */
interface SensitivityRound {
  large: { seconds: number; cpuSeconds: number };
  pipeline: { seconds: number; cpuSeconds: number };
  gemmGflops: number;
  numpyLarge: number | undefined;
  numpyPipeline: number | undefined;
}

async function sensitivityRound(kernel: GemmKernel, data: BenchData, trainLogits: Matrix, batches: readonly [number, number]): Promise<SensitivityRound> {
  const { head, train } = data;
  const [batch, pipelineBatch] = batches;
  const large = await timed(() => accumulate(kernel, head, train, trainLogits, batch));
  const pipeline = await timed(() => accumulate(kernel, head, train, trainLogits, pipelineBatch));
  const C = head.weight.rows, D = head.weight.cols;
  const p = { rows: batch, cols: C, data: trainLogits.data.slice(0, batch * C) };
  const h = sliceRows(train, 0, batch);
  const reps = 3;
  const bare = await timed(async () => {
    for (let k = 0; k < reps; k++) await gemm(kernel, p, h, { transA: true });
  });
  return {
    large,
    pipeline,
    gemmGflops: (2 * batch * C * D * reps) / bare.seconds / 1e9,
    numpyLarge: numpyGflops(batch, C, D),
    numpyPipeline: numpyGflops(pipelineBatch, C, D),
  };
}

/** Median ratio of per-round pairs, with its range (undefined when numpy was unavailable). */
function ratioOf(numerators: readonly number[], denominators: readonly (number | undefined)[]): Spread | undefined {
  if (denominators.some((d) => d === undefined)) return undefined;
  return spread(numerators.map((n, i) => n / denominators[i]!));
}

/**
 * Sensitivity accumulation in `rounds` interleaved rounds (after one warm-up batch): batches of `batches[0]` rows
 * (the headline figures) and of `batches[1]` (what `opnp eval` feeds the accumulator), against numpy.
 */
export async function benchSensitivity(kernel: GemmKernel, data: BenchData, trainLogits: Matrix, batches: readonly [number, number], rounds: number): Promise<Record<string, unknown>> {
  const { head, train } = data;
  const N = train.rows, C = head.weight.rows, D = head.weight.cols;
  await accumulate(kernel, head, sliceRows(train, 0, batches[0]), sliceRows(trainLogits, 0, batches[0]), batches[0]);
  const all: SensitivityRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const result = await sensitivityRound(kernel, data, trainLogits, batches);
    all.push(result);
    const gflops = (t: number) => ((2 * N * C * D) / t / 1e9).toFixed(1);
    log(`sensitivity round ${r + 1}: batches of ${batches[0]} ${result.large.seconds.toFixed(2)} s (${gflops(result.large.seconds)} GFLOP/s, cpu ${result.large.cpuSeconds.toFixed(2)} s), of ${batches[1]} ${result.pipeline.seconds.toFixed(2)} s (${gflops(result.pipeline.seconds)} GFLOP/s); bare GEMM ${result.gemmGflops.toFixed(1)}; numpy ${result.numpyLarge?.toFixed(1) ?? '-'} / ${result.numpyPipeline?.toFixed(1) ?? '-'} GFLOP/s`);
  }
  const flops = 2 * N * C * D;
  const largeGflops = all.map((x) => flops / x.large.seconds / 1e9);
  const pipelineGflops = all.map((x) => flops / x.pipeline.seconds / 1e9);
  const seconds = spread(all.map((x) => x.large.seconds));
  const overNumpy = ratioOf(largeGflops, all.map((x) => x.numpyLarge));
  const pipelineOverNumpy = ratioOf(pipelineGflops, all.map((x) => x.numpyPipeline));
  const gemmOverNumpy = ratioOf(all.map((x) => x.gemmGflops), all.map((x) => x.numpyLarge));
  const numpy = all.every((x) => x.numpyLarge !== undefined) ? spread(all.map((x) => x.numpyLarge!)) : undefined;
  const numpyPipeline = all.every((x) => x.numpyPipeline !== undefined) ? spread(all.map((x) => x.numpyPipeline!)) : undefined;
  return {
    sensitivitySamples: N,
    sensitivityBatch: batches[0],
    sensitivityRounds: rounds,
    sensitivitySeconds: round(seconds.median),
    sensitivitySecondsRange: rounded(seconds),
    sensitivityCpuSeconds: round(spread(all.map((x) => x.large.cpuSeconds)).median),
    sensitivitySamplesPerSecond: Math.round(N / seconds.median),
    sensitivityGflops: round(spread(largeGflops).median, 2),
    kernelGemmGflops: round(spread(all.map((x) => x.gemmGflops)).median, 2),
    ...(numpy && overNumpy && gemmOverNumpy
      ? { numpyGflops: round(numpy.median, 2), kernelGemmOverNumpy: round(gemmOverNumpy.median, 2), sensitivityOverNumpy: round(overNumpy.median, 2), sensitivityOverNumpyRange: rounded(overNumpy, 2) }
      : {}),
    sensitivityPipelineBatch: {
      batch: batches[1],
      seconds: round(spread(all.map((x) => x.pipeline.seconds)).median),
      cpuSeconds: round(spread(all.map((x) => x.pipeline.cpuSeconds)).median),
      gflops: round(spread(pipelineGflops).median, 2),
      ...(numpyPipeline && pipelineOverNumpy ? { numpyGflops: round(numpyPipeline.median, 2), overNumpy: round(pipelineOverNumpy.median, 2), overNumpyRange: rounded(pipelineOverNumpy, 2) } : {}),
    },
  };
}

/**
 * Dense energy scores `S = logsumexp(H W^T + b)` `[N]` of `features [N x D]` through `kernel`
 * (logits in float32 from the kernel, logsumexp in float64).
 */
export async function denseEnergyScores(kernel: GemmKernel, head: LinearHead, features: Matrix): Promise<Float64Array> {
  const f = await logitsWith(kernel, head, features);
  const C = f.cols;
  const out = new Float64Array(f.rows);
  for (let i = 0; i < f.rows; i++) out[i] = rowEnergy(f.data, i * C, C, 1);
  return out;
}

/** `kernel` with its GEMMs and its `bandedGridLogSumExp` step timed (seconds added to `times`). */
function timingKernel(kernel: GemmKernel, times: { gemm: number; scoring: number }): GemmKernel {
  const scoring = kernelAccelerator(kernel, 'bandedGridLogSumExp');
  const accelerators = { ...kernel.accelerators };
  if (scoring) {
    accelerators.bandedGridLogSumExp = async (parts, shape, bias) => {
      const start = performance.now();
      const result = await scoring(parts, shape, bias);
      times.scoring += (performance.now() - start) / 1000;
      return result;
    };
  }
  return {
    name: kernel.name,
    accelerators,
    gemm: async (a, b, options) => {
      const start = performance.now();
      const result = await kernel.gemm(a, b, options);
      times.gemm += (performance.now() - start) / 1000;
      return result;
    },
  };
}

/** One dense-and-grid round. */
interface GridRound {
  dense: { seconds: number; cpuSeconds: number };
  denseGemmSeconds: number;
  grid: { seconds: number; cpuSeconds: number };
  gridPoints: number;
  gridGemmSeconds: number;
  gridScoringSeconds: number;
  /** The grid with the scoring step on the calling thread only (the kernel's own scorer replaced), when it has one. */
  gridOneScoringThread?: { seconds: number; cpuSeconds: number };
  noPruningMaxAbsDiff: number;
}

/**
 * `kernel` with its `bandedGridLogSumExp` replaced by core's WebAssembly SIMD one on the calling thread: the grid as
 * before the scoring step was split with a worker thread (`offloadedBandedGridLogSumExp`), the baseline of that split.
 */
function oneScoringThread(kernel: GemmKernel): GemmKernel | undefined {
  if (kernelAccelerator(kernel, 'bandedGridLogSumExp') === undefined) return undefined;
  return { ...kernel, name: `${kernel.name} (one scoring thread)`, accelerators: { ...kernel.accelerators, bandedGridLogSumExp: async (p, s, b) => bandedGridLogSumExpWasm(p, s, b)! } };
}

async function gridRound(kernel: GemmKernel, data: BenchData, features: Matrix, options: Omit<Parameters<typeof gridScores>[1], 'kernel'>): Promise<GridRound> {
  const { head, id, ood } = data;
  const dense = await timed(async () => [await denseEnergyScores(kernel, head, id), await denseEnergyScores(kernel, head, ood)] as const);
  const denseGemm = await timed(async () => {
    await gemm(kernel, id, head.weight, { transB: true });
    await gemm(kernel, ood, head.weight, { transB: true });
  });
  const times = { gemm: 0, scoring: 0 };
  // The portable kernel stays itself (gridScores multiplies sparse cells only with it).
  const gridKernel = kernel === portableGemmKernel ? kernel : timingKernel(kernel, times);
  const grid = await timed(() => gridScores(features, { ...options, kernel: gridKernel }));
  const single = oneScoringThread(kernel);
  const gridOneScoringThread = single ? await timed(() => gridScores(features, { ...options, kernel: single })) : undefined;
  const noPruning = grid.value.scores[0]!;
  const [denseId, denseOod] = dense.value;
  let maxDiff = 0;
  for (let i = 0; i < id.rows; i++) maxDiff = Math.max(maxDiff, Math.abs(noPruning[i]! - denseId[i]!));
  for (let i = 0; i < ood.rows; i++) maxDiff = Math.max(maxDiff, Math.abs(noPruning[id.rows + i]! - denseOod[i]!));
  const one = gridOneScoringThread ? { gridOneScoringThread: { seconds: gridOneScoringThread.seconds, cpuSeconds: gridOneScoringThread.cpuSeconds } } : {};
  return { dense, denseGemmSeconds: denseGemm.seconds, grid, gridPoints: grid.value.points.length, gridGemmSeconds: times.gemm, gridScoringSeconds: times.scoring, ...one, noPruningMaxAbsDiff: maxDiff };
}

/**
 * Dense evaluation and the full default grid (192 points) on the ID + OOD evaluation features, in `rounds`
 * interleaved rounds; checks that the no-pruning point reproduces the dense scores.
 */
export async function benchDenseAndGrid(kernel: GemmKernel, data: BenchData, trainLogits: Matrix, rounds: number): Promise<Record<string, unknown>> {
  const acc = new SensitivityAccumulator(data.head, { kernel });
  await acc.add(data.train, trainLogits);
  const sensitivity = acc.result();
  const options = { head: data.head, sensitivity, neuronSensitivity: neuronSensitivity(sensitivity) };
  const features = concatRows([data.id, data.ood]);
  const all: GridRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const x = await gridRound(kernel, data, features, options);
    all.push(x);
    const single = x.gridOneScoringThread ? `; one scoring thread ${x.gridOneScoringThread.seconds.toFixed(2)} s (cpu ${x.gridOneScoringThread.cpuSeconds.toFixed(2)} s) = ${(x.gridOneScoringThread.seconds / x.dense.seconds).toFixed(2)}x` : '';
    log(`grid round ${r + 1}: dense ${x.dense.seconds.toFixed(2)} s (GEMM ${x.denseGemmSeconds.toFixed(2)} s, cpu ${x.dense.cpuSeconds.toFixed(2)} s); grid ${x.grid.seconds.toFixed(2)} s (cpu ${x.grid.cpuSeconds.toFixed(2)} s, GEMMs ${x.gridGemmSeconds.toFixed(2)} s, scoring step ${x.gridScoringSeconds.toFixed(2)} s) = ${(x.grid.seconds / x.dense.seconds).toFixed(2)}x dense; no-pruning point vs dense: max |diff| ${x.noPruningMaxAbsDiff.toExponential(2)}${single}`);
  }
  const median = (f: (x: GridRound) => number) => round(spread(all.map(f)).median);
  const ratio = spread(all.map((x) => x.grid.seconds / x.dense.seconds));
  return {
    denseEvalSamples: features.rows,
    gridRounds: rounds,
    denseEvalSeconds: median((x) => x.dense.seconds),
    denseEvalCpuSeconds: median((x) => x.dense.cpuSeconds),
    denseGemmSeconds: median((x) => x.denseGemmSeconds),
    gridPoints: all[0]!.gridPoints,
    gridSeconds: median((x) => x.grid.seconds),
    gridCpuSeconds: median((x) => x.grid.cpuSeconds),
    gridGemmSeconds: median((x) => x.gridGemmSeconds),
    gridScoringSeconds: median((x) => x.gridScoringSeconds),
    gridOverDense: round(ratio.median, 2),
    gridOverDenseRange: rounded(ratio, 2),
    gridOverDenseCpu: round(spread(all.map((x) => x.grid.cpuSeconds / x.dense.cpuSeconds)).median, 2),
    gridGemmOverDense: round(spread(all.map((x) => x.gridGemmSeconds / x.dense.seconds)).median, 2),
    ...(all.every((x) => x.gridOneScoringThread)
      ? {
          gridOneScoringThreadSeconds: median((x) => x.gridOneScoringThread!.seconds),
          gridOneScoringThreadOverDense: round(spread(all.map((x) => x.gridOneScoringThread!.seconds / x.dense.seconds)).median, 2),
          gridOverOneScoringThread: round(spread(all.map((x) => x.grid.seconds / x.gridOneScoringThread!.seconds)).median, 3),
        }
      : {}),
    gridNoPruningMaxAbsDiff: Number(Math.max(...all.map((x) => x.noPruningMaxAbsDiff)).toExponential(3)),
  };
}
