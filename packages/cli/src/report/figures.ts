/**
 * The report's figures from a results folder: which can be drawn, their specs and file names.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { LoadedRun } from '@opnp/pipeline';
import { reliabilityFigure, reliabilityOf } from './reliability-figure.js';
import { scoreDistributionFigure } from './score-distribution-figure.js';
import { sensitivityFigure } from './sensitivity-figure.js';
import { sweepFigure } from './sweep-figure.js';

/** A figure to render: its file stem (`<name>.svg`, `<name>.png`), title, caption and spec. */
export interface FigurePlan {
  readonly name: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

/** The figures and the notes on those that cannot be drawn from `results`. */
export function planFigures(results: LoadedRun): { figures: FigurePlan[]; missing: string[] } {
  const f = results.figures;
  if (!f) {
    return {
      figures: [],
      missing: ['sensitivity distributions (Figures 1-2), pruning sweep (Figure 3), reliability diagrams (Figure 4) and score distributions (Figure 5) need a results folder: run opnp eval (or demo) with --save <dir>'],
    };
  }
  const p = f.selection.percentages;
  const figures: FigurePlan[] = [
    {
      name: 'fig1-parameter-sensitivity',
      title: 'Figure 1: parameter sensitivity',
      caption: `Distribution of the parameter sensitivity s_cj of the ${f.classes} x ${f.dim} head weights, normalised to its maximum; shaded regions are pruned (p_min = ${p.p_min}%, p_max = ${p.p_max}%).`,
      spec: sensitivityFigure({ values: f.parameterSensitivity, band: f.selection.parameterBand, low: p.p_min, high: p.p_max, lowName: 'p_min', highName: 'p_max', title: 'Parameter sensitivity s_cj / max s' }),
    },
    {
      name: 'fig2-neuron-sensitivity',
      title: 'Figure 2: neuron sensitivity',
      caption: `Distribution of the neuron sensitivity s_j of the ${f.dim} pre-logit neurons, normalised to its maximum; shaded regions are pruned (n_min = ${p.n_min}%, n_max = ${p.n_max}%).`,
      spec: sensitivityFigure({ values: f.neuronSensitivity, band: f.selection.neuronBand, low: p.n_min, high: p.n_max, lowName: 'n_min', highName: 'n_max', title: 'Neuron sensitivity s_j / max s_j' }),
    },
  ];
  const missing: string[] = [];
  if (f.grid && f.grid.length > 0) {
    figures.push({
      name: 'fig3-pruning-sweep',
      title: 'Figure 3: pruning sweep',
      caption: 'Mean validation FPR95 and AUROC of the grid search when one percentage varies and the other three stay at the chosen point (red).',
      spec: sweepFigure(f.grid, p),
    });
  } else missing.push('the pruning sweep (Figure 3) needs a grid search: run opnp eval --save without --opnp');
  if (f.calibration && f.calibration.original.confidence.length > 0) {
    figures.push({
      name: 'fig4-reliability',
      title: 'Figure 4: calibration',
      caption: `Reliability diagrams and ECE (15 bins) of the original and the OPNP-pruned head on the ${f.calibration.original.confidence.length} labelled ID test samples.`,
      spec: reliabilityFigure(reliabilityOf(f.calibration)),
    });
  } else missing.push('the reliability diagrams (Figure 4) need ID test labels (--test-labels, or a labelled dataset)');
  figures.push({
    name: 'fig5-score-distributions',
    title: 'Figure 5: score distributions',
    caption: 'Densities of the ID test scores and of each OOD set with the energy score of the original head and of the OPNP-pruned head.',
    spec: scoreDistributionFigure(f.scores),
  });
  return { figures, missing };
}
