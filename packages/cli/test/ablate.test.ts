/**
 * `opnp ablate <kind>` on the committed demo assets: every kind prints the paper's layout (header, rows, order),
 * the printed cells are the JSON's numbers, the JSON's numbers equal direct computations through the library API
 * where no search is involved (the searched kinds are checked against brute force in @opnp/pipeline's tests), and
 * every flag and output path is checked before any work.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SensitivityAccumulator, energy, logits, neuronSensitivity, pruneHead, pruningMasks } from '@opnp/core';
import { accuracy, argmaxRows, oodMetrics } from '@opnp/metrics';
import { splitIndices } from '@opnp/datasets';
import { trainingIndices, type AblationResult } from '@opnp/pipeline';
import { cli, FASHION, FASHION_VAL, MODEL, NORMALISE, referenceBatches, referenceExtractor, resolveGemmKernel, stack, tempDir, TEST, TRAIN } from './helpers.js';

const BATCH = 500;
const DATA = ['--model', MODEL, '--train', TRAIN, '--train-fraction', '0.2', '--test', TEST, ...NORMALISE, '--batch-size', String(BATCH), '--seed', '0'];
const OOD = ['--ood', `fashion=${FASHION}`, '--val-ood', `fval=${FASHION_VAL}`];

/** The Markdown tables of stdout: each as rows of cells (header first, the alignment row dropped). */
function markdownTables(stdout: string): string[][][] {
  const tables: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (!current) tables.push((current = []));
    if (!/^\|:?-/.test(line)) current.push(line.slice(1, -1).split('|'));
  }
  return tables;
}

const percent = (v: number) => (v * 100).toFixed(2);
const valueOf = (r: AblationResult, variant: string, metric: string, ood: string | null) => r.rows.find((x) => x.variant === variant && x.metric === metric && x.ood === ood)!.value;

/** Runs `opnp ablate` with `--json <file>` and returns the printed Markdown tables and the JSON. */
async function ablate(args: string[]) {
  const json = join(tempDir(), 'ablation.json');
  const run = await cli(['ablate', ...args, '--json', json, '-q']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return { stdout: run.stdout, tables: markdownTables(run.stdout), result: JSON.parse(readFileSync(json, 'utf8')) as AblationResult & { paper?: { source: string; cells: unknown[] } } };
}

/** The sensitivity of the run's training samples through the library (the same batches as the training pass). */
async function referenceSensitivity() {
  const ex = await referenceExtractor();
  const train = await referenceBatches(TRAIN, { batchSize: BATCH, subset: trainingIndices(6000, 0.2, 0) });
  const acc = new SensitivityAccumulator(ex.head, { kernel: await resolveGemmKernel() });
  for (const b of train.batches) await acc.add(b.features, b.logits);
  return acc.result();
}

describe('opnp ablate', () => {
  it('pruning (table4): the pruners in the paper order, FPR95 per OOD set, the paper beside ours with --recipe', async () => {
    const { stdout, tables, result } = await ablate(['table4', ...DATA, '--ood', `SUN=${FASHION}`, '--ood', 'places=noise:300#seed=3', '--val-ood', `fval=${FASHION_VAL}`, '--recipe', 'imagenet-resnet50']);
    expect(stdout).toMatch(/^Table 4\. Pruning methods/);
    const [main, chosen] = tables;
    expect(main![0]).toEqual(['Method', 'SUN FPR95', 'SUN FPR95 paper', 'SUN FPR95 Δ', 'places FPR95', 'places FPR95 paper', 'places FPR95 Δ', 'Average FPR95']);
    expect(main!.slice(1).map((r) => r[0])).toEqual(['RPP', 'TPP', 'OPP', 'RNP', 'TNP', 'ONP']);
    const paper = { RPP: [49.42, 54.4], TPP: [43.36, 51.86], OPP: [30.4, 40.76], RNP: [52.44, 53.92], TNP: [47.76, 52.84], ONP: [26.67, 32.69] } as Record<string, number[]>;
    for (const row of main!.slice(1)) {
      const name = row[0]!;
      const sun = valueOf(result, name, 'fpr95', 'SUN');
      const places = valueOf(result, name, 'fpr95', 'places');
      expect(row.slice(1)).toEqual([percent(sun), paper[name]![0]!.toFixed(2), expect.stringMatching(/^[+-]?\d+\.\d\d$/), percent(places), paper[name]![1]!.toFixed(2), expect.any(String), percent(valueOf(result, name, 'fpr95', null))]);
      expect(Number(row[3])).toBeCloseTo(sun * 100 - paper[name]![0]!, 1);
      expect(valueOf(result, name, 'fpr95', null)).toBeCloseTo((sun + places) / 2, 12);
    }
    expect(chosen![0]).toEqual(['Method', 'p_min', 'p_max', 'n_min', 'n_max', 'val FPR95', 'val AUROC', 'details']);
    for (const [i, v] of result.variants.entries()) {
      expect(chosen![i + 1]!.slice(0, 7)).toEqual([v.name, String(v.percentages!.pMin), String(v.percentages!.pMax), String(v.percentages!.nMin), String(v.percentages!.nMax), percent(v.validation!.fpr95), percent(v.validation!.auroc)]);
    }
    expect(result.paper!.source).toMatch(/^Table 4 of Chen et al\./);
    expect(result.paper!.cells).toHaveLength(12);
    expect(stdout).toMatch(/Paper: Table 4 of Chen et al\., .*; Δ = ours - paper\./);
  });

  it('fraction (table8) with --fractions: none and each fraction, FPR95 and AUROC; --csv - prints the table alone', async () => {
    const { tables, result } = await ablate(['fraction', ...DATA, ...OOD, '--fractions', '0.1,1']);
    expect(tables[0]![0]).toEqual(['Fraction', 'fashion FPR95', 'fashion AUROC']);
    expect(tables[0]!.slice(1).map((r) => r[0])).toEqual(['none', '10%', '100%']);
    for (const row of tables[0]!.slice(1)) expect(row.slice(1)).toEqual([percent(valueOf(result, row[0]!, 'fpr95', 'fashion')), percent(valueOf(result, row[0]!, 'auroc', 'fashion'))]);
    expect(result.variants.map((v) => v.details?.samples)).toEqual([undefined, 120, 1200]);
    // `none` is the unpruned head: energy on the ID samples left by the validation split against the OOD test set.
    const head = (await referenceExtractor()).head;
    const test = stack((await referenceBatches(TEST, { batchSize: BATCH })).batches.map((b) => b.features));
    const fashion = stack((await referenceBatches(FASHION, { batchSize: BATCH })).batches.map((b) => b.features));
    const kept = splitIndices(2500, { fraction: 0.2, seed: 0 }).train;
    const idEval = { rows: kept.length, cols: test.cols, data: Float32Array.from(Array.from(kept).flatMap((r) => [...test.data.subarray(r * test.cols, (r + 1) * test.cols)])) };
    const m = oodMetrics(energy(logits(head, idEval)), energy(logits(head, fashion)));
    expect(result.counts.idTest).toBe(2000);
    expect(Math.abs(valueOf(result, 'none', 'fpr95', 'fashion') - m.fpr95)).toBeLessThan(1e-9);
    expect(Math.abs(valueOf(result, 'none', 'auroc', 'fashion') - m.auroc)).toBeLessThan(1e-9);

    const csv = await cli(['ablate', 'fraction', ...DATA, ...OOD, '--fractions', '0.1,1', '--csv', '-']);
    expect(csv.code).toBe(0);
    expect(csv.stderr).toBe('');
    const lines = csv.stdout.trim().split('\n').map((l) => l.split(','));
    expect(lines).toEqual([['Fraction', 'fashion FPR95', 'fashion AUROC'], ...tables[0]!.slice(1)]);
  });

  it('statistic (table9) with --statistics and --json -: only JSON on stdout, the paper names', async () => {
    const run = await cli(['ablate', 'statistic', ...DATA, ...OOD, '--statistics', 'mean,norm,variance', '--json', '-']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as AblationResult;
    expect(result).toMatchObject({ kind: 'statistic', source: 'Table 9', layout: ['fpr95', 'auroc'], oodSets: ['fashion'] });
    expect(result.variants.map((v) => [v.name, v.details?.statistic])).toEqual([['mean', 'mean'], ['norm', 'l2'], ['variance', 'variance']]);
    expect(result.rows).toHaveLength(3 * 2 * 4);
  });

  it('accuracy (table3) needs no --ood: one row of settings, the accuracy of each pruned head, the known paper columns', async () => {
    const { stdout, tables, result } = await ablate(['accuracy', ...DATA, '--recipe', 'imagenet-resnet50']);
    const names = ['none', 'p_max=0.1%', 'p_max=0.5%', 'p_max=1%', 'p_max=2%', 'p_min=10%', 'p_min=20%', 'p_min=30%', 'p_min=40%'];
    expect(tables[0]![0]).toEqual(['Setting', ...names]);
    expect(tables[0]![2]).toEqual(['paper', '76.13', '', '', '71.60', '', '', '', '', '75.06']);
    expect(tables[0]![3]![0]).toBe('Δ');
    expect(tables).toHaveLength(1);
    expect(stdout).toMatch(/Note: Table 3's column headers are lost except none, p_max=1% and p_min=40%; its other values, in order, are 75.14, 74.72, 56.37, 76.06, 75.88, 75.86/);
    // Direct: each head's argmax against the labels of every ID test sample.
    const ex = await referenceExtractor();
    const sensitivity = await referenceSensitivity();
    const test = await referenceBatches(TEST, { batchSize: BATCH });
    const H = stack(test.batches.map((b) => b.features));
    for (const [i, v] of result.variants.entries()) {
      const head = v.percentages === null ? ex.head : pruneHead(ex.head, pruningMasks(sensitivity, neuronSensitivity(sensitivity), v.percentages));
      const expected = accuracy(argmaxRows(logits(head, H)), test.labels);
      expect(valueOf(result, v.name, 'accuracy', null), v.name).toBe(expected);
      expect(tables[0]![1]![i + 1]).toBe(percent(expected));
    }
    expect(result.counts).toMatchObject({ idTest: 2500, idLabelled: 2500, train: 1200 });
  });

  it('sweep (figure3): the base row, then every level of each percentage, and Figure 3 as SVG', async () => {
    const figure = join(tempDir(), 'fig3.svg');
    const { tables, result } = await ablate(['figure3', ...DATA, ...OOD, '--figure', figure]);
    const levels = { p_min: [10, 20, 30, 40, 50, 60, 70], p_max: [0.5, 1, 1.5, 2, 3], n_min: [10, 20, 30, 40, 50, 60, 70], n_max: [1, 2, 5, 10, 15, 20] };
    expect(tables[0]![0]).toEqual(['Point', 'fashion FPR95', 'fashion AUROC']);
    expect(tables[0]!.slice(1).map((r) => r[0])).toEqual(['none', ...Object.entries(levels).flatMap(([k, ls]) => ls.map((l) => `${k}=${l}%`))]);
    expect(tables).toHaveLength(1);
    expect(readFileSync(figure, 'utf8')).toMatch(/^<svg/);
    // Direct: energy of each pruned head on every ID test sample against the OOD test set.
    const ex = await referenceExtractor();
    const sensitivity = await referenceSensitivity();
    const neurons = neuronSensitivity(sensitivity);
    const id = stack((await referenceBatches(TEST, { batchSize: BATCH })).batches.map((b) => b.features));
    const ood = stack((await referenceBatches(FASHION, { batchSize: BATCH })).batches.map((b) => b.features));
    for (const v of result.variants.filter((_v, i) => i % 6 === 0)) {
      const head = pruneHead(ex.head, pruningMasks(sensitivity, neurons, v.percentages!));
      const m = oodMetrics(energy(logits(head, id)), energy(logits(head, ood)));
      expect(Math.abs(valueOf(result, v.name, 'fpr95', 'fashion') - m.fpr95), v.name).toBeLessThan(1e-9);
      expect(Math.abs(valueOf(result, v.name, 'auroc', 'fashion') - m.auroc), v.name).toBeLessThan(1e-9);
    }
  });

  it('checks the kind, the flags and every output path before any work', async () => {
    const refused = async (args: string[], code: number, message: RegExp) => {
      const run = await cli(['ablate', ...args]);
      expect(run.code, args.join(' ')).toBe(code);
      expect(run.stderr, args.join(' ')).toMatch(message);
      expect(run.stdout).toBe('');
    };
    const missing = join(tempDir(), 'no', 'such', 'folder');
    await refused(['table5', ...DATA, ...OOD], 2, /unknown ablation 'table5': expected pruning \(or table4, pruners\); fraction/);
    await refused(['pruning', ...DATA], 2, /required option '--ood <name=dataset>' not specified/);
    await refused(['pruning', ...DATA, ...OOD, '--fractions', '0.1'], 1, /--fractions: only the fraction ablation takes it, not pruning/);
    await refused(['fraction', ...DATA, ...OOD, '--fractions', '0.1,2'], 1, /--fractions: every fraction must be in \(0, 1\], got 2/);
    await refused(['statistic', ...DATA, ...OOD, '--statistics', 'mode'], 1, /--statistics: expected one of mean, max, min, median, l2 \(the paper's norm; either name\), variance, got "mode"/);
    await refused(['pruning', ...DATA, ...OOD, '--recipe', 'cifar10'], 1, /--recipe: the paper's ablations .* use --recipe imagenet-resnet50/);
    await refused(['sweep', ...DATA, ...OOD, '--recipe', 'imagenet-resnet50'], 1, /--recipe: Figure 3 prints no numbers/);
    await refused(['sweep', ...DATA, ...OOD, '--figure', 'fig3.pdf'], 1, /--figure: expected a file name ending in .svg or .png/);
    // two outputs on standard output is a usage error (exit 2), naming both flags, as eval's --json - with --format
    await refused(['pruning', ...DATA, ...OOD, '--json', '-', '--csv', '-'], 2, /^opnp: --json - and --csv - both ask for standard output, which holds one of them: give --json or --csv a file \(see opnp ablate --help\)$/m);
    await refused(['pruning', ...DATA, ...OOD, '--json', join(missing, 'out.json')], 1, /out\.json/);
    await refused(['fraction', ...DATA, ...OOD, '--csv', join(missing, 'out.csv')], 1, /out\.csv/);
    expect(existsSync(missing)).toBe(false);
  });

  it('--help lists the kinds with an example', async () => {
    const run = await cli(['ablate', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: opnp ablate \[options\] <kind>/);
    expect(run.stdout).toMatch(/pruning +\[table4\]/);
    expect(run.stdout).toMatch(/opnp ablate pruning --model mnist-cnn\.onnx/);
  });
});
