/**
 * Names of pruning points as the ablation tables print them: `none`, `p_max=1%`, `p_min=10%,n_max=5%`.
 */
import type { PruningPercentages } from '@opnp/core';

/** The paper's names of the four percentages, in the grid's order. */
export const PERCENTAGE_KEYS = [
  ['pMin', 'p_min'],
  ['pMax', 'p_max'],
  ['nMin', 'n_min'],
  ['nMax', 'n_max'],
] as const;

/** The non-zero percentages of `p` as `p_min=10%,p_max=1%`, or `none`. */
export function pointLabel(p: PruningPercentages | null): string {
  const parts = p === null ? [] : PERCENTAGE_KEYS.filter(([key]) => p[key] !== 0).map(([key, name]) => `${name}=${p[key]}%`);
  return parts.length === 0 ? 'none' : parts.join(',');
}
