/**
 * The table of several runs (`opnp eval --model a.onnx --model b.onnx`, `--seeds`): one row per method,
 * `mean ± std` of FPR95 and AUROC per OOD set and of the per-run averages, in percent with two decimals
 * (population std, as OpenOOD prints it); aligned text, Markdown, CSV, or JSON (fractions).
 */
import type { MeanStd, MultiRunReport } from '@opnp/pipeline';
import type { TableFormat } from './results-table.js';

const cell = (s: MeanStd) => `${(s.mean * 100).toFixed(2)} ± ${(s.std * 100).toFixed(2)}`;

/** Header and rows of the table (strings). */
function rows(report: MultiRunReport): { header: string[]; body: string[][] } {
  const groups = [...report.oodSets, 'Average'];
  const header = ['Method', ...groups.flatMap((g) => [`${g} FPR95`, `${g} AUROC`])];
  const body = report.methods.map((method) => {
    const perSet = report.oodSets.flatMap((ood) => {
      const r = report.results.find((x) => x.method === method && x.ood === ood)!;
      return [cell(r.fpr95), cell(r.auroc)];
    });
    const avg = report.averages.find((x) => x.method === method)!;
    return [method, ...perSet, cell(avg.fpr95), cell(avg.auroc)];
  });
  return { header, body };
}

/** Renders the runs' summary in `format`. */
export function renderMultiRun(report: MultiRunReport, format: TableFormat): string {
  if (format === 'json') return `${JSON.stringify({ std: report.std, runs: report.runs.map((r) => r.label), results: report.results, averages: report.averages }, null, 2)}\n`;
  const { header, body } = rows(report);
  if (format === 'csv') return `${[header, ...body].map((r) => r.join(',')).join('\n')}\n`;
  if (format === 'markdown') {
    const line = (r: readonly string[]) => `| ${r.join(' | ')} |`;
    return `${[line(header), line(header.map((_, i) => (i === 0 ? ':--' : '--:'))), ...body.map(line)].join('\n')}\n`;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const text = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return `${[text(header), '-'.repeat(widths.reduce((a, b) => a + b + 2, -2)), ...body.map(text)].join('\n')}\n`;
}
