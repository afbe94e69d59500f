import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { datasetInfo, openDataset, openImageFolder, openImageList, openImageNet, parseImageList, parseValSolution, selectSamples } from '../src/node/index.js';
import type { ProgressEvent, SkipEvent } from '../src/node/index.js';
import { FIXTURES, collect, expectClose, expectOpnpError, fixture, pix } from './helpers.js';

/** CHW raw values of fixture image n (6 x 5), channels replicated from channel 0 when `grey`. */
function chw(n: number, grey = false): number[] {
  const out: number[] = [];
  for (let c = 0; c < 3; c++) for (let y = 0; y < 6; y++) for (let x = 0; x < 5; x++) out.push(pix(n, grey ? 0 : c, y, x));
  return out;
}

const raw = { centerCrop: [6, 5] as [number, number], scale: 1, channels: 3 };

describe('image folders', () => {
  it('reads root/<class>/** with sorted classes and files, grey and RGBA images made RGB', async () => {
    const ds = await openDataset(fixture('folder'));
    expect(ds.format).toBe('folder');
    expect(ds.classNames).toEqual(['apple', 'mixed', 'zebra']);
    expect(ds.classes).toBe(3);
    expect(ds.count).toBe(6);
    expect(ds.shape).toEqual([3, 6, 5]);
    expect(ds.sizesVary).toBe(true);
    const { data, labels } = await collect(ds, { batchSize: 4, preprocess: raw });
    expect(labels).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(data)).toEqual([...chw(2), ...chw(3), ...chw(4, true), ...chw(5), ...chw(1), ...chw(0)]);
  });

  it('counts a class folder without images as a class, so the labels after it keep their numbers', async () => {
    const root = mkdtempSync(join(tmpdir(), 'opnp-folder-'));
    const pixels = Buffer.alloc(4 * 4, 128);
    for (const name of ['a', 'c']) {
      mkdirSync(join(root, name));
      await sharp(pixels, { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(join(root, name, 'x.png'));
    }
    mkdirSync(join(root, 'b'));
    const ds = await openImageFolder(root);
    expect(ds.classNames).toEqual(['a', 'b', 'c']);
    expect(ds.classes).toBe(3);
    expect(Array.from(await ds.readLabels())).toEqual([0, 2]);
    rmSync(root, { recursive: true, force: true });
  });

  it('needs an output size when image sizes may vary', async () => {
    const ds = await openImageFolder(fixture('folder'));
    await expectOpnpError(() => collect(ds), 'INVALID_ARGUMENT');
  });

  it('converts RGB to grey with 0.299 R + 0.587 G + 0.114 B', async () => {
    const ds = await openImageFolder(fixture('folder'));
    const { data } = await collect(ds, { subset: Uint32Array.from([0]), preprocess: { ...raw, channels: 1 } });
    const expected: number[] = [];
    for (let y = 0; y < 6; y++) for (let x = 0; x < 5; x++) expected.push(0.299 * pix(2, 0, y, x) + 0.587 * pix(2, 1, y, x) + 0.114 * pix(2, 2, y, x));
    expectClose(data, expected, 1e-6);
  });

  it('skips an unreadable image with a warning and counts it; strict fails naming the file', async () => {
    const ds = await openDataset(`folder:${fixture('ood')}`);
    expect(ds.classes).toBeUndefined();
    const warnings: string[] = [];
    const events: ProgressEvent[] = [];
    const { data, labels, indices } = await collect(ds, { preprocess: raw, onWarning: (m) => warnings.push(m), onProgress: (e) => events.push(e) });
    expect(indices).toEqual([0, 1]);
    expect(labels).toEqual([-1, -1]);
    expect(Array.from(data)).toEqual([...chw(6), ...chw(7)]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('3_corrupt.png');
    expect(events.at(-1)).toMatchObject({ count: 2, total: 3, skipped: 1 });
    const strict = await openDataset(`${fixture('ood')}#strict`);
    const error = await expectOpnpError(() => collect(strict, { preprocess: raw }), 'DATASET_FORMAT');
    expect(error.file).toContain('3_corrupt.png');
  });

  it('decodes JPEG and resizes the shorter side with a sharp kernel, then centre-crops (ImageNet-style)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-jpeg-'));
    try {
      mkdirSync(join(dir, 'a'));
      const w = 40;
      const h = 30;
      const pixels = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) pixels[(y * w + x) * 3 + c] = (x * 5 + y * 3 + c * 40) % 256;
      await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(join(dir, 'a', 'img.jpg'));
      const ds = await openDataset(dir);
      expect(ds.shape).toEqual([3, 30, 40]);
      const batches = await collect(ds, { preprocess: { resize: 20, centerCrop: 16, layout: 'NHWC', kernel: 'linear' } });
      expect(batches.shapes).toEqual([[1, 16, 16, 3]]);
      // resize 30x40 -> 20x26 (floor(20 * 40 / 30)), crop top = round(2) = 2, left = round(5) = 5
      const resized = await sharp(join(dir, 'a', 'img.jpg')).resize({ width: 26, height: 20, fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false }).raw().toBuffer();
      const expected: number[] = [];
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) for (let c = 0; c < 3; c++) expected.push(resized[((y + 2) * 26 + x + 5) * 3 + c]! / 255);
      expectClose(batches.data, expected, 1e-6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ImageNet layouts', () => {
  it('reads a flat val folder with LOC_val_solution.csv, classes from train/', async () => {
    const ds = await openDataset(fixture('imagenet'));
    expect(ds.format).toBe('imagenet');
    expect(ds.classNames).toEqual(['n01440764', 'n01443537', 'n01484850']);
    expect(ds.count).toBe(3);
    const { data, labels } = await collect(ds, { preprocess: raw });
    expect(labels).toEqual([2, 0, 2]);
    expect(Array.from(data)).toEqual([...chw(20), ...chw(21), ...chw(22)]);
  });

  it('reads train/<wnid>/ and a split folder given directly', async () => {
    const train = await openImageNet(fixture('imagenet'), { split: 'train' });
    const { data, labels } = await collect(train, { preprocess: raw });
    expect(labels).toEqual([0, 1, 2]);
    expect(Array.from(data)).toEqual([...chw(10), ...chw(11), ...chw(12)]);
    const direct = await openDataset(`imagenet:${fixture('imagenet', 'train')}`);
    expect(direct.count).toBe(3);
    expect((await datasetInfo(direct)).labels).toEqual({ 0: 1, 1: 1, 2: 1 });
  });

  it('parses the csv and names the line of a malformed row', async () => {
    const map = parseValSolution('ImageId,PredictionString\nILSVRC2012_val_00000001,n01751748 1 2 3 4 n01751748 5 6 7 8\n');
    expect(map.get('ILSVRC2012_val_00000001')).toBe('n01751748');
    expect((await expectOpnpError(() => parseValSolution('ImageId,PredictionString\nx,\n', 'f.csv'), 'DATASET_FORMAT')).offset).toBe(2);
  });
});

describe('OpenOOD image lists', () => {
  it('parses lines at the first space with -1 for OOD, naming the line of a bad entry', async () => {
    expect(parseImageList('a/b.png 3\n\nx.png -1\r\n')).toEqual([
      { path: 'a/b.png', label: 3, line: 1 },
      { path: 'x.png', label: -1, line: 3 },
    ]);
    expect((await expectOpnpError(() => parseImageList('a/b c.png 3\n'), 'DATASET_FORMAT')).offset).toBe(1);
    const error = await expectOpnpError(() => openImageList(fixture('imglist', 'bad.txt')), 'DATASET_FORMAT');
    expect(error.offset).toBe(2);
    expect(error.file).toContain('bad.txt');
  });

  it('reads the listed images under a root folder', async () => {
    const ds = await openDataset(`${fixture('imglist', 'list.txt')}#root=${FIXTURES}`);
    expect(ds.format).toBe('imglist');
    expect(ds.classes).toBe(5);
    const { data, labels } = await collect(ds, { preprocess: raw });
    expect(labels).toEqual([4, -1, 0]);
    expect(Array.from(data)).toEqual([...chw(0), ...chw(6), ...chw(2)]);
  });
});

describe('skipped images are observable', () => {
  /** A folder a/{0,1,2}.jpg b/{3,4}.jpg with 2.jpg cut short (decodable header, broken data). */
  async function folderWithCorruptJpeg(dir: string): Promise<string[]> {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    const files = [join(dir, 'a', '0.jpg'), join(dir, 'a', '1.jpg'), join(dir, 'a', '2.jpg'), join(dir, 'b', '3.jpg'), join(dir, 'b', '4.jpg')];
    for (const [n, file] of files.entries()) {
      const pixels = Buffer.alloc(8 * 6 * 3);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + n * 50) % 256;
      const jpeg = await sharp(pixels, { raw: { width: 8, height: 6, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
      writeFileSync(file, n === 2 ? jpeg.subarray(0, jpeg.length - 2) : jpeg);
    }
    return files;
  }

  it('names every skipped file through onSkip, keeps labels, indices and rows aligned, and counts skips', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-skip-'));
    try {
      const files = await folderWithCorruptJpeg(dir);
      const ds = await openDataset(`folder:${dir}`);
      expect(ds.count).toBe(5);
      const skips: SkipEvent[] = [];
      const warnings: string[] = [];
      const events: ProgressEvent[] = [];
      const opts = { batchSize: 2, preprocess: { centerCrop: [6, 8] as [number, number], scale: 1, layout: 'NHWC' as const } };
      const { data, labels, indices } = await collect(ds, { ...opts, onSkip: (s) => skips.push(s), onWarning: (m) => warnings.push(m), onProgress: (e) => events.push(e) });
      expect(skips).toHaveLength(1);
      expect(skips[0]).toMatchObject({ index: 2, file: files[2] });
      expect(skips[0]!.reason).toMatch(/^Cannot decode image/);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(files[2]);
      expect(events.at(-1)).toMatchObject({ count: 4, total: 5, skipped: 1 });
      expect(indices).toEqual([0, 1, 3, 4]);
      expect(labels).toEqual([0, 0, 1, 1]);
      // every delivered row is the decoded pixels of the file its index names
      const expected: number[] = [];
      for (const i of indices) expected.push(...(await sharp(files[i]!).raw().toBuffer()));
      expect(Array.from(data)).toEqual(expected);
      // a batch whose only sample is skipped is not delivered, but its skip is still reported
      const single: SkipEvent[] = [];
      expect((await collect(ds, { ...opts, batchSize: 1, onSkip: (s) => single.push(s) })).indices).toEqual([0, 1, 3, 4]);
      expect(single.map((s) => s.index)).toEqual([2]);
      // views report view positions
      const view = selectSamples(ds, Uint32Array.from([1, 2, 4]));
      const viewSkips: SkipEvent[] = [];
      expect((await collect(view, { ...opts, onSkip: (s) => viewSkips.push(s) })).indices).toEqual([0, 2]);
      expect(viewSkips).toMatchObject([{ index: 1, file: files[2] }]);
      // strict from the spec string fails on the first unreadable image, naming it
      const strict = await openDataset(`folder:${dir}#strict`);
      const error = await expectOpnpError(() => collect(strict, opts), 'DATASET_FORMAT');
      expect(error.file).toBe(files[2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('image-list entries outside the root', () => {
  it('is an error naming the list, line and entry unless allow-outside-root; missing files are named when skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-list-'));
    try {
      const outside = fixture('folder', 'zebra', 'a.png');
      const list = join(dir, 'list.txt');
      writeFileSync(list, `ood/1.png -1\n../../etc/passwd 0\n`);
      const error = await expectOpnpError(() => openDataset(`imglist:${list}#root=${FIXTURES}`), 'DATASET_FORMAT');
      expect(error.file).toBe(list);
      expect(error.offset).toBe(2);
      expect(error.message).toContain('../../etc/passwd');
      expect(error.message).toMatch(/allow-outside-root/);
      writeFileSync(list, `ood/1.png -1\n\n${outside} 1\n`);
      const absolute = await expectOpnpError(() => openImageList(list, { root: join(FIXTURES, 'ood') }), 'DATASET_FORMAT');
      expect(absolute.offset).toBe(3);
      expect(absolute.message).toContain(outside);

      writeFileSync(list, `1.png -1\n../folder/zebra/a.png 1\nmissing.png 0\n`);
      const warnings: string[] = [];
      const ds = await openDataset(`imglist:${list}#root=${join(FIXTURES, 'ood')},allow-outside-root`, { onWarning: (m) => warnings.push(m) });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('line 2: ../folder/zebra/a.png');
      const skips: SkipEvent[] = [];
      const { data, indices } = await collect(ds, { preprocess: raw, onSkip: (s) => skips.push(s) });
      expect(indices).toEqual([0, 1]);
      expect(Array.from(data)).toEqual([...chw(6), ...chw(1)]);
      expect(skips).toMatchObject([{ index: 2, file: join(FIXTURES, 'ood', 'missing.png') }]);
      expect(skips[0]!.reason).toMatch(/^Image file not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('#nolabels reads the same samples unlabelled', () => {
  /** Pixels and labels of a whole pass, and what the dataset says of its classes. */
  async function read(spec: string) {
    const ds = await openDataset(spec);
    const { data, labels } = await collect(ds, { preprocess: raw });
    return { ds, data: Array.from(data), labels, readLabels: Array.from(await ds.readLabels()) };
  }

  it('image folders with class folders, ImageNet (class folders or a flat val folder without its csv) and image lists', async () => {
    const flatVal = mkdtempSync(join(tmpdir(), 'opnp-val-')); // no LOC_val_solution.csv in it or its parents
    for (const name of ['ILSVRC2012_val_00000001.png', 'ILSVRC2012_val_00000002.png']) writeFileSync(join(flatVal, name), readFileSync(fixture('imagenet', 'val', name)));
    const cases = [
      [fixture('folder'), 6],
      [`imagenet:${fixture('imagenet', 'train')}`, 3],
      [`${fixture('imglist', 'list.txt')}#root=${FIXTURES}`, 3],
    ] as const;
    for (const [spec, count] of cases) {
      const labelled = await read(spec);
      const unlabelled = await read(`${spec}${spec.includes('#') ? ',' : '#'}nolabels`);
      expect(labelled.labels.some((l) => l >= 0), spec).toBe(true);
      expect(unlabelled.ds.count, spec).toBe(count);
      expect(unlabelled.data, spec).toEqual(labelled.data);
      expect(unlabelled.labels, spec).toEqual(new Array(count).fill(-1));
      expect(unlabelled.readLabels, spec).toEqual(new Array(count).fill(-1));
      expect(unlabelled.ds.classes, spec).toBeUndefined();
      expect(unlabelled.ds.classNames, spec).toBeUndefined();
      expect(unlabelled.ds.labels, spec).toBeUndefined();
    }
    await expectOpnpError(() => openDataset(`imagenet:${flatVal}`), 'DATASET_NOT_FOUND');
    const val = await read(`imagenet:${flatVal}#nolabels`);
    expect(val.labels).toEqual([-1, -1]);
    expect(val.data).toEqual([...chw(20), ...chw(21)]);
    rmSync(flatVal, { recursive: true, force: true });
  });
});
