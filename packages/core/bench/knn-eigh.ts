/**
 * KNN and symmetric-eigensolver benchmarks against numpy in the same run (issue "Speed where users wait"):
 *
 * - KNN: `fitKnn` + `knnScoreAsync` with the fastest kernel vs numpy brute force (normalise, `Q @ F.T` in blocks,
 *   `np.partition`) at N_fit = 20,000, N_query = 60,000 (fewer queries when the JavaScript side would take more
 *   than a minute: the report says so), D = 384 and D = 2048, k = 50.
 * - eigh: `symmetricEigen` vs `numpy.linalg.eigh` on random symmetric matrices, D = 768 and D = 2048.
 *
 * numpy runs as a child `/usr/bin/python3` without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (unset only there); the
 * numpy parts are skipped with a message when python3-numpy is missing. Ratios are JavaScript seconds over numpy
 * seconds (lower is better).
 */
import { spawnSync } from 'node:child_process';
import type { GemmKernel } from '../src/gemm.js';
import type { Matrix } from '../src/matrix.js';
import { mulberry32 } from '../src/random.js';
import { fitKnn, knnScoreAsync } from '../src/scores/knn.js';
import { symmetricEigen } from '../src/scores/symmetric-eigen.js';

const PYTHON = '/usr/bin/python3';
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Runs a Python script that prints one JSON line; undefined (with a logged reason) when numpy is unavailable. */
function runNumpy<T>(script: string, timeoutMs: number): T | undefined {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const run = spawnSync(PYTHON, ['-c', script], { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 });
  if (run.status !== 0) {
    log(`numpy part skipped (${(run.stderr || run.error?.message || `${PYTHON} failed`).trim().split('\n').pop()}); install python3-numpy for the comparison`);
    return undefined;
  }
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    log(`numpy part skipped (unparsable output: ${run.stdout.slice(0, 200)})`);
    return undefined;
  }
}

/** Seeded standard-normal float32 matrix. */
function gaussianMatrix(rows: number, cols: number, seed: number): Matrix {
  const random = mulberry32(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const t = 2 * Math.PI * random();
    data[i] = r * Math.cos(t);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(t);
  }
  return { rows, cols, data };
}

/** numpy brute-force KNN seconds (best of `reps`) on seeded normal data of the same shape. */
function numpyKnnSeconds(nFit: number, nQuery: number, D: number, k: number, reps: number): number | undefined {
  const script = [
    'import json, time, numpy as np',
    `n_fit, n_query, d, k, reps, block = ${nFit}, ${nQuery}, ${D}, ${k}, ${reps}, 4096`,
    'rng = np.random.default_rng(0)',
    'F = rng.standard_normal((n_fit, d), dtype=np.float32)',
    'Q = rng.standard_normal((n_query, d), dtype=np.float32)',
    'def knn():',
    '    Fn = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-12)',
    '    out = np.empty(n_query, dtype=np.float32)',
    '    for s in range(0, n_query, block):',
    '        q = Q[s:s + block]',
    '        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)',
    '        sims = qn @ Fn.T',
    '        kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]',
    '        out[s:s + block] = -np.sqrt(np.maximum(0, 2 - 2 * kth))',
    '    return out',
    'best = float("inf")',
    'for _ in range(reps):',
    '    t = time.perf_counter(); knn(); best = min(best, time.perf_counter() - t)',
    'print(json.dumps({"seconds": best}))',
  ].join('\n');
  return runNumpy<{ seconds: number }>(script, 600_000)?.seconds;
}

/** numpy.linalg.eigh seconds (best of `reps`) on a seeded random symmetric matrix. */
function numpyEighSeconds(D: number, reps: number): number | undefined {
  const script = [
    'import json, time, numpy as np',
    `d, reps = ${D}, ${reps}`,
    'a = np.random.default_rng(0).standard_normal((d, d)); a = (a + a.T) / 2',
    'best = float("inf")',
    'for _ in range(reps):',
    '    t = time.perf_counter(); np.linalg.eigh(a); best = min(best, time.perf_counter() - t)',
    'print(json.dumps({"seconds": best}))',
  ].join('\n');
  return runNumpy<{ seconds: number }>(script, 600_000)?.seconds;
}

/** KNN at one dimension: JavaScript (fastest kernel) vs numpy, same shapes. */
async function benchKnnAt(kernel: GemmKernel, D: number, options: { quick: boolean }): Promise<Record<string, unknown>> {
  const nFit = options.quick ? 2_000 : 20_000;
  const wanted = options.quick ? 3_000 : 60_000;
  const k = 50;
  const budget = 60; // seconds of JavaScript per dimension
  const train = gaussianMatrix(nFit, D, 1);
  const model = fitKnn(train, { k });
  // Calibrate on one block-sized slice, then scale the query count down if the full run would exceed the budget.
  const probeRows = Math.min(wanted, 1_000);
  let t0 = performance.now();
  await knnScoreAsync(model, gaussianMatrix(probeRows, D, 2), { kernel });
  const perRow = (performance.now() - t0) / 1000 / probeRows;
  const nQuery = Math.min(wanted, Math.max(probeRows, Math.floor(budget / perRow / 1000) * 1000));
  const queries = gaussianMatrix(nQuery, D, 3);
  t0 = performance.now();
  await knnScoreAsync(model, queries, { kernel });
  const jsSeconds = (performance.now() - t0) / 1000;
  log(`knn D=${D}: ${nQuery} queries x ${nFit} fit rows, ${kernel.name}: ${jsSeconds.toFixed(2)} s`);
  const result: Record<string, unknown> = { dim: D, fitRows: nFit, queryRows: nQuery, k, kernel: kernel.name, seconds: round(jsSeconds) };
  if (nQuery < wanted) result.scaledDown = `query rows scaled down from ${wanted} to ${nQuery} to stay near ${budget} s of JavaScript`;
  const np = numpyKnnSeconds(nFit, nQuery, D, k, options.quick ? 1 : 2);
  if (np !== undefined) {
    Object.assign(result, { numpySeconds: round(np), overNumpy: round(jsSeconds / np, 2) });
    log(`knn D=${D}: numpy ${np.toFixed(2)} s -> ${(jsSeconds / np).toFixed(2)}x numpy`);
  }
  return result;
}

/** symmetricEigen vs numpy.linalg.eigh at one order. */
function benchEighAt(D: number): Record<string, unknown> {
  const random = mulberry32(D);
  const A = new Float64Array(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j <= i; j++) A[i * D + j] = A[j * D + i] = random() * 2 - 1;
  const t0 = performance.now();
  symmetricEigen(A, D);
  const jsSeconds = (performance.now() - t0) / 1000;
  log(`eigh D=${D}: symmetricEigen ${jsSeconds.toFixed(2)} s`);
  const result: Record<string, unknown> = { dim: D, seconds: round(jsSeconds) };
  const np = numpyEighSeconds(D, 3);
  if (np !== undefined) {
    Object.assign(result, { numpySeconds: round(np), overNumpy: round(jsSeconds / np, 2) });
    log(`eigh D=${D}: numpy ${np.toFixed(3)} s -> ${(jsSeconds / np).toFixed(1)}x numpy`);
  }
  return result;
}

/** The KNN and eigh sections of the benchmark report. */
export async function benchKnnEigh(kernel: GemmKernel, options: { quick: boolean }): Promise<Record<string, unknown>> {
  const knn: Record<string, unknown>[] = [];
  for (const D of [384, 2048]) knn.push(await benchKnnAt(kernel, D, options));
  const eigh = (options.quick ? [256, 512] : [768, 2048]).map((D) => benchEighAt(D));
  return { knn, eigh };
}
