/**
 * Plausible mistakes of a new user with the inputs (a class folder missing, normalisation given in the wrong
 * units, flags that contradict each other): each ends in a clear error or a warning on stderr, never in exit 0
 * with silently wrong numbers. Through the CLI on the demo's MNIST.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadIdx } from '@opnp/datasets/node';
import { demoAssetPath } from '../src/commands/demo.js';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TRAIN } from './helpers.js';

const SMALL_TRAIN = ['--train', TRAIN, '--train-fraction', '0.05'];

/** Writes the first `count` MNIST test images as PNGs into `root/<digit>/`, leaving out the digits in `skip`. */
async function digitFolder(root: string, count: number, skip: readonly number[]): Promise<void> {
  const images = await loadIdx(demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz'));
  const labels = await loadIdx(demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz'));
  const [, h, w] = images.dims as [number, number, number];
  for (let i = 0; i < count; i++) {
    const digit = Number(labels.data[i]);
    if (skip.includes(digit)) continue;
    mkdirSync(join(root, String(digit)), { recursive: true });
    const pixels = Buffer.from((images.data as Uint8Array).subarray(i * h * w, (i + 1) * h * w));
    await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).png().toFile(join(root, String(digit), `${i}.png`));
  }
}

describe('A6. an image folder missing a class', () => {
  it('is refused as the ID test set, naming the folder, the classes found and the model\'s; an empty class folder keeps the numbering', async () => {
    const dir = tempDir();
    const folder = join(dir, 'digits');
    await digitFolder(folder, 100, [3]);
    const base = ['eval', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--methods', 'msp', '--val-noise', '50'];
    const missing = await cli([...base, '--test', `folder:${folder}`, '--ood', `f=${FASHION_VAL}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`opnp: the image folder ${folder} has 9 class folders (0, 1, 2, 4, 5, 6, 7, 8, 9) but the model has 10 classes`);
    expect(missing.stderr).toMatch(/pass --test-labels <file>/);
    expect(missing.stdout).toBe('');
    // As an OOD set its labels are not used: accepted.
    const ood = await cli([...base, '--test', `idx:${demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz')}`, '--ood', `f=folder:${folder}`]);
    expect(ood.stderr).not.toMatch(/class folders/);
    expect(ood.code).toBe(0);
    // The class present as an empty folder: every label in place (accuracy as high as on the IDX test set).
    mkdirSync(join(folder, '3'));
    const complete = await cli([...base, '--test', `folder:${folder}`, '--ood', `f=${FASHION_VAL}`]);
    expect(complete.code).toBe(0);
    const accuracy = Number(/ID accuracy: ([\d.]+)%/.exec(complete.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(90);
    rmSync(dir, { recursive: true, force: true });
  });
});
