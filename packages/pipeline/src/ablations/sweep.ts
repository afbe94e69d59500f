/**
 * Figure 3: the pruning-percentage sweeps. Each of `p_min`, `p_max`, `n_min`, `n_max` in turn takes each of its
 * levels while the other three stay at the base point (default: no pruning); every point is a fixed OPNP head
 * (no search), scored with energy on the whole ID test set and every OOD test set. The first row is the base point
 * (docs/numerics.md#pruning-percentage-sweeps-figure-3).
 */
import { OpnpError, composeScore, pruneHead, pruningMasks, type PruningPercentages } from '@opnp/core';
import { assertList, assertPoint } from './checks.js';
import type { AblationDefinition } from './definition.js';
import type { MeasuredVariant } from './measure.js';
import { PERCENTAGE_KEYS, pointLabel } from './point-label.js';
import type { SweepLevels } from './types.js';

/** Levels of each percentage (percent); the base point's own value is always the first row. */
export const DEFAULT_SWEEP_LEVELS: SweepLevels = Object.freeze({
  pMin: Object.freeze([10, 20, 30, 40, 50, 60, 70]),
  pMax: Object.freeze([0.5, 1, 1.5, 2, 3]),
  nMin: Object.freeze([10, 20, 30, 40, 50, 60, 70]),
  nMax: Object.freeze([1, 2, 5, 10, 15, 20]),
});

const NO_PRUNING: PruningPercentages = { pMin: 0, pMax: 0, nMin: 0, nMax: 0 };

/** The sweep's points: the base, then each key's levels (those equal to the base's value left out). */
export function sweepPoints(levels: SweepLevels, base: PruningPercentages): { key: string; level: number; percentages: PruningPercentages }[] {
  const points = [{ key: 'base', level: 0, percentages: base }];
  for (const [key, name] of PERCENTAGE_KEYS) {
    for (const level of levels[key]) if (level !== base[key]) points.push({ key: name, level, percentages: { ...base, [key]: level } });
  }
  return points;
}

const NEEDS = { validation: false, fit: false, labels: false } as const;

/** The sweep (Figure 3). */
export const sweepAblation: AblationDefinition = {
  kind: 'sweep',
  aliases: ['figure3', 'fig3'],
  source: 'Figure 3',
  title: 'Pruning-percentage sweeps: each percentage varied alone, the others at the base point',
  measures: 'ood',
  layout: ['fpr95', 'auroc'],
  optionKeys: ['levels', 'base'],
  needs: NEEDS,
  check(options) {
    const base = options.base ?? NO_PRUNING;
    assertPoint(base, 'the sweep base');
    for (const [key, name] of PERCENTAGE_KEYS) assertList(options.levels?.[key], `the ${name} levels`, { allowEmpty: true });
    const points = sweepPoints(options.levels ?? DEFAULT_SWEEP_LEVELS, base);
    if (points.length === 1) throw new OpnpError('INVALID_ARGUMENT', 'The sweep has no level besides the base point', { hint: 'Give at least one level of p_min, p_max, n_min or n_max' });
    for (const p of points) assertPoint(p.percentages, `sweep point ${pointLabel(p.percentages)}`);
  },
  async variants(open, options) {
    const session = await open(NEEDS);
    const { sensitivity, neuronSensitivity } = session.fitted.opnp;
    const points = sweepPoints(options.levels ?? DEFAULT_SWEEP_LEVELS, options.base ?? NO_PRUNING);
    const variants = points.map(({ key, level, percentages }): MeasuredVariant => {
      const head = pruneHead(session.head, pruningMasks(sensitivity, neuronSensitivity, percentages, 'opnp'));
      const name = key === 'base' ? pointLabel(percentages) : `${key}=${level}%`;
      return {
        variant: { name, description: `energy of the head pruned at ${pointLabel(percentages)}`, percentages, searched: false, details: key === 'base' ? { key } : { key, level } },
        scorer: (h) => composeScore(h, { head }),
      };
    });
    return { session, variants };
  },
};
