/**
 * The neuron statistic `s_j` over the classes (docs/numerics.md#neuron-sensitivity) as the CLI names it, one set of
 * names for every flag that takes one (`opnp sensitivity --neuron-statistic`, `opnp ablate --statistics`): the
 * library's `l2` is the paper's `norm`, and either name is accepted wherever a statistic is.
 */
import type { NeuronStatistic } from '@opnp/core';
import { flagError } from './errors.js';
import { didYouMean } from './suggest.js';

/** The statistics in the paper's order (Table 9), by the library's names. */
export const NEURON_STATISTICS: readonly NeuronStatistic[] = Object.freeze(['mean', 'max', 'min', 'median', 'l2', 'variance']);

/** The statistics for help texts: `mean, max, min, median, l2 (= norm), variance`. */
export const NEURON_STATISTICS_HELP = 'mean, max, min, median, l2 (the paper\'s norm; either name), variance';

/** Every accepted name. */
const NAMES: readonly string[] = [...NEURON_STATISTICS, 'norm'];

/** One statistic of `flag` by either name (`norm` -> `l2`), case-insensitive; an unknown one is refused with the nearest names. */
export function parseNeuronStatistic(flag: string, text: string): NeuronStatistic {
  const name = text.trim().toLowerCase();
  const statistic = name === 'norm' ? 'l2' : name;
  if ((NEURON_STATISTICS as readonly string[]).includes(statistic)) return statistic as NeuronStatistic;
  const suggestion = didYouMean(name, NAMES);
  throw flagError(flag, `expected one of ${NEURON_STATISTICS_HELP}, got "${text}"${suggestion ? `; ${suggestion}` : ''}`);
}
