/**
 * An ablation's result in the paper's layout: one row per variant (the paper's rows) and, per OOD set (and their
 * average when there are two or more), the metrics the paper prints, in percent with two decimals; the accuracy
 * ablation (Table 3) as one row of settings. With the paper's numbers each of our cells is followed by the paper's
 * and Δ = ours - paper. Rendered as Markdown (with a caption and the chosen percentages) or CSV (the table alone).
 */
import { from } from 'arquero';
import type { AblationKind, AblationMetric, AblationResult, AblationVariant } from '@opnp/pipeline';
import type { AblationPaper } from './ablation-paper.js';
import { fixed, signed } from './paper-comparison.js';
import { AVERAGE, percent } from './results-table.js';

/** A table of text cells: column names and rows in order. */
export interface TextTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** The header of the variant column per kind. */
const ROW_HEADER: Readonly<Record<AblationKind, string>> = { pruning: 'Method', fraction: 'Fraction', statistic: 'Statistic', accuracy: 'Setting', sweep: 'Point' };

const METRIC_NAMES: Readonly<Record<AblationMetric, string>> = { fpr95: 'FPR95', auroc: 'AUROC', auprIn: 'AUPR-In', auprOut: 'AUPR-Out', accuracy: 'Accuracy' };

const percentCell = (v: number | undefined) => (v === undefined ? '' : percent(v));

/** Our value (fraction) of `variant` on `ood` (null: average, or the accuracy). */
function ours(result: AblationResult, variant: string, ood: string | null, metric: AblationMetric): number | undefined {
  return result.rows.find((r) => r.variant === variant && r.ood === ood && r.metric === metric)?.value;
}

/** The OOD column groups: each set, then the average (null) when there are two or more. */
function groups(result: AblationResult): (string | null)[] {
  return [...result.oodSets, ...(result.oodSets.length > 1 ? [null] : [])];
}

/** Ours, then (when the paper has the column) the paper's value and Δ, as cells. */
function cells(result: AblationResult, variant: AblationVariant, ood: string | null, metric: AblationMetric, paper: AblationPaper | undefined, withPaper: boolean): string[] {
  const value = ours(result, variant.name, ood, metric);
  if (!withPaper) return [percentCell(value)];
  const theirs = paper?.cell(variant, ood, metric);
  return [percentCell(value), fixed(theirs), value === undefined || theirs === undefined ? '' : signed(value * 100 - theirs)];
}

/** Whether the paper has numbers in the column of `ood` and `metric` for any variant. */
const paperHas = (result: AblationResult, paper: AblationPaper | undefined, ood: string | null, metric: AblationMetric) => paper !== undefined && result.variants.some((v) => paper.cell(v, ood, metric) !== undefined);

/** The accuracy ablation: a header of settings and one row of ours (then the paper's and Δ). */
function accuracyTable(result: AblationResult, paper: AblationPaper | undefined): TextTable {
  const variants = result.variants;
  const rows = [['ID accuracy', ...variants.map((v) => percentCell(ours(result, v.name, null, 'accuracy')))]];
  if (paperHas(result, paper, null, 'accuracy')) {
    rows.push(['paper', ...variants.map((v) => fixed(paper!.cell(v, null, 'accuracy')))]);
    rows.push(['Δ', ...variants.map((v) => {
      const [a, b] = [ours(result, v.name, null, 'accuracy'), paper!.cell(v, null, 'accuracy')];
      return a === undefined || b === undefined ? '' : signed(a * 100 - b);
    })]);
  }
  return { columns: [ROW_HEADER.accuracy, ...variants.map((v) => v.name)], rows };
}

/** The table in the paper's layout (see the module comment); with `paper`, its values and Δ beside ours where it has them. */
export function ablationTable(result: AblationResult, paper?: AblationPaper): TextTable {
  if (result.kind === 'accuracy') return accuracyTable(result, paper);
  const columns = [ROW_HEADER[result.kind]];
  const plan: { ood: string | null; metric: AblationMetric; withPaper: boolean }[] = [];
  for (const ood of groups(result)) {
    for (const metric of result.layout) {
      const withPaper = paperHas(result, paper, ood, metric);
      const name = `${ood ?? AVERAGE} ${METRIC_NAMES[metric]}`;
      columns.push(name, ...(withPaper ? [`${name} paper`, `${name} Δ`] : []));
      plan.push({ ood, metric, withPaper });
    }
  }
  const rows = result.variants.map((v) => [v.name, ...plan.flatMap((c) => cells(result, v, c.ood, c.metric, paper, c.withPaper))]);
  return { columns, rows };
}

/** The percentages each variant ran with and, for searched ones, its validation FPR95 / AUROC (percent). */
export function chosenTable(result: AblationResult): TextTable {
  const p = (v: AblationVariant, key: 'pMin' | 'pMax' | 'nMin' | 'nMax') => (v.percentages === null ? '-' : String(v.percentages[key]));
  const detail = (v: AblationVariant) => Object.entries(v.details ?? {}).map(([k, x]) => `${k}=${x}`).join(' ');
  const withDetails = result.variants.some((v) => detail(v) !== '');
  const rows = result.variants.map((v) => [
    v.name,
    p(v, 'pMin'),
    p(v, 'pMax'),
    p(v, 'nMin'),
    p(v, 'nMax'),
    percentCell(v.validation?.fpr95),
    percentCell(v.validation?.auroc),
    ...(withDetails ? [detail(v)] : []),
  ]);
  return { columns: [ROW_HEADER[result.kind], 'p_min', 'p_max', 'n_min', 'n_max', 'val FPR95', 'val AUROC', ...(withDetails ? ['details'] : [])], rows };
}

function objects(t: TextTable): Record<string, string>[] {
  return t.rows.map((row) => Object.fromEntries(t.columns.map((c, i) => [c, row[i] ?? ''])));
}

/** A {@link TextTable} as Markdown (first column left-aligned, the others right-aligned). */
export function markdownTable(t: TextTable): string {
  const align = Object.fromEntries(t.columns.map((c, i) => [c, i === 0 ? 'l' : 'r'])) as Record<string, 'l' | 'r'>;
  return `${from(objects(t), t.columns as string[]).toMarkdown({ align }).trimEnd()}\n`;
}

/** A {@link TextTable} as CSV. */
export function csvTable(t: TextTable): string {
  return `${from(objects(t), t.columns as string[]).toCSV().trimEnd()}\n`;
}

/** What the numbers are: the paper's table, the metrics and the samples they cover. */
function caption(result: AblationResult): string {
  const c = result.counts;
  const metrics = result.layout.map((m) => METRIC_NAMES[m]).join(' and ');
  const id = result.kind === 'accuracy' ? `${c.idLabelled} labelled ID test samples` : `${c.idTest} ID test samples`;
  const search = c.idValidation > 0 ? `; percentages chosen on validation data (${c.idValidation} ID samples; ${Object.entries(c.oodValidation).map(([n, k]) => `${n} ${k}`).join(', ')})` : '';
  return `${result.source}. ${result.title}.\n${metrics} (%) on ${id}${search}; sensitivity over ${c.train} training samples.`;
}

/** The Markdown output: caption, the table, the chosen percentages (searched kinds), and where the paper's numbers come from. */
export function ablationMarkdown(result: AblationResult, paper?: AblationPaper): string {
  const parts = [caption(result), markdownTable(ablationTable(result, paper))];
  if (result.variants.some((v) => v.searched)) parts.push('Chosen percentages (validation FPR95 / AUROC in %):', markdownTable(chosenTable(result)));
  if (paper) parts.push([`Paper: ${paper.source}; Δ = ours - paper.`, ...paper.notes.map((n) => `Note: ${n}.`)].join('\n'));
  return parts.map((p) => p.trimEnd()).join('\n\n') + '\n';
}

/** The CSV output: the table alone. */
export function ablationCsv(result: AblationResult, paper?: AblationPaper): string {
  return csvTable(ablationTable(result, paper));
}
