/**
 * What {@link readResults} accepts besides a results folder: the JSON reports an evaluation writes (one run's
 * {@link EvalReport}, or the {@link MultiRunReport} of several runs: seeds, models), told apart here; and the
 * errors for inputs that hold no results (an empty folder, a folder of other files, the printed table as JSON).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OpnpError } from '@opnp/core';
import type { EvalReport } from './evaluation-types.js';
import type { MultiRunReport } from './multi-run.js';

/** What the inputs of a report are: a results folder, one run's JSON report or the JSON of several runs. */
const EXPECTED = 'a results folder (manifest.json, report.json, ...: opnp eval --save; the library: writeResultsDir) or an eval JSON report (opnp eval --json; one run or several)';

/** A parsed eval JSON: one run's report, or the summary of several runs. */
export type ResultsJson = { readonly kind: 'run'; readonly report: EvalReport } | { readonly kind: 'runs'; readonly summary: MultiRunReport };

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Whether `value` has the arrays every report has (`methods`, `results`, `averages`). */
function hasReportArrays(value: unknown): value is Record<string, unknown> {
  return isObject(value) && Array.isArray(value.methods) && Array.isArray(value.results) && Array.isArray(value.averages);
}

/** The error for JSON that is not a report: table rows (the printed table as JSON) get their own message. */
function notAReport(value: unknown, file: string): OpnpError {
  const tableRows = Array.isArray(value) || (isObject(value) && Array.isArray(value.results) && !Array.isArray(value.methods));
  const what = tableRows ? 'holds table rows (the printed table as JSON), not an eval report' : 'is neither an opnp eval JSON report nor a results manifest';
  return new OpnpError('DATASET_FORMAT', `${file} ${what}`, { file, expected: EXPECTED });
}

/** Checks that `value` is one run's eval report. */
export function assertReport(value: unknown, file: string): EvalReport {
  if (!hasReportArrays(value) || 'std' in value) throw notAReport(value, file);
  return value as unknown as EvalReport;
}

/**
 * Tells an eval JSON apart: the summary of several runs (`std`, and `runs` holding each run's label and report,
 * every one checked) or one run's report.
 *
 * @throws OpnpError `DATASET_FORMAT` when it is neither (naming the file, and the run whose report is malformed)
 */
export function parseResultsJson(value: unknown, file: string): ResultsJson {
  if (hasReportArrays(value) && value.std === 'population' && Array.isArray(value.runs)) {
    const runs = value.runs as unknown[];
    if (runs.length === 0) throw new OpnpError('DATASET_FORMAT', `${file} is the summary of several runs but lists no runs`, { file, expected: EXPECTED });
    runs.forEach((run, i) => {
      if (!isObject(run) || typeof run.label !== 'string') throw notAReport(value, file);
      assertReport(run.report, `${file} (run ${i + 1}, ${run.label})`);
    });
    return { kind: 'runs', summary: value as unknown as MultiRunReport };
  }
  return { kind: 'run', report: assertReport(value, file) };
}

/**
 * The error for a folder without `manifest.json`: says whether it is empty or what it holds instead, and
 * points at an eval JSON in it when there is one (the report reads the file itself).
 */
export async function noResultsError(dir: string): Promise<OpnpError> {
  const entries = (await readdir(dir).catch(() => [] as string[])).sort();
  const file = join(dir, 'manifest.json');
  if (entries.length === 0) return new OpnpError('IO_ERROR', `${dir} is empty: it holds no results`, { file: dir, expected: EXPECTED });
  const shown = entries.length > 5 ? `${entries.slice(0, 5).join(', ')}, ...` : entries.join(', ');
  const json = entries.find((e) => e.endsWith('.json'));
  return new OpnpError('IO_ERROR', `${dir} holds no results: no manifest.json among its ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'} (${shown})`, {
    file,
    expected: EXPECTED,
    ...(json ? { hint: `For an eval JSON report, give the file itself, e.g. ${join(dir, json)}` } : {}),
  });
}
