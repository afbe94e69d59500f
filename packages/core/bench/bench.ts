/**
 * Core benchmark: OPNP sensitivity accumulation (`P^T |H|`) and dense head evaluation on
 * ImageNet-shaped synthetic data (C = 1000, D = 2048), with the fastest available GEMM kernel; then KNN and
 * the symmetric eigensolver against numpy in the same run (`knn`, `eigh` keys; see knn-eigh.ts).
 *
 *   npm run bench -w @opnp/core                 (full size)
 *   npm run bench -w @opnp/core -- --quick      (small smoke run)
 *   npm run bench -w @opnp/core -- --knn-eigh   (only the KNN and eigh comparisons)
 *   npm run bench -w @opnp/core -- --eigh       (only the eigh comparison)
 *
 * Progress goes to stderr; the LAST line of stdout is one JSON object with the results.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { gemm, portableGemmKernel, resolveGemmKernel, type GemmKernel } from '../src/gemm.js';
import { logitsWith, type LinearHead } from '../src/head.js';
import { rowEnergy } from '../src/internal/logsumexp.js';
import { concatRows, sliceRows, type Matrix } from '../src/matrix.js';
import { gridScores } from '../src/opnp/grid.js';
import { neuronSensitivity } from '../src/opnp/neuron-sensitivity.js';
import { SensitivityAccumulator } from '../src/opnp/sensitivity.js';
import { generateBenchData, type BenchData, type BenchDataOptions } from './data.js';
import { benchEigh, benchKnnEigh } from './knn-eigh.js';

/** Everything a benchmark step may use (the grid-search step reuses the data, kernel and dense scores). */
export interface BenchContext {
  data: BenchData;
  /** Training logits `[N_train x C]`, as a feature extractor would provide them. */
  trainLogits: Matrix;
  /** The fastest available kernel (`kernel.name` is reported). */
  kernel: GemmKernel;
  /** Dense energy scores of the ID and OOD evaluation features (filled by the dense step). */
  denseScores?: { id: Float64Array; ood: Float64Array };
  /** The JSON report; steps add their keys. */
  report: Record<string, unknown>;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/**
 * Registers the onnxruntime kernel if `@opnp/backend-onnx` is available and resolves the fastest
 * registered kernel. Module specifiers are variables on purpose: a static import would add a
 * core -> backend-onnx edge to the nx project graph (a cycle).
 */
export async function loadFastestKernel(): Promise<GemmKernel> {
  type OnnxModule = { registerOnnxGemmKernel?: (priority?: number) => void };
  const packageName = '@opnp/backend-onnx';
  let registered = false;
  try {
    const mod = (await import(packageName)) as OnnxModule;
    if (typeof mod.registerOnnxGemmKernel === 'function') {
      mod.registerOnnxGemmKernel();
      registered = true;
    }
  } catch (error) {
    log(`${packageName} did not load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  if (!registered) log('using the kernels core registers itself (portable-js)');
  return resolveGemmKernel();
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

/** Accumulates the sensitivity of `features` (with their logits) in batches; returns seconds taken. */
async function timeSensitivity(kernel: GemmKernel, head: LinearHead, features: Matrix, logits: Matrix, batch: number): Promise<number> {
  const acc = new SensitivityAccumulator(head, { kernel });
  const start = performance.now();
  for (let s = 0; s < features.rows; s += batch) await acc.add(sliceRows(features, s, s + batch), sliceRows(logits, s, s + batch));
  acc.result();
  return seconds(start);
}

/** Float32 GEMM GFLOP/s of numpy on `P^T |H|` of the given shape, or undefined if numpy is unavailable. */
function numpyGflops(n: number, c: number, d: number, reps: number): number | undefined {
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
    const parsed = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as { gflops: number };
    return parsed.gflops;
  } catch {
    return undefined;
  }
}

/** Runs all benchmark steps; returns the context with the filled report. */
export async function runBench(options: { quick?: boolean; skipKnnEigh?: boolean } = {}): Promise<BenchContext> {
  const sizes: BenchDataOptions = options.quick
    ? { trainSamples: 2_000, idSamples: 1_000, oodSamples: 1_000 }
    : { trainSamples: 20_000, idSamples: 10_000, oodSamples: 10_000 };
  const batch = options.quick ? 500 : 2_000;
  const portableSamples = options.quick ? 200 : 1_000;

  let start = performance.now();
  const data = generateBenchData(sizes);
  const C = data.head.weight.rows;
  const D = data.head.weight.cols;
  log(`generated C=${C} D=${D} train=${data.train.rows} id=${data.id.rows} ood=${data.ood.rows} in ${seconds(start).toFixed(1)} s`);

  const kernel = await loadFastestKernel();
  log(`fastest kernel: ${kernel.name}`);
  start = performance.now();
  const trainLogits = await logitsWith(kernel, data.head, data.train);
  log(`training logits (as an extractor would provide) in ${seconds(start).toFixed(2)} s`);

  const context: BenchContext = { data, trainLogits, kernel, report: { kernel: kernel.name, classes: C, dim: D } };
  const { report } = context;

  // Baseline in the same run: the portable kernel on a smaller N (same code path).
  const pSamples = Math.min(portableSamples, data.train.rows);
  const pTime = await timeSensitivity(portableGemmKernel, data.head, sliceRows(data.train, 0, pSamples), sliceRows(trainLogits, 0, pSamples), batch);
  const portableGflops = (2 * pSamples * C * D) / pTime / 1e9;
  log(`portable-js sensitivity: ${pSamples} samples in ${pTime.toFixed(2)} s = ${portableGflops.toFixed(2)} GFLOP/s`);

  // Sensitivity accumulation with the fastest kernel (one warm-up batch first: session creation, JIT);
  // the faster of two passes is reported (the machine is shared and noisy).
  await timeSensitivity(kernel, data.head, sliceRows(data.train, 0, batch), sliceRows(trainLogits, 0, batch), batch);
  const N = data.train.rows;
  let sTime = Infinity;
  for (let pass = 0; pass < 2; pass++) {
    const t = await timeSensitivity(kernel, data.head, data.train, trainLogits, batch);
    log(`${kernel.name} sensitivity pass ${pass + 1}: ${N} samples in ${t.toFixed(2)} s = ${((2 * N * C * D) / t / 1e9).toFixed(1)} GFLOP/s (batches of ${batch})`);
    sTime = Math.min(sTime, t);
  }
  const sensitivityGflops = (2 * N * C * D) / sTime / 1e9;
  Object.assign(report, {
    sensitivitySamples: N,
    sensitivityBatch: batch,
    sensitivitySeconds: round(sTime),
    sensitivitySamplesPerSecond: Math.round(N / sTime),
    sensitivityGflops: round(sensitivityGflops, 2),
    portableGflops: round(portableGflops, 2),
    kernelSpeedupOverPortable: round(sensitivityGflops / portableGflops, 1),
  });

  // The bare product P^T |H| of one batch through the kernel (no softmax/abs/float64 accumulation),
  // interleaved with the optional numpy reference on the same shape; best of the rounds for each.
  const p = { rows: batch, cols: C, data: trainLogits.data.slice(0, batch * C) };
  const h = sliceRows(data.train, 0, batch);
  let kernelGemmGflops = 0;
  let numpy: number | undefined;
  const rounds = options.quick ? 1 : 3;
  for (let r = 0; r < rounds; r++) {
    const reps = 3;
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) await gemm(kernel, p, h, { transA: true });
    kernelGemmGflops = Math.max(kernelGemmGflops, (2 * batch * C * D * reps) / seconds(t0) / 1e9);
    const np = numpyGflops(batch, C, D, reps);
    if (np !== undefined) numpy = Math.max(numpy ?? 0, np);
    else if (numpy === undefined) break;
  }
  report.kernelGemmGflops = round(kernelGemmGflops, 2);
  log(`${kernel.name} bare GEMM ${C}x${batch} * ${batch}x${D}: ${kernelGemmGflops.toFixed(1)} GFLOP/s (best of ${rounds} rounds)`);
  if (numpy !== undefined) {
    report.numpyGflops = round(numpy, 2);
    report.kernelGemmOverNumpy = round(kernelGemmGflops / numpy, 2);
    report.sensitivityOverNumpy = round(sensitivityGflops / numpy, 2);
    log(`numpy float32 matmul, same shape: ${numpy.toFixed(1)} GFLOP/s (best of ${rounds} rounds)`);
  }

  // Dense head evaluation: logits H W^T + b, then energy scores, for the ID and OOD evaluation sets.
  start = performance.now();
  const id = await denseEnergyScores(kernel, data.head, data.id);
  const ood = await denseEnergyScores(kernel, data.head, data.ood);
  const denseEvalSeconds = seconds(start);
  context.denseScores = { id, ood };
  report.denseEvalSamples = data.id.rows + data.ood.rows;
  report.denseEvalSeconds = round(denseEvalSeconds);
  log(`dense evaluation of ${data.id.rows} + ${data.ood.rows} samples: ${denseEvalSeconds.toFixed(2)} s`);

  Object.assign(report, await benchGrid(context));
  if (!options.skipKnnEigh) Object.assign(report, await benchKnnEigh(kernel, { quick: options.quick ?? false }));

  return context;
}

/**
 * The full default grid (192 points) on the same ID + OOD features as the dense evaluation, with the
 * same kernel; checks that the no-pruning point reproduces the dense scores.
 */
async function benchGrid(context: BenchContext): Promise<Record<string, unknown>> {
  const { data, kernel, trainLogits, report } = context;
  const acc = new SensitivityAccumulator(data.head, { kernel });
  await acc.add(data.train, trainLogits);
  const sensitivity = acc.result();
  const neuron = neuronSensitivity(sensitivity);
  const features = concatRows([data.id, data.ood]);
  const start = performance.now();
  const { points, scores } = await gridScores(features, { head: data.head, sensitivity, neuronSensitivity: neuron, kernel });
  const gridSeconds = seconds(start);
  const dense = context.denseScores!;
  let maxDiff = 0;
  const noPruning = scores[0]!;
  for (let i = 0; i < data.id.rows; i++) maxDiff = Math.max(maxDiff, Math.abs(noPruning[i]! - dense.id[i]!));
  for (let i = 0; i < data.ood.rows; i++) maxDiff = Math.max(maxDiff, Math.abs(noPruning[data.id.rows + i]! - dense.ood[i]!));
  const denseEvalSeconds = report.denseEvalSeconds as number;
  log(`grid of ${points.length} points on ${features.rows} samples: ${gridSeconds.toFixed(2)} s (${(gridSeconds / denseEvalSeconds).toFixed(1)}x dense); no-pruning point vs dense: max |diff| ${maxDiff.toExponential(2)}`);
  return { gridPoints: points.length, gridSeconds: round(gridSeconds), gridOverDense: round(gridSeconds / denseEvalSeconds, 2), gridNoPruningMaxAbsDiff: Number(maxDiff.toExponential(3)) };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--eigh')) {
    const kernel = await loadFastestKernel();
    const report = { kernel: kernel.name, eigh: await benchEigh(kernel, { quick }) };
    await kernel.dispose?.();
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  if (process.argv.includes('--knn-eigh')) {
    const kernel = await loadFastestKernel();
    const report = { kernel: kernel.name, ...(await benchKnnEigh(kernel, { quick })) };
    await kernel.dispose?.();
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const context = await runBench({ quick });
  await context.kernel.dispose?.();
  process.stdout.write(`${JSON.stringify(context.report)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
