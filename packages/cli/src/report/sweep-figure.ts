/**
 * Paper Figure 3: the pruning sweep. For each of `p_min`, `p_max`, `n_min`, `n_max`, the mean validation
 * FPR95 and AUROC of the grid points that vary it while the other three stay at the chosen point.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { GridPointJson, SelectionJson } from '@opnp/pipeline';
import { FIGURE_CONFIG } from './render.js';

const KEYS = ['p_min', 'p_max', 'n_min', 'n_max'] as const;

/** One point of the sweep: a percentage value of one key and a metric (percent). */
export interface SweepRow {
  readonly key: (typeof KEYS)[number];
  readonly value: number;
  readonly metric: 'FPR95 (%)' | 'AUROC (%)';
  readonly percent: number;
  readonly chosen: 'chosen point' | 'grid point';
}

/** The sweep rows: the grid points on each axis through the chosen point, sorted by value. */
export function sweepRows(grid: readonly GridPointJson[], chosen: SelectionJson['percentages']): SweepRow[] {
  const rows: SweepRow[] = [];
  for (const key of KEYS) {
    const line = grid.filter((g) => KEYS.every((k) => k === key || g[k] === chosen[k])).sort((a, b) => a[key] - b[key]);
    for (const g of line) {
      const tag = g[key] === chosen[key] ? 'chosen point' : 'grid point';
      rows.push({ key, value: g[key], metric: 'FPR95 (%)', percent: g.fpr95 * 100, chosen: tag });
      rows.push({ key, value: g[key], metric: 'AUROC (%)', percent: g.auroc * 100, chosen: tag });
    }
  }
  return rows;
}

/** What {@link percentagePanels} draws: rows with `key` (panel column), `value` (x), `metric` (panel row) and `percent` (y). */
export interface PercentagePanels {
  readonly title: string;
  readonly subtitle: string;
  readonly values: readonly object[];
  /** The panel columns in order (the percentages). */
  readonly columns: readonly string[];
  /** Line colour: one fixed colour, or a field whose values get one line each. */
  readonly line: { readonly color: string } | { readonly field: string; readonly legend: string };
  /** Colour of the points (a field and its scale). */
  readonly points: { readonly field: string; readonly scale?: object; readonly legend?: object | null };
  readonly tooltip: readonly object[];
}

/**
 * A grid of panels, rows FPR95 / AUROC and one column per percentage, each a line with points of a metric against
 * the percentage pruned (independent scales): paper Figure 3's layout, for the validation grid and the sweep ablation.
 */
export function percentagePanels(p: PercentagePanels): TopLevelSpec {
  const lineColor = 'color' in p.line ? { color: p.line.color } : {};
  const lineEncoding = 'field' in p.line ? { color: { field: p.line.field, type: 'nominal', legend: { title: p.line.legend, orient: 'top' } } } : {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: p.title, subtitle: p.subtitle },
    data: { values: p.values },
    facet: {
      row: { field: 'metric', type: 'nominal', title: null, sort: ['FPR95 (%)', 'AUROC (%)'] },
      column: { field: 'key', type: 'nominal', title: null, sort: [...p.columns] },
    },
    spec: {
      width: 150,
      height: 120,
      layer: [
        {
          mark: { type: 'line', ...lineColor },
          encoding: {
            x: { field: 'value', type: 'quantitative', title: 'percent pruned' },
            y: { field: 'percent', type: 'quantitative', scale: { zero: false }, title: null, axis: { format: '.2f' } },
            ...lineEncoding,
          },
        },
        {
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x: { field: 'value', type: 'quantitative' },
            y: { field: 'percent', type: 'quantitative' },
            color: { field: p.points.field, type: 'nominal', ...(p.points.scale ? { scale: p.points.scale } : {}), ...(p.points.legend !== undefined ? { legend: p.points.legend } : {}) },
            tooltip: [...p.tooltip],
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}

/** The vega-lite spec: rows FPR95 / AUROC, columns the four percentages (independent scales). */
export function sweepFigure(grid: readonly GridPointJson[], chosen: SelectionJson['percentages']): TopLevelSpec {
  return percentagePanels({
    title: 'Pruning sweep on the validation data (mean over OOD validation sets)',
    subtitle: `each panel varies one percentage; the others fixed at p_min=${chosen.p_min}, p_max=${chosen.p_max}, n_min=${chosen.n_min}, n_max=${chosen.n_max}`,
    values: sweepRows(grid, chosen),
    columns: KEYS,
    line: { color: '#1f77b4' },
    points: { field: 'chosen', scale: { domain: ['chosen point', 'grid point'], range: ['#d62728', '#1f77b4'] }, legend: { title: null, orient: 'top' } },
    tooltip: [{ field: 'key' }, { field: 'value' }, { field: 'metric' }, { field: 'percent', format: '.2f' }],
  });
}
