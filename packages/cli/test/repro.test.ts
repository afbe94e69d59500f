/**
 * The paper-reproduction scripts (tools/repro) end to end on tiny stand-in folders in the documented layout:
 * CIFAR binaries, an SVHN .mat, ImageNet-style folders and OOD image folders written here with sharp, and a
 * small 3 x 32 x 32 ONNX CNN from the backend-onnx fixtures.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '@opnp/core';
import type { EvalReport } from '@opnp/pipeline';
import { tempDir } from './helpers.js';
import { runSetting, type Setting } from '../../../tools/repro/lib.js';
import { CIFAR10, CIFAR100, IMAGENET_RESNET50, IMAGENET_VIT_B16 } from '../../../tools/repro/settings.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(REPO, 'packages/backend-onnx/test/fixtures/small-cnn.onnx');
const SVHN = join(REPO, 'packages/datasets/test/fixtures/svhn/test_32x32.mat');
const EXTRA = ['--', '--val-noise', '16', '--batch-size', '32', '--quiet'];
/**
 * KNN's k for the stand-in: the ImageNet recipes search 1% of the 60 training images (1 row), and a k above the rows
 * KNN searches is refused (it used to be capped silently), so they take k = 1; the CIFAR ones search all rows.
 */
const knnK = (setting: Setting): string[] => {
  const subset = setting.knnFitSamples;
  return ['--knn-k', typeof subset === 'object' && subset.fraction < 1 ? '1' : '3'];
};

let root: string;
const random = mulberry32(7);

/** A CIFAR binary of `n` records: `labelBytes` label bytes (1 for CIFAR-10, 2 for CIFAR-100) + 3072 pixels. */
function cifarRecords(n: number, labelBytes: 1 | 2, classes: number): Buffer {
  const size = labelBytes + 3072;
  const out = Buffer.alloc(n * size);
  for (let i = 0; i < n; i++) {
    out[i * size + labelBytes - 1] = i % classes;
    for (let k = labelBytes; k < size; k++) out[i * size + k] = Math.floor(random() * 256);
  }
  return out;
}

async function images(dir: string, n: number, size = 36): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const pixels = Buffer.from(Array.from({ length: size * size * 3 }, () => Math.floor(random() * 256)));
    await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(dir, `img_${i}.png`));
  }
}

beforeAll(async () => {
  root = tempDir();
  const c10 = join(root, 'cifar-10-batches-bin');
  mkdirSync(c10);
  for (let b = 1; b <= 5; b++) writeFileSync(join(c10, `data_batch_${b}.bin`), cifarRecords(8, 1, 10));
  writeFileSync(join(c10, 'test_batch.bin'), cifarRecords(40, 1, 10));
  const c100 = join(root, 'cifar-100-binary');
  mkdirSync(c100);
  writeFileSync(join(c100, 'train.bin'), cifarRecords(40, 2, 100));
  writeFileSync(join(c100, 'test.bin'), cifarRecords(40, 2, 100));
  mkdirSync(join(root, 'svhn'));
  copyFileSync(SVHN, join(root, 'svhn', 'test_32x32.mat'));
  for (const d of ['LSUN_C', 'LSUN_resize', 'iSUN', 'Places365', 'dtd/images/banded', 'iNaturalist', 'SUN', 'Places']) await images(join(root, d), 6);
  // One class folder per class of the stand-in model (10): a folder missing a class is refused (labels would shift).
  for (const wnid of ['n01440764', 'n01443537', 'n01484850', 'n01491361', 'n01494475', 'n01496331', 'n01498041', 'n01514668', 'n01514859', 'n01518878']) {
    await images(join(root, 'imagenet', 'train', wnid), 6, 48);
    await images(join(root, 'imagenet', 'val', wnid), 4, 48);
  }
});

async function runIn(setting: Setting) {
  let stdout = '';
  let stderr = '';
  const save = join(tempDir(), 'results');
  const code = await runSetting(setting, ['--data-root', root, '--model', MODEL, '--save', save, ...EXTRA, ...knnK(setting)], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr, report: () => JSON.parse(readFileSync(join(save, 'report.json'), 'utf8')) as EvalReport };
}

/** Two decimals (percent) of a fraction, and a signed difference in points: computed here, not by the code under test. */
const pct = (v: number) => (v * 100).toFixed(2);
const diff = (ours: number, paper: number) => {
  const text = (ours * 100 - paper).toFixed(2);
  return text === '-0.00' ? '0.00' : ours * 100 - paper > 0 && text !== '0.00' ? `+${text}` : text;
};
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The printed comparison line of `method` on `ood` (our name), ours from the run's JSON beside the paper's values. */
function comparisonLine(report: EvalReport, method: string, label: string, ood: string, paper: { fpr95: number; auroc: number }): RegExp {
  const r = ood === 'Average' ? report.averages.find((a) => a.method === method)! : report.results.find((x) => x.method === method && x.ood === ood)!;
  const cells = [pct(r.fpr95), paper.fpr95.toFixed(2), diff(r.fpr95, paper.fpr95), pct(r.auroc), paper.auroc.toFixed(2), diff(r.auroc, paper.auroc)];
  return new RegExp(`^${esc(ood)}\\s+${esc(label)}\\s+${cells.map(esc).join('\\s+')}$`, 'm');
}

describe('tools/repro', () => {
  // The paper's values of one known cell per recipe (Energy on the first OOD set), as printed in its table, and a paper-only row.
  it.each([
    ['cifar10', CIFAR10, ['SVHN', 'LSUN-C', 'LSUN-R', 'iSUN', 'Places365', 'Textures'], 5, { fpr95: 1.5, auroc: 99.67 }, { fpr95: 9.14, auroc: 97.74 }, /^SVHN\s+- \(MSP\+OPNP\)\s+3\.32\s+98\.87$/m],
    ['cifar100', CIFAR100, ['SVHN', 'LSUN-C', 'LSUN-R', 'iSUN', 'Places365', 'Textures'], 6, { fpr95: 15.21, auroc: 96.94 }, { fpr95: 29.13, auroc: 93.0 }, /^SVHN\s+- \(MSP\+OPNP\)\s+24\.65\s+92\.94$/m],
    ['imagenet-resnet50', IMAGENET_RESNET50, ['iNaturalist', 'SUN', 'Places', 'Textures'], 1, { fpr95: 55.72, auroc: 89.95 }, { fpr95: 58.41, auroc: 86.17 }, /^iNaturalist\s+- \(ODIN\)\s+47\.66\s+89\.66$/m],
    ['imagenet-vit-b16', IMAGENET_VIT_B16, ['iNaturalist', 'SUN', 'Places', 'Textures'], 2, { fpr95: 7.61, auroc: 98.23 }, { fpr95: 32.09, auroc: 92.71 }, /^iNaturalist\s+- \(OPP\+ReAct\)\s+2\.52\s+99\.35$/m],
  ] as const)('%s runs end to end on the stand-in layout and prints our table beside the paper\'s', async (_name, setting, oods, table, energy, energyAverage, paperOnly) => {
    const run = await runIn(setting);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(setting.title);
    for (const ood of oods) expect(run.stdout).toContain(ood);
    expect(run.stdout).toMatch(/^opnp\s+\d+\.\d\d\s+\d+\.\d\d/m);
    expect(run.stdout).toContain(`Ours vs the paper, Table ${table} of Chen et al., "Optimal Parameter and Neuron Pruning for Out-of-Distribution Detection", NeurIPS 2023`);
    // Our cell (from the saved JSON), the paper's and the difference, computed here.
    const report = run.report();
    expect(run.stdout).toMatch(comparisonLine(report, 'energy', 'energy', oods[0], energy));
    expect(run.stdout).toMatch(comparisonLine(report, 'energy', 'energy', 'Average', energyAverage));
    // A method the paper has and we do not run: the paper's cells, ours empty.
    expect(run.stdout).toMatch(paperOnly);
    // Every OOD set of the setting maps to a paper column (no notes about unmatched sets).
    expect(run.stdout).not.toMatch(/^Note:/m);
  });

  it('the script entry point runs as documented (node --conditions=@opnp/source --import tsx)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@opnp/source', '--import', 'tsx', 'tools/repro/cifar10.ts', '--data-root', root, '--model', MODEL, ...EXTRA, ...knnK(CIFAR10)],
      { cwd: REPO, timeout: 110_000 }, // killed before the test's own timeout, so a slow run fails with the child's output
    );
    expect(stdout).toContain('CIFAR-10 (ID)');
    expect(stdout).toMatch(/^opnp\s+\d+\.\d\d/m);
  }, 120_000);

  it('prints usage and exits 2 without --data-root / --model', async () => {
    let stderr = '';
    const code = await runSetting(CIFAR10, ['--model', MODEL], { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/usage: .*--data-root/);
  });
});
