/**
 * The paper-style results table: one row per method, FPR95 and AUROC per OOD set (percent, two
 * decimals) and their average; rendered as aligned text, Markdown, CSV or JSON (fractions).
 */
import { from } from 'arquero';
import type { EvalReport } from '@opnp/pipeline';

/** Output formats of `--format`. */
export const TABLE_FORMATS = ['table', 'markdown', 'csv', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

const percent = (v: number) => (v * 100).toFixed(2);

/** Column groups of the table: each OOD set, then the average. */
function groups(report: EvalReport): string[] {
  return [...new Set(report.results.map((r) => r.ood)), 'Average'];
}

/** The table as an arquero table: `Method`, then `<ood> FPR95` and `<ood> AUROC` (percent strings). */
export function resultsTable(report: EvalReport) {
  const names = groups(report);
  const rows = report.methods.map((method) => {
    const row: Record<string, string> = { Method: method };
    for (const name of names) {
      const r = name === 'Average' ? report.averages.find((a) => a.method === method) : report.results.find((x) => x.method === method && x.ood === name);
      row[`${name} FPR95`] = r ? percent(r.fpr95) : '';
      row[`${name} AUROC`] = r ? percent(r.auroc) : '';
    }
    return row;
  });
  return from(rows);
}

/** Aligned plain text with a two-line header (OOD set over FPR95 / AUROC), like the paper's tables. */
export function plainTable(report: EvalReport): string {
  const table = resultsTable(report);
  const names = groups(report);
  const methods = table.array('Method') as string[];
  const methodWidth = Math.max(6, ...methods.map((m) => m.length));
  const cell = 7;
  const groupWidth = cell * 2 + 2;
  const top = ' '.repeat(methodWidth) + names.map((n) => '  ' + (n.length > groupWidth ? n.slice(0, groupWidth) : n.padStart(Math.floor((groupWidth + n.length) / 2)).padEnd(groupWidth))).join('');
  const second = 'Method'.padEnd(methodWidth) + names.map(() => '  ' + 'FPR95↓'.padStart(cell) + '  ' + 'AUROC↑'.padStart(cell)).join('');
  const rule = '-'.repeat(second.length);
  const body = table.objects().map((row) => {
    const r = row as Record<string, string>;
    return r.Method!.padEnd(methodWidth) + names.map((n) => '  ' + r[`${n} FPR95`]!.padStart(cell) + '  ' + r[`${n} AUROC`]!.padStart(cell)).join('');
  });
  return [top.trimEnd(), second, rule, ...body].join('\n') + '\n';
}

/** Renders the results in `format` (JSON: `[{ method, ood, fpr95, auroc, auprIn, auprOut }]` in fractions, averages as `ood: "average"`). */
export function renderResults(report: EvalReport, format: TableFormat): string {
  switch (format) {
    case 'table':
      return plainTable(report);
    case 'markdown':
    {
      const table = resultsTable(report);
      const align: Record<string, 'l' | 'r'> = {};
      for (const name of table.columnNames()) align[name] = name === 'Method' ? 'l' : 'r';
      return `${table.toMarkdown({ align }).trimEnd()}\n`;
    }
    case 'csv':
      return `${resultsTable(report).toCSV().trimEnd()}\n`;
    case 'json':
      return JSON.stringify([...report.results, ...report.averages.map((a) => ({ ...a, ood: 'average' }))], null, 2) + '\n';
  }
}
