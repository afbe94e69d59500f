/**
 * ImageNet-1k layouts (Node): `train/<wnid>/*.JPEG`, a foldered `val/<wnid>/*.JPEG`, or a flat `val/` folder
 * labelled by `LOC_val_solution.csv` (Kaggle's ILSVRC layout).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Dataset } from '../../types.js';
import { IMAGE_EXTENSIONS, compareNames } from '../../formats/image-names.js';
import { WNID, parseValSolution } from '../../formats/imagenet-val-solution.js';
import { imageFilesDataset, listFolder, openImageFolder } from './image-files.js';
import type { ImageFilesOptions } from './image-files.js';
import { argumentError, formatError, notFoundError } from '../../errors.js';
import { fileSystemError } from '../fs-errors.js';

/** Options of {@link openImageNet}. */
export interface ImageNetOptions extends ImageFilesOptions {
  /** `'train'` or `'val'` when `root` holds both (default `'val'`). */
  split?: string;
  /** The `LOC_val_solution.csv` of a flat val folder (default: searched in the folder and up to 4 parents). */
  labels?: string;
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** Finds the split folder under an ImageNet root (plain or Kaggle `ILSVRC/Data/CLS-LOC`). */
async function splitFolder(root: string, split: string): Promise<string | undefined> {
  for (const candidate of [join(root, split), join(root, 'ILSVRC', 'Data', 'CLS-LOC', split), join(root, 'Data', 'CLS-LOC', split)]) {
    if (await isDir(candidate)) return candidate;
  }
  return undefined;
}

/** Searches `dir` and up to 4 parents for a file name. */
async function findUpwards(dir: string, name: string): Promise<string | undefined> {
  let current = dir;
  for (let i = 0; i < 5; i++) {
    if (await isFile(join(current, name))) return join(current, name);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return undefined;
}

/**
 * Opens ImageNet: `root` is a split folder of `<wnid>/` sub-folders, a flat val folder, or a root holding
 * `train/` and `val/` (also under `ILSVRC/Data/CLS-LOC/`). Classes are the sorted wnids (of `train/` when
 * present, else of the split folder / the csv), so labels match the usual 1000-class index.
 *
 * @throws OpnpError `'DATASET_NOT_FOUND'` (no split folder, no csv for a flat val folder), `'DATASET_FORMAT'`
 * (malformed csv, an image without a csv row, a wnid outside the class list).
 */
export async function openImageNet(root: string, options: ImageNetOptions = {}): Promise<Dataset> {
  const extensions = options.extensions ?? IMAGE_EXTENSIONS;
  const split = options.split ?? 'val';
  if (split !== 'train' && split !== 'val') throw argumentError('ImageNet split must be "train" or "val"', { actual: split });
  if (!(await isDir(root))) throw fileSystemError(Object.assign(new Error('not a folder'), { code: 'ENOENT' }), root, 'folder');
  let folder = root;
  let top = await listFolder(root, extensions);
  if (!top.dirs.some((d) => WNID.test(d)) && top.images.length === 0) {
    const found = await splitFolder(root, split);
    if (!found) throw notFoundError(`No ImageNet "${split}" folder`, { file: root, expected: `${split}/ or ILSVRC/Data/CLS-LOC/${split}/` });
    folder = found;
    top = await listFolder(folder, extensions);
  }
  if (top.dirs.some((d) => WNID.test(d))) {
    const dataset = await openImageFolder(folder, options);
    return { ...dataset, format: 'imagenet' } as Dataset;
  }
  // flat val folder + csv (none needed for unlabelled images)
  if (options.unlabelled === true) return imageFilesDataset({ format: 'imagenet', source: folder, files: top.images.map((name) => join(folder, name)), labels: new Int32Array(top.images.length).fill(-1), strict: options.strict ?? false });
  const csv = options.labels ?? (await findUpwards(folder, 'LOC_val_solution.csv'));
  if (!csv) throw notFoundError('Flat ImageNet val folder without LOC_val_solution.csv', { file: folder, hint: 'Pass the csv with the labels option (imagenet:<dir>#labels=<csv>)' });
  let text: string;
  try {
    text = await readFile(csv, 'utf8');
  } catch (error) {
    throw fileSystemError(error, csv);
  }
  const solution = parseValSolution(text, csv);
  const trainFolder = basename(folder) === 'val' ? join(dirname(folder), 'train') : undefined;
  let classNames: string[];
  const trainDirs = trainFolder && (await isDir(trainFolder)) ? (await listFolder(trainFolder, extensions)).dirs.filter((d) => WNID.test(d)) : [];
  if (trainDirs.length > 0) classNames = trainDirs;
  else classNames = [...new Set(solution.values())].sort(compareNames);
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const files = top.images.map((name) => join(folder, name));
  const labels = new Int32Array(files.length);
  for (const [i, name] of top.images.entries()) {
    const id = name.slice(0, name.length - extname(name).length);
    const wnid = solution.get(id);
    if (wnid === undefined) throw formatError('Image has no row in LOC_val_solution.csv', { file: files[i]!, offset: i, hint: `csv: ${csv}` });
    const label = classIndex.get(wnid);
    if (label === undefined) throw formatError('WordNet id is not one of the classes', { file: csv, actual: wnid, expected: `one of the ${classNames.length} class folders of ${trainFolder}` });
    labels[i] = label;
  }
  return imageFilesDataset({ format: 'imagenet', source: folder, files, labels, classes: classNames.length, classNames, strict: options.strict ?? false });
}
