/**
 * `opnp eval --model model.json`: the TensorFlow.js backend end to end through the CLI. The tfjs fixture is
 * the same MNIST network as the CLI's ONNX demo model (rebuilt from the same weights), so both runs must
 * report the same numbers up to float rounding.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoAssetPath, runCli } from '@opnp/cli';

const tfjsModel = fileURLToPath(new URL('../../../packages/backend-tfjs/test/fixtures/mnist-cnn-layers/model.json', import.meta.url));
const data = (name: string): string => `idx:${demoAssetPath(name)}`;

interface Report {
  classes: number;
  featureDim: number;
  idAccuracy: number;
  results: { method: string; ood: string; fpr95: number; auroc: number; auprIn: number; auprOut: number }[];
}

async function evaluate(model: string): Promise<Report> {
  const out = join(mkdtempSync(join(tmpdir(), 'opnp-tfjs-')), 'report.json');
  let stderr = '';
  const code = await runCli(
    [
      'node', 'opnp', 'eval', '--quiet', '--model', model,
      '--train', data('mnist-train-6k-images-idx3-ubyte.gz'), '--train-fraction', '0.25',
      '--test', data('mnist-test-2500-images-idx3-ubyte.gz'),
      '--ood', `fashion=${data('fashion-test-images-idx3-ubyte.gz')}`,
      '--mean', '0.1307', '--std', '0.3081',
      '--methods', 'msp,energy,opp,onp,opnp', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1',
      '--json', out,
    ],
    { stdout: { write: () => true }, stderr: { isTTY: false, write: (s: string) => ((stderr += s), true) }, env: {} },
  );
  expect(code, stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as Report;
}

describe('opnp eval --model model.json (TensorFlow.js backend)', () => {
  it('gives the same report as the ONNX version of the same network', async () => {
    const tfjs = await evaluate(tfjsModel);
    const onnx = await evaluate(demoAssetPath('mnist-cnn.onnx'));
    expect([tfjs.classes, tfjs.featureDim]).toEqual([10, 128]);
    expect(tfjs.idAccuracy).toBeCloseTo(onnx.idAccuracy, 3);
    expect(tfjs.results.map((r) => `${r.method}/${r.ood}`)).toEqual(onnx.results.map((r) => `${r.method}/${r.ood}`));
    tfjs.results.forEach((r, i) => {
      const o = onnx.results[i]!;
      // Logits agree to ~1e-5: rankings, hence AUROC, agree closely; FPR95 may move by a sample or two.
      expect(Math.abs(r.auroc - o.auroc), r.method).toBeLessThan(1e-3);
      expect(Math.abs(r.fpr95 - o.fpr95), r.method).toBeLessThan(3 / 1500);
    });
  }, 120_000);
});

describe('opnp export --model model.json (TensorFlow.js backend)', () => {
  it('writes a graph-model detector through the exportDetector capability, scoring like the ONNX export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-tfjs-export-'));
    const run = async (model: string, out: string) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(
        ['node', 'opnp', 'export', '--quiet', '--model', model, '--train', data('mnist-train-6k-images-idx3-ubyte.gz'), '--train-fraction', '0.1', '--mean', '0.1307', '--std', '0.3081', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--threshold-from', data('mnist-test-2500-images-idx3-ubyte.gz'), '--out', out],
        { stdout: { write: (s: string) => ((stdout += s), true) }, stderr: { isTTY: false, write: (s: string) => ((stderr += s), true) }, env: {} },
      );
      expect(code, stderr).toBe(0);
      return stdout;
    };
    const tfjs = await run(tfjsModel, join(dir, 'detector'));
    expect(tfjs).toMatch(/^wrote .*detector\/model\.json$/m);
    expect(tfjs).toContain('tf.loadGraphModel');
    expect(readFileSync(join(dir, 'detector', 'model.json'), 'utf8')).toContain('ood_score');
    // The detector itself as --model: refused at once (no training pass), saying what it is.
    let refused = '';
    const again = await runCli(
      ['node', 'opnp', 'export', '--model', join(dir, 'detector', 'model.json'), '--train', data('mnist-train-6k-images-idx3-ubyte.gz'), '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--out', join(dir, 'again')],
      { stdout: { write: () => true }, stderr: { isTTY: false, write: (s: string) => ((refused += s), true) }, env: {} },
    );
    expect(again).toBe(1);
    expect(refused).toMatch(/^opnp: --model: .*detector\/model\.json is an OOD detector written by opnp export \(it has an ood_score output\), not a classifier/);
    expect(refused).not.toMatch(/sensitivity/);
    const onnx = await run(demoAssetPath('mnist-cnn.onnx'), join(dir, 'detector.onnx'));
    // The same network: the same sensitivity, hence the same kept weights, and thresholds close to float rounding.
    const kept = (text: string) => /\((\d+) of \d+ weights, (\d+) of \d+ neurons kept\)/.exec(text)?.slice(1);
    expect(kept(tfjs)).toEqual(kept(onnx));
    const threshold = (text: string) => Number(/threshold: (\S+)/.exec(text)?.[1]);
    expect(Math.abs(threshold(tfjs) - threshold(onnx))).toBeLessThan(1e-3 * (1 + Math.abs(threshold(onnx))));
  });
});
