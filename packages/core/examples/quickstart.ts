// Runnable: node --conditions=@opnp/source --import tsx packages/core/examples/quickstart.ts
import {
  energy,
  gridSearch,
  linearHead,
  logits,
  matrix,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  SensitivityAccumulator,
  type Matrix,
} from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';

// A toy classifier head (C = 3 classes, D = 8 ReLU features) and feature batches. In practice the head
// and the features come from a backend (`@opnp/backend-onnx`) and a dataset (`@opnp/datasets`).
let seed = 1;
const random = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const head = linearHead(matrix(3, 8, Float32Array.from({ length: 24 }, () => random() * 2 - 1)), [0.1, 0, -0.1]);
// In-distribution features look like a class's weight row (so that class's logit is large); OOD ones are weak noise.
const inDist = (rows: number): Matrix =>
  matrix(rows, 8, Float32Array.from({ length: rows * 8 }, (_, i) => Math.max(0, 2 * head.weight.data[(Math.floor(i / 8) % 3) * 8 + (i % 8)]! + random() - 0.5)));
const outDist = (rows: number): Matrix => matrix(rows, 8, Float32Array.from({ length: rows * 8 }, () => Math.max(0, random() * 1.5 - 0.5)));
const train = inDist(500);

// OPNP steps 1-2: parameter sensitivity (C x D, float64) streamed over the training set, then per neuron.
const accumulator = new SensitivityAccumulator(head);
await accumulator.add(train); // call once per batch; logits may be passed in when the model computed them
const sensitivity = accumulator.result();
const neuron = neuronSensitivity(sensitivity, 'mean');

// Steps 3-4 with fixed percentages: prune 10% least / 1% most sensitive weights, 10% / 5% of neurons.
const masks = pruningMasks(sensitivity, neuron, { pMin: 10, pMax: 1, nMin: 10, nMax: 5 });
const pruned = pruneHead(head, masks); // classify with `head`, score OOD with `pruned`
const idTest = inDist(200);
const oodTest = outDist(200);
console.log('kept', masks.paramKept, 'weights and', masks.neuronKept, 'neurons');
console.log('OPNP  ', oodMetrics(energy(logits(pruned, idTest)), energy(logits(pruned, oodTest))));
console.log('energy', oodMetrics(energy(logits(head, idTest)), energy(logits(head, oodTest))));

// Or choose the percentages by the paper's grid search on validation data only.
const { best } = await gridSearch({ id: inDist(100), ood: { noise: outDist(100) } }, { head, sensitivity, neuronSensitivity: neuron, evaluate: oodMetrics });
console.log('chosen', best.percentages, 'validation FPR95', best.fpr95);
