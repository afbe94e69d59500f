/**
 * Feature-extraction throughput of the ONNX backend on the ResNet-style fixture (3 x 32 x 32 inputs).
 *
 * For batch sizes 1, 32 and 128 it measures, with interleaved repetitions in the same process and the
 * same session options:
 *   (a) plain `session.run` on the unmodified model (logits only),
 *   (b) `extractor.extract` (graph with the feature tensor as an extra output, features + logits copied out),
 * and reports images/s of both (median over rounds) and the overhead fraction `(time_b - time_a) / time_a`: the
 * median of the per-round paired ratios (`overhead`) and the ratio of the best times (`overheadBestOf`, robust
 * to other load on the machine).
 *
 * Run: `npm run bench -w @opnp/backend-onnx` (env BENCH_ROUNDS, BENCH_THREADS). Last stdout line: JSON.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { loadOnnxFeatureExtractor } from '../src/index.js';

const modelPath = fileURLToPath(new URL('../test/fixtures/resnet-style.onnx', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const threads = Number(process.env.BENCH_THREADS ?? availableParallelism());
const batchSizes = [1, 32, 128];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function input(n: number): Float32Array {
  const data = new Float32Array(n * 3 * 32 * 32);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return data;
}

async function main(): Promise<void> {
  const sessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
  const plain = await ort.InferenceSession.create(readFileSync(modelPath), { ...sessionOptions, executionProviders: ['cpu'] });
  const extractor = await loadOnnxFeatureExtractor(modelPath, { session: sessionOptions });
  const results: Record<string, { plainImagesPerSec: number; extractImagesPerSec: number; overhead: number; overheadBestOf: number }> = {};

  for (const n of batchSizes) {
    const data = input(n);
    const shape = [n, 3, 32, 32];
    // Enough runs per timing block for ~0.3 s of work; warm up both paths first.
    const runPlain = async (): Promise<void> => {
      await plain.run({ input: new ort.Tensor('float32', data, shape) });
    };
    const runExtract = async (): Promise<void> => {
      await extractor.extract({ data, shape });
    };
    for (let i = 0; i < 3; i++) {
      await runPlain();
      await runExtract();
    }
    let t = performance.now();
    await runPlain();
    const once = performance.now() - t;
    const reps = Math.max(3, Math.ceil(1000 / Math.max(once, 0.01)));

    const plainTimes: number[] = [];
    const extractTimes: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which path goes first so drift affects both equally.
      const order = r % 2 === 0 ? [runPlain, runExtract] : [runExtract, runPlain];
      const times: number[] = [];
      for (const fn of order) {
        t = performance.now();
        for (let i = 0; i < reps; i++) await fn();
        times.push((performance.now() - t) / reps);
      }
      const [tp, te] = r % 2 === 0 ? [times[0]!, times[1]!] : [times[1]!, times[0]!];
      plainTimes.push(tp);
      extractTimes.push(te);
      ratios.push((te - tp) / tp);
    }
    const tp = median(plainTimes);
    const te = median(extractTimes);
    results[`batch${n}`] = {
      plainImagesPerSec: Math.round((n / tp) * 1000),
      extractImagesPerSec: Math.round((n / te) * 1000),
      overhead: Number(median(ratios).toFixed(4)),
      overheadBestOf: Number((Math.min(...extractTimes) / Math.min(...plainTimes) - 1).toFixed(4)),
    };
    console.log(`batch ${n}: plain ${results[`batch${n}`]!.plainImagesPerSec} img/s, extract ${results[`batch${n}`]!.extractImagesPerSec} img/s, overhead ${(median(ratios) * 100).toFixed(2)}% (median of paired rounds), ${(results[`batch${n}`]!.overheadBestOf * 100).toFixed(2)}% (best of each) (${rounds} rounds x ${reps} runs)`);
  }
  await extractor.dispose();
  await plain.release();
  console.log(JSON.stringify({ benchmark: 'backend-onnx feature extraction', model: 'resnet-style.onnx (3x32x32, D=128, C=10)', threads, rounds, results, targetOverhead: 0.05 }));
}

await main();
