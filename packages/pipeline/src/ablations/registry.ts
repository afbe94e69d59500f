/**
 * The ablations by kind, and the names they answer to (`pruning` or `table4`, ...).
 */
import { OpnpError } from '@opnp/core';
import { accuracyAblation } from './accuracy.js';
import type { AblationDefinition } from './definition.js';
import { fractionAblation } from './fraction.js';
import { pruningAblation } from './pruning.js';
import { statisticAblation } from './statistic.js';
import { sweepAblation } from './sweep.js';
import type { AblationKind } from './types.js';

/** Every ablation by kind, in the order `opnp ablate --help` lists them. */
export const ABLATIONS: Readonly<Record<AblationKind, AblationDefinition>> = Object.freeze({
  pruning: pruningAblation,
  fraction: fractionAblation,
  statistic: statisticAblation,
  accuracy: accuracyAblation,
  sweep: sweepAblation,
});

/**
 * The ablation named `name`: a kind or one of its aliases (case-insensitive).
 *
 * @throws OpnpError `INVALID_ARGUMENT` listing the kinds and aliases
 */
export function ablationDefinition(name: string): AblationDefinition {
  const wanted = name.trim().toLowerCase();
  const found = Object.values(ABLATIONS).find((d) => d.kind === wanted || d.aliases.includes(wanted));
  if (found) return found;
  const known = Object.values(ABLATIONS).map((d) => `${d.kind} (or ${d.aliases.join(', ')})`);
  throw new OpnpError('INVALID_ARGUMENT', `Unknown ablation "${name}"`, { expected: known.join('; ') });
}
