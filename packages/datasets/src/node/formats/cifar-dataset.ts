/**
 * CIFAR-10 / CIFAR-100 datasets on disk (Node): one `.bin` file or the standard folder, streamed by offset.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset } from '../../types.js';
import type { CifarLabelKind, CifarVariant } from '../../formats/cifar.js';
import { CIFAR_IMAGE_BYTES, cifarClasses, cifarRecordBytes, cifarRecordLabel, resolveCifarVariant } from '../../formats/cifar.js';
import { createNodeDataset } from '../sharp-images.js';
import type { RawSample } from '../../dataset.js';
import { fileSize, readRecords } from '../io.js';
import { argumentError, notFoundError } from '../../errors.js';
import { fileSystemError } from '../fs-errors.js';

/** Options of {@link openCifar}. */
export interface CifarOptions {
  /** Default: from the folder's file names, or from the record size of a single file. */
  variant?: CifarVariant;
  /** For folders: `'train'` (`data_batch_1..5.bin` / `train.bin`) or `'test'` (`test_batch.bin` / `test.bin`); default `'test'`. */
  split?: string;
  /** CIFAR-100 label kind (default `'fine'`). */
  labels?: CifarLabelKind;
  /** Read the images as unlabelled (spec option `nolabels`): every label -1, no class count. Default false. */
  unlabelled?: boolean;
}

const LAYOUT = {
  cifar10: { train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'], test: ['test_batch.bin'] },
  cifar100: { train: ['train.bin'], test: ['test.bin'] },
} as const;

async function readNames(file: string): Promise<string[] | undefined> {
  try {
    return (await readFile(file, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  } catch {
    return undefined;
  }
}

/** Files, variant and class names of a CIFAR folder. */
async function folderLayout(dir: string, options: CifarOptions): Promise<{ files: string[]; variant: CifarVariant; classNames?: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw fileSystemError(error, dir, 'folder');
  }
  const has = new Set(names);
  const variant: CifarVariant | undefined = options.variant ?? (has.has('test_batch.bin') || has.has('data_batch_1.bin') ? 'cifar10' : has.has('test.bin') || has.has('train.bin') ? 'cifar100' : undefined);
  if (!variant) throw notFoundError('Not a CIFAR binary folder', { file: dir, expected: 'data_batch_1..5.bin and test_batch.bin, or train.bin and test.bin' });
  const split = options.split ?? 'test';
  if (split !== 'train' && split !== 'test') throw argumentError('CIFAR split must be "train" or "test"', { actual: split });
  const files = LAYOUT[variant][split].map((n) => join(dir, n));
  for (const [k, name] of LAYOUT[variant][split].entries()) {
    if (!has.has(name)) throw notFoundError(`CIFAR ${split} file missing`, { file: files[k]! });
  }
  const namesFile = variant === 'cifar10' ? 'batches.meta.txt' : options.labels === 'coarse' ? 'coarse_label_names.txt' : 'fine_label_names.txt';
  const classNames = await readNames(join(dir, namesFile));
  return { files, variant, ...(classNames && classNames.length === cifarClasses(variant, options.labels) ? { classNames } : {}) };
}

/**
 * Opens CIFAR-10 / CIFAR-100 binary data (a `.bin` file or the standard folder) as a {@link Dataset} of stored
 * shape `[3, 32, 32]` (8-bit). Labels are read lazily by {@link Dataset.readLabels} (label bytes only).
 *
 * @throws OpnpError `'DATASET_FORMAT'` (size not a whole number of records, label out of range), `'DATASET_NOT_FOUND'`.
 */
export async function openCifar(path: string, options: CifarOptions = {}): Promise<Dataset> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw fileSystemError(error, path, 'path');
  }
  const kind = options.labels ?? 'fine';
  if (kind !== 'fine' && kind !== 'coarse') throw argumentError('CIFAR-100 labels must be "fine" or "coarse"', { actual: kind });
  let files: string[];
  let variant: CifarVariant | undefined = options.variant;
  let classNames: string[] | undefined;
  if (isDirectory) ({ files, variant, classNames } = await folderLayout(path, options));
  else files = [path];
  const counts: number[] = [];
  for (const file of files) {
    const size = await fileSize(file);
    variant = resolveCifarVariant(size, variant, file);
    counts.push(size / cifarRecordBytes(variant));
  }
  const verify = async () => files.map((file, f) => `${file}: file length = ${counts[f]} whole ${cifarRecordBytes(variant!)}-byte records`);
  const v = variant!;
  const record = cifarRecordBytes(v);
  const starts = [0];
  for (const c of counts) starts.push(starts[starts.length - 1]! + c);
  const count = starts[starts.length - 1]!;

  /** Runs over the files, yielding `[global index, record, byte offset, file]` for ascending indices. */
  async function* records(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<[number, Uint8Array, number, string]> {
    let k = 0;
    for (const [f, file] of files.entries()) {
      const begin = k;
      while (k < indices.length && indices[k]! < starts[f + 1]!) k++;
      if (k === begin) continue;
      const local = new Uint32Array(k - begin);
      for (let j = 0; j < local.length; j++) local[j] = indices[begin + j]! - starts[f]!;
      for await (const [j, bytes] of readRecords(file, 0, record, local, signal)) yield [starts[f]! + local[j]!, bytes, local[j]! * record, file];
    }
  }
  async function* read(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RawSample> {
    for await (const [index, bytes, offset, file] of records(indices, signal)) {
      const label = options.unlabelled === true ? -1 : cifarRecordLabel(bytes, v, kind, file, offset);
      const pixels = bytes.slice(record - CIFAR_IMAGE_BYTES);
      yield { index, label, pixels: { data: pixels, channels: 3, height: 32, width: 32, layout: 'CHW' } };
    }
  }
  async function readLabels(): Promise<Int32Array> {
    const all = new Uint32Array(count);
    for (let i = 0; i < count; i++) all[i] = i;
    const labels = new Int32Array(count);
    if (options.unlabelled === true) return labels.fill(-1);
    for await (const [index, bytes, offset, file] of records(all)) labels[index] = cifarRecordLabel(bytes, v, kind, file, offset);
    return labels;
  }
  return createNodeDataset({
    format: v,
    source: path,
    count,
    shape: [3, 32, 32],
    eightBit: true,
    ...(options.unlabelled === true ? {} : { classes: cifarClasses(v, kind), ...(classNames ? { classNames } : {}) }),
    readLabels,
    read,
    verify,
  });
}
