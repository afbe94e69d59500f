/**
 * The paper's numbers of an ablation (Chen et al., NeurIPS 2023; the bundled tables of ./paper-tables.ts), cell by
 * cell beside ours: Table 4 (FPR95 of the pruners on SUN and Places), Table 8 (fractions), Table 9 (statistics),
 * all on ImageNet-1K with ResNet-50, and the three Table 3 columns whose headers survive. Figure 3 prints no numbers.
 * Our variant names are the paper's row names; our OOD sets match its columns ignoring case, spaces, `-` and `_`.
 */
import type { PruningPercentages } from '@opnp/core';
import { PERCENTAGE_KEYS, type AblationMetric, type AblationResult, type AblationVariant } from '@opnp/pipeline';
import { PAPER_OOD_NAMES, paperTables, type PaperMetrics, type PaperTables } from './paper-tables.js';
import { paperOodKey } from './paper-comparison.js';
export { ABLATION_RECIPE } from './names.js';

/** The paper's side of an ablation table. */
export interface AblationPaper {
  /** Where the numbers come from (one line). */
  readonly source: string;
  /** The paper's OOD sets (lower-case keys) of the table. */
  readonly oodKeys: readonly string[];
  /** The paper's value (percent, as printed) of `variant` on our OOD set `ood` (null: the ID accuracy), if it has one. */
  cell(variant: AblationVariant, ood: string | null, metric: AblationMetric): number | undefined;
  /** What the reader should know (unmatched sets, lost headers). */
  readonly notes: readonly string[];
}

/** `p_max=1.0` -> the point pruning 1% of the most sensitive weights; `none` -> null. */
function knownPoint(key: string): PruningPercentages | null {
  if (key === 'none') return null;
  const [name, value] = key.split('=') as [string, string];
  const point = { pMin: 0, pMax: 0, nMin: 0, nMax: 0 };
  for (const [field, printed] of PERCENTAGE_KEYS) if (printed === name) point[field] = Number(value);
  return point;
}

const samePoint = (a: PruningPercentages | null, b: PruningPercentages | null) =>
  a === null || b === null ? a === b : a.pMin === b.pMin && a.pMax === b.pMax && a.nMin === b.nMin && a.nMax === b.nMax;

function accuracyPaper(tables: PaperTables, source: string): AblationPaper {
  const t = tables.table3;
  const known = Object.entries(t.known).map(([key, value]) => [knownPoint(key), value] as const);
  const unnamed = t.values.filter((v) => !Object.values(t.known).includes(v));
  return {
    source,
    oodKeys: [],
    cell: (variant) => known.find(([point]) => samePoint(point, variant.percentages))?.[1],
    notes: [`Table 3's column headers are lost except none, p_max=1% and p_min=40%; its other values, in order, are ${unnamed.join(', ')} (ID top-1 accuracy of ResNet-50 on ImageNet-1K)`],
  };
}

/** Notes on how our OOD sets match the paper's columns. */
function oodNotes(result: AblationResult, keys: readonly string[], table: number): string[] {
  const unknown = result.oodSets.filter((s) => paperOodKey(s, keys) === undefined);
  const names = keys.map((k) => PAPER_OOD_NAMES[k] ?? k).join(', ');
  if (unknown.length === result.oodSets.length) return [`none of this run's OOD sets (${result.oodSets.join(', ')}) is in the paper's Table ${table} (${names}): no paper cells`];
  return unknown.length > 0 ? [`not in the paper's Table ${table} (${names}): ${unknown.join(', ')}`] : [];
}

/** The paper's numbers of `result`'s table, or undefined when the paper prints none (the sweep of Figure 3). */
export function ablationPaper(result: AblationResult, tables: PaperTables = paperTables()): AblationPaper | undefined {
  const source = `${result.source} of ${tables.citation.text} (ImageNet-1K, ResNet-50)`;
  if (result.kind === 'accuracy') return accuracyPaper(tables, source);
  const t = result.kind === 'pruning' ? tables.table4 : result.kind === 'fraction' ? tables.table8 : result.kind === 'statistic' ? tables.table9 : undefined;
  if (!t) return undefined;
  const oodKeys = ['sun', 'places'];
  const table = Number(result.source.replace('Table ', ''));
  return {
    source,
    oodKeys,
    cell(variant, ood, metric) {
      const key = ood === null ? undefined : paperOodKey(ood, oodKeys);
      const row = key === undefined ? undefined : (t[key as 'sun'] as Readonly<Record<string, number | PaperMetrics>>)[variant.name];
      if (row === undefined) return undefined;
      if (typeof row === 'number') return metric === 'fpr95' ? row : undefined;
      return metric === 'fpr95' || metric === 'auroc' ? row[metric] : undefined;
    },
    notes: oodNotes(result, oodKeys, table),
  };
}
