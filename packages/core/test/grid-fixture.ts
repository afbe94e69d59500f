/** A small OPNP grid problem with its dense float64 reference, shared by the grid path tests. */
import type { GridPlan } from '../src/opnp/grid/plan.js';
import type { PruningPercentages } from '../src/opnp/thresholds.js';
import { randomMatrix, refKeep, refLogits, rng } from './helpers.js';
import type { Matrix } from '../src/matrix.js';

/** A head, sensitivities and features; `distinct` sensitivities populate every band of the default grid. */
export function gridProblem(seed: number, distinct: boolean, C = 9, D = 40, N = 23) {
  const random = rng(seed);
  const weight = randomMatrix(C, D, random);
  const bias = Float32Array.from({ length: C }, () => random() - 0.5);
  const values = Float64Array.from({ length: C * D }, () => (distinct ? random() : Math.floor(random() * 9) / 8));
  const neuron = Float64Array.from({ length: D }, () => (distinct ? random() : Math.floor(random() * 5)));
  const features = randomMatrix(N, D, random, (u) => Math.max(0, u * 3 - 1));
  return { head: { weight, bias }, sensitivity: { classes: C, dim: D, values }, neuronSensitivity: neuron, features };
}

/** The float64 logits of every point of a plan, pruned densely from the definition in docs/numerics.md. */
export function denseLogits(plan: GridPlan, sensitivity: Float64Array, neuron: Float64Array, point: PruningPercentages): number[][] {
  const keepP = refKeep(sensitivity, point.pMin, point.pMax);
  const keepN = refKeep(neuron, point.nMin, point.nMax);
  const D = plan.head.weight.cols;
  return refLogits(plan.head.weight, plan.head.bias, plan.features as Matrix, (c, j) => keepP[c * D + j] === 1 && keepN[j] === 1, plan.reactClip ?? Infinity);
}
