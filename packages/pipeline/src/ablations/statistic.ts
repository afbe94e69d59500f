/**
 * Table 9: ONP with other statistics over the classes of a neuron's weight sensitivities `s_cj` as its sensitivity
 * `s_j` (docs/numerics.md#neuron-sensitivity): mean (the default, Eq. 8), max, min, median, norm (`l2`) and
 * variance. Each statistic's ONP point is searched on the validation data (docs/numerics.md#neuron-statistic-table-9).
 */
import { DEFAULT_PRUNING_GRID, OpnpError, composeScore, neuronSensitivity, pruneHead, pruningMasks, type NeuronStatistic } from '@opnp/core';
import { assertList } from './checks.js';
import type { AblationDefinition } from './definition.js';
import type { MeasuredVariant } from './measure.js';
import { neuronGrid, searchBands } from './point-search.js';

/** The paper's statistics in its order (`l2` is its `norm`). */
export const DEFAULT_STATISTICS: readonly NeuronStatistic[] = Object.freeze(['mean', 'max', 'min', 'median', 'l2', 'variance']);

/** The paper's name of a statistic (`l2` -> `norm`). */
export function statisticLabel(statistic: NeuronStatistic): string {
  return statistic === 'l2' ? 'norm' : statistic;
}

const NEEDS = { validation: true, fit: false, labels: false } as const;

/** The neuron-statistic ablation (Table 9). */
export const statisticAblation: AblationDefinition = {
  kind: 'statistic',
  aliases: ['table9', 'statistics'],
  source: 'Table 9',
  title: "Neuron statistic: ONP with other statistics of a neuron's weight sensitivities as its sensitivity",
  measures: 'ood',
  layout: ['fpr95', 'auroc'],
  optionKeys: ['statistics'],
  needs: NEEDS,
  check(options) {
    assertList(options.statistics, 'statistics');
    for (const s of options.statistics ?? []) {
      if (!DEFAULT_STATISTICS.includes(s)) throw new OpnpError('INVALID_ARGUMENT', `Unknown neuron statistic "${String(s)}"`, { expected: DEFAULT_STATISTICS.join(', ') });
    }
  },
  async variants(open, options) {
    const session = await open(NEEDS);
    const { sensitivity } = session.fitted.opnp;
    const variants: MeasuredVariant[] = [];
    for (const statistic of options.statistics ?? DEFAULT_STATISTICS) {
      const neurons = neuronSensitivity(sensitivity, statistic);
      const chosen = await searchBands(session, { weights: sensitivity, neurons }, neuronGrid(DEFAULT_PRUNING_GRID), statisticLabel(statistic));
      const pruned = pruneHead(session.head, pruningMasks(sensitivity, neurons, chosen.percentages, 'onp'));
      variants.push({
        variant: { name: statisticLabel(statistic), description: `ONP, s_j = ${statistic} over the classes of s_cj`, percentages: chosen.percentages, searched: true, validation: chosen.validation, details: { statistic } },
        scorer: (h) => composeScore(h, { head: pruned }),
      });
    }
    return { session, variants };
  },
};
