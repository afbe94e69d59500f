/**
 * OPNP masks: which weights (`C x D`) and neurons (`D`) of the head to keep (docs/numerics.md#thresholds-and-keep-masks, #pruned-head).
 */
import { OpnpError } from '../errors.js';
import { applyBand, keepBand, type KeepBand, type PruningPercentages } from './thresholds.js';

/** A parameter sensitivity matrix `s [C x D]` (row-major) as produced by the sensitivity accumulator. */
export interface SensitivityLike {
  readonly classes: number;
  readonly dim: number;
  readonly values: ArrayLike<number>;
}

/** Which parts OPNP prunes: `opp` parameters only, `onp` neurons only, `opnp` both. */
export type PruningMode = 'opp' | 'onp' | 'opnp';

/** Keep masks of a pruned head. */
export interface PruningMasks {
  /** `C x D` weight keep mask (1 = kept), row-major. */
  readonly param: Uint8Array;
  /** `D` neuron keep mask (1 = kept). */
  readonly neuron: Uint8Array;
  readonly classes: number;
  readonly dim: number;
  /** Weights kept by the parameter mask alone. */
  readonly paramKept: number;
  /** Neurons kept. */
  readonly neuronKept: number;
  /** Thresholds used (`[-Inf, Inf]` where nothing is pruned). */
  readonly paramBand: KeepBand;
  readonly neuronBand: KeepBand;
}

/** Checks that a neuron sensitivity vector matches the parameter sensitivity's `D`. */
function assertSensitivityShapes(param: SensitivityLike, neuron: ArrayLike<number>): void {
  if (param.values.length !== param.classes * param.dim) {
    throw new OpnpError('SHAPE_MISMATCH', 'Parameter sensitivity values do not match classes x dim', {
      expected: param.classes * param.dim,
      actual: param.values.length,
    });
  }
  if (neuron.length !== param.dim) {
    throw new OpnpError('SHAPE_MISMATCH', 'Neuron sensitivity length must equal the feature dimension D', {
      expected: param.dim,
      actual: neuron.length,
    });
  }
}

/** The percentages that a mode actually applies (parameter-only / neuron-only parts zeroed). */
export function percentagesForMode(p: PruningPercentages, mode: PruningMode): PruningPercentages {
  if (mode === 'opp') return { ...p, nMin: 0, nMax: 0 };
  if (mode === 'onp') return { ...p, pMin: 0, pMax: 0 };
  return p;
}

const PERCENTAGE_PAIRS = [
  ['pMin', 'pMax', 'weights'],
  ['nMin', 'nMax', 'neurons'],
] as const;

function describeValue(value: unknown): unknown {
  return typeof value === 'number' ? value : value === undefined ? 'undefined (missing)' : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Throws `INVALID_ARGUMENT` naming the key and the value received unless each of `pMin`, `pMax`, `nMin`, `nMax` is a
 * number in [0, 100] (percent), and unless `pMin + pMax <= 100` and `nMin + nMax <= 100` (above 100 the keep band is
 * empty: `P(s, pMin) > P(s, 100 - pMax)`, so nothing, or only ties, would be kept).
 */
export function assertPruningPercentages(p: PruningPercentages): void {
  if (p === null || typeof p !== 'object') {
    throw new OpnpError('INVALID_ARGUMENT', 'Pruning percentages must be an object', { expected: '{ pMin, pMax, nMin, nMax } in percent', actual: describeValue(p) });
  }
  for (const [low, high, what] of PERCENTAGE_PAIRS) {
    for (const key of [low, high]) {
      const v: unknown = p[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
        throw new OpnpError('INVALID_ARGUMENT', `Pruning percentage ${key} must be a number in [0, 100] (percent)`, {
          actual: describeValue(v),
          hint: `Pass all four of pMin, pMax, nMin, nMax (percent of the ${what} to prune; 0 prunes none)`,
        });
      }
    }
    if (p[low] + p[high] > 100) {
      throw new OpnpError('INVALID_ARGUMENT', `Pruning percentages ${low} + ${high} must not exceed 100`, {
        actual: `${low} = ${p[low]}, ${high} = ${p[high]} (sum ${p[low] + p[high]})`,
        hint: `${low} prunes the least and ${high} the most sensitive ${what}; together they cannot prune more than 100% (above it no ${what.slice(0, -1)} would be kept)`,
      });
    }
  }
}

/**
 * OPNP keep masks from parameter sensitivity `s [C x D]` and neuron sensitivity `s_j [D]`:
 * weight `(c, j)` is kept iff `P(s, pMin) <= s_cj <= P(s, 100 - pMax)` (bounds dropped when the percentage is 0),
 * neuron `j` likewise with `nMin`, `nMax` on `s_j`. `mode` zeroes the unused half (`opp`, `onp`) before the checks.
 *
 * @param percentages - `pMin`, `pMax`, `nMin`, `nMax` in percent, each in [0, 100], with `pMin + pMax <= 100` and
 * `nMin + nMax <= 100`
 * @throws OpnpError `INVALID_ARGUMENT` naming the key and value of a missing or out-of-range percentage or of a pair
 * summing above 100, `SHAPE_MISMATCH` when the sensitivities do not match
 */
export function pruningMasks(
  param: SensitivityLike,
  neuron: ArrayLike<number>,
  percentages: PruningPercentages,
  mode: PruningMode = 'opnp',
): PruningMasks {
  assertSensitivityShapes(param, neuron);
  const p = percentagesForMode(percentages, mode);
  assertPruningPercentages(p);
  const paramMask = applyBand(param.values, keepBand(param.values, p.pMin, p.pMax));
  const neuronMask = applyBand(neuron, keepBand(neuron, p.nMin, p.nMax));
  return {
    param: paramMask.mask,
    neuron: neuronMask.mask,
    classes: param.classes,
    dim: param.dim,
    paramKept: paramMask.kept,
    neuronKept: neuronMask.kept,
    paramBand: paramMask.band,
    neuronBand: neuronMask.band,
  };
}

/** Masks that keep everything (the original head). */
export function keepAllMasks(classes: number, dim: number): PruningMasks {
  return {
    param: new Uint8Array(classes * dim).fill(1),
    neuron: new Uint8Array(dim).fill(1),
    classes,
    dim,
    paramKept: classes * dim,
    neuronKept: dim,
    paramBand: { lo: -Infinity, hi: Infinity },
    neuronBand: { lo: -Infinity, hi: Infinity },
  };
}

/** Number of weights that survive both masks: `sum_cj keep_param[c,j] * keep_neuron[j]`. */
export function keptWeightCount(masks: Pick<PruningMasks, 'param' | 'neuron' | 'classes' | 'dim'>): number {
  let kept = 0;
  const { param, neuron, classes, dim } = masks;
  for (let c = 0; c < classes; c++) {
    const base = c * dim;
    for (let j = 0; j < dim; j++) kept += param[base + j]! & neuron[j]!;
  }
  return kept;
}
