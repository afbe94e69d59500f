/**
 * Checks of the ablations' options, before any work: each names the option and says what is expected.
 */
import { OpnpError, assertPercentage, gridPoints, type PruningGrid, type PruningPercentages } from '@opnp/core';

function invalid(message: string, actual: unknown, expected?: string): never {
  throw new OpnpError('INVALID_ARGUMENT', message, { actual, ...(expected ? { expected } : {}) });
}

/** A grid: every axis a non-empty array of percentages. */
export function assertGridOption(grid: PruningGrid | undefined): void {
  if (grid !== undefined) gridPoints(grid);
}

/** A list without repeats, non-empty unless `allowEmpty`. */
export function assertList<T>(values: readonly T[] | undefined, what: string, options: { readonly allowEmpty?: boolean } = {}): void {
  if (values === undefined) return;
  if (!Array.isArray(values)) invalid(`${what} must be a list`, values);
  if (values.length === 0 && options.allowEmpty !== true) invalid(`${what} must be a non-empty list`, values);
  const seen = new Set<T>();
  for (const v of values) {
    if (seen.has(v)) invalid(`${what} lists ${String(v)} twice`, values);
    seen.add(v);
  }
}

/**
 * A pruning point: four percentages in [0, 100] with `pMin + pMax` and `nMin + nMax` below 100 (at 100 every weight
 * or neuron would be pruned).
 */
export function assertPoint(p: PruningPercentages, what: string): void {
  for (const key of ['pMin', 'pMax', 'nMin', 'nMax'] as const) assertPercentage(p[key], `${what}: ${key}`);
  if (p.pMin + p.pMax >= 100) invalid(`${what}: p_min + p_max must be below 100 (every weight would be pruned)`, p);
  if (p.nMin + p.nMax >= 100) invalid(`${what}: n_min + n_max must be below 100 (every neuron would be pruned)`, p);
}

/** The options of `kind` are only those it takes. */
export function assertOwnOptions(kind: string, options: object, own: readonly string[]): void {
  for (const [key, value] of Object.entries(options)) {
    // The option is named in the message once (not again as "got <key>").
    if (value !== undefined && !own.includes(key)) invalid(`The ${kind} ablation takes no option "${key}"`, undefined, own.length > 0 ? `one of ${own.join(', ')}` : 'no options');
  }
}
