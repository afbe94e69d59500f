/**
 * Paper Figure 4: reliability diagrams (15 equal-width confidence bins, `reliabilityDiagram` of
 * @opnp/metrics) and ECE of the original head and of the OPNP-pruned head (its confidence is the max
 * softmax of the pruned logits, its correctness that of the pruned head's own argmax).
 */
import type { TopLevelSpec } from 'vega-lite';
import { reliabilityDiagram, type ReliabilityDiagram } from '@opnp/metrics';
import type { CalibrationInputs } from '@opnp/pipeline';
import { FIGURE_CONFIG } from './render.js';

/** The diagrams of both heads (15 bins). */
export function reliabilityOf(calibration: Record<'original' | 'pruned', CalibrationInputs>): Record<'original' | 'pruned', ReliabilityDiagram> {
  return {
    original: reliabilityDiagram(calibration.original.confidence, calibration.original.correct),
    pruned: reliabilityDiagram(calibration.pruned.confidence, calibration.pruned.correct),
  };
}

function panel(diagram: ReliabilityDiagram, title: string) {
  const bins = diagram.bins.filter((b) => b.count > 0).map((b) => ({ lower: b.lower, upper: b.upper, accuracy: b.accuracy!, confidence: b.confidence!, count: b.count }));
  const unit = { type: 'quantitative' as const, scale: { domain: [0, 1] } };
  return {
    title: `${title}: ECE ${(diagram.ece * 100).toFixed(2)}%`,
    width: 240,
    height: 240,
    layer: [
      {
        data: { values: bins },
        mark: { type: 'rect', color: '#1f77b4', stroke: 'white' },
        encoding: {
          x: { field: 'lower', ...unit, title: 'confidence (max softmax)' },
          x2: { field: 'upper' },
          y: { field: 'accuracy', ...unit, title: 'accuracy' },
          y2: { datum: 0 },
          tooltip: [{ field: 'lower', format: '.3f' }, { field: 'upper', format: '.3f' }, { field: 'accuracy', format: '.3f' }, { field: 'confidence', format: '.3f' }, { field: 'count' }],
        },
      },
      {
        data: { values: bins },
        mark: { type: 'rect', color: '#d62728', opacity: 0.35 },
        encoding: { x: { field: 'lower', ...unit }, x2: { field: 'upper' }, y: { field: 'accuracy', ...unit }, y2: { field: 'confidence' } },
      },
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#555', strokeDash: [4, 3] },
        encoding: { x: { field: 'x', ...unit }, y: { field: 'y', ...unit } },
      },
    ],
  };
}

/** The vega-lite spec: the original and the pruned head side by side (blue = accuracy, red = gap to confidence). */
export function reliabilityFigure(diagrams: Record<'original' | 'pruned', ReliabilityDiagram>): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Reliability diagrams on the ID test set (15 bins)', subtitle: 'blue: accuracy per confidence bin; red: gap to the mean confidence; dashed: perfect calibration' },
    hconcat: [panel(diagrams.original, 'Original head'), panel(diagrams.pruned, 'OPNP-pruned head')],
    config: FIGURE_CONFIG,
  } as TopLevelSpec;
}
