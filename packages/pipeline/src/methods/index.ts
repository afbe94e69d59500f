/**
 * Methods: the registry and the built-ins.
 */
import { OpnpError } from '@opnp/core';
import { BUILTIN_METHODS } from './builtin.js';
import { createEmptyRegistry, type MethodRegistry } from './registry.js';

export { BUILTIN_METHODS, DEFAULT_METHODS } from './builtin.js';
export { checkMethodOptionValues, describeRange, methodOptionProblem, PERCENT_RANGE, POSITIVE_RANGE, NON_NEGATIVE_RANGE, COUNT_RANGE, type OptionRange } from './option-ranges.js';
export { fitScorers, fitScorerList, type FitProgressOptions, type ScorerToFit } from './fit-scorers.js';
export {
  createEmptyRegistry,
  createScorers,
  createSharedFits,
  methodKernel,
  methodNeeds,
  resolveMethodOptions,
  methodOptionsFor,
  type AdaptedOptions,
  type HeadDims,
  type MethodContext,
  type MethodDefinition,
  type MethodModelInfo,
  type MethodNeeds,
  type MethodEstimates,
  type MethodSearchSpace,
  type MethodOptionOverrides,
  type MethodOptions,
  type MethodOptionValue,
  type MethodOptionType,
  type MethodProgress,
  type MethodRegistry,
  type OpnpState,
  type Scorer,
  type SearchGrid,
  type SharedFits,
  type TrainingRows,
} from './registry.js';

/**
 * A registry holding every built-in method; register your own on it.
 *
 * @example
 * ```ts
 * const registry = createMethodRegistry();
 * registry.register('max-feature', { description: 'largest feature', defaults: {}, create: () => (h) => rowMax(h) });
 * await evaluate({ ..., registry, methods: ['energy', 'max-feature'] });
 * ```
 */
export function createMethodRegistry(): MethodRegistry {
  return createEmptyRegistry(BUILTIN_METHODS);
}

/**
 * Parses a comma-separated method list (case-insensitive, duplicates dropped).
 *
 * @throws OpnpError `INVALID_ARGUMENT` naming unknown methods and the known ones
 */
export function parseMethodList(registry: MethodRegistry, text: string): string[] {
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (names.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'Expected a comma-separated list of methods');
  const unknown = names.filter((n) => !registry.has(n));
  if (unknown.length > 0) {
    throw new OpnpError('INVALID_ARGUMENT', `unknown method${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${registry.names().join(', ')})`);
  }
  return [...new Set(names)];
}
