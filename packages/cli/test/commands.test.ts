/**
 * `opnp data info`, `opnp demo`, error paths, `opnp sensitivity` (shards, merge, checkpoints) and
 * `opnp extract` (resume, cached features in eval).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { SensitivityAccumulator, neuronSensitivity } from '@opnp/core';
import { loadNpy, subsetIndices } from '@opnp/datasets/node';
import { demoAssetPath } from '../src/commands/demo.js';
import type { EvalReport } from '@opnp/pipeline';
import { cli, FASHION, FASHION_VAL, MODEL, NORMALISE, referenceBatches, referenceExtractor, resolveGemmKernel, stack, tempDir, TEST, TRAIN } from './helpers.js';

describe('opnp data info', () => {
  it('prints { format, count, shape, classes, labels } with --json', async () => {
    const run = await cli(['data', 'info', TEST, '--json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    // Brute force from the raw IDX labels file.
    const raw = gunzipSync(readFileSync(demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz')));
    const histogram: Record<string, number> = {};
    for (let i = 8; i < raw.length; i++) histogram[String(raw[i])] = (histogram[String(raw[i])] ?? 0) + 1;
    expect(JSON.parse(run.stdout)).toEqual({ format: 'idx', count: 2500, shape: [1, 28, 28], classes: 10, labels: histogram });
  });

  it('reports an empty label histogram for unlabelled sets', async () => {
    const run = await cli(['data', 'info', `${FASHION_VAL}#nolabels`, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ count: 500, classes: 0, labels: {} });
  });
});

describe('errors', () => {
  const evalArgs = ['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `fashion=${FASHION}`, ...NORMALISE];
  const oneLine = (text: string) => {
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    expect(text.startsWith('opnp: ')).toBe(true);
  };

  it('missing model file: one line, exit code 1', async () => {
    const run = await cli(['eval', '--model', '/nonexistent/model.onnx', '--train', TRAIN, '--test', TEST, '--ood', `f=${FASHION}`]);
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain('/nonexistent/model.onnx');
    expect(run.stdout).toBe('');
  });

  it('missing dataset file: one line, exit code 1', async () => {
    const run = await cli([...evalArgs.slice(0, 5), '--test', 'idx:/nonexistent/test-images', '--ood', `f=${FASHION}`, '--opnp', 'p_min=1,p_max=1,n_min=1,n_max=1']);
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain('/nonexistent/test-images');
  });

  it.each([
    ['p_min=150,p_max=1,n_min=10,n_max=1', /p_min must be a percentage in \[0, 100\]/],
    ['p_min=10,p_max=1', /missing n_min, n_max/],
    ['p_min=60,p_max=50,n_min=0,n_max=0', /p_min \+ p_max must be below 100/],
    ['p_min=x,p_max=1,n_min=1,n_max=1', /p_min must be a percentage/],
    ['q=1', /expected key=value/],
  ])('bad percentages %s: one line, exit code 1', async (value, message) => {
    const run = await cli([...evalArgs, '--opnp', value]);
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toMatch(message);
  });

  it('unknown method: one line naming it, exit code 1', async () => {
    const run = await cli([...evalArgs, '--methods', 'energy,odinn']);
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain('unknown method "odinn"');
  });

  it('usage errors exit with 2; --help exits with 0 and shows an example', async () => {
    const unknown = await cli([...evalArgs, '--frobnicate']);
    expect(unknown.code).toBe(2);
    oneLine(unknown.stderr);
    const missing = await cli(['eval', '--model', MODEL]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("'--train <dataset>'");
    const noOod = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST]);
    expect(noOod.code).toBe(2);
    for (const command of [['eval'], ['demo'], ['sensitivity'], ['sensitivity', 'merge'], ['extract'], ['data', 'info']]) {
      const help = await cli([...command, '--help']);
      expect(help.code, command.join(' ')).toBe(0);
      expect(help.stdout, command.join(' ')).toMatch(/Example/);
    }
  });
});

describe('opnp demo', () => {
  it('runs the pipeline on the embedded assets and prints the table', async () => {
    const dir = tempDir();
    const run = await cli(['demo', '--quick', '--json', join(dir, 'demo.json')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/grid search \(192 points/);
    for (const method of ['msp', 'energy', 'react', 'dice', 'ash-s', 'mahalanobis', 'knn', 'opp', 'onp', 'opnp', 'opnp+react']) {
      expect(run.stdout).toMatch(new RegExp(`^${method.replace('+', '\\+')}\\s+\\d+\\.\\d\\d`, 'm'));
    }
    const report = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as EvalReport;
    expect(report.selection.searched).toBe(true);
    expect(report.idAccuracy).toBeGreaterThan(0.95);
    expect(Object.keys(report.counts.ood)).toEqual(['fashion', 'noise']);
  });
});

describe('opnp sensitivity', () => {
  const base = ['sensitivity', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.2', '--seed', '3', ...NORMALISE, '--batch-size', '200', '-q'];

  it('writes the C x D and D sensitivities; shards merge to the same sums', async () => {
    const dir = tempDir();
    const full = await cli([...base, '--out', join(dir, 's.npy'), '--neuron-out', join(dir, 'n.npy')]);
    expect(full.code).toBe(0);
    const s = await loadNpy(join(dir, 's.npy'));
    const n = await loadNpy(join(dir, 'n.npy'));
    expect(s.shape).toEqual([10, 128]);
    expect(n.shape).toEqual([128]);

    // Library reference over the same seeded subset.
    const ex = await referenceExtractor();
    const subset = subsetIndices(6000, { fraction: 0.2, seed: 3 });
    const ref = await referenceBatches(TRAIN, { batchSize: 200, subset });
    const acc = new SensitivityAccumulator(ex.head, { kernel: await resolveGemmKernel() });
    for (const b of ref.batches) await acc.add(b.features, b.logits);
    const expected = acc.result();
    expect(expected.count).toBe(1200);
    for (let i = 0; i < expected.values.length; i++) expect(Math.abs(s.data[i]! - expected.values[i]!)).toBeLessThanOrEqual(1e-9 * Math.abs(expected.values[i]!) + 1e-15);
    const neuron = neuronSensitivity(expected);
    for (let j = 0; j < 128; j++) expect(Math.abs(n.data[j]! - neuron[j]!)).toBeLessThanOrEqual(1e-9 * Math.abs(neuron[j]!) + 1e-15);

    for (const i of [1, 2, 3]) {
      const shard = await cli([...base, '--shard', `${i}/3`, '--state-out', join(dir, `part${i}.npy`)]);
      expect(shard.code).toBe(0);
      const meta = JSON.parse(readFileSync(join(dir, `part${i}.npy.json`), 'utf8')) as { count: number; format: string };
      expect(meta.format).toBe('opnp-sensitivity-state');
      expect(meta.count).toBe(400);
    }
    const merge = await cli(['sensitivity', 'merge', ...[1, 2, 3].map((i) => join(dir, `part${i}.npy`)), '--out', join(dir, 'merged.npy'), '-q']);
    expect(merge.code).toBe(0);
    const merged = await loadNpy(join(dir, 'merged.npy'));
    for (let i = 0; i < expected.values.length; i++) expect(Math.abs(merged.data[i]! - s.data[i]!)).toBeLessThanOrEqual(1e-12 * Math.abs(s.data[i]!) + 1e-15);
  });

  it('rejects a bad shard and a torn state pair', async () => {
    const dir = tempDir();
    const bad = await cli([...base, '--shard', '4/3', '--state-out', join(dir, 'x.npy')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--shard');
    const part = await cli([...base, '--shard', '1/3', '--state-out', join(dir, 'p.npy')]);
    expect(part.code).toBe(0);
    const bytes = readFileSync(join(dir, 'p.npy'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(join(dir, 'p.npy'), bytes);
    const merge = await cli(['sensitivity', 'merge', join(dir, 'p.npy'), '--out', join(dir, 'm.npy')]);
    expect(merge.code).toBe(1);
    expect(merge.stderr).toMatch(/do not belong together/);
  });

  it('checkpoints on interrupt and resumes to the same result', async () => {
    const dir = tempDir();
    const clean = await cli([...base, '--out', join(dir, 'clean.npy')]);
    expect(clean.code).toBe(0);
    // Interrupt as soon as the first progress bar is drawn (after the first batch).
    const controller = new AbortController();
    const checkpoint = join(dir, 'ckpt.npy');
    const args = [...base.filter((a) => a !== '-q'), '--checkpoint', checkpoint, '--out', join(dir, 'resumed.npy')];
    const interrupted = await cli(args, { signal: controller.signal, stderrTTY: true, onStderr: (t) => t.includes('/1200') && controller.abort() });
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/checkpoint written to/);
    const meta = JSON.parse(readFileSync(`${checkpoint}.json`, 'utf8')) as { count: number; planned: number };
    expect(meta.count).toBeGreaterThan(0);
    expect(meta.count).toBeLessThan(1200);
    expect(meta.planned).toBe(1200);
    expect(existsSync(join(dir, 'resumed.npy'))).toBe(false);
    const resumed = await cli(args);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming from ${checkpoint}: ${meta.count} of 1200`);
    const a = await loadNpy(join(dir, 'clean.npy'));
    const b = await loadNpy(join(dir, 'resumed.npy'));
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    // A checkpoint of another run is refused.
    const other = await cli([...args.map((x) => (x === '3' ? '4' : x))]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/checkpoint belongs to another run/);
  });
});

describe('opnp extract', () => {
  it('--resize, --crop and --resize-kernel set the image preprocessing', async () => {
    const dir = tempDir();
    const folder = join(dir, 'images', 'any');
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 3; i++) {
      const pixels = Buffer.from(Array.from({ length: 45 * 38 }, (_, k) => (k * (7 + i) + (k % 38) * 11) % 256));
      await sharp(pixels, { raw: { width: 38, height: 45, channels: 1 } }).png().toFile(join(folder, `img_${i}.png`));
    }
    const spec = `folder:${join(dir, 'images')}#nolabels`;
    const extract = async (flags: string[], out: string) => {
      const run = await cli(['extract', '--model', MODEL, '--data', spec, ...NORMALISE, ...flags, '--out', join(dir, out), '--quiet']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      return (await loadNpy(join(dir, out))).data;
    };
    const got = await extract(['--resize', '40', '--crop', '28', '--resize-kernel', 'pil-bicubic'], 'bicubic.npy');
    const want = stack((await referenceBatches(spec, { batchSize: 256, preprocess: { resize: 40, centerCrop: 28, kernel: 'pil-bicubic' } })).batches.map((b) => b.features)).data;
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
    // The default (shorter side to the 28-pixel input, Pillow bilinear) gives other features.
    const plain = await extract([], 'default.npy');
    expect(Array.from(plain).some((v, i) => Math.abs(v - got[i]!) > 1e-3)).toBe(true);
    const bad = await cli(['extract', '--model', MODEL, '--data', spec, '--resize-kernel', 'sinc', '--out', join(dir, 'x.npy')]);
    expect(bad.code).toBe(1); // a bad value (exit 2 is for usage errors)
    expect(bad.stderr).toMatch(/--resize-kernel.*pil-bilinear/);
  });

  it('writes features and logits in dataset order, resumes a partial file, and feeds eval', async () => {
    const dir = tempDir();
    const features = join(dir, 'fval.npy');
    const logitsPath = join(dir, 'fval-logits.npy');
    const ref = await referenceBatches(FASHION_VAL, { batchSize: 128 });
    const H = stack(ref.batches.map((b) => b.features));
    const F = stack(ref.batches.map((b) => b.logits));
    // An interrupted earlier run of the same command: rows on disk in <out>.partial, its sidecar says how many.
    const args = ['extract', '--model', MODEL, '--data', FASHION_VAL, ...NORMALISE, '--out', features, '--logits-out', logitsPath, '--batch-size', '64'];
    const controller = new AbortController();
    const interrupted = await cli(args, { signal: controller.signal, stderrTTY: true, onStderr: (t) => t.includes('/500') && controller.abort() });
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/partial output kept in .*fval\.npy\.partial/);
    const partial = JSON.parse(readFileSync(`${features}.partial.json`, 'utf8')) as { rows: number; nextIndex: number };
    expect(partial.rows).toBeGreaterThan(0);
    expect(partial.rows).toBeLessThan(500);
    const run = await cli(args);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`resuming after ${partial.nextIndex} of 500 samples`);
    expect(existsSync(`${features}.partial`)).toBe(false);
    const h = await loadNpy(features);
    const f = await loadNpy(logitsPath);
    expect(h.shape).toEqual([500, 128]);
    expect(f.shape).toEqual([500, 10]);
    for (let i = 0; i < H.data.length; i++) expect(Math.abs(h.data[i]! - H.data[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(H.data[i]!)));
    for (let i = 0; i < F.data.length; i++) expect(Math.abs(f.data[i]! - F.data[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(F.data[i]!)));

    // eval on cached features (OOD) equals eval on the images.
    const common = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', '--test', TEST, ...NORMALISE, '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1', '--methods', 'energy,msp,opnp', '--json', '-'];
    const fromImages = JSON.parse((await cli([...common, '--ood', `fval=${FASHION_VAL}`])).stdout) as EvalReport;
    const cachedRun = await cli([...common, '--ood', `fval=features:${features}#logits=${logitsPath}`]);
    expect(cachedRun.code).toBe(0);
    const fromCache = JSON.parse(cachedRun.stdout) as EvalReport;
    for (const [k, r] of fromImages.results.entries()) {
      expect(Math.abs(fromCache.results[k]!.auroc - r.auroc)).toBeLessThan(1e-4);
      expect(Math.abs(fromCache.results[k]!.fpr95 - r.fpr95)).toBeLessThan(1e-2);
    }
    // Without logits they are computed from the head.
    const noLogits = await cli([...common, '--ood', `fval=features:${features}`]);
    expect(noLogits.code).toBe(0);
  });
});
