/**
 * `opnp eval` end to end on the committed demo assets, checked against values computed here through the
 * library API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SensitivityAccumulator,
  energy,
  fitVim,
  gen,
  gridSearch,
  logits,
  msp,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  vimScore,
  type Matrix,
  type PruningMode,
} from '@opnp/core';
import { splitIndices } from '@opnp/datasets';
import { accuracy, argmaxRows, oodMetrics } from '@opnp/metrics';
import { cli, FASHION, FASHION_VAL, MODEL, NORMALISE, referenceBatches, referenceExtractor, resolveGemmKernel, stack, tempDir, TEST, TRAIN } from './helpers.js';
import type { EvalReport } from '@opnp/pipeline';

const BATCH = 500;

/** Sensitivity through the library: the same batches into a SensitivityAccumulator with the fastest kernel. */
async function referenceSensitivity() {
  const ex = await referenceExtractor();
  const train = await referenceBatches(TRAIN, { batchSize: BATCH });
  const acc = new SensitivityAccumulator(ex.head, { kernel: await resolveGemmKernel() });
  for (const b of train.batches) await acc.add(b.features, b.logits);
  const sensitivity = acc.result();
  return { sensitivity, neuron: neuronSensitivity(sensitivity), count: acc.count };
}

function pick(m: Matrix, rows: Uint32Array): Matrix {
  const data = new Float32Array(rows.length * m.cols);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { rows: rows.length, cols: m.cols, data };
}

describe('opnp eval', () => {
  it('matches the library pipeline with fixed --opnp percentages', async () => {
    const dir = tempDir();
    const out = join(dir, 'report.json');
    const run = await cli([
      'eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `fashion=${FASHION}`,
      ...NORMALISE, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--methods', 'msp,energy,opp,onp,opnp',
      '--batch-size', String(BATCH), '--json', out, '--quiet',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    expect(report.classes).toBe(10);
    expect(report.featureDim).toBe(128);
    expect(report.opnp).toEqual({ p_min: 10, p_max: 1, n_min: 10, n_max: 1 });
    expect(report.selection.searched).toBe(false);
    expect(report.counts).toMatchObject({ train: 6000, idTest: 2500, ood: { fashion: 1500 } });

    const ex = await referenceExtractor();
    const head = ex.head;
    const { sensitivity, neuron } = await referenceSensitivity();
    const test = await referenceBatches(TEST, { batchSize: BATCH });
    const fashion = await referenceBatches(FASHION, { batchSize: BATCH });
    const idH = stack(test.batches.map((b) => b.features));
    const idF = stack(test.batches.map((b) => b.logits));
    const oodH = stack(fashion.batches.map((b) => b.features));
    const oodF = stack(fashion.batches.map((b) => b.logits));
    expect(report.idAccuracy).toBeCloseTo(accuracy(argmaxRows(idF), test.labels), 12);
    expect(report.idAccuracy).toBeGreaterThan(0.95);

    const percentages = { pMin: 10, pMax: 1, nMin: 10, nMax: 1 };
    const expected: Record<string, [Float32Array, Float32Array]> = {
      msp: [msp(idF), msp(oodF)],
      energy: [energy(idF), energy(oodF)],
    };
    for (const mode of ['opp', 'onp', 'opnp'] as PruningMode[]) {
      const pruned = pruneHead(head, pruningMasks(sensitivity, neuron, percentages, mode));
      expected[mode] = [energy(logits(pruned, idH)), energy(logits(pruned, oodH))];
    }
    expect(report.results.map((r) => r.method)).toEqual(['msp', 'energy', 'opp', 'onp', 'opnp']);
    for (const r of report.results) {
      const [id, ood] = expected[r.method]!;
      const m = oodMetrics(id, ood);
      expect(r.ood).toBe('fashion');
      for (const key of ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const) {
        expect(Math.abs(r[key] - m[key]), `${r.method} ${key}`).toBeLessThan(1e-6);
        expect(r[key]).toBeGreaterThanOrEqual(0);
        expect(r[key]).toBeLessThanOrEqual(1);
      }
    }
    // The pruning really changed the scores (the test would not notice a no-op head otherwise).
    const opnp = report.results.find((r) => r.method === 'opnp')!;
    const plain = report.results.find((r) => r.method === 'energy')!;
    expect(opnp.auroc).not.toBe(plain.auroc);
  });

  it('scores GEN and ViM like the library (ViM fitted on all training features)', async () => {
    const out = join(tempDir(), 'report.json');
    const run = await cli([
      'eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `fashion=${FASHION}`,
      ...NORMALISE, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--methods', 'gen,vim',
      '--batch-size', String(BATCH), '--json', out, '--quiet',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    const head = (await referenceExtractor()).head;
    const trainH = stack((await referenceBatches(TRAIN, { batchSize: BATCH })).batches.map((b) => b.features));
    const test = await referenceBatches(TEST, { batchSize: BATCH });
    const fashion = await referenceBatches(FASHION, { batchSize: BATCH });
    const [idH, idF] = [stack(test.batches.map((b) => b.features)), stack(test.batches.map((b) => b.logits))];
    const [oodH, oodF] = [stack(fashion.batches.map((b) => b.features)), stack(fashion.batches.map((b) => b.logits))];
    const vim = fitVim(trainH, head);
    const expected: Record<string, ReturnType<typeof oodMetrics>> = {
      gen: oodMetrics(gen(idF), gen(oodF)),
      vim: oodMetrics(vimScore(vim, idH), vimScore(vim, oodH)),
    };
    expect(report.results.map((r) => r.method)).toEqual(['gen', 'vim']);
    for (const r of report.results) {
      for (const key of ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const) {
        expect(Math.abs(r[key] - expected[r.method]![key]), `${r.method} ${key}`).toBeLessThan(1e-6);
      }
    }
  });

  it('chooses the OPNP point by grid search on the validation split only', async () => {
    const dir = tempDir();
    const out = join(dir, 'report.json');
    const run = await cli([
      'eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `fashion=${FASHION}`,
      ...NORMALISE, '--methods', 'energy,opnp', '--val-fraction', '0.2', '--val-ood', `fval=${FASHION_VAL}`,
      '--batch-size', String(BATCH), '--json', out,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/grid search \(192 points, 500 ID validation samples\): chose p_min=/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    expect(report.selection.searched).toBe(true);
    expect(report.counts.idTest).toBe(2000);

    const ex = await referenceExtractor();
    const { sensitivity, neuron } = await referenceSensitivity();
    const test = stack((await referenceBatches(TEST, { batchSize: BATCH })).batches.map((b) => b.features));
    const split = splitIndices(2500, { fraction: 0.2, seed: 0 });
    const fval = stack((await referenceBatches(FASHION_VAL, { batchSize: BATCH })).batches.map((b) => b.features));
    const { best } = await gridSearch(
      { id: pick(test, split.validation), ood: { fval } },
      { head: ex.head, sensitivity, neuronSensitivity: neuron, kernel: await resolveGemmKernel(), evaluate: (a, b) => oodMetrics(a, b) },
    );
    expect(report.opnp).toEqual({ p_min: best.percentages.pMin, p_max: best.percentages.pMax, n_min: best.percentages.nMin, n_max: best.percentages.nMax });
    expect(report.selection.validation!.fpr95).toBeCloseTo(best.fpr95, 9);
    // Evaluation uses only the held-out rest of the ID test set.
    const pruned = pruneHead(ex.head, pruningMasks(sensitivity, neuron, best.percentages));
    const fashion = stack((await referenceBatches(FASHION, { batchSize: BATCH })).batches.map((b) => b.features));
    const m = oodMetrics(energy(logits(pruned, pick(test, split.train))), energy(logits(pruned, fashion)));
    const r = report.results.find((x) => x.method === 'opnp')!;
    expect(Math.abs(r.fpr95 - m.fpr95)).toBeLessThan(1e-6);
    expect(Math.abs(r.auroc - m.auroc)).toBeLessThan(1e-6);
  });

  it('prints the table as markdown, csv and json, and --json - puts only JSON on stdout', async () => {
    const base = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', '--test', TEST, '--ood', `fashion=${FASHION}`, '--ood', 'noise=noise:300#seed=3', ...NORMALISE, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--methods', 'energy,opnp', '-q'];
    const md = await cli([...base, '--format', 'markdown']);
    expect(md.code).toBe(0);
    const mdLines = md.stdout.trim().split('\n');
    expect(mdLines[0]).toBe('|Method|fashion FPR95|fashion AUROC|noise FPR95|noise AUROC|Average FPR95|Average AUROC|');
    expect(mdLines).toHaveLength(4);
    const csv = await cli([...base, '--format', 'csv']);
    const rows = csv.stdout.trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['Method', 'fashion FPR95', 'fashion AUROC', 'noise FPR95', 'noise AUROC', 'Average FPR95', 'Average AUROC']);
    // Percent with two decimals; the average is the mean of the two OOD sets.
    const energyRow = rows.find((r) => r[0] === 'energy')!;
    for (const v of energyRow.slice(1)) expect(v).toMatch(/^\d+\.\d\d$/);
    expect(Number(energyRow[5])).toBeCloseTo((Number(energyRow[1]) + Number(energyRow[3])) / 2, 1);
    const json = await cli([...base, '--json', '-']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as EvalReport;
    expect(report.results).toHaveLength(4);
    expect(report.counts.train).toBe(600);
    const table = await cli([...base]);
    expect(table.stdout).toMatch(/Method\s+FPR95↓\s+AUROC↑/);
  });
});
