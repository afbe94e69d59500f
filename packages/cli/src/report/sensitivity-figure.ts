/**
 * Paper Figures 1 and 2: the distribution of the parameter sensitivity `s_cj` (or the neuron sensitivity
 * `s_j`) normalised to its maximum, with the pruned regions shaded: below `lo = P(s, low%)` and above
 * `hi = P(s, 100 - high%)`.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BandJson } from '@opnp/pipeline';
import { FIGURE_CONFIG } from './render.js';
import { histogram } from './histogram.js';

/** Inputs of {@link sensitivityFigure}. */
export interface SensitivityFigureInput {
  /** Sensitivities (any shape, flattened). */
  readonly values: ArrayLike<number>;
  /** The keep band `[lo, hi]` in sensitivity units (null = unbounded). */
  readonly band: BandJson;
  /** The two percentages and their names, e.g. `{ low: 10, high: 1, lowName: 'p_min', highName: 'p_max' }`. */
  readonly low: number;
  readonly high: number;
  readonly lowName: string;
  readonly highName: string;
  /** Title, e.g. "Parameter sensitivity s_cj / max s". */
  readonly title: string;
  readonly bins?: number;
}

/** Counts of the values pruned below `lo` and above `hi`. */
export function prunedCounts(values: ArrayLike<number>, band: BandJson): { below: number; above: number } {
  let below = 0;
  let above = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (band.lo !== null && v < band.lo) below++;
    if (band.hi !== null && v > band.hi) above++;
  }
  return { below, above };
}

/** The vega-lite spec of one sensitivity figure (histogram of `s / max s`, symlog counts, pruned bands shaded). */
export function sensitivityFigure(input: SensitivityFigureInput): TopLevelSpec {
  const { values, band } = input;
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  const scale = max > 0 ? 1 / max : 1;
  const normalised = Float64Array.from({ length: values.length }, (_, i) => values[i]! * scale);
  const bins = histogram(normalised, input.bins ?? 60, 0, 1).map((b) => ({ x0: b.x0, x1: b.x1, count: b.count }));
  const { below, above } = prunedCounts(values, band);
  const regions: { x0: number; x1: number; region: string }[] = [];
  if (band.lo !== null) regions.push({ x0: 0, x1: band.lo * scale, region: `pruned: lowest ${input.low}% (${input.lowName}), ${below}` });
  if (band.hi !== null) regions.push({ x0: band.hi * scale, x1: 1, region: `pruned: highest ${input.high}% (${input.highName}), ${above}` });
  const x = { field: 'x0', type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'sensitivity / max sensitivity' };
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [];
  if (regions.length > 0) {
    layers.push({
      data: { values: regions },
      mark: { type: 'rect', opacity: 0.18 },
      encoding: {
        x,
        x2: { field: 'x1' },
        color: { field: 'region', type: 'nominal', scale: { range: ['#d62728', '#ff7f0e'] }, legend: { title: null, orient: 'top', direction: 'vertical', labelLimit: 0 } },
      },
    });
  }
  layers.push({
    data: { values: bins },
    mark: { type: 'rect', color: '#1f77b4' },
    encoding: {
      x,
      x2: { field: 'x1' },
      y: { field: 'count', type: 'quantitative', scale: { type: 'symlog' }, title: 'count (symlog)' },
      y2: { datum: 0 },
      tooltip: [{ field: 'x0', format: '.3f' }, { field: 'count' }],
    },
  });
  if (regions.length > 0) {
    const edges = [...(band.lo !== null ? [{ at: band.lo * scale }] : []), ...(band.hi !== null ? [{ at: band.hi * scale }] : [])];
    layers.push({ data: { values: edges }, mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] }, encoding: { x: { field: 'at', type: 'quantitative' } } });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: input.title,
      subtitle: `${values.length} values; kept: ${input.lowName} = ${input.low}% .. 100 - ${input.highName} = ${100 - input.high}% (shaded: pruned)`,
    },
    width: 460,
    height: 220,
    layer: layers,
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}
