/**
 * The `odin` method (docs/numerics.md#odin): core's ODIN on the run's model, fed the model inputs of every batch.
 */
import { COUNT_RANGE, NON_NEGATIVE_RANGE, POSITIVE_RANGE } from './option-ranges.js';
import { OpnpError, assertFiniteDifferenceSize, assertOdinOptions, odin, odinModelOf, resolveOdinGradient, ODIN_FD_MAX_INPUTS } from '@opnp/core';
import { openood } from './openood.js';
import type { MethodDefinition } from './registry.js';

type OdinOptions = { temperature: number; epsilon: number; gradient: string; maxFiniteDifferenceInputs: number };

/** Values per sample of the model input, or undefined when a dimension is dynamic. */
function inputValues(shape: readonly (number | null)[]): number | undefined {
  const dims = shape.slice(1);
  return dims.every((d): d is number => d !== null) ? dims.reduce((a, b) => a * b, 1) : undefined;
}

/**
 * ODIN (docs/numerics.md#odin): exact input gradients where the backend has them (TensorFlow.js), else finite
 * differences (`D_in + 1` forward passes per image, refused above `maxFiniteDifferenceInputs` values per image).
 */
export const odinMethod: MethodDefinition<OdinOptions> = {
  description: 'ODIN: MSP at temperature T after an input step of epsilon that raises it (exact input gradients where the backend has them, else finite differences)',
  needs: { inputs: true },
  defaults: { temperature: 1000, epsilon: 0.0014, gradient: 'auto', maxFiniteDifferenceInputs: ODIN_FD_MAX_INPUTS },
  ranges: { temperature: POSITIVE_RANGE, epsilon: NON_NEGATIVE_RANGE, maxFiniteDifferenceInputs: COUNT_RANGE },
  search: { grid: { temperature: [1, 10, 100, 1000], epsilon: [0.0014, 0.0028] }, source: openood('odin', 'temperature, noise'), labels: { temperature: 'T', epsilon: 'eps' } },
  check: ({ extractor }, o) => {
    assertOdinOptions(o.temperature, o.epsilon, o.gradient);
    if (resolveOdinGradient(odinModelOf(extractor), o.gradient) === 'exact') return `exact input gradients from the ${extractor.backend} backend`;
    const values = inputValues(extractor.input.shape);
    if (values !== undefined) assertFiniteDifferenceSize(values, o.maxFiniteDifferenceInputs);
    return `input gradients by finite differences (the ${extractor.backend} backend has none): ${values === undefined ? 'D_in + 2' : values + 2} forward passes per image`;
  },
  create: (c, o) => {
    if (!c.extractor) throw new OpnpError('INVALID_ARGUMENT', 'odin runs the model again: the method context needs its extractor');
    const model = odinModelOf(c.extractor);
    const layout = c.extractor.input.layout;
    assertOdinOptions(o.temperature, o.epsilon, o.gradient);
    const options = { temperature: o.temperature, epsilon: o.epsilon, gradient: o.gradient, layout, ...(c.inputStd ? { inputStd: c.inputStd } : {}), finiteDifference: { maxInputs: o.maxFiniteDifferenceInputs } };
    return async (_h, f, inputs) => {
      if (!inputs) throw new OpnpError('INVALID_ARGUMENT', 'odin needs the model inputs of every batch', { hint: 'Score images run through the model, not cached features' });
      return (await odin(model, inputs, { ...options, baseLogits: f })).scores;
    };
  },
};

