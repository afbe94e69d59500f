/**
 * ODIN by finite differences (ONNX Runtime, inference-only) against ODIN with exact gradients (TensorFlow.js
 * autodiff) on the same MNIST network, and its cost, on the demo's first MNIST test digits (ID) and
 * Fashion-MNIST test images (OOD):
 *
 * - `cost.ratio`: time of ODIN by finite differences over the time of one plain `extract` of the same images,
 *   both on ONNX Runtime in this process (the expected ratio is about `D_in + 2 = 786`: the gradient passes, the
 *   base pass and the perturbed pass);
 * - per set: the share of input coordinates where the finite-difference gradient's sign differs from the exact
 *   one (and that share weighted by `|exact gradient|`), the largest and mean `|S_fd - S_exact|` of the ODIN
 *   scores, next to the mean gain `S_exact(x') - S(x)` that the perturbation brings and the spread of the scores;
 * - AUROC (ID vs OOD) of the temperature-scaled MSP without perturbation, of exact ODIN and of ODIN by finite
 *   differences.
 *
 * Run: `npm run bench -w @opnp/integration` (env BENCH_IMAGES per set, default 200; BENCH_THREADS). Last line: JSON.
 */
import { fileURLToPath } from 'node:url';
import { loadOnnxFeatureExtractor } from '@opnp/backend-onnx';
import { initTfjsBackend, loadTfjsFeatureExtractor } from '@opnp/backend-tfjs/node';
import { demoAssetPath } from '@opnp/cli';
import { finiteDifferenceInputGradient, msp, odin, odinModelOf, odinOutputWeights, ODIN_FD_STEP, type FeatureExtractor, type InputBatch } from '@opnp/core';
import { openDataset, preprocessOptionsFor } from '@opnp/datasets/node';
import { auroc } from '@opnp/metrics';

const images = Number(process.env.BENCH_IMAGES ?? 200);
const threads = Number(process.env.BENCH_THREADS ?? 1);
const T = 1000;
const EPSILON = 0.0014;
const STD = [0.3081];

async function firstImages(file: string, extractor: FeatureExtractor): Promise<Float32Array> {
  const dataset = await openDataset(`idx:${demoAssetPath(file)}`);
  const preprocess = preprocessOptionsFor(extractor.input, { mean: 0.1307, std: 0.3081 });
  for await (const b of dataset.batches({ batchSize: images, preprocess })) return b.data;
  throw new Error(`no images in ${file}`);
}

interface SetResult {
  signMismatch: number;
  signMismatchGradientWeighted: number;
  maxScoreDifference: number;
  meanScoreDifference: number;
  meanOdinGain: number;
  scoreSpread: number;
}

async function compareSet(onnx: FeatureExtractor, tfjs: FeatureExtractor, x: Float32Array) {
  const tfBatch: InputBatch = { data: x, shape: [images, 28, 28, 1] };
  const onnxBatch: InputBatch = { data: x, shape: [images, 1, 28, 28] };
  const logits = (await tfjs.extract(tfBatch)).logits;
  const exactGradient = await tfjs.inputGradient!(tfBatch, odinOutputWeights(logits, T));
  const fdGradient = await finiteDifferenceInputGradient(odinModelOf(onnx), onnxBatch, odinOutputWeights(logits, T));
  let mismatch = 0;
  let weightedMismatch = 0;
  let weight = 0;
  for (let i = 0; i < x.length; i++) {
    const differs = -exactGradient[i]! >= 0 !== -fdGradient[i]! >= 0;
    mismatch += differs ? 1 : 0;
    weightedMismatch += differs ? Math.abs(exactGradient[i]!) : 0;
    weight += Math.abs(exactGradient[i]!);
  }
  const exact = await odin(odinModelOf(tfjs), tfBatch, { temperature: T, epsilon: EPSILON, inputStd: STD, layout: 'NHWC', gradient: 'exact' });
  const started = performance.now();
  const fd = await odin(odinModelOf(onnx), onnxBatch, { temperature: T, epsilon: EPSILON, inputStd: STD, layout: 'NCHW', gradient: 'finite-difference' });
  const fdMs = performance.now() - started;
  const plainStarted = performance.now();
  const plain = msp((await onnx.extract(onnxBatch)).logits, { temperature: T });
  const plainMs = performance.now() - plainStarted;
  const differences = Array.from(fd.scores, (s, n) => Math.abs(s - exact.scores[n]!));
  const result: SetResult = {
    signMismatch: mismatch / x.length,
    signMismatchGradientWeighted: weightedMismatch / weight,
    maxScoreDifference: Math.max(...differences),
    meanScoreDifference: differences.reduce((a, b) => a + b, 0) / images,
    meanOdinGain: exact.scores.reduce((a, s, n) => a + s - plain[n]!, 0) / images,
    scoreSpread: Math.max(...exact.scores) - Math.min(...exact.scores),
  };
  return { result, scores: { plain, exact: exact.scores, fd: fd.scores }, fdMs, plainMs };
}

async function main(): Promise<void> {
  await initTfjsBackend({ prefer: 'cpu' });
  const onnx = await loadOnnxFeatureExtractor(demoAssetPath('mnist-cnn.onnx'), { threads });
  const tfjs = await loadTfjsFeatureExtractor(fileURLToPath(new URL('../../../packages/backend-tfjs/test/fixtures/mnist-cnn-layers', import.meta.url)), { backend: 'cpu' });
  try {
    await onnx.extract({ data: new Float32Array(784), shape: [1, 1, 28, 28] });
    const id = await compareSet(onnx, tfjs, await firstImages('mnist-test-2500-images-idx3-ubyte.gz', onnx));
    const ood = await compareSet(onnx, tfjs, await firstImages('fashion-test-images-idx3-ubyte.gz', onnx));
    const ratio = (id.fdMs + ood.fdMs) / (id.plainMs + ood.plainMs);
    const aurocOf = (key: 'plain' | 'exact' | 'fd') => Number(auroc(id.scores[key], ood.scores[key]).toFixed(5));
    console.log(`ODIN by finite differences: ${((id.fdMs + ood.fdMs) / (2 * images)).toFixed(1)} ms per image, ${ratio.toFixed(0)}x a plain forward pass of the same images`);
    console.log(
      JSON.stringify({
        benchmark: 'ODIN by finite differences (onnx) vs exact gradients (tfjs), MNIST CNN',
        images,
        threads,
        temperature: T,
        epsilon: EPSILON,
        step: ODIN_FD_STEP,
        cost: { ratio: Number(ratio.toFixed(1)), msPerImage: Number(((id.fdMs + ood.fdMs) / (2 * images)).toFixed(2)) },
        mnist: id.result,
        fashion: ood.result,
        auroc: { mspAtT: aurocOf('plain'), odinExact: aurocOf('exact'), odinFiniteDifference: aurocOf('fd') },
      }),
    );
  } finally {
    await onnx.dispose();
    await tfjs.dispose();
  }
}

await main();
