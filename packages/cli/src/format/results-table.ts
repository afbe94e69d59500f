/**
 * The paper-style results table: one row per method, FPR95 and AUROC per OOD set (percent, two
 * decimals) and their average; rendered as aligned text, Markdown, CSV or JSON (fractions).
 *
 * Every format is derived from one tidy arquero table ({@link tidyResults}: method x OOD set x metric,
 * the averages over the OOD sets rolled up from it) with arquero verbs.
 */
import { escape, from, table, type ColumnTable } from 'arquero';
import type { EvalReport } from '@opnp/pipeline';

import type { TableFormat } from './names.js';

export { TABLE_FORMATS, type TableFormat } from './names.js';

/** The metrics of a report row, in the JSON order. */
export const METRICS = ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const;
export type Metric = (typeof METRICS)[number];

/** The `ood` of the average rows of the tidy table. */
export const AVERAGE = 'Average';

/** Percent with two decimals, as printed (a fraction in, a string out). */
export const percent = (v: number) => (v * 100).toFixed(2);

/**
 * How a method is named in tables: its name, or with the values the baseline search chose (`react (p=90)`,
 * `--search-baselines`).
 */
export function resultLabel(report: EvalReport, method: string): string {
  return report.baselineSearch?.methods[method]?.label ?? method;
}

/** The OOD sets of the report in order, then `Average`. */
export function resultGroups(report: EvalReport): string[] {
  return [...new Set(report.results.map((r) => r.ood)), AVERAGE];
}

/**
 * The tidy results: one row per method, OOD set and metric (`method`, `ood`, `metric`, `value` as a
 * fraction), the per-set rows in report order followed by the averages over the OOD sets (`ood` =
 * `Average`), rolled up as sum / count in set order (the same floating-point result as the pipeline's).
 */
export function tidyResults(report: EvalReport): ColumnTable {
  const perSet = from(report.results).select('method', 'ood', ...METRICS).fold([...METRICS], { as: ['metric', 'value'] });
  const averages = perSet
    .groupby('method', 'metric')
    .rollup({ value: 'd => op.sum(d.value) / op.count()' })
    .params({ average: AVERAGE })
    .derive({ ood: (_d: unknown, $: { average: string }) => $.average })
    .select('method', 'ood', 'metric', 'value');
  return perSet.concat(averages);
}

/**
 * The table as an arquero table: `Method` (the {@link resultLabel}), then `<ood> FPR95` and `<ood> AUROC`
 * (percent strings; empty when missing).
 */
export function resultsTable(report: EvalReport): ColumnTable {
  const columns = resultGroups(report).flatMap((g) => [`${g} FPR95`, `${g} AUROC`]);
  const cells = tidyResults(report)
    .filter((d: { metric: string }) => d.metric === 'fpr95' || d.metric === 'auroc')
    .derive({
      column: (d: { ood: string; metric: string }) => d.ood + ' ' + (d.metric === 'fpr95' ? 'FPR95' : 'AUROC'),
      text: escape((d: { value: number }) => percent(d.value)),
    })
    .groupby('method')
    .pivot('column', { text: 'd => op.any(d.text)' })
    .rename({ method: 'Method' });
  const empty = (names: readonly string[]) => Object.fromEntries(names.map((c) => [c, () => '']));
  const absent = columns.filter((c) => !cells.columnNames().includes(c));
  return table({ Method: report.methods, Label: report.methods.map((m) => resultLabel(report, m)) })
    .join_left(cells, 'Method')
    .derive(empty(absent))
    .impute(empty(columns))
    .select('Label', ...columns)
    .rename({ Label: 'Method' })
    .reify();
}

/** Aligned plain text with a two-line header (OOD set over FPR95 / AUROC), like the paper's tables. */
export function plainTable(report: EvalReport): string {
  const table = resultsTable(report);
  const names = resultGroups(report);
  const methods = table.array('Method') as string[];
  const methodWidth = Math.max(6, ...methods.map((m) => m.length));
  const cell = 7;
  const groupWidth = cell * 2 + 2;
  const top = ' '.repeat(methodWidth) + names.map((n) => '  ' + (n.length > groupWidth ? n.slice(0, groupWidth) : n.padStart(Math.floor((groupWidth + n.length) / 2)).padEnd(groupWidth))).join('');
  const second = 'Method'.padEnd(methodWidth) + names.map(() => '  ' + 'FPR95↓'.padStart(cell) + '  ' + 'AUROC↑'.padStart(cell)).join('');
  const rule = '-'.repeat(second.length);
  const body = table.objects().map((row) => {
    const r = row as Record<string, string | undefined>;
    return r.Method!.padEnd(methodWidth) + names.map((n) => '  ' + (r[`${n} FPR95`] ?? '').padStart(cell) + '  ' + (r[`${n} AUROC`] ?? '').padStart(cell)).join('');
  });
  return [top.trimEnd(), second, rule, ...body].join('\n') + '\n';
}

/**
 * The JSON rows: `{ method, ood, fpr95, auroc, auprIn, auprOut }` per method and OOD set (fractions), then
 * `{ method, fpr95, auroc, auprIn, auprOut, ood: "average" }` per method.
 */
export function resultsJson(report: EvalReport): Record<string, unknown>[] {
  const wide = tidyResults(report)
    .params({ average: AVERAGE })
    .groupby('method', 'ood')
    .pivot('metric', { value: 'd => op.any(d.value)' });
  const perSet = wide.filter((d: { ood: string }, $: { average: string }) => d.ood !== $.average).select('method', 'ood', ...METRICS);
  const averages = wide
    .filter((d: { ood: string }, $: { average: string }) => d.ood === $.average)
    .derive({ ood: () => 'average' })
    .select('method', ...METRICS, 'ood');
  return [...perSet.objects(), ...averages.objects()] as Record<string, unknown>[];
}

/** Renders the results in `format` (JSON: `[{ method, ood, fpr95, auroc, auprIn, auprOut }]` in fractions, averages as `ood: "average"`). */
export function renderResults(report: EvalReport, format: TableFormat): string {
  switch (format) {
    case 'table':
      return plainTable(report);
    case 'markdown': {
      const table = resultsTable(report);
      const align: Record<string, 'l' | 'r'> = {};
      for (const name of table.columnNames()) align[name] = name === 'Method' ? 'l' : 'r';
      return `${table.toMarkdown({ align }).trimEnd()}\n`;
    }
    case 'csv':
      return `${resultsTable(report).toCSV().trimEnd()}\n`;
    case 'json':
      return JSON.stringify(resultsJson(report), null, 2) + '\n';
  }
}
