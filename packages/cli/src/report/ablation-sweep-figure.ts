/**
 * Figure 3 from the sweep ablation: FPR95 and AUROC on each OOD test set against each pruning percentage, the other
 * three at the base point (whose row is drawn at its own value in every panel).
 */
import type { TopLevelSpec } from 'vega-lite';
import { PERCENTAGE_KEYS, type AblationResult } from '@opnp/pipeline';
import { percentagePanels } from './sweep-figure.js';

/** One point of the figure: a level of one percentage, a metric (percent) on one OOD set. */
export interface AblationSweepPoint {
  readonly key: string;
  /** The percentage's level (percent). */
  readonly value: number;
  readonly metric: 'FPR95 (%)' | 'AUROC (%)';
  readonly ood: string;
  readonly percent: number;
}

/** The figure's points: every sweep row at its level, the base row in each panel at the base's value. */
export function ablationSweepPoints(result: AblationResult): AblationSweepPoint[] {
  const base = result.variants.find((v) => v.details?.key === 'base');
  const out: AblationSweepPoint[] = [];
  for (const [field, key] of PERCENTAGE_KEYS) {
    const line = result.variants.filter((v) => v.details?.key === key).map((v) => ({ v, level: Number(v.details!.level) }));
    if (base?.percentages) line.push({ v: base, level: base.percentages[field] });
    line.sort((a, b) => a.level - b.level);
    for (const { v, level } of line) {
      for (const ood of result.oodSets) {
        for (const [metric, label] of [['fpr95', 'FPR95 (%)'], ['auroc', 'AUROC (%)']] as const) {
          const row = result.rows.find((r) => r.variant === v.name && r.ood === ood && r.metric === metric);
          if (row) out.push({ key, value: level, metric: label, ood, percent: row.value * 100 });
        }
      }
    }
  }
  return out;
}

/** The vega-lite spec: rows FPR95 / AUROC, columns the four percentages, one line per OOD set. */
export function ablationSweepFigure(result: AblationResult): TopLevelSpec {
  const base = result.variants.find((v) => v.details?.key === 'base');
  return percentagePanels({
    title: 'Pruning-percentage sweeps (paper Figure 3)',
    subtitle: `each panel varies one percentage, the other three at ${base === undefined || base.name === 'none' ? '0' : base.name}; energy of the pruned head on the test sets`,
    values: ablationSweepPoints(result),
    columns: PERCENTAGE_KEYS.map(([, name]) => name),
    line: { field: 'ood', legend: 'OOD set' },
    points: { field: 'ood' },
    tooltip: [{ field: 'key' }, { field: 'value' }, { field: 'ood' }, { field: 'metric' }, { field: 'percent', format: '.2f' }],
  });
}
