/**
 * The methods scored from the original logits at a temperature `T` (docs/numerics.md#temperature): their
 * `temperature` option is what `EvaluationConfig.temperature` (`--temperature`) sets.
 */
import { assertTemperature, type Matrix } from '@opnp/core';
import type { MethodDefinition } from './registry.js';
import { POSITIVE_RANGE } from './option-ranges.js';

/**
 * A score of the original logits at temperature `T` (default 1), its temperature checked before any data is read.
 */
export function atTemperature(description: string, score: (h: Matrix, f: Matrix, temperature: number) => Float32Array): MethodDefinition<{ temperature: number }> {
  return {
    description,
    defaults: { temperature: 1 },
    ranges: { temperature: POSITIVE_RANGE },
    check: (_m, o) => {
      assertTemperature(o.temperature);
      return undefined;
    },
    create: (_c, o) => (h, f) => score(h, f, o.temperature),
  };
}
