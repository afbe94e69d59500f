import { describe, expect, it } from 'vitest';
import { detectFormat, parseDatasetSpec, openDataset } from '../src/node/index.js';
import { escapeRegExp, expectOpnpError, fixture } from './helpers.js';

describe('spec strings', () => {
  it('parses prefixes and options', () => {
    expect(parseDatasetSpec('cifar100:./c#train,coarse')).toEqual({ format: 'cifar100', path: './c', options: { split: 'train', cifarLabels: 'coarse' } });
    expect(parseDatasetSpec('imglist:l.txt#root=/data/images_classic,strict')).toEqual({ format: 'imglist', path: 'l.txt', options: { root: '/data/images_classic', strict: true } });
    expect(parseDatasetSpec('C:/data/x.npy')).toEqual({ format: undefined, path: 'C:/data/x.npy', options: {} });
    expect(parseDatasetSpec('idx:a#labels=b,nolabels').options).toEqual({ labels: false });
    expect(() => parseDatasetSpec('x#bogus')).toThrow(/bogus/);
    expect(() => parseDatasetSpec('npy:')).toThrow(/no path/);
  });

  it('detects every format from content', async () => {
    const cases: [string, string][] = [
      [fixture('idx', 'uint8-images-idx3-ubyte'), 'idx'],
      [fixture('idx', 'float32-images-idx3-ubyte.gz'), 'idx'],
      [fixture('cifar10'), 'cifar10'],
      [fixture('cifar100'), 'cifar100'],
      [fixture('cifar100', 'test.bin'), 'cifar100'],
      [fixture('svhn', 'test_32x32.mat'), 'svhn'],
      [fixture('folder'), 'folder'],
      [fixture('imagenet'), 'imagenet'],
      [fixture('imglist', 'list.txt'), 'imglist'],
      [fixture('npy', 'f8.npy'), 'npy'],
    ];
    for (const [path, format] of cases) expect(await detectFormat(path), path).toBe(format);
  });

  it('fails clearly on missing paths and undetectable files', async () => {
    await expectOpnpError(() => openDataset(fixture('nothing-here')), 'DATASET_NOT_FOUND');
    await expectOpnpError(() => openDataset(fixture('folder', 'zebra', 'notes.txt') + '#strict', { format: 'idx' }), 'DATASET_FORMAT');
    await expectOpnpError(() => detectFormat(fixture('folder', 'zebra', 'a.png')), 'DATASET_FORMAT');
    await expectOpnpError(() => openDataset(fixture('svhn', 'test_32x32.mat'), { format: 'cifar10' }), 'DATASET_FORMAT');
  });

  it('tells an unknown format prefix from a missing file', async () => {
    for (const spec of ['noise:abc', 'nyp:./x.npy', 'features:a.npy#x']) {
      const error = await expectOpnpError(() => openDataset(spec), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/^Unknown dataset format prefix "[a-z]+:"/);
      expect(error.message).toContain('idx:, cifar10:, cifar100:, svhn:, folder:, imagenet:, imglist:, npy:');
    }
    expect(parseDatasetSpec('C:/data/x.npy').path).toBe('C:/data/x.npy');
    expect(parseDatasetSpec('./noise:abc').path).toBe('./noise:abc');
    const missing = fixture('npy', 'missing.npy');
    for (const spec of [missing, `npy:${missing}`]) {
      const error = await expectOpnpError(() => openDataset(spec), 'DATASET_NOT_FOUND');
      expect(error.message).toMatch(new RegExp(`^File not found: ${escapeRegExp(missing)}`));
    }
    expect((await expectOpnpError(() => openDataset(`folder:${fixture('no-such-folder')}`), 'DATASET_NOT_FOUND')).message).toMatch(/^Folder not found: /);
  });
});
