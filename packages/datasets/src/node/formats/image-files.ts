/**
 * Datasets of image files (Node, decoded with sharp): image folders `root/<class>/*`, unlabelled folders,
 * and the building block of the ImageNet and OpenOOD image-list loaders.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { loadSharp } from '../sharp-loader.js';
import { IMAGE_EXTENSIONS, compareNames } from '../../formats/image-names.js';
import type { Dataset, DatasetFormat } from '../../types.js';
import { createNodeDataset } from '../sharp-images.js';
import { imageWorkers } from '../image-pool.js';
import type { RawSample } from '../../dataset.js';
import { formatError, notFoundError } from '../../errors.js';
import { fileSystemError } from '../fs-errors.js';

/** Options shared by image-file datasets. */
export interface ImageFilesOptions {
  /** Fail on the first unreadable image instead of skipping it with a warning (default false). */
  strict?: boolean;
  /** Accepted file extensions, lower case with the dot (default `.jpg .jpeg .png .webp`, any case on disk). */
  extensions?: readonly string[];
  /**
   * Read the images as unlabelled (spec option `nolabels`): the same samples in the same order, every label -1 and no
   * class count, so nothing compares the folder names or listed labels with a model's classes. Default false.
   */
  unlabelled?: boolean;
}

/** Options of {@link openImageFolder}. */
export type ImageFolderOptions = ImageFilesOptions;

/** Entries of a folder split into sorted sub-folders and sorted image files (symlinks followed). */
export async function listFolder(dir: string, extensions: readonly string[]): Promise<{ dirs: string[]; images: string[] }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw fileSystemError(error, dir, 'folder');
  }
  const dirs: string[] = [];
  const images: string[] = [];
  for (const entry of entries) {
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(join(dir, entry.name)).catch(() => undefined);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir && !entry.name.startsWith('.')) dirs.push(entry.name);
    else if (isFile && extensions.includes(extname(entry.name).toLowerCase())) images.push(entry.name);
  }
  return { dirs: dirs.sort(compareNames), images: images.sort(compareNames) };
}

/** All image files under `dir`, recursively, in sorted walk order (as torchvision's `ImageFolder`). */
export async function walkImages(dir: string, extensions: readonly string[]): Promise<string[]> {
  const { dirs, images } = await listFolder(dir, extensions);
  const out = images.map((name) => join(dir, name));
  for (const sub of dirs) out.push(...(await walkImages(join(dir, sub), extensions)));
  return out;
}

/** Stored `[C, H, W]` of an image file (alpha not counted), from its header only. */
async function imageShape(files: readonly string[], source: string): Promise<[number, number, number]> {
  let firstError: unknown;
  for (const file of files.slice(0, 16)) {
    try {
      const meta = await (await loadSharp())(file).metadata();
      const channels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
      return [channels >= 3 || meta.space === 'cmyk' ? 3 : 1, meta.height ?? 0, meta.width ?? 0];
    } catch (error) {
      firstError ??= error;
    }
  }
  throw formatError('Cannot read the first images of the dataset', { file: files[0] ?? source, cause: firstError });
}

/** What {@link imageFilesDataset} needs. */
export interface ImageFilesParts {
  readonly format: DatasetFormat;
  readonly source: string;
  readonly files: readonly string[];
  readonly labels: Int32Array;
  readonly classes?: number;
  readonly classNames?: readonly string[];
  readonly strict?: boolean;
}

/**
 * A {@link Dataset} over image files with known labels (-1 = unlabelled). Stored shape is that of the first
 * readable image and `sizesVary` is true: preprocessing must give a size (`centerCrop` or `resize: [h, w]`).
 * Passes decode and preprocess on the image workers (`BatchOptions.workers`).
 */
export async function imageFilesDataset(parts: ImageFilesParts): Promise<Dataset> {
  const { files, labels } = parts;
  if (files.length === 0) throw notFoundError('No images found', { file: parts.source, hint: `Looked for ${IMAGE_EXTENSIONS.join(', ')} files` });
  const shape = await imageShape(files, parts.source);
  async function* read(indices: Uint32Array, signal?: AbortSignal): AsyncGenerator<RawSample> {
    for (const index of indices) {
      signal?.throwIfAborted();
      yield { index, label: labels[index]!, file: files[index]! };
    }
  }
  const labelled = labels.some((v) => v >= 0);
  return createNodeDataset({
    format: parts.format,
    source: parts.source,
    count: files.length,
    shape,
    sizesVary: true,
    eightBit: true,
    strict: parts.strict ?? false,
    ...(labelled ? { labels } : {}),
    ...(parts.classes !== undefined ? { classes: parts.classes } : {}),
    ...(parts.classNames !== undefined ? { classNames: parts.classNames } : {}),
    readLabels: async () => labels.slice(),
    read,
    preparer: imageWorkers,
  });
}

/**
 * Opens an image folder: `root/<class>/**` (classes = sorted sub-folder names, label = class position, files
 * in sorted walk order), or, when `root` has no sub-folders with images, an unlabelled folder of images (OOD
 * sets; labels -1). A class folder without images still counts as a class (as in torchvision's `ImageFolder`
 * numbering), so an empty folder does not shift the labels of the classes after it. With `unlabelled`, the same
 * images are read with labels -1 and no classes.
 *
 * @throws OpnpError `'DATASET_NOT_FOUND'` when the folder is missing or holds no images.
 */
export async function openImageFolder(root: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  const extensions = options.extensions ?? IMAGE_EXTENSIONS;
  const { dirs, images } = await listFolder(root, extensions);
  const files: string[] = [];
  const labelList: number[] = [];
  for (const [label, name] of dirs.entries()) {
    for (const file of await walkImages(join(root, name), extensions)) {
      files.push(file);
      labelList.push(label);
    }
  }
  if (files.length === 0) {
    return imageFilesDataset({ format: 'folder', source: root, files: images.map((n) => join(root, n)), labels: new Int32Array(images.length).fill(-1), strict: options.strict ?? false });
  }
  if (options.unlabelled === true) return imageFilesDataset({ format: 'folder', source: root, files, labels: new Int32Array(files.length).fill(-1), strict: options.strict ?? false });
  return imageFilesDataset({ format: 'folder', source: root, files, labels: Int32Array.from(labelList), classes: dirs.length, classNames: dirs, strict: options.strict ?? false });
}
