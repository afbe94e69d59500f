/**
 * Paper Figure 5: ID vs OOD score distributions with the energy score (before) and the OPNP-pruned head's
 * energy (after), one row per OOD set. Histograms are normalised to densities so sets of different sizes
 * compare.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { SetScores } from '@opnp/pipeline';
import { FIGURE_CONFIG } from './render.js';
import { finiteRange, histogram } from './histogram.js';

/** One density bin of one set in one panel. */
export interface DensityRow {
  readonly ood: string;
  readonly score: 'Energy' | 'OPNP';
  readonly set: 'ID' | 'OOD';
  readonly x0: number;
  readonly x1: number;
  readonly density: number;
}

function densities(values: Float32Array, lo: number, hi: number, bins: number) {
  return histogram(values, bins, lo, hi).map((b) => ({ x0: b.x0, x1: b.x1, density: values.length > 0 ? b.count / values.length / (b.x1 - b.x0) : 0 }));
}

/** Density rows of every (OOD set, score) panel; ID and OOD share each panel's bins. */
export function densityRows(scores: Record<'energy' | 'opnp', SetScores>, bins = 40): DensityRow[] {
  const rows: DensityRow[] = [];
  for (const ood of Object.keys(scores.energy.ood)) {
    for (const [key, score] of [['energy', 'Energy'], ['opnp', 'OPNP']] as const) {
      const id = scores[key].id;
      const out = scores[key].ood[ood]!;
      const [lo, hi] = finiteRange([id, out]);
      for (const b of densities(id, lo, hi, bins)) rows.push({ ood, score, set: 'ID', ...b });
      for (const b of densities(out, lo, hi, bins)) rows.push({ ood, score, set: 'OOD', ...b });
    }
  }
  return rows;
}

/** The vega-lite spec: rows = OOD sets, columns = Energy / OPNP, overlaid ID and OOD densities. */
export function scoreDistributionFigure(scores: Record<'energy' | 'opnp', SetScores>): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'ID vs OOD score distributions: energy (before) and OPNP (after)', subtitle: 'ID test set against each OOD test set; higher score = more in-distribution' },
    data: { values: densityRows(scores) },
    facet: {
      row: { field: 'ood', type: 'nominal', title: 'OOD set' },
      column: { field: 'score', type: 'nominal', title: null, sort: ['Energy', 'OPNP'] },
    },
    spec: {
      width: 260,
      height: 120,
      mark: { type: 'rect', opacity: 0.55 },
      encoding: {
        x: { field: 'x0', type: 'quantitative', title: 'score', scale: { zero: false, nice: false } },
        x2: { field: 'x1' },
        y: { field: 'density', type: 'quantitative', title: 'density', stack: null },
        y2: { datum: 0 },
        color: { field: 'set', type: 'nominal', scale: { domain: ['ID', 'OOD'], range: ['#1f77b4', '#d62728'] }, legend: { title: null, orient: 'top' } },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}
