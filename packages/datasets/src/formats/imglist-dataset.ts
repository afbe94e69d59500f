/**
 * OpenOOD image lists (Node): one `relative/path label` per line, split at the first space; label -1 = OOD.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { Dataset } from '../types.js';
import { imageFilesDataset } from './image-files.js';
import type { ImageFilesOptions } from './image-files.js';
import { fileSystemError, formatError } from '../errors.js';

/** Options of {@link openImageList}. */
export interface ImageListOptions extends ImageFilesOptions {
  /** Folder the listed paths are relative to (OpenOOD's `data/images_classic/`); default: the list's folder. */
  root?: string;
}

/** One parsed image-list entry. */
export interface ImageListEntry {
  readonly path: string;
  readonly label: number;
}

/**
 * Parses an OpenOOD image list: each non-empty line is `path label`, split at the first space (paths have no
 * spaces in OpenOOD lists; the label is the rest of the line, an integer, `-1` for OOD).
 *
 * @throws OpnpError `'DATASET_FORMAT'` naming the (1-based) line of a malformed entry.
 */
export function parseImageList(text: string, file?: string): ImageListEntry[] {
  const out: ImageListEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const space = line.indexOf(' ');
    const path = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1).trim();
    if (path === '' || !/^-?\d+$/.test(rest)) throw formatError('Malformed image-list line', { file, offset: i + 1, expected: '<relative/path> <integer label>', actual: line.slice(0, 120) });
    const label = Number.parseInt(rest, 10);
    if (label < -1 || label > 2147483647) throw formatError('Image-list label out of range', { file, offset: i + 1, expected: '-1 (OOD) or a class index >= 0', actual: rest });
    out.push({ path, label });
  }
  return out;
}

/**
 * Opens an OpenOOD image list with the images under `options.root`. Classes = largest label + 1 (none when
 * every label is -1). Missing or unreadable images are skipped with a warning at read time (or fail with `strict`).
 */
export async function openImageList(listFile: string, options: ImageListOptions = {}): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(listFile, 'utf8');
  } catch (error) {
    throw fileSystemError(error, listFile);
  }
  const entries = parseImageList(text, listFile);
  const root = options.root ?? dirname(listFile);
  const files = entries.map((e) => (isAbsolute(e.path) ? e.path : join(root, e.path)));
  const labels = Int32Array.from(entries, (e) => e.label);
  let max = -1;
  for (const v of labels) if (v > max) max = v;
  return imageFilesDataset({ format: 'imglist', source: listFile, files, labels, ...(max >= 0 ? { classes: max + 1 } : {}), strict: options.strict ?? false });
}
