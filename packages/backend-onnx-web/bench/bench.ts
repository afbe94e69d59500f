/**
 * OPNP's products on the `onnxruntime-web` kernel (wasm SIMD, in Node) against core's portable JavaScript kernel,
 * measured in the same process with interleaved repetitions:
 *   - `sensitivity`: one `SensitivityAccumulator.add` of N training samples (the fused softmax product `P^T |H|`),
 *     for the demo's shape (C = 10, D = 128) at N = 300 (the example page) and N = 6000, and an ImageNet-like head
 *     (C = 1000, D = 2048) at N = 256;
 *   - `gemm`: a plain `H W^T` (logits of N samples).
 * Reports the median milliseconds of each kernel and `speedup = portable / onnxruntime-web` (median of the paired
 * per-round ratios, robust to other load on the machine).
 *
 * Run: `npm run bench -w @opnp/backend-onnx-web` (env BENCH_ROUNDS). Last stdout line: JSON.
 */
import { gemm, mulberry32, portableGemmKernel, SensitivityAccumulator, linearHead, matrix, type GemmKernel, type Matrix } from '@opnp/core';
import { createOnnxWebGemmKernel } from '../src/index.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);

function random(rows: number, cols: number, seed: number, nonNegative = false): Matrix {
  const next = mulberry32(seed);
  return matrix(rows, cols, Float32Array.from({ length: rows * cols }, () => (nonNegative ? next() : next() * 2 - 1)));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Median times of `work` on both kernels, interleaved, and the median paired ratio. */
async function compare(work: (kernel: GemmKernel) => Promise<unknown>, web: GemmKernel): Promise<{ portableMs: number; webMs: number; speedup: number }> {
  await work(portableGemmKernel);
  await work(web);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await time(() => work(portableGemmKernel)));
    b.push(await time(() => work(web)));
  }
  return { portableMs: median(a), webMs: median(b), speedup: median(a.map((t, i) => t / b[i]!)) };
}

async function main(): Promise<void> {
  const web = createOnnxWebGemmKernel();
  const results: Record<string, unknown> = {};
  for (const [C, D, N] of [[10, 128, 300], [10, 128, 6000], [1000, 2048, 256]] as const) {
    const head = linearHead(random(C, D, 1), new Float32Array(C));
    const features = random(N, D, 2, true);
    const logits = random(N, C, 3);
    results[`sensitivity C=${C} D=${D} N=${N}`] = await compare(async (kernel) => {
      const accumulator = new SensitivityAccumulator(head, { kernel });
      await accumulator.add(features, logits);
      return accumulator.result();
    }, web);
    results[`gemm logits C=${C} D=${D} N=${N}`] = await compare((kernel) => gemm(kernel, features, head.weight, { transB: true }), web);
  }
  await web.dispose();
  console.log(JSON.stringify({ benchmark: 'onnxruntime-web GEMM kernel vs portable-js (Node, wasm)', rounds, results }));
}

await main();
