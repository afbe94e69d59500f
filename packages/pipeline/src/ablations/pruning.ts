/**
 * Table 4: pruning weights or neurons chosen without sensitivity against OPP and ONP (docs/numerics.md#pruning-methods-table-4, #ablation-pruners).
 * Six pruners, each at its own best percentages on the validation data: random weights (RPP), the smallest
 * `|W|` (TPP), OPP, random neurons (RNP), the neurons of smallest mean feature norm (TNP), ONP. Weight pruners
 * search the grid's `(p_min, p_max)` axes, neuron pruners its `(n_min, n_max)` axes.
 */
import {
  DEFAULT_PRUNING_GRID,
  composeScore,
  lowNormNeuronMask,
  magnitudeWeightMask,
  meanFeatureNorm,
  pruneHead,
  pruningMasks,
  randomNeuronMask,
  randomWeightMask,
  type LinearHead,
  type PruningPercentages,
  type SensitivityLike,
} from '@opnp/core';
import { assertGridOption } from './checks.js';
import type { AblationDefinition } from './definition.js';
import { neuronGrid, searchBands, searchHeads, weightGrid, type ChosenPoint } from './point-search.js';
import type { AblationSession } from './session.js';

/** One pruner: its row name, what it prunes, how its head is built, and the importance its band rule uses (none: random). */
interface Pruner {
  readonly name: string;
  readonly description: string;
  readonly axes: 'weights' | 'neurons';
  readonly headAt: (p: PruningPercentages) => LinearHead;
  readonly importance?: { readonly weights: SensitivityLike; readonly neurons: ArrayLike<number> };
}

/** The six pruners of Table 4 in the paper's order. */
function pruners(session: AblationSession): Pruner[] {
  const { head, config } = session;
  const { sensitivity, neuronSensitivity } = session.fitted.opnp;
  const fit = session.fitted.fitFeatures;
  const magnitude = { classes: head.weight.rows, dim: head.weight.cols, values: Float64Array.from(head.weight.data, Math.abs) };
  const sensitive = { weights: sensitivity, neurons: neuronSensitivity };
  return [
    { name: 'RPP', description: `random weights (seed ${config.seed})`, axes: 'weights', headAt: (p) => pruneHead(head, { param: randomWeightMask(head, p.pMin, p.pMax, config.seed).mask }) },
    { name: 'TPP', description: 'weights of smallest |W| (p_min) and largest (p_max)', axes: 'weights', headAt: (p) => pruneHead(head, { param: magnitudeWeightMask(head, p.pMin, p.pMax).mask }), importance: { weights: magnitude, neurons: neuronSensitivity } },
    { name: 'OPP', description: 'weights by sensitivity (OPP)', axes: 'weights', headAt: (p) => pruneHead(head, pruningMasks(sensitivity, neuronSensitivity, p, 'opp')), importance: sensitive },
    { name: 'RNP', description: `random neurons (seed ${config.seed})`, axes: 'neurons', headAt: (p) => pruneHead(head, { neuron: randomNeuronMask(head, p.nMin, p.nMax, config.seed).mask }) },
    { name: 'TNP', description: `neurons of smallest mean feature norm (n_min) and largest (n_max), over ${fit.rows} training samples`, axes: 'neurons', headAt: (p) => pruneHead(head, { neuron: lowNormNeuronMask(fit, p.nMin, p.nMax).mask }), importance: { weights: sensitivity, neurons: meanFeatureNorm(fit) } },
    { name: 'ONP', description: 'neurons by sensitivity (ONP)', axes: 'neurons', headAt: (p) => pruneHead(head, pruningMasks(sensitivity, neuronSensitivity, p, 'onp')), importance: sensitive },
  ];
}

const NEEDS = { validation: true, fit: true, labels: false } as const;

/** The pruning ablation (Table 4). */
export const pruningAblation: AblationDefinition = {
  kind: 'pruning',
  aliases: ['table4', 'pruners'],
  source: 'Table 4',
  title: 'Pruning methods: random and magnitude weight pruning, random and low-norm neuron pruning against OPP and ONP, each at its best percentages on validation data',
  measures: 'ood',
  layout: ['fpr95'],
  optionKeys: ['grid'],
  needs: NEEDS,
  check: (options) => assertGridOption(options.grid),
  async variants(open, options) {
    const session = await open(NEEDS);
    const grid = options.grid ?? DEFAULT_PRUNING_GRID;
    const variants = [];
    for (const pruner of pruners(session)) {
      const axes = pruner.axes === 'weights' ? weightGrid(grid) : neuronGrid(grid);
      const chosen: ChosenPoint = pruner.importance ? await searchBands(session, pruner.importance, axes, pruner.name) : searchHeads(session, axes, pruner.headAt, pruner.name);
      const head = pruner.headAt(chosen.percentages);
      const details = pruner.name.startsWith('R') ? { seed: session.config.seed } : undefined;
      variants.push({
        variant: { name: pruner.name, description: pruner.description, percentages: chosen.percentages, searched: true, validation: chosen.validation, ...(details ? { details } : {}) },
        scorer: (h: Parameters<typeof composeScore>[0]) => composeScore(h, { head }),
      });
    }
    return { session, variants };
  },
};
