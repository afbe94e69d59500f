/**
 * Writing an eval report: the JSON file (`--json <file>`, or `--json -` for stdout only) and the
 * printed table in `--format`.
 */
import { writeFileAtomic } from '@opnp/core/node';
import { writeLine, type CliIo } from '../io.js';
import { TABLE_FORMATS, type TableFormat } from '../format/names.js';
import type { EvalArtifacts, EvalReport } from '@opnp/pipeline';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseChoice } from '../options.js';
import { writeResultsDir } from '@opnp/pipeline';
import { VERSION } from '../version.js';

/** Writes the results folder of `--save` and says so on stderr. */
export async function saveResults(dir: string, report: EvalReport, artifacts: EvalArtifacts | undefined, info: (message: string) => void): Promise<void> {
  if (!artifacts) throw new Error('internal: --save needs the run artifacts');
  await writeResultsDir(dir, report, artifacts, { name: '@opnp/cli', version: VERSION });
  info(`results saved to ${dir} (draw them with: opnp report ${dir} --out <folder>)`);
}

/** The help of `--json <file>` of the commands writing an eval report. */
export const JSON_OPTION_HELP = 'write the JSON report to <file> ("-": the JSON alone on stdout, so no --format)';

/** The help of `--format <format>` of the commands writing an eval report. */
export const FORMAT_OPTION_HELP = 'printed table: table, markdown, csv or json (not with --json -)';

/**
 * Refuses `--json -` with a `--format` given on the command line: standard output then holds the JSON report alone,
 * so the table format would be ignored (`command` tells a given format from the default).
 */
export function assertStdoutFormat(command: Command, flags: { json?: string }): void {
  if (flags.json !== '-' || command.getOptionValueSource('format') !== 'cli') return;
  throw new UsageError(`--format ${String(command.getOptionValue('format'))} cannot go with --json -, which prints the JSON report alone: drop --format, or give --json a file`);
}

/** Validates `--format`. */
export const parseFormat: (value: string) => TableFormat = parseChoice('--format', TABLE_FORMATS);

/** The report as JSON text. */
export function reportJson(report: EvalReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Writes the JSON report and prints the table (`--json -`: only the JSON, on stdout). */
export async function writeReport(io: CliIo, report: EvalReport, options: { json?: string; format: TableFormat }): Promise<void> {
  if (options.json === '-') {
    io.stdout.write(reportJson(report));
    return;
  }
  if (options.json !== undefined) {
    await writeFileAtomic(options.json, reportJson(report), `the JSON report ${options.json}`);
  }
  if (options.format === 'table') {
    const lines: string[] = [];
    if (report.idAccuracy !== null) lines.push(`ID accuracy: ${(report.idAccuracy * 100).toFixed(2)}% on ${report.counts.idTest} test samples`);
    if (report.opnp) {
      const p = report.opnp;
      lines.push(`OPNP point${report.selection.searched ? ' (grid search on validation data)' : ''}: p_min=${p.p_min}% p_max=${p.p_max}% n_min=${p.n_min}% n_max=${p.n_max}%`);
    }
    if (report.baselineSearch) lines.push(`Baseline hyper-parameters searched on the same validation data (highest AUROC): ${Object.values(report.baselineSearch.methods).map((m) => m.label).join(', ') || 'none'}`);
    if (report.temperature !== undefined) lines.push(`Temperature: T=${report.temperature}`);
    for (const line of lines) writeLine(io.stdout, line);
    if (lines.length > 0) writeLine(io.stdout);
  }
  const { renderResults } = await import('../format/results-table.js'); // arquero: loaded when a table is printed
  io.stdout.write(renderResults(report, options.format));
}
