/**
 * The paper's bundled tables (Chen et al., NeurIPS 2023), ours beside them (the tidy arquero join), the
 * tidy results table behind every `--format`, and `opnp report --recipe` (asserted on the HTML string).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EvalReport } from '@opnp/pipeline';
import { PAPER_DATA_FILE, paperTables } from '../src/format/paper-tables.js';
import { comparisonNotes, comparisonText, paperComparison, paperOodKey, recipeTable, RECIPES } from '../src/format/paper-comparison.js';
import { renderResults, tidyResults } from '../src/format/results-table.js';
import { paperComparisonHtml, reportHtml } from '../src/report/html.js';
import { cli, tempDir } from './helpers.js';

const SHARED = fileURLToPath(new URL('../../../../shared/paper/tables.json', import.meta.url));

/** A small report: `methods` x `oods`, deterministic values, averages as the pipeline computes them (sum / k in set order). */
function fakeReport(methods: string[], oods: string[]): EvalReport {
  let k = 0;
  const results = methods.flatMap((method) => oods.map((ood) => ({ method, ood, fpr95: 0.05 + (k++ % 11) / 37, auroc: 0.99 - (k % 5) / 23, auprIn: 0.9 - k / 1000, auprOut: 0.8 + k / 1000 })));
  const averages = methods.map((method) => {
    const rs = results.filter((r) => r.method === method);
    const sum = { fpr95: 0, auroc: 0, auprIn: 0, auprOut: 0 };
    for (const r of rs) {
      sum.fpr95 += r.fpr95;
      sum.auroc += r.auroc;
      sum.auprIn += r.auprIn;
      sum.auprOut += r.auprOut;
    }
    return { method, fpr95: sum.fpr95 / rs.length, auroc: sum.auroc / rs.length, auprIn: sum.auprIn / rs.length, auprOut: sum.auprOut / rs.length };
  });
  return {
    classes: 10,
    featureDim: 64,
    idAccuracy: 0.9,
    opnp: { p_min: 10, p_max: 1, n_min: 10, n_max: 5 },
    selection: { searched: false },
    counts: { train: 100, fit: 100, idTest: 50, ood: Object.fromEntries(oods.map((o) => [o, 50])), skipped: {} },
    methods,
    methodOptions: {},
    results,
    averages,
  };
}

const CIFAR_SETS = ['SVHN', 'LSUN-C', 'LSUN-R', 'iSUN', 'Places365', 'Textures'];
const signed = (d: number) => (d.toFixed(2) === '-0.00' || d.toFixed(2) === '0.00' ? '0.00' : `${d > 0 ? '+' : ''}${d.toFixed(2)}`);

describe('the bundled paper tables', () => {
  it('carry the citation and every number and note of the source, unchanged', () => {
    const bundled = JSON.parse(readFileSync(PAPER_DATA_FILE, 'utf8')) as Record<string, unknown>;
    expect(bundled.citation).toMatchObject({ text: 'Chen et al., "Optimal Parameter and Neuron Pruning for Out-of-Distribution Detection", NeurIPS 2023' });
    let shared: unknown;
    try {
      shared = JSON.parse(readFileSync(SHARED, 'utf8'));
    } catch {
      return; // the shared copy is not on every machine; the bundled file is the project's record
    }
    const { citation: _citation, ...rest } = bundled;
    expect(rest).toEqual(shared);
  });

  it('loads Tables 1, 2, 5, 6 as method x OOD set x {fpr95, auroc} and the others as they are', () => {
    const t = paperTables();
    expect(t.source).toMatch(/Baselines in Table 1 are quoted by the paper from ReAct and DICE/);
    expect(t.table1).toMatchObject({ table: 1, id: 'ImageNet-1K', oodSets: ['inaturalist', 'sun', 'places', 'textures'] });
    expect(t.table1.methods).toEqual(['MSP', 'ODIN', 'Mahalanobis', 'Energy', 'ReAct', 'DICE', 'DICE+ReAct', 'OPP', 'ONP', 'OPNP', 'OPNP+ReAct']);
    expect(t.table1.results.OPNP!.average).toEqual({ fpr95: 25.93, auroc: 94.2 });
    expect(t.table2.methods).toContain('OPP+ReAct'); // as printed
    expect(t.table5.oodSets).toEqual(['isun', 'lsun-c', 'lsun-r', 'svhn', 'places365', 'textures']);
    expect(t.table5.results.Energy!.svhn).toEqual({ fpr95: 1.5, auroc: 99.67 });
    expect(t.table6.results['ReAct+OPNP']!.average).toEqual({ fpr95: 23.56, auroc: 94.71 });
    // Table 3: only three column headers survive; the note says so and the values stay a plain row.
    expect(t.table3.note).toMatch(/column headers are lost/);
    expect(t.table3.values).toHaveLength(9);
    expect(t.table3.known).toEqual({ none: 76.13, 'p_max=1.0': 71.6, 'p_min=40': 75.06 });
    expect(t.table4.sun.ONP).toBe(26.67);
    expect(t.table7.rows['fc layer']!.sun).toEqual({ fpr95: 18.5, auroc: 95.62 });
    expect(t.table8.places['1%']).toEqual({ fpr95: 42.3, auroc: 90.0 });
    expect(t.table9.note).toMatch(/statistics/);
    expect(Object.keys(t.textFacts)).toContain('calibration');
  });

  it('maps each recipe to its table and our OOD set names to the paper keys', () => {
    expect(RECIPES.map((r) => recipeTable(r).table)).toEqual([5, 6, 1, 2]);
    expect(paperOodKey('LSUN_C', recipeTable('cifar10').oodSets)).toBe('lsun-c');
    expect(paperOodKey('iNaturalist', recipeTable('imagenet-resnet50').oodSets)).toBe('inaturalist');
    expect(paperOodKey('noise', recipeTable('cifar10').oodSets)).toBeUndefined();
  });
});

describe('ours beside the paper', () => {
  const report = fakeReport(['msp', 'energy', 'knn', 'opnp'], CIFAR_SETS);

  it('joins per cell with the difference, ours left and the paper-only methods after, ours empty', () => {
    const rows = paperComparison(report, 'cifar10').objects() as { method: string | null; paperMethod: string | null; ood: string; metric: string; ours: number | null; paper: number | null; diff: number | null }[];
    const energySvhn = rows.find((r) => r.method === 'energy' && r.ood === 'SVHN' && r.metric === 'fpr95')!;
    const ours = report.results.find((r) => r.method === 'energy' && r.ood === 'SVHN')!.fpr95 * 100;
    expect(energySvhn).toMatchObject({ paperMethod: 'Energy', paper: 1.5 });
    expect(energySvhn.ours).toBeCloseTo(ours, 12);
    expect(energySvhn.diff).toBeCloseTo(ours - 1.5, 12);
    // opnp is the paper's Energy+OPNP row; the average is the paper's own average column.
    const opnpAverage = rows.find((r) => r.method === 'opnp' && r.ood === 'Average' && r.metric === 'auroc')!;
    expect(opnpAverage).toMatchObject({ paperMethod: 'Energy+OPNP', paper: 98.42 });
    expect(opnpAverage.ours).toBeCloseTo(report.averages.find((a) => a.method === 'opnp')!.auroc * 100, 12);
    // knn: ours only.
    expect(rows.filter((r) => r.method === 'knn').every((r) => r.paperMethod === null && r.paper === null && r.diff === null)).toBe(true);
    // The paper's MSP+OPNP and ReAct rows (not run): paper cells, ours empty.
    const mspOpnp = rows.filter((r) => r.paperMethod === 'MSP+OPNP');
    expect(mspOpnp).toHaveLength((CIFAR_SETS.length + 1) * 2);
    expect(mspOpnp.every((r) => r.method === null && r.ours === null && r.diff === null && r.paper !== null)).toBe(true);
    expect(rows.some((r) => r.paperMethod === 'ReAct' && r.method === null)).toBe(true);
    // Ordered by OOD set, ours before the paper-only rows.
    expect(rows.slice(0, 8).map((r) => `${r.ood}:${r.method ?? r.paperMethod}`)).toEqual(['SVHN:msp', 'SVHN:msp', 'SVHN:energy', 'SVHN:energy', 'SVHN:knn', 'SVHN:knn', 'SVHN:opnp', 'SVHN:opnp']);
    expect(rows.at(-1)!.ood).toBe('Average');
  });

  it('renders the HTML table with ours, the paper and the difference per cell', () => {
    const html = paperComparisonHtml(report, 'cifar10');
    const ours = report.results.find((r) => r.method === 'energy' && r.ood === 'SVHN')!;
    const cell = (method: string, metric: string, source: string) => new RegExp(`<td data-ood="SVHN" data-method="${method}" data-paper-method="[^"]*" data-metric="${metric}" data-source="${source}">([^<]*)</td>`);
    expect(html.match(cell('energy', 'fpr95', 'ours'))![1]).toBe((ours.fpr95 * 100).toFixed(2));
    expect(html.match(cell('energy', 'fpr95', 'paper'))![1]).toBe('1.50');
    expect(html.match(cell('energy', 'fpr95', 'diff'))![1]).toBe(signed(ours.fpr95 * 100 - 1.5));
    expect(html.match(cell('energy', 'auroc', 'paper'))![1]).toBe('99.67');
    expect(html.match(cell('energy', 'auroc', 'diff'))![1]).toBe(signed(ours.auroc * 100 - 99.67));
    expect(html).toMatch(/<td data-ood="SVHN" data-method="" data-paper-method="MSP\+OPNP" data-metric="fpr95" data-source="ours"><\/td>/);
    expect(html).toMatch(/<td data-ood="SVHN" data-method="" data-paper-method="MSP\+OPNP" data-metric="fpr95" data-source="paper">3\.32<\/td>/);
    expect(html).toContain('Table 5 of Chen et al., &quot;Optimal Parameter and Neuron Pruning for Out-of-Distribution Detection&quot;, NeurIPS 2023');
  });

  it('reportHtml shows the paper section only with a recipe', () => {
    const page = reportHtml(report, [], { source: 'x', notes: [] });
    expect(page).not.toContain('<table class="paper"');
    const withPaper = reportHtml(report, [], { source: 'x', notes: [], recipe: 'cifar10' });
    expect(withPaper).toContain('<table class="paper" data-recipe="cifar10">');
    expect(withPaper).toContain('<table class="results">');
  });
});

describe('opnp report --recipe', () => {
  it('adds the paper column to report.html of an eval JSON, and notes OOD sets the paper lacks', async () => {
    const dir = tempDir();
    const report = fakeReport(['msp', 'energy', 'opnp'], ['iNaturalist', 'SUN', 'Places', 'Textures', 'noise']);
    writeFileSync(join(dir, 'eval.json'), JSON.stringify(report));
    const run = await cli(['report', join(dir, 'eval.json'), '--out', join(dir, 'out'), '--recipe', 'imagenet-resnet50', '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).toContain('<table class="paper" data-recipe="imagenet-resnet50">');
    const sun = report.results.find((r) => r.method === 'energy' && r.ood === 'SUN')!;
    expect(html).toContain(`<td data-ood="SUN" data-method="energy" data-paper-method="Energy" data-metric="fpr95" data-source="ours">${(sun.fpr95 * 100).toFixed(2)}</td>`);
    expect(html).toContain('<td data-ood="SUN" data-method="energy" data-paper-method="Energy" data-metric="fpr95" data-source="paper">59.26</td>');
    expect(html).toContain(`data-source="diff">${signed(sun.fpr95 * 100 - 59.26)}</td>`);
    expect(html).toContain('<td data-ood="Textures" data-method="" data-paper-method="ODIN" data-metric="auroc" data-source="paper">85.62</td>');
    expect(html).toContain('<td data-ood="noise" data-method="opnp" data-paper-method="OPNP" data-metric="fpr95" data-source="paper"></td>');
    expect(html).toContain('Not in the paper&#39;s Table 1: noise (no paper cells).');
  });

  it('rejects an unknown recipe', async () => {
    const run = await cli(['report', 'whatever', '--out', join(tempDir(), 'o'), '--recipe', 'mnist']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--recipe: expected one of cifar10, cifar100, imagenet-resnet50, imagenet-vit-b16, got "mnist"/);
  });
});

describe('the tidy results table', () => {
  const report = fakeReport(['msp', 'energy', 'opnp+react'], ['SVHN', 'noise', 'Textures']);

  it('has one row per method, OOD set (and Average) and metric; the averages equal the pipeline’s bit for bit', () => {
    const tidy = tidyResults(report);
    expect(tidy.numRows()).toBe(3 * 4 * 4);
    for (const a of report.averages) {
      for (const metric of ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const) {
        const v = tidy.filter(`d => d.method === '${a.method}' && d.ood === 'Average' && d.metric === '${metric}'`).array('value')[0];
        expect(v).toBe(a[metric]);
      }
    }
  });

  it('renders every format from it as before', () => {
    expect(JSON.parse(renderResults(report, 'json'))).toEqual(JSON.parse(JSON.stringify([...report.results, ...report.averages.map((a) => ({ ...a, ood: 'average' }))])));
    expect(renderResults(report, 'json')).toBe(JSON.stringify([...report.results, ...report.averages.map((a) => ({ ...a, ood: 'average' }))], null, 2) + '\n');
    const csv = renderResults(report, 'csv').trimEnd().split('\n');
    expect(csv[0]).toBe('Method,SVHN FPR95,SVHN AUROC,noise FPR95,noise AUROC,Textures FPR95,Textures AUROC,Average FPR95,Average AUROC');
    const e = report.results.filter((r) => r.method === 'energy');
    const ea = report.averages[1]!;
    expect(csv[2]).toBe(['energy', ...e.flatMap((r) => [r.fpr95, r.auroc]), ea.fpr95, ea.auroc].map((v) => (typeof v === 'number' ? (v * 100).toFixed(2) : v)).join(','));
    const md = renderResults(report, 'markdown').split('\n');
    expect(md[0]).toBe('|Method|SVHN FPR95|SVHN AUROC|noise FPR95|noise AUROC|Textures FPR95|Textures AUROC|Average FPR95|Average AUROC|');
    expect(md[1]).toBe('|:-|-:|-:|-:|-:|-:|-:|-:|-:|');
    const table = renderResults(report, 'table').split('\n');
    expect(table[1]).toMatch(/^Method\s+FPR95↓\s+AUROC↑/);
    expect(table[5]).toMatch(new RegExp(`^opnp\\+react\\s+${(report.results[6]!.fpr95 * 100).toFixed(2)}`));
  });

  it('leaves the cells of a method without results empty', () => {
    const partial = { ...report, methods: [...report.methods, 'gradnorm'] };
    expect(renderResults(partial, 'csv').trimEnd().split('\n').at(-1)).toBe('gradnorm,,,,,,,,');
  });
});

describe('comparisons over other OOD sets than the paper', () => {
  it('leave the Δ of the averages empty, and say when no set matches at all', () => {
    const partial = fakeReport(['energy'], ['SVHN', 'iSUN']);
    const rows = paperComparison(partial, 'cifar10').objects() as { ood: string; diff: number | null; paper: number | null }[];
    const svhn = rows.find((r) => r.ood === 'SVHN' && r.paper !== null)!;
    expect(svhn.diff).not.toBeNull();
    for (const r of rows.filter((x) => x.ood === 'Average')) expect(r.diff).toBeNull();
    expect(comparisonNotes(partial, 'cifar10').join(' ')).toMatch(/averages cover other OOD sets .* left empty/);
    expect(comparisonNotes(fakeReport(['energy'], ['fashion', 'noise']), 'cifar10')[0]).toMatch(/none of this run's OOD sets \(fashion, noise\) is in the paper's Table 5/);
  });
});

describe('--recipe notes', () => {
  it('end in one punctuation mark: a question keeps its "?" (not "?.") in the HTML caption and the text', () => {
    const report = fakeReport(['energy'], ['fashion', 'noise']);
    const html = paperComparisonHtml(report, 'cifar10');
    expect(html).toContain('is --recipe cifar10 the right recipe? The averages cover other OOD sets');
    expect(html).not.toMatch(/\?\./);
    const text = comparisonText(report, 'cifar10');
    expect(text).toContain('Note: none of this run\'s OOD sets (fashion, noise) is in the paper\'s Table 5: is --recipe cifar10 the right recipe?\n');
    expect(text).toMatch(/^Note: the averages cover other OOD sets than the paper's, so their Δ is left empty\.$/m);
  });
});
