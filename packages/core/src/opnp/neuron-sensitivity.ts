/**
 * OPNP step 2: neuron sensitivity (paper Eq. 8) and the ablation statistics of paper B.3.
 */
import { OpnpError } from '../errors.js';
import type { ParameterSensitivity } from './sensitivity.js';

/**
 * Statistic over classes `c` that turns `s_cj` into a neuron sensitivity `s_j`:
 * `'mean'` (docs/numerics.md#neuron-sensitivity default, Eq. 8), `'max'`, `'min'`, `'median'` (numpy: mean of the two middle values when
 * `C` is even), `'l2'` (`sqrt(sum_c s_cj^2)`), `'variance'` (population variance, ddof 0).
 */
export type NeuronStatistic = 'mean' | 'max' | 'min' | 'median' | 'l2' | 'variance';

const STATISTICS: readonly NeuronStatistic[] = ['mean', 'max', 'min', 'median', 'l2', 'variance'];

function assertParameterSensitivity(param: ParameterSensitivity): void {
  if (
    param === null ||
    typeof param !== 'object' ||
    !Number.isInteger(param.classes) ||
    !Number.isInteger(param.dim) ||
    param.classes < 0 ||
    param.dim < 0 ||
    !(param.values instanceof Float64Array) ||
    param.values.length !== param.classes * param.dim
  ) {
    throw new OpnpError('SHAPE_MISMATCH', 'Parameter sensitivity must hold C * D float64 values', {
      expected: '{ classes: C, dim: D, values: Float64Array(C * D) }',
      actual:
        param && typeof param === 'object'
          ? { classes: param.classes, dim: param.dim, length: param.values?.length }
          : param,
    });
  }
  if (param.classes === 0) {
    throw new OpnpError('EMPTY_INPUT', 'Neuron sensitivity needs at least one class', { actual: '0 x D' });
  }
}

/**
 * Neuron sensitivity `s [D]` from the parameter sensitivity `param.values [C x D]`: the chosen
 * `statistic` over classes of each column (float64).
 *
 * @example
 * ```ts
 * const sj = neuronSensitivity(acc.result());        // mean over classes
 * const l2 = neuronSensitivity(acc.result(), 'l2');  // ablation statistic
 * ```
 */
export function neuronSensitivity(param: ParameterSensitivity, statistic: NeuronStatistic = 'mean'): Float64Array {
  if (!STATISTICS.includes(statistic)) {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown neuron sensitivity statistic', {
      expected: STATISTICS.join(' | '),
      actual: statistic,
    });
  }
  assertParameterSensitivity(param);
  const { classes: C, dim: D, values } = param;
  const out = new Float64Array(D);
  switch (statistic) {
    case 'mean':
    case 'variance': {
      for (let c = 0; c < C; c++) {
        const base = c * D;
        for (let j = 0; j < D; j++) out[j] = out[j]! + values[base + j]!;
      }
      for (let j = 0; j < D; j++) out[j] = out[j]! / C;
      if (statistic === 'mean') break;
      // Two-pass population variance around the mean.
      const mean = out.slice();
      out.fill(0);
      for (let c = 0; c < C; c++) {
        const base = c * D;
        for (let j = 0; j < D; j++) {
          const d = values[base + j]! - mean[j]!;
          out[j] = out[j]! + d * d;
        }
      }
      for (let j = 0; j < D; j++) out[j] = out[j]! / C;
      break;
    }
    case 'max':
    case 'min': {
      const isMax = statistic === 'max';
      out.set(values.subarray(0, D));
      for (let c = 1; c < C; c++) {
        const base = c * D;
        for (let j = 0; j < D; j++) {
          const v = values[base + j]!;
          // NaN propagates like numpy's max/min.
          if (Number.isNaN(v) || (isMax ? v > out[j]! : v < out[j]!)) out[j] = v;
        }
      }
      break;
    }
    case 'l2': {
      for (let c = 0; c < C; c++) {
        const base = c * D;
        for (let j = 0; j < D; j++) {
          const v = values[base + j]!;
          out[j] = out[j]! + v * v;
        }
      }
      for (let j = 0; j < D; j++) out[j] = Math.sqrt(out[j]!);
      break;
    }
    case 'median': {
      const column = new Float64Array(C);
      const mid = C >> 1;
      for (let j = 0; j < D; j++) {
        for (let c = 0; c < C; c++) column[c] = values[c * D + j]!;
        column.sort(); // typed-array sort is numeric, NaN last
        // Like numpy, any NaN in the column makes the median NaN.
        out[j] = Number.isNaN(column[C - 1]!) ? Number.NaN : C % 2 === 1 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
      }
      break;
    }
  }
  return out;
}
