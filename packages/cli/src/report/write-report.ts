/**
 * `opnp report` as a library function: reads a results folder (or an eval JSON), renders the figures to
 * SVG and PNG, and writes `report.html` with the inline SVGs and the results table (and, with a recipe,
 * the paper's numbers beside ours).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OpnpError } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import { readResults } from '@opnp/pipeline';
import { planFigures } from './figures.js';
import { reportHtml, type PageFigure } from './html.js';
import { hasSystemFonts, renderSvg, svgToPng } from './render.js';
import type { RecipeName } from '../format/paper-comparison.js';
import { resultTableFiles } from '../format/tidy-export.js';

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


/** Writes `<out>/report.html`, `<out>/figures/<name>.svg|.png` and `<out>/tables/results*.{md,csv,json,arrow}`. */
export async function writeReportFolder(options: WriteReportOptions): Promise<WrittenReport> {
  const note = options.onNote ?? (() => undefined);
  const results = await readResults(options.input);
  const { figures: plans, missing } = planFigures(results);
  for (const m of missing) note(m);
  const rendered: PageFigure[] = [];
  for (const plan of plans) rendered.push({ name: plan.name, title: plan.title, caption: plan.caption, svg: await renderSvg(plan.spec) });

  const wantPng = options.png !== false;
  if (wantPng && rendered.length > 0 && !hasSystemFonts()) {
    note('no system fonts found: PNG figures will have no text (install a font package, e.g. Debian fonts-dejavu-core); the SVGs and report.html are unaffected');
  }
  try {
    await mkdir(join(options.out, 'figures'), { recursive: true });
    await mkdir(join(options.out, 'tables'), { recursive: true });
  } catch (error) {
    throw new OpnpError('IO_ERROR', `Cannot create ${options.out}`, { file: options.out, hint: (error as Error).message });
  }
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
  const tables: string[] = [];
  for (const table of resultTableFiles(results.report)) {
    const path = `tables/${table.name}`;
    await writeFileAtomic(join(options.out, path), table.contents);
    tables.push(path);
  }
  const html = reportHtml(results.report, rendered, { source: results.source, notes: missing, ...(options.recipe ? { recipe: options.recipe } : {}) });
  await writeFileAtomic(join(options.out, 'report.html'), html);
  return { html: 'report.html', figures: written, tables, missing };
}
