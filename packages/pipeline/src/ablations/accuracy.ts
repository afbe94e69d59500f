/**
 * Table 3: the ID top-1 accuracy of the pruned head used as the classifier (OPNP itself classifies with the
 * original head), at fixed points: no pruning, the most sensitive weights (`p_max`) and the least sensitive ones
 * (`p_min`). The paper's column headers are lost except three (none, `p_max` = 1%, `p_min` = 40%); the other
 * levels here are this toolkit's choice. Accuracy is over the labelled samples of the whole ID test set (no search,
 * so no validation split; docs/numerics.md#id-accuracy-of-the-pruned-head-table-3).
 */
import { argmaxRows } from '@opnp/metrics';
import { OpnpError, logits, pruneHead, pruningMasks, type PruningPercentages } from '@opnp/core';
import { assertList, assertPoint } from './checks.js';
import type { AblationDefinition } from './definition.js';
import type { MeasuredVariant } from './measure.js';
import { pointLabel } from './point-label.js';
import type { AccuracySetting } from './types.js';

const opp = (pMin: number, pMax: number): PruningPercentages => ({ pMin, pMax, nMin: 0, nMax: 0 });
const setting = (percentages: PruningPercentages | null): AccuracySetting => ({ name: pointLabel(percentages), percentages });

/** No pruning; `p_max` 0.1, 0.5, 1, 2%; `p_min` 10, 20, 30, 40% (the paper's Table 3 has nine columns of this shape). */
export const DEFAULT_ACCURACY_SETTINGS: readonly AccuracySetting[] = Object.freeze([
  setting(null),
  ...[0.1, 0.5, 1, 2].map((p) => setting(opp(0, p))),
  ...[10, 20, 30, 40].map((p) => setting(opp(p, 0))),
]);

const NEEDS = { validation: false, fit: false, labels: true } as const;

/** The accuracy ablation (Table 3). */
export const accuracyAblation: AblationDefinition = {
  kind: 'accuracy',
  aliases: ['table3'],
  source: 'Table 3',
  title: 'ID accuracy of the pruned head used as the classifier',
  measures: 'accuracy',
  layout: ['accuracy'],
  optionKeys: ['settings'],
  needs: NEEDS,
  check(options) {
    assertList(options.settings?.map((s) => s.name), 'setting names');
    for (const s of options.settings ?? []) {
      if (typeof s.name !== 'string' || s.name === '') throw new OpnpError('INVALID_ARGUMENT', 'Every accuracy setting needs a name', { actual: s });
      if (s.percentages !== null) assertPoint(s.percentages, `setting ${s.name}`);
    }
  },
  async variants(open, options) {
    const session = await open(NEEDS);
    const { sensitivity, neuronSensitivity } = session.fitted.opnp;
    const variants = (options.settings ?? DEFAULT_ACCURACY_SETTINGS).map((s): MeasuredVariant => {
      const head = s.percentages === null ? session.head : pruneHead(session.head, pruningMasks(sensitivity, neuronSensitivity, s.percentages, 'opnp'));
      return {
        variant: { name: s.name, description: s.percentages === null ? 'the original head' : `the head pruned at ${pointLabel(s.percentages)}`, percentages: s.percentages, searched: false },
        scorer: (h) => Float32Array.from(argmaxRows(logits(head, h))),
      };
    });
    return { session, variants };
  },
};
