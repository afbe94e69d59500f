/**
 * Ablation pruners of the paper's Table 4: the same pruning percentages as OPNP, but with weights or
 * neurons chosen at random or by magnitude instead of by sensitivity.
 */
import { OpnpError } from '../errors.js';
import { assertHead, type LinearHead } from '../head.js';
import { mulberry32, sampleIndices } from '../random.js';
import { assertMatrix, type Matrix } from '../matrix.js';
import { applyBand, assertPruningPair, keepBand, type KeepMask } from './thresholds.js';

/** Number of entries that a `(low, high)` percentage pair removes from `n` when chosen at random. */
function randomPruneCount(n: number, low: number, high: number): number {
  return Math.min(n, Math.round((n * (low + high)) / 100));
}

function randomKeepMask(n: number, low: number, high: number, seed: number): KeepMask {
  assertPruningPair(low, high, ['low percentage', 'high percentage']);
  if (!Number.isInteger(seed)) throw new OpnpError('INVALID_ARGUMENT', 'seed must be an integer', { actual: seed });
  const remove = sampleIndices(n, randomPruneCount(n, low, high), mulberry32(seed));
  const mask = new Uint8Array(n).fill(1);
  for (let i = 0; i < remove.length; i++) mask[remove[i]!] = 0;
  return { mask, kept: n - remove.length, band: { lo: -Infinity, hi: Infinity } };
}

/**
 * Random weight pruning: removes `round(C*D*(pMin+pMax)/100)` weights chosen uniformly at random
 * (seeded). Returns a `C x D` keep mask.
 */
export function randomWeightMask(head: LinearHead, pMin: number, pMax: number, seed = 0): KeepMask {
  assertHead(head);
  return randomKeepMask(head.weight.data.length, pMin, pMax, seed);
}

/** Random neuron pruning: removes `round(D*(nMin+nMax)/100)` neurons at random (seeded). `D` keep mask. */
export function randomNeuronMask(head: LinearHead, nMin: number, nMax: number, seed = 0): KeepMask {
  assertHead(head);
  return randomKeepMask(head.weight.cols, nMin, nMax, seed);
}

/**
 * Magnitude weight pruning: the OPNP band rule applied to `|W_cj|` instead of sensitivity
 * (`pMin` removes the smallest magnitudes, `pMax` the largest).
 */
export function magnitudeWeightMask(head: LinearHead, pMin: number, pMax: number): KeepMask {
  assertHead(head);
  const magnitude = new Float64Array(head.weight.data.length);
  for (let i = 0; i < magnitude.length; i++) magnitude[i] = Math.abs(head.weight.data[i]!);
  return applyBand(magnitude, keepBand(magnitude, pMin, pMax));
}

/** Mean absolute activation `(1/N) sum_n |h_j|` of every neuron over `features [N x D]` (float64). */
export function meanFeatureNorm(features: Matrix): Float64Array {
  assertMatrix(features, 'features');
  const { rows: N, cols: D, data } = features;
  if (N === 0) throw new OpnpError('EMPTY_INPUT', 'meanFeatureNorm needs at least one feature row');
  const sum = new Float64Array(D);
  for (let n = 0; n < N; n++) {
    const base = n * D;
    for (let j = 0; j < D; j++) sum[j] = sum[j]! + Math.abs(data[base + j]!);
  }
  for (let j = 0; j < D; j++) sum[j] = sum[j]! / N;
  return sum;
}

/**
 * Low-norm neuron pruning: the band rule on each neuron's mean absolute activation over the training
 * features (`nMin` removes the neurons with the smallest mean feature norm, `nMax` the largest).
 */
export function lowNormNeuronMask(trainFeatures: Matrix, nMin: number, nMax: number): KeepMask {
  const norms = meanFeatureNorm(trainFeatures);
  return applyBand(norms, keepBand(norms, nMin, nMax));
}
