/**
 * `opnp report` as a library function: reads a results folder (or an eval JSON), renders the figures to
 * SVG and PNG, and writes `report.html` with the inline SVGs and the results table (and, with a recipe,
 * the paper's numbers beside ours). The eval JSON of several runs (seeds, models) gives the mean ± std
 * table, each run's table and the tables' files, without figures (see runs-report.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OpnpError } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import { readResults, type MultiRunReport } from '@opnp/pipeline';
import { planFigures } from './figures.js';
import { reportHtml, type PageFigure } from './html.js';
import { hasSystemFonts, renderSvg, svgToPng } from './render.js';
import type { RecipeName } from '../format/paper-comparison.js';
import { resultTableFiles, type TableFile } from '../format/tidy-export.js';
import { runsReportHtml, runsTableFiles } from './runs-report.js';

/** Options of {@link writeReportFolder}. */
export interface WriteReportOptions {
  /** Results folder, its manifest.json, or an eval JSON report. */
  readonly input: string;
  /** Output folder (created; files in it are replaced). */
  readonly out: string;
  /** Also write PNGs (default true). */
  readonly png?: boolean;
  /** A recipe (`cifar10`, `cifar100`, `imagenet-resnet50`, `imagenet-vit-b16`): the paper's table of that setting beside ours. */
  readonly recipe?: RecipeName;
  /** Told about figures that cannot be drawn and font problems. */
  readonly onNote?: (message: string) => void;
}

/** What was written (paths relative to `out`). */
export interface WrittenReport {
  readonly html: string;
  readonly figures: { name: string; svg: string; png?: string }[];
  /** The results tables (`tables/results.md`, `.csv`, and the tidy table as CSV, JSON and Arrow). */
  readonly tables: string[];
  readonly missing: string[];
}


/** The note of a report of several runs: figures are drawn from a results folder, which is one run's. */
export const RUNS_FIGURES_NOTE = 'the figures (sensitivity distributions, pruning sweep, reliability diagrams, score distributions) are drawn from the results folder of one run: run opnp eval (or demo) with --save <dir> for one model and seed';

async function makeFolders(out: string, subfolders: readonly string[]): Promise<void> {
  try {
    for (const sub of subfolders) await mkdir(join(out, sub), { recursive: true });
  } catch (error) {
    throw new OpnpError('IO_ERROR', `Cannot create ${out}`, { file: out, hint: (error as Error).message });
  }
}

async function writeTables(out: string, files: readonly TableFile[]): Promise<string[]> {
  const tables: string[] = [];
  for (const table of files) {
    const path = `tables/${table.name}`;
    await writeFileAtomic(join(out, path), table.contents);
    tables.push(path);
  }
  return tables;
}

/** The report of several runs (an eval JSON of `--seeds` or several `--model`): the tables and report.html, no figures. */
async function writeRunsReport(summary: MultiRunReport, source: string, options: WriteReportOptions): Promise<WrittenReport> {
  options.onNote?.(RUNS_FIGURES_NOTE);
  await makeFolders(options.out, ['tables']);
  const tables = await writeTables(options.out, runsTableFiles(summary));
  const html = runsReportHtml(summary, { source, notes: [RUNS_FIGURES_NOTE], ...(options.recipe ? { recipe: options.recipe } : {}) });
  await writeFileAtomic(join(options.out, 'report.html'), html);
  return { html: 'report.html', figures: [], tables, missing: [RUNS_FIGURES_NOTE] };
}

/** Writes `<out>/report.html`, `<out>/figures/<name>.svg|.png` and `<out>/tables/results*.{md,csv,json,arrow}`. */
export async function writeReportFolder(options: WriteReportOptions): Promise<WrittenReport> {
  const note = options.onNote ?? (() => undefined);
  const results = await readResults(options.input);
  if (results.kind === 'runs') return writeRunsReport(results.summary, results.source, options);
  const { figures: plans, missing } = planFigures(results);
  for (const m of missing) note(m);
  const rendered: PageFigure[] = [];
  for (const plan of plans) rendered.push({ name: plan.name, title: plan.title, caption: plan.caption, svg: await renderSvg(plan.spec) });

  const wantPng = options.png !== false;
  if (wantPng && rendered.length > 0 && !hasSystemFonts()) {
    note('no system fonts found: PNG figures will have no text (install a font package, e.g. Debian fonts-dejavu-core); the SVGs and report.html are unaffected');
  }
  await makeFolders(options.out, ['figures', 'tables']);
  const written: WrittenReport['figures'] = [];
  for (const f of rendered) {
    const svg = `figures/${f.name}.svg`;
    await writeFileAtomic(join(options.out, svg), f.svg);
    let png: string | undefined;
    if (wantPng) {
      try {
        const bytes = svgToPng(f.svg);
        png = `figures/${f.name}.png`;
        await writeFileAtomic(join(options.out, png), bytes);
      } catch (error) {
        if (error instanceof OpnpError) throw error;
        note(`PNG of ${f.name} failed (${(error as Error).message}); the SVG is written`);
        png = undefined;
      }
    }
    written.push({ name: f.name, svg, ...(png ? { png } : {}) });
  }
  const tables = await writeTables(options.out, resultTableFiles(results.report));
  const html = reportHtml(results.report, rendered, { source: results.source, notes: missing, ...(options.recipe ? { recipe: options.recipe } : {}) });
  await writeFileAtomic(join(options.out, 'report.html'), html);
  return { html: 'report.html', figures: written, tables, missing };
}
