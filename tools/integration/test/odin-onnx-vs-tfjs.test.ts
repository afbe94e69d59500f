/**
 * ODIN on the ONNX model (onnxruntime is inference-only: input gradients by finite differences) against ODIN on the
 * TensorFlow.js model (exact gradients by autodiff), the same MNIST network in both formats, on the demo's MNIST
 * (ID) and Fashion-MNIST (OOD) test images.
 *
 * Why the two can differ, and the tolerance: on this ReLU / max-pool network the gradient is not unique wherever
 * an activation sits exactly on a kink (a tied max-pool window, common on the constant image background):
 * autodiff returns one subgradient by convention, the backward difference a one-sided derivative, and their
 * signs may differ. ODIN's step raises the score by about `sum_i (epsilon / std) |dS/dx_i|`; flipping the sign of
 * coordinate `i` changes the perturbed score by at most about `2 (epsilon / std) |dS/dx_i|`. So, to first order,
 * the finite-difference scores stay within `2 m` of the perturbation's gain, `m` the share of the gradient's L1
 * mass whose sign differs. The test measures `m` (it must stay small: the finite differences must find the
 * gradient) and checks the mean score difference against `2 m` times the mean gain, per set. The benchmark
 * (`npm run bench -w @opnp/integration`) reports the same numbers on more images.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadOnnxFeatureExtractor } from '@opnp/backend-onnx';
import { initTfjsBackend, loadTfjsFeatureExtractor } from '@opnp/backend-tfjs/node';
import { demoAssetPath } from '@opnp/cli';
import { finiteDifferenceInputGradient, msp, odin, odinModelOf, odinOutputWeights, type FeatureExtractor } from '@opnp/core';
import { openDataset, preprocessOptionsFor } from '@opnp/datasets/node';
import { auroc } from '@opnp/metrics';

const N = 24;
const T = 1000;
const options = { temperature: T, epsilon: 0.0014, inputStd: [0.3081] };
const tfjsModel = fileURLToPath(new URL('../../../packages/backend-tfjs/test/fixtures/mnist-cnn-layers', import.meta.url));

async function firstImages(file: string, extractor: FeatureExtractor): Promise<Float32Array> {
  const dataset = await openDataset(`idx:${demoAssetPath(file)}`);
  for await (const b of dataset.batches({ batchSize: N, preprocess: preprocessOptionsFor(extractor.input, { mean: 0.1307, std: 0.3081 }) })) return b.data;
  throw new Error(`no images in ${file}`);
}

describe('ODIN by finite differences (ONNX) vs exact gradients (TensorFlow.js), same MNIST network', () => {
  it('finds the gradient sign on most of its mass and keeps the scores within the first-order bound of the sign errors', async () => {
    await initTfjsBackend({ prefer: 'cpu' });
    const onnx = await loadOnnxFeatureExtractor(demoAssetPath('mnist-cnn.onnx'), { threads: 1 });
    const tfjs = await loadTfjsFeatureExtractor(tfjsModel, { backend: 'cpu' });
    try {
      const scores: Record<string, { exact: Float32Array; fd: Float32Array }> = {};
      for (const [name, file] of [['mnist', 'mnist-test-2500-images-idx3-ubyte.gz'], ['fashion', 'fashion-test-images-idx3-ubyte.gz']] as const) {
        const x = await firstImages(file, onnx);
        const tfBatch = { data: x, shape: [N, 28, 28, 1] };
        const onnxBatch = { data: x, shape: [N, 1, 28, 28] };
        // The same output weights for both gradients (from the TensorFlow.js logits).
        const w = odinOutputWeights((await tfjs.extract(tfBatch)).logits, T);
        const exactGradient = await tfjs.inputGradient!(tfBatch, w);
        const fdGradient = await finiteDifferenceInputGradient(odinModelOf(onnx), onnxBatch, w);
        let flipped = 0;
        let mass = 0;
        exactGradient.forEach((g, i) => {
          mass += Math.abs(g);
          if (-g >= 0 !== -fdGradient[i]! >= 0) flipped += Math.abs(g);
        });
        const m = flipped / mass;
        expect(m, `${name}: share of the gradient mass with another sign`).toBeLessThan(0.15);

        const exact = await odin(odinModelOf(tfjs), tfBatch, { ...options, layout: 'NHWC' });
        const fd = await odin(odinModelOf(onnx), onnxBatch, { ...options, layout: 'NCHW' });
        expect([exact.gradient, fd.gradient]).toEqual(['exact', 'finite-difference']);
        const plain = msp((await tfjs.extract(tfBatch)).logits, { temperature: T });
        const gain = exact.scores.reduce((s, v, n) => s + v - plain[n]!, 0) / N;
        const difference = fd.scores.reduce((s, v, n) => s + Math.abs(v - exact.scores[n]!), 0) / N;
        expect(gain, `${name}: the perturbation raises the scores`).toBeGreaterThan(0);
        expect(difference, `${name}: mean |S_fd - S_exact| vs 2 m x mean gain (m = ${m.toFixed(4)})`).toBeLessThanOrEqual(2 * m * gain);
        scores[name] = { exact: exact.scores, fd: fd.scores };
      }
      const exactAuroc = auroc(scores.mnist!.exact, scores.fashion!.exact);
      expect(Math.abs(auroc(scores.mnist!.fd, scores.fashion!.fd) - exactAuroc)).toBeLessThanOrEqual(2 / (N * N));
    } finally {
      await onnx.dispose();
      await tfjs.dispose();
    }
  }, 180_000);
});
