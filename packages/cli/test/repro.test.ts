/**
 * The paper-reproduction scripts (tools/repro) end to end on tiny stand-in folders in the documented layout:
 * CIFAR binaries, an SVHN .mat, ImageNet-style folders and OOD image folders written here with sharp, and a
 * small 3 x 32 x 32 ONNX CNN from the backend-onnx fixtures.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '@opnp/core';
import { tempDir } from './helpers.js';
import { runSetting, type Setting } from '../../../tools/repro/lib.js';
import { CIFAR10, CIFAR100, IMAGENET_RESNET50, IMAGENET_VIT_B16 } from '../../../tools/repro/settings.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = join(REPO, 'packages/backend-onnx/test/fixtures/small-cnn.onnx');
const SVHN = join(REPO, 'packages/datasets/test/fixtures/svhn/test_32x32.mat');
const EXTRA = ['--', '--val-noise', '16', '--batch-size', '32', '--knn-k', '3', '--quiet'];

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
  for (const wnid of ['n01440764', 'n01443537', 'n01484850']) {
    await images(join(root, 'imagenet', 'train', wnid), 6, 48);
    await images(join(root, 'imagenet', 'val', wnid), 10, 48);
  }
});

async function runIn(setting: Setting) {
  let stdout = '';
  let stderr = '';
  const code = await runSetting(setting, ['--data-root', root, '--model', MODEL, ...EXTRA], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('tools/repro', () => {
  it.each([
    ['cifar10', CIFAR10, ['SVHN', 'LSUN-C', 'LSUN-R', 'iSUN', 'Places365', 'Textures']],
    ['cifar100', CIFAR100, ['SVHN', 'LSUN-C', 'LSUN-R', 'iSUN', 'Places365', 'Textures']],
    ['imagenet-resnet50', IMAGENET_RESNET50, ['iNaturalist', 'SUN', 'Places', 'Textures']],
    ['imagenet-vit-b16', IMAGENET_VIT_B16, ['iNaturalist', 'SUN', 'Places', 'Textures']],
  ] as const)('%s runs end to end on the stand-in layout and prints our table and the paper column', async (_name, setting, oods) => {
    const run = await runIn(setting);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(setting.title);
    for (const ood of oods) expect(run.stdout).toContain(ood);
    expect(run.stdout).toMatch(/^opnp\s+\d+\.\d\d\s+\d+\.\d\d/m);
    // The paper's numbers are not bundled (none found verbatim in a citable source): the script says so.
    if (setting.paper === null) expect(run.stdout).toMatch(/paper's numbers are not bundled/);
    else expect(run.stdout).toMatch(/ours vs the paper/);
  });

  it('the script entry point runs as documented (node --conditions=@opnp/source --import tsx)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@opnp/source', '--import', 'tsx', 'tools/repro/cifar10.ts', '--data-root', root, '--model', MODEL, ...EXTRA],
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
