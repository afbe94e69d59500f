/**
 * Table 8: OPP with the sensitivity computed on a seeded fraction of the training samples. Every subset is
 * accumulated in the one training pass (each batch's rows that belong to it go into its own accumulator); each
 * fraction's OPP point is searched on the validation data like OPP's; `none` is the unpruned head (energy)
 * (docs/numerics.md#sensitivity-sample-fraction-table-8).
 */
import { DEFAULT_PRUNING_GRID, OpnpError, SensitivityAccumulator, composeScore, neuronSensitivity, pruneHead, pruningMasks, type Matrix } from '@opnp/core';
import { subsetIndices } from '@opnp/datasets';
import { trainingIndices } from '../training-pass.js';
import { assertList } from './checks.js';
import type { AblationDefinition } from './definition.js';
import type { MeasuredVariant } from './measure.js';
import { searchBands, weightGrid } from './point-search.js';
import type { BatchObserver } from './session.js';

/** The paper's fractions: 1%, 5%, 20% and all of the training set. */
export const DEFAULT_FRACTIONS: readonly number[] = Object.freeze([0.01, 0.05, 0.2, 1]);

/** `0.05` -> `5%` (no floating-point tail). */
export function fractionLabel(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(12))}%`;
}

/** Rows `rows` (ascending positions) of `m [n x k]` as a new `[rows.length x k]` matrix. */
function pickRows(m: Matrix, rows: readonly number[]): Matrix {
  const data = new Float32Array(rows.length * m.cols);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { rows: rows.length, cols: m.cols, data };
}

/** A subset of the run's training samples with its own sensitivity accumulator. */
interface SubsetSensitivity {
  readonly fraction: number;
  readonly members: Set<number>;
  readonly accumulator: SensitivityAccumulator;
}

/**
 * Accumulators of the fractions below 1, and the observer that feeds them: the subset of `fraction` is the seeded
 * subset (`subsetIndices`, the run's seed) of the run's training indices, so without `trainFraction` it is the
 * subset `opnp eval --train-fraction <fraction>` uses.
 */
function subsetObserver(fractions: readonly number[], subsets: SubsetSensitivity[]): BatchObserver {
  return (sources, config, model) => {
    const indices = trainingIndices(sources.train.count, config.trainFraction, config.seed);
    for (const fraction of fractions.filter((f) => f < 1)) {
      const picked = subsetIndices(indices.length, { fraction, seed: config.seed });
      subsets.push({ fraction, members: new Set(Array.from(picked, (k) => indices[k]!)), accumulator: new SensitivityAccumulator(model.extractor.head, { kernel: model.kernel }) });
    }
    return async (batch) => {
      for (const subset of subsets) {
        const rows: number[] = [];
        batch.indices.forEach((index, r) => subset.members.has(index) && rows.push(r));
        if (rows.length > 0) await subset.accumulator.add(pickRows(batch.features, rows), pickRows(batch.logits, rows));
      }
    };
  };
}

const NEEDS = { validation: true, fit: false, labels: false } as const;

/** The sensitivity-fraction ablation (Table 8). */
export const fractionAblation: AblationDefinition = {
  kind: 'fraction',
  aliases: ['table8', 'fractions'],
  source: 'Table 8',
  title: 'Sensitivity sample fraction: OPP with the sensitivity computed on a seeded fraction of the training samples',
  measures: 'ood',
  layout: ['fpr95', 'auroc'],
  optionKeys: ['fractions'],
  needs: NEEDS,
  check(options) {
    assertList(options.fractions, 'fractions');
    for (const f of options.fractions ?? []) {
      if (!(typeof f === 'number' && f > 0 && f <= 1)) throw new OpnpError('INVALID_ARGUMENT', 'Every fraction must be in (0, 1]', { actual: f });
    }
  },
  async variants(open, options) {
    const fractions = options.fractions ?? DEFAULT_FRACTIONS;
    const subsets: SubsetSensitivity[] = [];
    const session = await open(NEEDS, subsetObserver(fractions, subsets));
    const { head } = session;
    const variants: MeasuredVariant[] = [{ variant: { name: 'none', description: 'no pruning (energy)', percentages: null, searched: false }, scorer: (h) => composeScore(h, { head }) }];
    for (const fraction of fractions) {
      const sensitivity = fraction === 1 ? session.fitted.opnp.sensitivity : subsets.find((s) => s.fraction === fraction)!.accumulator.result();
      const neurons = fraction === 1 ? session.fitted.opnp.neuronSensitivity : neuronSensitivity(sensitivity);
      const chosen = await searchBands(session, { weights: sensitivity, neurons }, weightGrid(DEFAULT_PRUNING_GRID), fractionLabel(fraction));
      const pruned = pruneHead(head, pruningMasks(sensitivity, neurons, chosen.percentages, 'opp'));
      variants.push({
        variant: { name: fractionLabel(fraction), description: `OPP, sensitivity over ${sensitivity.count} training samples`, percentages: chosen.percentages, searched: true, validation: chosen.validation, details: { fraction, samples: sensitivity.count } },
        scorer: (h) => composeScore(h, { head: pruned }),
      });
    }
    return { session, variants };
  },
};
