/**
 * Core benchmark: OPNP sensitivity accumulation (`P^T |H|`), dense head evaluation and the grid search on
 * ImageNet-shaped synthetic data (C = 1000, D = 2048), with the fastest available GEMM kernel, in interleaved rounds
 * (opnp-steps.ts); then KNN and the symmetric eigensolver against numpy in the same run (`knn`, `eigh` keys; see
 * knn-eigh.ts).
 *
 *   npm run bench -w @opnp/core                 (full size, 3 rounds)
 *   npm run bench -w @opnp/core -- --rounds 5   (more rounds: medians and ranges over them)
 *   npm run bench -w @opnp/core -- --quick      (small smoke run, 1 round)
 *   npm run bench -w @opnp/core -- --knn-eigh   (only the KNN and eigh comparisons)
 *   npm run bench -w @opnp/core -- --eigh       (only the eigh comparison)
 *   npm run bench -w @opnp/core -- --grid       (only the dense evaluation and the grid search, with --rounds)
 *
 * Progress goes to stderr; the LAST line of stdout is one JSON object with the results.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { portableGemmKernel, resolveGemmKernel, type GemmKernel } from '../src/gemm.js';
import { logitsWith, type LinearHead } from '../src/head.js';
import { sliceRows, type Matrix } from '../src/matrix.js';
import { SensitivityAccumulator } from '../src/opnp/sensitivity.js';
import { generateBenchData, type BenchData, type BenchDataOptions } from './data.js';
import { benchEigh, benchKnnEigh } from './knn-eigh.js';
import { benchDenseAndGrid, benchSensitivity, log } from './opnp-steps.js';

/** Everything a benchmark step may use. */
export interface BenchContext {
  data: BenchData;
  /** Training logits `[N_train x C]`, as a feature extractor would provide them. */
  trainLogits: Matrix;
  /** The fastest available kernel (`kernel.name` is reported). */
  kernel: GemmKernel;
  /** The JSON report; steps add their keys. */
  report: Record<string, unknown>;
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

/** Accumulates the sensitivity of `features` (with their logits) in batches; returns seconds taken. */
async function timeSensitivity(kernel: GemmKernel, head: LinearHead, features: Matrix, logits: Matrix, batch: number): Promise<number> {
  const acc = new SensitivityAccumulator(head, { kernel });
  const start = performance.now();
  for (let s = 0; s < features.rows; s += batch) await acc.add(sliceRows(features, s, s + batch), sliceRows(logits, s, s + batch));
  acc.result();
  return seconds(start);
}

/** Runs all benchmark steps; returns the context with the filled report. */
export async function runBench(options: { quick?: boolean; skipKnnEigh?: boolean; gridOnly?: boolean; rounds?: number } = {}): Promise<BenchContext> {
  const sizes: BenchDataOptions = options.quick
    ? { trainSamples: 2_000, idSamples: 1_000, oodSamples: 1_000 }
    : { trainSamples: 20_000, idSamples: 10_000, oodSamples: 10_000 };
  const batches = [options.quick ? 500 : 2_000, 256] as const;
  const rounds = options.rounds ?? (options.quick ? 1 : 3);
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

  const context: BenchContext = { data, trainLogits, kernel, report: { kernel: kernel.name, classes: C, dim: D, loadAverage: loadavg().map((x) => round(x, 2)) } };
  const { report } = context;

  if (options.gridOnly) {
    Object.assign(report, await benchDenseAndGrid(kernel, data, trainLogits, rounds));
    report.loadAverageAfter = loadavg().map((x) => round(x, 2));
    return context;
  }
  // Baseline in the same run: the portable kernel on a smaller N (same code path).
  const pSamples = Math.min(portableSamples, data.train.rows);
  const pTime = await timeSensitivity(portableGemmKernel, data.head, sliceRows(data.train, 0, pSamples), sliceRows(trainLogits, 0, pSamples), batches[0]);
  const portableGflops = (2 * pSamples * C * D) / pTime / 1e9;
  log(`portable-js sensitivity: ${pSamples} samples in ${pTime.toFixed(2)} s = ${portableGflops.toFixed(2)} GFLOP/s`);

  Object.assign(report, await benchSensitivity(kernel, data, trainLogits, batches, rounds));
  Object.assign(report, { portableGflops: round(portableGflops, 2), kernelSpeedupOverPortable: round((report.sensitivityGflops as number) / portableGflops, 1) });
  Object.assign(report, await benchDenseAndGrid(kernel, data, trainLogits, rounds));
  if (!options.skipKnnEigh) Object.assign(report, await benchKnnEigh(kernel, { quick: options.quick ?? false }));
  report.loadAverageAfter = loadavg().map((x) => round(x, 2));

  return context;
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
  const roundsAt = process.argv.indexOf('--rounds');
  const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : undefined;
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) throw new Error('--rounds needs a positive integer');
  const gridOnly = process.argv.includes('--grid');
  const context = await runBench({ quick, gridOnly, ...(rounds === undefined ? {} : { rounds }) });
  await context.kernel.dispose?.();
  process.stdout.write(`${JSON.stringify(context.report)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
