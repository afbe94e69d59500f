/**
 * `opnp eval --temperature` and `--search-baselines`: the flags, their validation, the JSON fields and the table
 * labels. Temperature-scaled scores are checked against their definitions computed here in float64 from the
 * model's logits; the search's choice against the rule applied to the grid it reports (its numbers are checked
 * against a brute force in @opnp/pipeline's tests).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '@opnp/core';
import { oodMetrics } from '@opnp/metrics';
import type { EvalReport } from '@opnp/pipeline';
import { cli, FASHION, NORMALISE, referenceBatches, stack, tempDir, TEST, TRAIN, MODEL } from './helpers.js';

const base = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', '--test', TEST, '--ood', `fashion=${FASHION}`, ...NORMALISE, '--batch-size', '500', '--quiet'];

async function evalJson(args: string[]): Promise<{ report: EvalReport; stdout: string }> {
  const out = join(tempDir(), 'report.json');
  const run = await cli([...base, ...args, '--json', out]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return { report: JSON.parse(readFileSync(out, 'utf8')) as EvalReport, stdout: run.stdout };
}

/** Per row of `f [N x C]`: the log-sum-exp of `f / T` and the softmax of `f / T`, float64. */
function softmaxRows(f: Matrix, T: number): { lse: number; p: number[] }[] {
  return Array.from({ length: f.rows }, (_, n) => {
    const z = Array.from(f.data.subarray(n * f.cols, (n + 1) * f.cols), (v) => v / T);
    const m = Math.max(...z);
    const sum = z.reduce((s, v) => s + Math.exp(v - m), 0);
    return { lse: m + Math.log(sum), p: z.map((v) => Math.exp(v - m) / sum) };
  });
}

/** The definitions of docs/numerics.md at temperature `T`. */
const definitions: Record<string, (h: Matrix, f: Matrix, T: number) => number[]> = {
  msp: (_h, f, T) => softmaxRows(f, T).map((r) => Math.max(...r.p)),
  energy: (_h, f, T) => softmaxRows(f, T).map((r) => T * r.lse),
  entropy: (_h, f, T) => softmaxRows(f, T).map((r) => r.p.reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0)),
  gradnorm: (h, f, T) =>
    softmaxRows(f, T).map((r, n) => r.p.reduce((s, p) => s + Math.abs(p - 1 / f.cols), 0) * h.data.subarray(n * h.cols, (n + 1) * h.cols).reduce((s, v) => s + Math.abs(v), 0)),
};

describe('opnp eval --temperature', () => {
  it('scores msp, energy, entropy and gradnorm at T as their definitions say, and records T in the JSON', async () => {
    const T = 2.5;
    const { report } = await evalJson(['--methods', 'msp,energy,entropy,gradnorm,maxlogit', '--temperature', String(T), '--method-option', 'entropy.temperature=4']);
    expect(report.temperature).toBe(T);
    expect(report.methodOptions).toEqual({ msp: { temperature: T }, energy: { temperature: T }, entropy: { temperature: 4 }, gradnorm: { temperature: T }, maxlogit: {} });
    const test = await referenceBatches(TEST, { batchSize: 500 });
    const fashion = await referenceBatches(FASHION, { batchSize: 500 });
    const [idH, idF] = [stack(test.batches.map((b) => b.features)), stack(test.batches.map((b) => b.logits))];
    const [oodH, oodF] = [stack(fashion.batches.map((b) => b.features)), stack(fashion.batches.map((b) => b.logits))];
    for (const [method, score] of Object.entries(definitions)) {
      const t = report.methodOptions[method]!.temperature as number;
      const want = oodMetrics(Float32Array.from(score(idH, idF, t)), Float32Array.from(score(oodH, oodF, t)));
      const got = report.results.find((r) => r.method === method)!;
      expect(got.auroc, method).toBeCloseTo(want.auroc, 5);
      expect(got.fpr95, method).toBeCloseTo(want.fpr95, 5);
    }
    // T changes the energy ranking: the run at T = 1 differs (otherwise this test could not fail).
    const plain = await evalJson(['--methods', 'energy']);
    expect(plain.report.temperature).toBeUndefined();
    expect(plain.report.methodOptions).toEqual({ energy: { temperature: 1 } });
    expect(plain.report.results[0]!.auroc).not.toBe(report.results.find((r) => r.method === 'energy')!.auroc);
  }, 120_000);

  it.each([['0'], ['-1'], ['abc'], ['Infinity'], ['']])('refuses --temperature %j with one line and exit code 1', async (value) => {
    const run = await cli([...base, '--methods', 'energy', '--temperature', value]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--temperature.*expected a finite number > 0/);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('refuses a temperature no method takes, naming those that do', async () => {
    const run = await cli([...base, '--methods', 'react,maxlogit', '--temperature', '2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/none of the methods \(react, maxlogit\) takes one/);
    expect(run.stderr).toMatch(/It applies to msp, odin, energy, gradnorm, entropy/);
    // Before the model loads: a missing model file is not what is reported.
    const early = await cli([...base.map((a) => (a === MODEL ? '/nonexistent/model.onnx' : a)), '--methods', 'knn', '--temperature', '2']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/none of the methods \(knn\) takes one/);
  });
});

describe('opnp eval --search-baselines', () => {
  it('records the chosen values per method in the JSON and labels the rows; without the flag nothing changes', async () => {
    const args = ['--methods', 'energy,react,ash-p,opnp', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--val-noise', '300'];
    const { report } = await evalJson([...args, '--search-baselines', '--method-option', 'ash-p.percentile=80']);
    const search = report.baselineSearch!;
    expect(Object.keys(search.methods)).toEqual(['react']);
    expect(search.notSearched).toEqual({ 'ash-p': 'every searched option is set explicitly' });
    expect(search.rule).toMatch(/highest mean validation AUROC/);
    const react = search.methods.react!;
    expect(react.grid.map((g) => g.options.percentile)).toEqual([85, 90, 95, 99]);
    const best = react.grid.reduce((b, g, i) => (g.auroc > react.grid[b]!.auroc ? i : b), 0);
    expect(react.chosen).toEqual(react.grid[best]!.options);
    expect(report.methodOptions.react).toEqual(react.chosen);
    expect(report.methodOptions['ash-p']).toEqual({ percentile: 80 });
    expect(react.label).toBe(`react (p=${react.chosen.percentile})`);
    expect(search.validation).toEqual({ idSamples: 500, ood: { noise: 300 } });
    expect(report.counts.idTest).toBe(2000);
    // The markdown table names the searched row with its value.
    const out = join(tempDir(), 'r.json');
    const markdown = await cli([...base, ...args, '--search-baselines', '--format', 'markdown', '--json', out]);
    expect(markdown.stdout).toContain(`\n|${react.label}|`);
    expect(markdown.stdout).toContain('\n|energy|');
    const plain = await evalJson(args);
    expect(plain.report.baselineSearch).toBeUndefined();
    expect(plain.report.methodOptions.react).toEqual({ percentile: 90 });
    expect(plain.report.counts.idTest).toBe(2500);
  }, 120_000);
});

describe('opnp eval --methods odin', () => {
  it('runs ODIN on the ONNX model by finite differences, says so on stderr, and records its options', async () => {
    const out = join(tempDir(), 'report.json');
    const run = await cli([
      'eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.01', '--test', 'noise:16#seed=3', '--ood', 'other=noise:12#seed=4',
      ...NORMALISE, '--methods', 'msp,odin', '--temperature', '100', '--method-option', 'odin.epsilon=0.002', '--json', out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('opnp: odin: input gradients by finite differences (the onnx backend has none): 786 forward passes per image');
    const report = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    expect(report.methodOptions.odin).toEqual({ temperature: 100, epsilon: 0.002, gradient: 'auto', maxFiniteDifferenceInputs: 1024 });
    expect(report.results.map((r) => r.method)).toEqual(['msp', 'odin']);
  }, 120_000);
});
