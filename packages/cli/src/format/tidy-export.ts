/**
 * The results as files for other tools: the paper-style table (Markdown, CSV) and the tidy table
 * (`method`, `ood`, `metric`, `value`; one row per method, OOD set and metric, then the averages over
 * the OOD sets as `ood` = `Average`) as CSV, JSON rows and an Arrow IPC file. All are derived from the one
 * arquero table of {@link tidyResults}; values are fractions (0-1) except in the paper-style table.
 */
import { toArrowIPC, type ColumnTable } from 'arquero';
import type { EvalReport } from '@opnp/pipeline';
import { renderResults, tidyResults } from './results-table.js';

/** One exported table file: its name (relative to the tables folder) and contents. */
export interface TableFile {
  readonly name: string;
  readonly contents: string | Uint8Array;
}

/** The file names of {@link resultTableFiles}, in the order they are returned. */
export const TABLE_FILE_NAMES = ['results.md', 'results.csv', 'results-tidy.csv', 'results-tidy.json', 'results-tidy.arrow'] as const;

/**
 * The report's tables as files: `results.md` and `results.csv` (the printed table: method x OOD set, FPR95 and
 * AUROC in percent), `results-tidy.csv`, `results-tidy.json` (rows of `{ method, ood, metric, value }`) and
 * `results-tidy.arrow` (the same rows as an Arrow IPC file, e.g. for `pyarrow.ipc.open_file` or arquero's
 * `fromArrow`; `value` is float64).
 */
export function resultTableFiles(report: EvalReport): TableFile[] {
  return tableFiles(renderResults(report, 'markdown'), renderResults(report, 'csv'), tidyResults(report));
}

/** The five table files from the printed table (markdown and CSV) and the tidy rows: `results.md`, ..., `results-tidy.arrow`. */
export function tableFiles(markdown: string, csv: string, tidy: ColumnTable): TableFile[] {
  return [
    { name: 'results.md', contents: markdown },
    { name: 'results.csv', contents: csv },
    { name: 'results-tidy.csv', contents: `${tidy.toCSV().trimEnd()}\n` },
    { name: 'results-tidy.json', contents: `${JSON.stringify(tidy.objects(), null, 2)}\n` },
    { name: 'results-tidy.arrow', contents: toArrowIPC(tidy, { format: 'file' }) },
  ];
}
