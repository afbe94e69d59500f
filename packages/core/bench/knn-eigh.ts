/**
 * KNN and symmetric-eigensolver benchmarks against numpy in the same run (issue "Speed where users wait"):
 *
 * - KNN: `fitKnn` + `knnScoreAsync` with the fastest kernel vs numpy brute force (normalise, `Q @ F.T` in blocks,
 *   `np.partition`) at N_fit = 20,000, N_query = 60,000 (fewer queries when the JavaScript side would take more
 *   than a minute: the report says so), D = 384 and D = 2048, k = 50.
 * - eigh: `symmetricEigenAsync` with the kernel (all vectors, and only ViM's residual ones) and plain-JavaScript
 *   `symmetricEigen` vs `numpy.linalg.eigh` on random symmetric matrices, D = 768 and D = 2048 (`--eigh`: only this).
 *
 * numpy runs as a child `/usr/bin/python3` without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (unset only there); the
 * numpy parts are skipped with a message when python3-numpy is missing. Ratios are JavaScript seconds over numpy
 * seconds (lower is better).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { GemmKernel } from '../src/gemm.js';
import type { Matrix } from '../src/matrix.js';
import { mulberry32 } from '../src/random.js';
import { fitKnn, knnScoreAsync } from '../src/scores/knn.js';
import { symmetricEigen, symmetricEigenAsync } from '../src/scores/symmetric-eigen.js';
import { defaultVimDim } from '../src/scores/vim.js';

const PYTHON = '/usr/bin/python3';
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** The environment of the numpy child: without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE. */
function numpyEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** Runs a Python script that prints one JSON line; undefined (with a logged reason) when numpy is unavailable. */
function runNumpy<T>(script: string, timeoutMs: number): T | undefined {
  const env = numpyEnv();
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

/**
 * A python3 child that times one `numpy.linalg.eigh` of a seeded random symmetric `D x D` matrix per request, so
 * that numpy and JavaScript runs alternate (the machine's load changes within seconds).
 */
class NumpyEigh {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  private constructor(D: number) {
    const script = [
      'import sys, time, numpy as np',
      `a = np.random.default_rng(0).standard_normal((${D}, ${D})); a = (a + a.T) / 2`,
      'print("ready", flush=True)',
      'for _ in sys.stdin:',
      '    t = time.perf_counter(); np.linalg.eigh(a); print(time.perf_counter() - t, flush=True)',
    ].join('\n');
    this.child = spawn(PYTHON, ['-c', script], { env: numpyEnv() });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts the child; undefined (with a logged reason) when numpy is unavailable. */
  static async start(D: number): Promise<NumpyEigh | undefined> {
    const numpy = new NumpyEigh(D);
    const stderr: string[] = [];
    numpy.child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    numpy.child.on('error', (error) => stderr.push(error.message));
    const first = await numpy.lines.next().catch(() => ({ done: true, value: undefined }));
    if (first.done === true || first.value !== 'ready') {
      log(`numpy part skipped (${stderr.join('').trim().split('\n').pop() ?? `${PYTHON} failed`}); install python3-numpy for the comparison`);
      numpy.close();
      return undefined;
    }
    return numpy;
  }

  /** Seconds of one eigh. */
  async time(): Promise<number> {
    this.child.stdin.write('\n');
    const line = await this.lines.next();
    return Number(line.value);
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
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

/** Seconds of one run of `run`. */
async function seconds(run: () => unknown): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

/**
 * The eigensolver vs numpy.linalg.eigh (all eigenpairs) at one order, best of `reps` alternating runs:
 * `symmetricEigenAsync` with the kernel (its `float64Product` when it has one), the same for ViM's need (all
 * eigenvalues, the `D - defaultVimDim(D)` residual vectors), numpy; plain-JavaScript `symmetricEigen` once, only up
 * to D = 1024 (to keep the run short).
 */
async function benchEighAt(kernel: GemmKernel, D: number): Promise<Record<string, unknown>> {
  const random = mulberry32(D);
  const A = new Float64Array(D * D);
  for (let i = 0; i < D; i++) for (let j = 0; j <= i; j++) A[i * D + j] = A[j * D + i] = random() * 2 - 1;
  const reps = D <= 1024 ? 5 : 2;
  const dim = defaultVimDim(D);
  const numpy = await NumpyEigh.start(D);
  let [full, vim, np] = [Infinity, Infinity, Infinity];
  for (let r = 0; r < reps; r++) {
    full = Math.min(full, await seconds(() => symmetricEigenAsync(A, D, { kernel })));
    vim = Math.min(vim, await seconds(() => symmetricEigenAsync(A, D, { kernel, vectors: { from: dim, to: D } })));
    if (numpy) np = Math.min(np, await numpy.time());
  }
  numpy?.close();
  log(`eigh D=${D}: ${kernel.name} all vectors ${full.toFixed(3)} s, ViM's ${D - dim} vectors ${vim.toFixed(3)} s (best of ${reps})`);
  const result: Record<string, unknown> = { dim: D, kernel: kernel.name, reps, seconds: round(full), vimVectors: D - dim, vimSeconds: round(vim) };
  if (D <= 1024) {
    const js = await seconds(() => symmetricEigen(A, D));
    log(`eigh D=${D}: plain JavaScript ${js.toFixed(3)} s`);
    result.javascriptSeconds = round(js);
  }
  if (numpy) {
    Object.assign(result, { numpySeconds: round(np), overNumpy: round(full / np, 2), vimOverNumpy: round(vim / np, 2) });
    if (typeof result.javascriptSeconds === 'number') result.javascriptOverNumpy = round(result.javascriptSeconds / np, 2);
    log(`eigh D=${D}: numpy ${np.toFixed(3)} s -> ${(full / np).toFixed(2)}x numpy (ViM's vectors ${(vim / np).toFixed(2)}x)`);
  }
  return result;
}

/** The eigh section: a warm-up at D = 128 (JIT, onnxruntime sessions), then each order. */
export async function benchEigh(kernel: GemmKernel, options: { quick: boolean }): Promise<Record<string, unknown>[]> {
  const warm = new Float64Array(128 * 128).fill(1);
  await symmetricEigenAsync(warm, 128, { kernel });
  symmetricEigen(warm, 128);
  const out: Record<string, unknown>[] = [];
  for (const D of options.quick ? [256, 512] : [768, 2048]) out.push(await benchEighAt(kernel, D));
  return out;
}

/** The KNN and eigh sections of the benchmark report. */
export async function benchKnnEigh(kernel: GemmKernel, options: { quick: boolean }): Promise<Record<string, unknown>> {
  const knn: Record<string, unknown>[] = [];
  for (const D of [384, 2048]) knn.push(await benchKnnAt(kernel, D, options));
  return { knn, eigh: await benchEigh(kernel, options) };
}
