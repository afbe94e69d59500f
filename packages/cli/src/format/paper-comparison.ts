/**
 * Our results beside the paper's (Chen et al., NeurIPS 2023; the bundled tables of ./paper-tables.ts) for
 * a named recipe: the four settings of tools/repro, each mapped to its paper table, our method names to
 * the paper's rows and our OOD set names to its columns. Built by joining tidy arquero tables.
 */
import { escape, from, table, type ColumnTable } from 'arquero';
import type { EvalReport } from '@opnp/pipeline';
import { AVERAGE, tidyResults } from './results-table.js';
import { PAPER_OOD_NAMES, paperTables, type PaperResultsTable, type PaperTables } from './paper-tables.js';

import type { RecipeName } from './names.js';

export { RECIPES, isRecipe, type RecipeName } from './names.js';

/**
 * ImageNet tables (1, 2): our method -> the paper's row. Table 2 prints an `OPP+ReAct` row and no
 * `OPNP+ReAct` row: kept as printed, so `opnp+react` has no paper cells there.
 */
const IMAGENET_METHODS: Readonly<Record<string, string>> = {
  msp: 'MSP',
  odin: 'ODIN',
  mahalanobis: 'Mahalanobis',
  energy: 'Energy',
  react: 'ReAct',
  dice: 'DICE',
  'dice+react': 'DICE+ReAct',
  opp: 'OPP',
  onp: 'ONP',
  opnp: 'OPNP',
  'opnp+react': 'OPNP+ReAct',
};

/** CIFAR tables (5, 6): the paper adds OPNP to a score; our `opnp` scores the pruned head with energy. */
const CIFAR_METHODS: Readonly<Record<string, string>> = {
  msp: 'MSP',
  energy: 'Energy',
  react: 'ReAct',
  opnp: 'Energy+OPNP',
  'opnp+react': 'ReAct+OPNP',
};

/** A recipe's paper table and name mapping. */
export interface Recipe {
  readonly name: RecipeName;
  readonly table: 'table1' | 'table2' | 'table5' | 'table6';
  /** Our method -> the paper's row name. */
  readonly methods: Readonly<Record<string, string>>;
}

const RECIPE_TABLES: Readonly<Record<RecipeName, Recipe>> = {
  cifar10: { name: 'cifar10', table: 'table5', methods: CIFAR_METHODS },
  cifar100: { name: 'cifar100', table: 'table6', methods: CIFAR_METHODS },
  'imagenet-resnet50': { name: 'imagenet-resnet50', table: 'table1', methods: IMAGENET_METHODS },
  'imagenet-vit-b16': { name: 'imagenet-vit-b16', table: 'table2', methods: IMAGENET_METHODS },
};

/** The recipe `name` (its paper table and name mapping). */
export function recipe(name: RecipeName): Recipe {
  return RECIPE_TABLES[name];
}

/** The paper's table of a recipe. */
export function recipeTable(name: RecipeName, tables: PaperTables = paperTables()): PaperResultsTable {
  return tables[RECIPE_TABLES[name].table];
}

/** One line saying where the paper's numbers come from, e.g. `Table 5 of Chen et al., ... (CIFAR-10, ResNet-50 ...)`. */
export function paperSource(name: RecipeName): string {
  const tables = paperTables();
  const t = recipeTable(name, tables);
  return `Table ${t.table} of ${tables.citation.text} (ID ${t.id}, ${t.model})`;
}

/** Our OOD set name -> the paper's OOD key (case, spaces, `-` and `_` ignored), or undefined. */
export function paperOodKey(ood: string, keys: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[\s_-]/g, '');
  return keys.find((k) => norm(k) === norm(ood));
}

/** The tidy paper table: `paperMethod`, `paperOod` (key or `average`), `metric`, `paper` (percent). */
export function tidyPaper(t: PaperResultsTable): ColumnTable {
  const rows = t.methods.flatMap((paperMethod, methodRank) =>
    [...t.oodSets, 'average'].flatMap((paperOod) => {
      const m = t.results[paperMethod]![paperOod]!;
      return [
        { paperMethod, paperOod, metric: 'fpr95', paper: m.fpr95, paperRank: methodRank },
        { paperMethod, paperOod, metric: 'auroc', paper: m.auroc, paperRank: methodRank },
      ];
    }),
  );
  return from(rows);
}

const KEYS = ['paperMethod', 'paperOod', 'metric'];

/**
 * The comparison, tidy: one row per (method, OOD set or `Average`, metric) with `method` (ours; null for a
 * paper-only row), `paperMethod` (null when the paper has no such row), `ood` (our name), `metric`
 * (`fpr95` | `auroc`), `ours` and `paper` in percent and `diff` = ours - paper (null when either is
 * missing). Rows: ours in report order joined (left) with the paper's, then the paper's methods we did not
 * run, on our OOD sets, with our cells empty; ordered by OOD set, then ours before the paper-only rows.
 */
export function paperComparison(report: EvalReport, name: RecipeName): ColumnTable {
  const r = recipe(name);
  const paper = tidyPaper(recipeTable(name));
  const sets = [...new Set(report.results.map((x) => x.ood))];
  // Averages over other sets than the paper's are not comparable: their Δ stays empty.
  const comparable = averagesComparable(report, name);
  const oodMap = table({
    ood: [...sets, AVERAGE],
    paperOod: [...sets.map((s) => paperOodKey(s, recipeTable(name).oodSets) ?? null), 'average'],
    oodRank: [...sets.keys(), sets.length],
  });
  const methodMap = from(Object.entries(r.methods).map(([method, paperMethod]) => ({ method, paperMethod })));
  const methodRank = table({ method: report.methods, methodRank: [...report.methods.keys()] });
  const ours = tidyResults(report)
    .filter((d: { metric: string }) => d.metric === 'fpr95' || d.metric === 'auroc')
    .derive({ ours: (d: { value: number }) => d.value * 100 })
    .select('method', 'ood', 'metric', 'ours')
    .join_left(methodMap, 'method')
    .join_left(methodRank, 'method')
    .join_left(oodMap, 'ood');
  const matched = ours.join_left(paper, [KEYS, KEYS], [ours.columnNames(), ['paper']]).select('method', 'paperMethod', 'ood', 'metric', 'ours', 'paper', 'oodRank', 'methodRank');
  const paperOnly = paper
    .antijoin(ours, [KEYS, KEYS])
    .join(oodMap.filter((d: { paperOod: string | null }) => d.paperOod !== null), 'paperOod', [paper.columnNames(), ['ood', 'oodRank']])
    .derive({ method: () => null, ours: () => null, methodRank: (d: { paperRank: number }) => 1000 + d.paperRank })
    .select('method', 'paperMethod', 'ood', 'metric', 'ours', 'paper', 'oodRank', 'methodRank');
  return matched
    .concat(paperOnly)
    .derive({ diff: escape((d: { ood: string; ours?: number | null; paper?: number | null }) => (d.ours == null || d.paper == null || (d.ood === AVERAGE && !comparable) ? null : d.ours - d.paper)) })
    .impute({ paperMethod: () => null, paper: () => null })
    .orderby('oodRank', 'methodRank')
    .select('method', 'paperMethod', 'ood', 'metric', 'ours', 'paper', 'diff')
    .reify();
}

/**
 * The comparison with the metrics side by side: one row per (OOD set, method) with `ours_fpr95`,
 * `paper_fpr95`, `diff_fpr95`, `ours_auroc`, `paper_auroc`, `diff_auroc` (null when missing).
 */
export function paperComparisonWide(comparison: ColumnTable): ColumnTable {
  const columns = ['ours_fpr95', 'paper_fpr95', 'diff_fpr95', 'ours_auroc', 'paper_auroc', 'diff_auroc'];
  const fill = Object.fromEntries(columns.map((c) => [c, () => null]));
  // Groups come out in order of first appearance: the comparison's (OOD set, method) order.
  return comparison
    .groupby('ood', 'method', 'paperMethod')
    .pivot('metric', { ours: 'd => op.any(d.ours)', paper: 'd => op.any(d.paper)', diff: 'd => op.any(d.diff)' })
    .impute(fill)
    .select('ood', 'method', 'paperMethod', ...columns)
    .reify();
}

/** A number with two decimals, or empty when missing. */
export const fixed = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '' : v.toFixed(2));
/** A difference with its sign (`+1.23`, `-0.40`, `0.00`), or empty. */
export function signed(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '';
  const text = v.toFixed(2);
  if (text === '-0.00' || text === '0.00') return '0.00';
  return v > 0 ? `+${text}` : text;
}

/** Row label: our method with the paper's row name when they differ (`opnp (Energy+OPNP)`), or `- (ODIN)` for a paper-only row. */
export function methodLabel(method: string | null, paperMethod: string | null): string {
  if (method === null) return `- (${paperMethod ?? ''})`;
  if (paperMethod === null || paperMethod.toLowerCase() === method.toLowerCase()) return method;
  return `${method} (${paperMethod})`;
}

/** Whether our OOD sets are exactly the paper's (then the averages compare). */
export function averagesComparable(report: EvalReport, name: RecipeName): boolean {
  const t = recipeTable(name);
  const matched = new Set([...new Set(report.results.map((x) => x.ood))].map((s) => paperOodKey(s, t.oodSets)));
  return !matched.has(undefined) && t.oodSets.every((k) => matched.has(k));
}

/** Notes on the comparison: our OOD sets the paper does not have, and paper sets our run lacks (averages then differ). */
export function comparisonNotes(report: EvalReport, name: RecipeName): string[] {
  const t = recipeTable(name);
  const sets = [...new Set(report.results.map((x) => x.ood))];
  const matched = sets.map((s) => paperOodKey(s, t.oodSets));
  const notes: string[] = [];
  if (matched.every((m) => m === undefined)) notes.push(`none of this run's OOD sets (${sets.join(', ')}) is in the paper's Table ${t.table}: is --recipe ${name} the right recipe?`);
  if (!averagesComparable(report, name)) notes.push('the averages cover other OOD sets than the paper\'s, so their Δ is left empty');
  const unknown = sets.filter((_s, i) => matched[i] === undefined);
  if (unknown.length > 0) notes.push(`not in the paper's Table ${t.table}: ${unknown.join(', ')} (no paper cells)`);
  const lacking = t.oodSets.filter((k) => !matched.includes(k));
  if (lacking.length > 0) notes.push(`the paper's average also covers ${lacking.map((k) => PAPER_OOD_NAMES[k] ?? k).join(', ')}, which this run lacks`);
  return notes;
}

/** A note as a sentence: a full stop added unless it already ends in one (or in a question mark). */
export function noteSentence(note: string): string {
  return /[.?!]$/.test(note) ? note : `${note}.`;
}

/** The comparison as aligned text: one line per (OOD set, method); percent, Δ = ours - paper. */
export function comparisonText(report: EvalReport, name: RecipeName): string {
  const wide = paperComparisonWide(paperComparison(report, name));
  const rows = wide.objects() as { ood: string; method: string | null; paperMethod: string | null; [k: string]: unknown }[];
  const labels = rows.map((r) => methodLabel(r.method, r.paperMethod));
  const oodWidth = Math.max(7, ...rows.map((r) => r.ood.length));
  const methodWidth = Math.max(6, ...labels.map((l) => l.length));
  const num = (v: unknown, f: (v: number | null) => string) => f(v as number | null).padStart(7);
  const header = `${'OOD set'.padEnd(oodWidth)}  ${'Method'.padEnd(methodWidth)}  ${'FPR95'.padStart(7)}  ${'paper'.padStart(7)}  ${'Δ'.padStart(7)}  ${'AUROC'.padStart(7)}  ${'paper'.padStart(7)}  ${'Δ'.padStart(7)}`;
  const lines = rows.map(
    (r, i) =>
      `${r.ood.padEnd(oodWidth)}  ${labels[i]!.padEnd(methodWidth)}  ${num(r.ours_fpr95, fixed)}  ${num(r.paper_fpr95, fixed)}  ${num(r.diff_fpr95, signed)}  ${num(r.ours_auroc, fixed)}  ${num(r.paper_auroc, fixed)}  ${num(r.diff_auroc, signed)}`.trimEnd(),
  );
  const notes = comparisonNotes(report, name).map((n) => `Note: ${noteSentence(n)}`);
  return [`Ours vs the paper, ${paperSource(name)}; percent, Δ = ours - paper:`, '', header, '-'.repeat(header.length), ...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n') + '\n';
}
