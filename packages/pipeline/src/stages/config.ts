/**
 * An {@link EvaluationConfig} with every default filled in, and the checks that need no data.
 */
import { OpnpError, assertTemperature } from '@opnp/core';
import type { EvaluationConfig, KnnFitSamples, NamedSpec } from '../evaluation-types.js';
import { BUILTIN_METHODS, DEFAULT_METHODS } from '../methods/builtin.js';
import { checkMethodOptionValues } from '../methods/option-ranges.js';
import { createEmptyRegistry, methodNeeds, resolveMethodOptions, type MethodOptionOverrides, type MethodRegistry } from '../methods/registry.js';
import { resolveKnnFitSamples } from './fit-subsets.js';

/** {@link EvaluationConfig} with defaults applied. */
export type ResolvedConfig = Omit<EvaluationConfig, 'methods' | 'registry' | 'valFraction' | 'valOod' | 'valNoise' | 'seed' | 'batchSize' | 'fitSamples' | 'knnFitSamples' | 'methodsExplicit' | 'methodOptions' | 'searchBaselines'> & {
  readonly methods: readonly string[];
  /** The user's options with `temperature` applied to every method that takes one and sets none. */
  readonly methodOptions: MethodOptionOverrides;
  readonly searchBaselines: boolean;
  readonly methodsExplicit: boolean;
  readonly registry: MethodRegistry;
  readonly valFraction: number;
  readonly valOod: readonly NamedSpec[];
  readonly valNoise: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly fitSamples: number;
  readonly knnFitSamples: KnnFitSamples;
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
 * What needs validation data: the OPNP grid search (an OPNP method or the figure inputs, and no fixed point)
 * and the baseline search (`searchBaselines` and a method with a search space).
 */
export function validationNeeds(config: ResolvedConfig, methods: readonly string[] = config.methods): { opnp: boolean; baselines: boolean } {
  return {
    opnp: config.percentages === undefined && (methodNeeds(config.registry, methods).opnp || config.collectArtifacts === true),
    baselines: config.searchBaselines && methods.some((m) => config.registry.get(m).search !== undefined),
  };
}

/** The methods among `methods` with a `temperature` option. */
export function temperatureMethods(registry: MethodRegistry, methods: readonly string[]): string[] {
  return methods.filter((m) => typeof registry.get(m).defaults.temperature === 'number');
}

/**
 * `overrides` with `temperature` set for every method of `methods` that takes one and has none set.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for a temperature that is not finite and > 0, or when no method takes one
 */
export function withTemperature(registry: MethodRegistry, methods: readonly string[], overrides: MethodOptionOverrides, temperature: number | undefined): MethodOptionOverrides {
  if (temperature === undefined) return overrides;
  assertTemperature(temperature);
  const takers = temperatureMethods(registry, methods);
  if (takers.length === 0) {
    const known = temperatureMethods(registry, registry.names());
    throw new OpnpError('INVALID_ARGUMENT', `A temperature was given, but none of the methods (${methods.join(', ')}) takes one`, { hint: `It applies to ${known.join(', ')}` });
  }
  const out: Record<string, Readonly<Record<string, number | string | boolean>>> = { ...overrides };
  for (const m of takers) if (overrides[m]?.temperature === undefined) out[m] = { ...overrides[m], temperature };
  return out;
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
  const methodOptions = withTemperature(registry, methods, config.methodOptions ?? {}, config.temperature);
  for (const [name, overrides] of Object.entries(methodOptions)) resolveMethodOptions(name, registry.get(name), overrides);
  checkMethodOptionValues(registry, methodOptions); // ranges (react.percentile in [0, 100]) before any data is read
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
    methodOptions,
    searchBaselines: config.searchBaselines === true,
    registry,
    valFraction,
    valOod: config.valOod ?? [],
    valNoise: positiveInteger(config.valNoise ?? 1000, 'valNoise'),
    seed: config.seed ?? 0,
    batchSize: positiveInteger(config.batchSize ?? 256, 'batchSize'),
    fitSamples: positiveInteger(config.fitSamples ?? 20000, 'fitSamples'),
    knnFitSamples: resolveKnnFitSamples(config.knnFitSamples),
  };
}
