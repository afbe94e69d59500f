/**
 * Several runs of one evaluation (`--model a --model b`, `--seeds`) reported as mean ± std, checked against
 * the single runs and a population standard deviation computed here; and `--benchmark imagenet --data-root`,
 * which fills the paper's sets from a data root laid out as documented (made here from the demo's digits) and KNN's
 * training subset (1%, as the KNN paper), which `--knn-fit-samples` overrides.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadIdx } from '@opnp/datasets/node';
import { demoAssetPath } from '../src/commands/demo.js';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const RUN = ['--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `fashion=${FASHION_VAL}`, '--ood', 'noise=noise:200#seed=3', ...NORMALISE, '--methods', 'msp,energy,opnp', '--val-noise', '100', '--batch-size', '250', '-q'];

interface Cell { mean: number; std: number }
interface Summary { std: string; runs: { label: string }[]; results: ({ method: string; ood: string } & Record<string, Cell>)[]; averages: ({ method: string } & Record<string, Cell>)[] }
interface Report { results: { method: string; ood: string; fpr95: number; auroc: number }[]; averages: { method: string; fpr95: number; auroc: number }[] }

async function json<T>(args: string[]): Promise<T> {
  const run = await cli([...args, '--json', '-']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** The population mean and standard deviation by their definitions. */
function populationStats(values: number[]): Cell {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.map((v) => (v - mean) ** 2).reduce((a, b) => a + b, 0) / values.length) };
}

describe('opnp eval over several runs', () => {
  it('--seeds: every cell is the mean and population std of the single runs', async () => {
    const summary = await json<Summary>(['eval', '--model', MODEL, ...RUN, '--seeds', '0,1,2']);
    const singles = await Promise.all([0, 1, 2].map((seed) => json<Report>(['eval', '--model', MODEL, ...RUN, '--seed', String(seed)])));
    expect(summary.std).toBe('population');
    expect(summary.runs.map((r) => r.label)).toEqual(['seed 0', 'seed 1', 'seed 2']);
    expect(summary.results).toHaveLength(3 * 2);
    for (const cell of summary.results) {
      for (const metric of ['fpr95', 'auroc'] as const) {
        const want = populationStats(singles.map((s) => s.results.find((r) => r.method === cell.method && r.ood === cell.ood)![metric]));
        expect(cell[metric]!.mean).toBeCloseTo(want.mean, 12);
        expect(cell[metric]!.std).toBeCloseTo(want.std, 12);
      }
    }
    for (const avg of summary.averages) {
      const want = populationStats(singles.map((s) => s.averages.find((r) => r.method === avg.method)!.auroc));
      expect(avg.auroc!.mean).toBeCloseTo(want.mean, 12);
      expect(avg.auroc!.std).toBeCloseTo(want.std, 12);
    }
    // The seeds change the training subset, the validation split and the noise: the runs differ somewhere.
    expect(summary.results.some((c) => c.auroc!.std > 0)).toBe(true);
  });

  it('--model twice: two copies of one model give the single run as mean and a zero std; the table shows mean ± std', async () => {
    const dir = tempDir();
    // Another file of the same network: an identical copy runs once (a repeat), so one unknown protobuf field
    // (number 100, varint 1), which ONNX parsers skip, is appended.
    const copy = join(dir, 'copy.onnx');
    writeFileSync(copy, Buffer.concat([readFileSync(MODEL), Buffer.from([0xa0, 0x06, 0x01])]));
    const summary = await json<Summary>(['eval', '--model', MODEL, '--model', copy, ...RUN]);
    const single = await json<Report>(['eval', '--model', MODEL, ...RUN]);
    expect(summary.runs.map((r) => r.label)).toEqual([MODEL, copy]);
    for (const cell of summary.results) {
      const want = single.results.find((r) => r.method === cell.method && r.ood === cell.ood)!;
      expect(cell.fpr95).toEqual({ mean: want.fpr95, std: 0 });
      expect(cell.auroc).toEqual({ mean: want.auroc, std: 0 });
    }
    const table = await cli(['eval', '--model', MODEL, '--model', copy, ...RUN, '--format', 'markdown']);
    expect(table.stdout).toMatch(/^\| Method \| fashion FPR95 \| fashion AUROC \| noise FPR95 \| noise AUROC \| Average FPR95 \| Average AUROC \|$/m);
    expect(table.stdout).toMatch(/^\| opnp \| \d+\.\d\d ± 0\.00 \|/m);
    const refused = await cli(['eval', '--model', MODEL, '--model', copy, ...RUN, '--save', join(dir, 'r')]);
    expect(refused.stderr).toMatch(/--save belongs to one run/);
    const cached = await cli(['eval', '--model', MODEL, '--model', copy, ...RUN, '--ood', 'f2=features:f.npy']);
    expect(cached.stderr).toMatch(/f2=features:f\.npy holds the features of one model: with several --model give the datasets themselves/);
    rmSync(dir, { recursive: true, force: true });
  });
});

/** Writes `count` images of an IDX file from `from` as greyscale JPEGs into `folder(i, label)`. */
async function writeJpegs(images: string, labels: string | undefined, from: number, count: number, folder: (label: number) => string, ext: string): Promise<void> {
  const idx = await loadIdx(images);
  const classes = labels ? (await loadIdx(labels)).data : undefined;
  const [, h, w] = idx.dims as [number, number, number];
  for (let i = from; i < from + count; i++) {
    const dir = folder(classes ? Number(classes[i]) : 0);
    mkdirSync(dir, { recursive: true });
    const pixels = Buffer.from((idx.data as Uint8Array).subarray(i * h * w, (i + 1) * h * w));
    await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).jpeg({ quality: 95 }).toFile(join(dir, `${i}.${ext}`));
  }
}

describe('opnp eval --benchmark', () => {
  it('imagenet: the train and val folders and the four OOD sets of the paper under --data-root, as if given by hand', async () => {
    const root = tempDir();
    const digits = demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz');
    const labels = demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz');
    const wnid = (label: number) => `n0000000${label}`;
    await writeJpegs(digits, labels, 0, 120, (l) => join(root, 'imagenet/train', wnid(l)), 'JPEG');
    await writeJpegs(digits, labels, 120, 60, (l) => join(root, 'imagenet/val', wnid(l)), 'JPEG');
    const fashion = demoAssetPath('fashion-val-images-idx3-ubyte.gz');
    for (const [k, folder] of ['iNaturalist', 'SUN', 'Places', 'dtd/images/banded'].entries()) await writeJpegs(fashion, undefined, k * 15, 15, () => join(root, folder), 'jpg');
    const flags = [...NORMALISE, '--methods', 'msp,energy,opnp', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--batch-size', '64', '-q'];
    const filled = await json<Report & { counts: { train: number; idTest: number; ood: Record<string, number> } }>(['eval', '--model', MODEL, '--benchmark', 'imagenet', '--data-root', root, ...flags]);
    expect(filled.counts).toMatchObject({ train: 120, idTest: 60, ood: { iNaturalist: 15, SUN: 15, Places: 15, Textures: 15 } });
    const byHand = await json<Report>([
      'eval', '--model', MODEL, '--train', `imagenet:${root}/imagenet#train`, '--test', `imagenet:${root}/imagenet#val`,
      '--ood', `iNaturalist=folder:${root}/iNaturalist#nolabels`, '--ood', `SUN=folder:${root}/SUN#nolabels`, '--ood', `Places=folder:${root}/Places#nolabels`, '--ood', `Textures=folder:${root}/dtd/images#nolabels`, ...flags,
    ]);
    expect(filled).toEqual(byHand);
    expect((await cli(['eval', '--model', MODEL, '--benchmark', 'imagenet'])).stderr).toMatch(/required option '--data-root <dir>' not specified/);
    expect((await cli(['eval', '--model', MODEL, '--benchmark', 'svhn', '--data-root', root])).stderr).toMatch(/--benchmark: expected one of cifar10, cifar100, imagenet, got "svhn"/);
    rmSync(root, { recursive: true, force: true });
  });

  it('imagenet: KNN searches 1% of the training set, as the KNN paper; --knn-fit-samples overrides it', async () => {
    const root = tempDir();
    const wnid = (label: number) => `n0000000${label}`;
    await writeJpegs(demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz'), demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz'), 0, 300, (l) => join(root, 'imagenet/train', wnid(l)), 'JPEG');
    await writeJpegs(demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz'), demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz'), 300, 40, (l) => join(root, 'imagenet/val', wnid(l)), 'JPEG');
    for (const folder of ['iNaturalist', 'SUN', 'Places', 'dtd/images/banded']) await writeJpegs(demoAssetPath('fashion-val-images-idx3-ubyte.gz'), undefined, 0, 10, () => join(root, folder), 'jpg');
    const run = ['eval', '--model', MODEL, '--benchmark', 'imagenet', '--data-root', root, ...NORMALISE, '--methods', 'energy,knn', '--knn-k', '2', '--batch-size', '64', '-q'];
    type Counts = { counts: { fit: number; knnFit: number } };
    expect((await json<Counts>(run)).counts).toMatchObject({ fit: 0, knnFit: 3 });
    expect((await json<Counts>([...run, '--knn-fit-samples', 'all'])).counts).toMatchObject({ knnFit: 300 });
    expect((await json<Counts>([...run, '--knn-fit-samples', '20'])).counts).toMatchObject({ knnFit: 20 });
    expect((await json<Counts>([...run, '--knn-fit-samples', '10%'])).counts).toMatchObject({ knnFit: 30 });
    for (const bad of ['0', '-5', '0%', '101%', 'half']) expect((await cli([...run, '--knn-fit-samples', bad])).stderr, bad).toMatch(/--knn-fit-samples: expected/);
    rmSync(root, { recursive: true, force: true });
  });
});
