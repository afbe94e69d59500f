/**
 * The self-contained `report.html`: inline SVG figures and the results table (percent, two decimals, best
 * per column in bold: lowest FPR95, highest AUROC), and with a recipe the paper's numbers beside ours.
 * No scripts, no external resources.
 */
import type { EvalReport } from '@opnp/pipeline';
import { comparisonNotes, methodLabel, noteSentence, paperComparison, paperComparisonWide, paperSource, signed, type RecipeName } from '../format/paper-comparison.js';
import { resultLabel } from '../format/results-table.js';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const percent = (v: number) => (v * 100).toFixed(2);

/** The heading of the results table. */
export const RESULTS_HEADING = 'Results (percent; FPR95 lower is better, AUROC higher is better; best per column in bold)';

/** One table column: an OOD set (or `Average`) and a metric. */
export interface Column {
  readonly ood: string;
  readonly metric: 'fpr95' | 'auroc';
}

function valueOf(report: EvalReport, method: string, column: Column): number | undefined {
  const r = column.ood === 'Average' ? report.averages.find((a) => a.method === method) : report.results.find((x) => x.method === method && x.ood === column.ood);
  return r?.[column.metric];
}

/** One cell of a results table: the value that ranks it (best in bold) and its text. */
export interface TableCell {
  readonly value: number;
  readonly text: string;
}

/**
 * A results table as HTML: one row per method (`label`), `FPR95` and `AUROC` per OOD set and `Average`; the best
 * value of each column in bold (lowest FPR95, highest AUROC; ties: all of them). Cells carry `data-method`,
 * `data-ood` and `data-metric`.
 */
export function methodsTableHtml(methods: readonly string[], oodSets: readonly string[], cell: (method: string, column: Column) => TableCell | undefined, label: (method: string) => string): string {
  const oods = [...oodSets, 'Average'];
  const columns: Column[] = oods.flatMap((ood) => [{ ood, metric: 'fpr95' as const }, { ood, metric: 'auroc' as const }]);
  const best = columns.map((c) => {
    const values = methods.map((m) => cell(m, c)?.value).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length === 0) return undefined;
    return c.metric === 'fpr95' ? Math.min(...values) : Math.max(...values);
  });
  const head1 = `<tr><th rowspan="2">Method</th>${oods.map((o) => `<th colspan="2">${escapeHtml(o)}</th>`).join('')}</tr>`;
  const head2 = `<tr>${oods.map(() => '<th>FPR95&nbsp;↓</th><th>AUROC&nbsp;↑</th>').join('')}</tr>`;
  const body = methods.map((m) => {
    const cells = columns.map((c, k) => {
      const v = cell(m, c);
      const attrs = `data-method="${escapeHtml(m)}" data-ood="${escapeHtml(c.ood)}" data-metric="${c.metric}"`;
      if (v === undefined) return `<td ${attrs}></td>`;
      const text = escapeHtml(v.text);
      return v.value === best[k] ? `<td ${attrs} class="best"><b>${text}</b></td>` : `<td ${attrs}>${text}</td>`;
    });
    return `<tr><th scope="row">${escapeHtml(label(m))}</th>${cells.join('')}</tr>`;
  });
  return `<table class="results">\n<thead>\n${head1}\n${head2}\n</thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

/** One run's results table as HTML ({@link methodsTableHtml}; percent with two decimals). */
export function resultsTableHtml(report: EvalReport): string {
  const cell = (m: string, c: Column) => {
    const v = valueOf(report, m, c);
    return v === undefined ? undefined : { value: v, text: percent(v) };
  };
  return methodsTableHtml(report.methods, [...new Set(report.results.map((r) => r.ood))], cell, (m) => resultLabel(report, m));
}

/**
 * Ours beside the paper's table of `recipe` as HTML: one row per (OOD set or `Average`, method), with
 * FPR95 and AUROC each as ours, the paper's and Δ = ours - paper (percent, two decimals; empty when
 * missing). Cells carry `data-ood`, `data-method` (ours, empty on a paper-only row), `data-paper-method`,
 * `data-metric` and `data-source` (`ours` | `paper` | `diff`).
 */
export function paperComparisonHtml(report: EvalReport, recipe: RecipeName): string {
  const rows = paperComparisonWide(paperComparison(report, recipe)).objects() as { ood: string; method: string | null; paperMethod: string | null; [k: string]: unknown }[];
  const sources = ['ours', 'paper', 'diff'] as const;
  const head1 = '<tr><th rowspan="2">OOD set</th><th rowspan="2">Method (paper\'s row)</th><th colspan="3">FPR95&nbsp;↓</th><th colspan="3">AUROC&nbsp;↑</th></tr>';
  const head2 = `<tr>${'<th>ours</th><th>paper</th><th>Δ</th>'.repeat(2)}</tr>`;
  const body = rows.map((r) => {
    const cells = (['fpr95', 'auroc'] as const).flatMap((metric) =>
      sources.map((source) => {
        const v = r[`${source}_${metric}`] as number | null;
        const text = source === 'diff' ? signed(v) : v === null || !Number.isFinite(v) ? '' : v.toFixed(2);
        return `<td data-ood="${escapeHtml(r.ood)}" data-method="${escapeHtml(r.method ?? '')}" data-paper-method="${escapeHtml(r.paperMethod ?? '')}" data-metric="${metric}" data-source="${source}">${text}</td>`;
      }),
    );
    return `<tr><th scope="row">${escapeHtml(r.ood)}</th><th scope="row">${escapeHtml(methodLabel(r.method, r.paperMethod))}</th>${cells.join('')}</tr>`;
  });
  const notes = comparisonNotes(report, recipe);
  const caption = `Ours vs the paper: ${paperSource(recipe)}. Percent; Δ = ours - paper.${notes.length > 0 ? ` ${notes.map((n) => noteSentence(`${n[0]!.toUpperCase()}${n.slice(1)}`)).join(' ')}` : ''}`;
  return `<table class="paper" data-recipe="${escapeHtml(recipe)}">\n<caption>${escapeHtml(caption)}</caption>\n<thead>\n${head1}\n${head2}\n</thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

/** Prefixes the ids of an inline SVG (and their `url(#...)` / `href="#..."` references) so several SVGs share a page safely. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

/** A rendered figure for the page. */
export interface PageFigure {
  readonly name: string;
  readonly title: string;
  readonly caption: string;
  readonly svg: string;
}

const STYLE = `
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table.results, table.paper { border-collapse: collapse; font-size: 0.85rem; }
table.results th, table.results td, table.paper th, table.paper td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
table.results th[scope=row], table.paper th[scope=row] { text-align: left; }
table.paper caption { caption-side: top; text-align: left; font-size: 0.85rem; color: #444; padding-bottom: 0.5rem; }
table.results td.best { background: #eef6ee; }
figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #444; max-width: 60rem; }
.meta, .notes { font-size: 0.85rem; color: #444; }
`;

/** A whole page: the meta lines (HTML), the sections (HTML) and the notes (text). */
export function pageHtml(meta: readonly string[], sections: readonly string[], notes: readonly string[]): string {
  const list = notes.length > 0 ? `<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OPNP OOD detection report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>OPNP OOD detection report</h1>
<p class="meta">${meta.join('<br>\n')}</p>
${sections.join('')}
${list}
</body>
</html>
`;
}

/** The paper-comparison section of a page (`heading`: HTML). */
export function paperSectionHtml(report: EvalReport, recipe: RecipeName, heading = `The paper's numbers beside ours (recipe ${escapeHtml(recipe)})`): string {
  return `<section id="paper">\n<h2>${heading}</h2>\n${paperComparisonHtml(report, recipe)}\n</section>\n`;
}

/** The whole page of one run. */
export function reportHtml(report: EvalReport, figures: readonly PageFigure[], options: { source: string; notes: readonly string[]; recipe?: RecipeName }): string {
  const p = report.opnp;
  const meta = [
    `Source: ${escapeHtml(options.source)}`,
    `${report.classes} classes, feature dimension ${report.featureDim}`,
    report.idAccuracy !== null ? `ID accuracy ${percent(report.idAccuracy)}% on ${report.counts.idTest} test samples` : `${report.counts.idTest} ID test samples`,
    p ? `OPNP point${report.selection.searched ? ' (grid search on validation data)' : ''}: p_min=${p.p_min}% p_max=${p.p_max}% n_min=${p.n_min}% n_max=${p.n_max}%` : 'no OPNP method',
  ];
  const figureHtml = figures.map(
    (f) => `<section id="${escapeHtml(f.name)}">\n<h2>${escapeHtml(f.title)}</h2>\n<figure data-figure="${escapeHtml(f.name)}">\n${scopeSvgIds(f.svg, f.name)}\n<figcaption>${escapeHtml(f.caption)}</figcaption>\n</figure>\n</section>`,
  );
  const results = `<section id="results">\n<h2>${RESULTS_HEADING}</h2>\n${resultsTableHtml(report)}\n</section>\n`;
  const paper = options.recipe ? paperSectionHtml(report, options.recipe) : '';
  return pageHtml(meta, [results, paper, figureHtml.join('\n')], options.notes);
}
