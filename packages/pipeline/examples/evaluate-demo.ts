// Runnable: node --conditions=@opnp/source --import tsx packages/pipeline/examples/evaluate-demo.ts
// The demo's MNIST CNN and data ship with @opnp/cli; any ONNX classifier and dataset specs work the same way.
import { fileURLToPath } from 'node:url';
import '@opnp/backend-onnx/register';
import type { Matrix } from '@opnp/core';
import { createMethodRegistry, evaluate } from '@opnp/pipeline';

const demo = (name: string) => fileURLToPath(new URL(`../../cli/assets/demo/${name}`, import.meta.url));

// A method of our own: the largest feature of each row (higher = more in-distribution).
const registry = createMethodRegistry();
registry.register('max-feature', {
  description: 'largest penultimate feature',
  defaults: {},
  create: () => (features: Matrix) => Float32Array.from({ length: features.rows }, (_, r) => Math.max(...features.data.subarray(r * features.cols, (r + 1) * features.cols))),
});

const { report } = await evaluate({
  model: demo('mnist-cnn.onnx'),
  train: `idx:${demo('mnist-train-6k-images-idx3-ubyte.gz')}`,
  test: `idx:${demo('mnist-test-2500-images-idx3-ubyte.gz')}`,
  ood: [{ name: 'fashion', spec: `idx:${demo('fashion-test-images-idx3-ubyte.gz')}` }, { name: 'noise', spec: 'noise:1000#seed=2' }],
  preprocess: { mean: [0.1307], std: [0.3081] },
  registry,
  methods: ['energy', 'react', 'opnp', 'max-feature'],
  methodOptions: { react: { percentile: 85 } },
  onInfo: (message) => console.error(message),
});
for (const row of report.averages) console.log(`${row.method.padEnd(12)} FPR95 ${(row.fpr95 * 100).toFixed(2)}%  AUROC ${(row.auroc * 100).toFixed(2)}%`);
