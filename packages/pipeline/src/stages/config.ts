/**
 * An {@link EvaluationConfig} with every default filled in, and the checks that need no data.
 */
import { OpnpError } from '@opnp/core';
import type { EvaluationConfig, NamedSpec } from '../evaluation-types.js';
import { BUILTIN_METHODS, DEFAULT_METHODS } from '../methods/builtin.js';
import { createEmptyRegistry, resolveMethodOptions, type MethodRegistry } from '../methods/registry.js';

/** {@link EvaluationConfig} with defaults applied. */
export type ResolvedConfig = Omit<EvaluationConfig, 'methods' | 'registry' | 'valFraction' | 'valOod' | 'valNoise' | 'seed' | 'batchSize' | 'fitSamples' | 'methodsExplicit'> & {
  readonly methods: readonly string[];
  readonly methodsExplicit: boolean;
  readonly registry: MethodRegistry;
  readonly valFraction: number;
  readonly valOod: readonly NamedSpec[];
  readonly valNoise: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly fitSamples: number;
};

/** Throws when two sets share a name (one column would hide the other while the average counts both). */
export function assertUniqueNames(sets: readonly NamedSpec[], what: string): void {
  const seen = new Set<string>();
  for (const { name } of sets) {
    if (seen.has(name)) throw new OpnpError('INVALID_ARGUMENT', `Two ${what} sets are named "${name}"`, { hint: 'Give every set its own name' });
    seen.add(name);
  }
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new OpnpError('INVALID_ARGUMENT', `${what} must be a positive integer`, { actual: value });
  return value;
}

/**
 * Applies the defaults and checks what can be checked without data: names, fractions, methods and
 * their options. `requireOod: false` accepts a run without OOD test sets (an ablation that measures ID accuracy).
 *
 * @throws OpnpError `INVALID_ARGUMENT`
 */
export function resolveConfig(config: EvaluationConfig, options: { readonly requireOod?: boolean } = {}): ResolvedConfig {
  const registry = config.registry ?? createEmptyRegistry(BUILTIN_METHODS);
  const methods = [...new Set(config.methods ?? DEFAULT_METHODS)];
  if (methods.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'No methods to evaluate');
  for (const name of methods) registry.get(name);
  for (const [name, overrides] of Object.entries(config.methodOptions ?? {})) resolveMethodOptions(name, registry.get(name), overrides);
  if (config.ood.length === 0 && options.requireOod !== false) throw new OpnpError('INVALID_ARGUMENT', 'At least one OOD test set is needed');
  assertUniqueNames(config.ood, 'OOD');
  assertUniqueNames(config.valOod ?? [], 'OOD validation');
  const valFraction = config.valFraction ?? 0.2;
  if (!(valFraction > 0 && valFraction < 1)) throw new OpnpError('INVALID_ARGUMENT', 'valFraction must be in (0, 1)', { actual: valFraction });
  if (config.trainFraction !== undefined && !(config.trainFraction > 0 && config.trainFraction <= 1)) throw new OpnpError('INVALID_ARGUMENT', 'trainFraction must be in (0, 1]', { actual: config.trainFraction });
  return {
    ...config,
    methods,
    methodsExplicit: config.methodsExplicit ?? config.methods !== undefined,
    registry,
    valFraction,
    valOod: config.valOod ?? [],
    valNoise: positiveInteger(config.valNoise ?? 1000, 'valNoise'),
    seed: config.seed ?? 0,
    batchSize: positiveInteger(config.batchSize ?? 256, 'batchSize'),
    fitSamples: positiveInteger(config.fitSamples ?? 20000, 'fitSamples'),
  };
}
