/**
 * Feature-extraction throughput of the tfjs backend on the MNIST demo classifier (LayersModel fixture), with the
 * wasm and cpu TensorFlow.js backends, at batch 32 and 128; and the same network in ONNX
 * (packages/backend-onnx/test/fixtures/mnist-cnn.onnx) run by a plain onnxruntime-node `InferenceSession`
 * (1 thread, and all cores) for the ratio tfjs / onnxruntime.
 *
 * Also the `'tfjs'` GEMM kernel against core's portable kernel on the OPNP sensitivity product `P^T |H|`
 * (1000 x 1000 by 1000 x 2048, GFLOP/s counting 2 N C D, best of 3), in the same run.
 *
 * Run: `npm run bench -w @opnp/backend-tfjs` (env BENCH_SECONDS per measurement, default 1.5). Last stdout line: JSON.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as Ort from 'onnxruntime-node';
import { gemm, portableGemmKernel, type GemmKernel, type Matrix } from '@opnp/core';
import { createTfjsGemmKernel, loadTfjsFeatureExtractor } from '../src/node/index.js';

const layersPath = fileURLToPath(new URL('../test/fixtures/mnist-cnn-layers/model.json', import.meta.url));
const onnxPath = fileURLToPath(new URL('../../backend-onnx/test/fixtures/mnist-cnn.onnx', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 1.5);
const batchSizes = [32, 128];

function input(n: number): Float32Array {
  const data = new Float32Array(n * 784);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return data;
}

/** Images/s: warm-up, then as many runs as fit in `seconds`, best of 3 blocks. */
async function measure(n: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  let best = 0;
  for (let block = 0; block < 3; block++) {
    let runs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < (seconds * 1000) / 3) {
      await run();
      runs++;
    }
    best = Math.max(best, (runs * n * 1000) / (performance.now() - t0));
  }
  return Math.round(best);
}

/** GFLOP/s of `kernel` on `p^T h` (best of 3 runs after one warm-up). */
async function gemmGflops(kernel: GemmKernel, p: Matrix, h: Matrix): Promise<number> {
  await gemm(kernel, p, h, { transA: true });
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await gemm(kernel, p, h, { transA: true });
    best = Math.min(best, performance.now() - t0);
  }
  return Number(((2 * p.rows * p.cols * h.cols) / (best / 1000) / 1e9).toFixed(2));
}

/** The 'tfjs' GEMM kernel (wasm) vs the portable kernel on the sensitivity product shape. */
async function benchGemm(): Promise<Record<string, number | string>> {
  const [N, C, D] = [1000, 1000, 2048];
  const values = (count: number) => Float32Array.from({ length: count }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const p = { rows: N, cols: C, data: values(N * C) };
  const h = { rows: N, cols: D, data: values(N * D) };
  const tfjs = await createTfjsGemmKernel({ prefer: 'wasm' });
  const tfjsGflops = await gemmGflops(tfjs, p, h);
  const portableGflops = await gemmGflops(portableGemmKernel, p, h);
  console.log(`GEMM ${C}x${N} * ${N}x${D}: tfjs (${tfjs.backend.name}) ${tfjsGflops} GFLOP/s, portable-js ${portableGflops} GFLOP/s`);
  return { shape: `${C}x${N} * ${N}x${D}`, tfjsKernelGflops: tfjsGflops, portableGflops, tfjsOverPortable: Number((tfjsGflops / portableGflops).toFixed(2)) };
}

async function main(): Promise<void> {
  const gemmResults = await benchGemm();
  const results: Record<string, Record<string, number | null>> = {};
  for (const n of batchSizes) results[`batch${n}`] = {};
  const info: Record<string, unknown> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    const extractor = await loadTfjsFeatureExtractor(layersPath, { backend });
    info[backend] = extractor.tfBackend;
    for (const n of batchSizes) {
      const data = input(n);
      const ips = await measure(n, () => extractor.extract({ data, shape: [n, 28, 28, 1] }));
      results[`batch${n}`]![`tfjs_${backend}`] = ips;
      console.log(`tfjs ${backend}${backend === 'wasm' ? ` (simd ${extractor.tfBackend.simd}, threads ${extractor.tfBackend.threads})` : ''} batch ${n}: ${ips} images/s`);
    }
    await extractor.dispose();
  }
  let ortNote: string | undefined;
  try {
    const ort = (await import('onnxruntime-node' as string)) as typeof Ort;
    for (const threads of [1, availableParallelism()]) {
      const session = await ort.InferenceSession.create(readFileSync(onnxPath), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] });
      for (const n of batchSizes) {
        const data = input(n);
        const ips = await measure(n, () => session.run({ input: new ort.Tensor('float32', data, [n, 1, 28, 28]) }));
        results[`batch${n}`]![`ort_${threads}thread`] = ips;
        console.log(`onnxruntime-node ${threads} thread(s) batch ${n}: ${ips} images/s`);
      }
      await session.release();
    }
  } catch (error) {
    ortNote = `onnxruntime-node unavailable: ${error instanceof Error ? error.message : String(error)}`;
    console.log(ortNote);
  }
  const ratios: Record<string, Record<string, number>> = {};
  for (const [batch, r] of Object.entries(results)) {
    ratios[batch] = {};
    for (const be of ['wasm', 'cpu']) {
      for (const key of Object.keys(r).filter((k) => k.startsWith('ort_'))) {
        const v = r[`tfjs_${be}`];
        const o = r[key];
        if (typeof v === 'number' && typeof o === 'number' && o > 0) ratios[batch]![`${be}_vs_${key}`] = Number((v / o).toFixed(3));
      }
    }
  }
  console.log(
    JSON.stringify({
      benchmark: 'backend-tfjs feature extraction (images/s)',
      model: 'mnist-cnn (28x28x1, D=128, C=10); tfjs LayersModel vs the same network in ONNX',
      cores: availableParallelism(),
      backends: info,
      results,
      ratioTfjsToOrt: ratios,
      gemmKernel: gemmResults,
      ...(ortNote ? { note: ortNote } : {}),
    }),
  );
}

await main();
