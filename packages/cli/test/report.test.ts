/**
 * `opnp eval --save` + `opnp report` end to end on the demo assets: the results folder, every figure as
 * SVG and PNG, and report.html checked in headless Chromium (Debian's /usr/bin/chromium).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNpy } from '@opnp/datasets/node';
import { oodMetrics } from '@opnp/metrics';
import { cli, FASHION, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';
import type { EvalReport } from '@opnp/pipeline';
import type { ResultsManifest } from '@opnp/pipeline';

const CHROMIUM = '/usr/bin/chromium';
const FIGURES = ['fig1-parameter-sensitivity', 'fig2-neuron-sensitivity', 'fig3-pruning-sweep', 'fig4-reliability', 'fig5-score-distributions'];
const common = ['--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `fashion=${FASHION}`, '--ood', 'noise=noise:300#seed=3', ...NORMALISE, '--batch-size', '500', '--quiet'];

let root: string;
let searched: { dir: string; report: EvalReport };
let fixed: { dir: string; report: EvalReport };

async function evalSave(name: string, extra: string[]) {
  const dir = join(root, name);
  const json = join(root, `${name}.json`);
  const run = await cli(['eval', ...common, ...extra, '--json', json, '--save', dir]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return { dir, report: JSON.parse(readFileSync(json, 'utf8')) as EvalReport };
}

function pngSize(bytes: Buffer): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

beforeAll(async () => {
  root = tempDir();
  // The default 192-point grid (searched on the seeded validation split against the default noise set) ...
  searched = await evalSave('searched', ['--methods', 'msp,energy,react,opnp', '--val-noise', '300']);
  // ... and a fixed point that prunes.
  fixed = await evalSave('fixed', ['--methods', 'energy,opnp', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=5']);
});

describe('opnp eval --save', () => {
  it('writes a complete, documented results folder whose arrays reproduce the report', async () => {
    const manifest = JSON.parse(readFileSync(join(searched.dir, 'manifest.json'), 'utf8')) as ResultsManifest;
    expect(manifest).toMatchObject({ format: 'opnp-results', version: 1, generator: { name: '@opnp/cli' } });
    expect(manifest.files.grid).toBe('grid.json');
    expect(JSON.parse(readFileSync(join(searched.dir, 'report.json'), 'utf8'))).toEqual(searched.report);
    const grid = JSON.parse(readFileSync(join(searched.dir, 'grid.json'), 'utf8')) as { fpr95: number; perOod: unknown[] }[];
    expect(grid).toHaveLength(192);
    expect(grid[0]!.perOod).toHaveLength(1);
    const sens = await loadNpy(join(searched.dir, manifest.files.parameterSensitivity));
    expect(sens.shape).toEqual([10, 128]);
    expect((await loadNpy(join(searched.dir, manifest.files.neuronSensitivity))).shape).toEqual([128]);
    // The saved energy / OPNP score arrays give back the report's numbers (metrics recomputed here).
    for (const method of ['energy', 'opnp'] as const) {
      const id = (await loadNpy(join(searched.dir, manifest.files.scores[method].id))).data;
      expect(id.length).toBe(searched.report.counts.idTest);
      for (const ood of ['fashion', 'noise']) {
        const out = (await loadNpy(join(searched.dir, manifest.files.scores[method].ood[ood]!))).data;
        expect(out.length).toBe(searched.report.counts.ood[ood]);
        const m = oodMetrics(id, out);
        const row = searched.report.results.find((r) => r.method === method && r.ood === ood)!;
        expect(m.fpr95).toBe(row.fpr95);
        expect(m.auroc).toBe(row.auroc);
      }
    }
    // Calibration inputs: one per labelled ID test sample; the original head's correctness is the accuracy.
    const correct = (await loadNpy(join(searched.dir, manifest.files.calibration!.original.correct))).data;
    expect(correct.length).toBe(searched.report.counts.idTest);
    expect(Array.from(correct).reduce((a, b) => a + b, 0) / correct.length).toBeCloseTo(searched.report.idAccuracy!, 12);
    // Written atomically: no temporary folders left beside it.
    expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to overwrite a folder that is not a results folder', async () => {
    const dir = tempDir();
    const other = join(dir, 'keep.txt');
    await import('node:fs/promises').then((fs) => fs.writeFile(other, 'mine'));
    const run = await cli(['eval', ...common, '--methods', 'energy,opnp', '--opnp', 'p_min=0,p_max=0,n_min=0,n_max=0', '--save', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the results folder \(--save\): .* exists and is not an opnp results folder \(it holds 1 entry and no opnp manifest\.json\)/);
    expect(run.stdout).toBe(''); // refused before the run
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });
});

describe('opnp report', () => {
  let out: string;
  beforeAll(async () => {
    out = join(root, 'report');
    const run = await cli(['report', searched.dir, '--out', out]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('writes every figure as a non-trivial SVG and PNG', () => {
    for (const name of FIGURES) {
      const svg = readFileSync(join(out, 'figures', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg.length).toBeGreaterThan(5000);
      expect(svg).toMatch(/<text[^>]*>[^<]+<\/text>/);
      const size = pngSize(readFileSync(join(out, 'figures', `${name}.png`)));
      expect(size.width).toBeGreaterThan(300);
      expect(size.height).toBeGreaterThan(200);
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const name of FIGURES) expect(html).toContain(`data-figure="${name}"`);
    expect(html.match(/<svg/g)).toHaveLength(FIGURES.length);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('writes the results tables: the printed table as Markdown and CSV, the tidy table as CSV, JSON and Arrow', async () => {
    const { fromArrow } = await import('arquero');
    const r = searched.report;
    // The tidy rows expected from the JSON report: per set in report order, then the mean over the sets per method and metric.
    const metrics = ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const;
    const perSet = r.results.flatMap((row) => metrics.map((metric) => ({ method: row.method, ood: row.ood, metric, value: row[metric] })));
    const averages = r.methods.flatMap((method) =>
      metrics.map((metric) => {
        const values = r.results.filter((row) => row.method === method).map((row) => row[metric]);
        return { method, ood: 'Average', metric, value: values.reduce((a, b) => a + b, 0) / values.length };
      }),
    );
    const expected = [...perSet, ...averages];
    const json = JSON.parse(readFileSync(join(out, 'tables', 'results-tidy.json'), 'utf8')) as typeof expected;
    expect(json).toHaveLength(expected.length);
    for (const [i, row] of expected.entries()) {
      expect(json[i]).toMatchObject({ method: row.method, ood: row.ood, metric: row.metric });
      expect(json[i]!.value).toBeCloseTo(row.value, 14);
    }
    const arrow = fromArrow(readFileSync(join(out, 'tables', 'results-tidy.arrow'))).objects() as typeof expected;
    expect(arrow).toEqual(json);
    const csv = readFileSync(join(out, 'tables', 'results-tidy.csv'), 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('method,ood,metric,value');
    expect(csv).toHaveLength(expected.length + 1);
    expect(csv[1]).toBe(`${json[0]!.method},${json[0]!.ood},${json[0]!.metric},${json[0]!.value}`);
    const md = readFileSync(join(out, 'tables', 'results.md'), 'utf8');
    const opnpFashion = r.results.find((row) => row.method === 'opnp' && row.ood === 'fashion')!;
    expect(md).toContain(`|opnp|${(opnpFashion.fpr95 * 100).toFixed(2)}|${(opnpFashion.auroc * 100).toFixed(2)}|`);
    expect(readFileSync(join(out, 'tables', 'results.csv'), 'utf8').split('\n')[0]).toMatch(/^Method,fashion FPR95,fashion AUROC/);
  });

  it('says which figures a fixed point or a bare eval JSON cannot draw', async () => {
    const fixedOut = join(root, 'report-fixed');
    const a = await cli(['report', fixed.dir, '--out', fixedOut]);
    expect(a.code).toBe(0);
    expect(a.stderr).toMatch(/pruning sweep \(Figure 3\) needs a grid search/);
    expect(existsSync(join(fixedOut, 'figures', 'fig3-pruning-sweep.svg'))).toBe(false);
    expect(existsSync(join(fixedOut, 'figures', 'fig1-parameter-sensitivity.png'))).toBe(true);

    const jsonOut = join(root, 'report-json');
    const b = await cli(['report', join(root, 'searched.json'), '--out', jsonOut]);
    expect(b.code).toBe(0);
    expect(b.stderr).toMatch(/need a results folder: run opnp eval \(or demo\) with --save/);
    expect(readdirSync(join(jsonOut, 'figures'))).toEqual([]);
    expect(readFileSync(join(jsonOut, 'report.html'), 'utf8')).toContain('<table class="results">');

    const c = await cli(['report', join(root, 'missing'), '--out', join(root, 'x')]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^opnp: not found/);
  });

  it.skipIf(!existsSync(CHROMIUM))('loads in headless Chromium with every figure visible and the table matching the JSON', async () => {
    const { chromium } = await import('playwright-core');
    const userDataDir = mkdtempSync(join(tmpdir(), 'opnp-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      const response = await page.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' });
      expect(response?.ok() ?? true).toBe(true);
      expect(await page.title()).toBe('OPNP OOD detection report');
      for (const name of FIGURES) {
        const box = await page.locator(`figure[data-figure="${name}"] > svg`).boundingBox();
        expect(box, name).not.toBeNull();
        expect(box!.width).toBeGreaterThan(100);
        expect(box!.height).toBeGreaterThan(100);
      }
      const cells = await page.$$eval('table.results td', (tds) =>
        tds.map((td) => ({ method: td.getAttribute('data-method')!, ood: td.getAttribute('data-ood')!, metric: td.getAttribute('data-metric')!, text: td.textContent!.trim(), bold: td.querySelector('b') !== null })),
      );
      const r = searched.report;
      expect(cells).toHaveLength(r.methods.length * 3 * 2);
      for (const cell of cells) {
        const source = cell.ood === 'Average' ? r.averages.find((a) => a.method === cell.method)! : r.results.find((x) => x.method === cell.method && x.ood === cell.ood)!;
        const value = source[cell.metric as 'fpr95' | 'auroc'];
        expect(cell.text).toBe((value * 100).toFixed(2));
        // Bold iff best in its column (lowest FPR95, highest AUROC), computed here from the JSON.
        const column = r.methods.map((m) => {
          const s = cell.ood === 'Average' ? r.averages.find((a) => a.method === m)! : r.results.find((x) => x.method === m && x.ood === cell.ood)!;
          return s[cell.metric as 'fpr95' | 'auroc'];
        });
        const best = cell.metric === 'fpr95' ? Math.min(...column) : Math.max(...column);
        expect(cell.bold, `${cell.method} ${cell.ood} ${cell.metric}`).toBe(value === best);
      }
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
