/**
 * The report of several runs (`opnp eval --seeds ...`, several `--model`): the mean ± std table (population
 * std, as eval prints it; best mean per column in bold), each run's own table, and with a recipe the paper's
 * numbers beside our means. Tables: `results.md` / `results.csv` as eval prints them, and the tidy table with a
 * `run` column (`run`, `method`, `ood`, `metric`, `value`: every run's values, averages as ood `Average`).
 */
import type { ColumnTable } from 'arquero';
import type { EvalReport, MeanStd, MultiRunReport } from '@opnp/pipeline';
import { renderMultiRun } from '../format/multi-run-table.js';
import { tidyResults } from '../format/results-table.js';
import { tableFiles, type TableFile } from '../format/tidy-export.js';
import type { RecipeName } from '../format/paper-comparison.js';
import { escapeHtml, methodsTableHtml, pageHtml, paperSectionHtml, resultsTableHtml, RESULTS_HEADING, type Column } from './html.js';

const percent = (v: number) => (v * 100).toFixed(2);
const meanStdText = (s: MeanStd) => `${percent(s.mean)} ± ${percent(s.std)}`;

/** Every run's tidy results, one after the other, with the run's label in a first column `run`. */
export function runsTidyResults(summary: MultiRunReport): ColumnTable {
  const parts = summary.runs.map((r) =>
    tidyResults(r.report)
      .params({ run: r.label })
      .derive({ run: (_d: unknown, $: { run: string }) => $.run })
      .select('run', 'method', 'ood', 'metric', 'value'),
  );
  return parts.slice(1).reduce((all, part) => all.concat(part), parts[0]!).reify();
}

/** The tables of several runs as files (the names of {@link resultTableFiles}). */
export function runsTableFiles(summary: MultiRunReport): TableFile[] {
  return tableFiles(renderMultiRun(summary, 'markdown'), renderMultiRun(summary, 'csv'), runsTidyResults(summary));
}

/**
 * The means over the runs as one report, for the comparison with the paper: every cell's mean (the first run's
 * counts and classes; no baseline-search labels, which are per run).
 */
export function meanReport(summary: MultiRunReport): EvalReport {
  const first = summary.runs[0]!.report;
  const means = <T extends Record<string, unknown>>(row: T) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'object' && v !== null && 'mean' in v ? (v as MeanStd).mean : v]));
  const { baselineSearch: _perRun, ...rest } = first;
  return {
    ...rest,
    idAccuracy: summary.idAccuracy?.mean ?? null,
    results: summary.results.map(means) as unknown as EvalReport['results'],
    averages: summary.averages.map(means) as unknown as EvalReport['averages'],
  };
}

/** The mean ± std table as HTML: best mean per column in bold. */
export function runsTableHtml(summary: MultiRunReport): string {
  const cell = (method: string, c: Column) => {
    const row = c.ood === 'Average' ? summary.averages.find((a) => a.method === method) : summary.results.find((r) => r.method === method && r.ood === c.ood);
    return row ? { value: row[c.metric].mean, text: meanStdText(row[c.metric]) } : undefined;
  };
  return methodsTableHtml(summary.methods, summary.oodSets, cell, (m) => m);
}

/** The page of several runs (see the module comment). */
export function runsReportHtml(summary: MultiRunReport, options: { source: string; notes: readonly string[]; recipe?: RecipeName }): string {
  const first = summary.runs[0]!.report;
  const meta = [
    `Source: ${escapeHtml(options.source)}`,
    `mean ± std (population, as OpenOOD) over ${summary.runs.length} runs: ${escapeHtml(summary.runs.map((r) => r.label).join('; '))}`,
    `${first.classes} classes, feature dimension ${first.featureDim}`,
    summary.idAccuracy ? `ID accuracy ${meanStdText(summary.idAccuracy)}%` : 'no ID accuracy (unlabelled test set)',
  ];
  const results = `<section id="results">\n<h2>${RESULTS_HEADING.replace('best per column', 'mean ± std over the runs; best mean per column')}</h2>\n${runsTableHtml(summary)}\n</section>\n`;
  const paper = options.recipe ? paperSectionHtml(meanReport(summary), options.recipe, `The paper's numbers beside our means over the runs (recipe ${escapeHtml(options.recipe)})`) : '';
  const runs = summary.runs.map((r, i) => {
    const p = r.report.opnp;
    const point = p ? `<p class="meta">OPNP point: p_min=${p.p_min}% p_max=${p.p_max}% n_min=${p.n_min}% n_max=${p.n_max}%</p>\n` : '';
    return `<section id="run-${i + 1}" class="run">\n<h2>Run ${i + 1}: ${escapeHtml(r.label)}</h2>\n${point}${resultsTableHtml(r.report)}\n</section>\n`;
  });
  return pageHtml(meta, [results, paper, ...runs], options.notes);
}
