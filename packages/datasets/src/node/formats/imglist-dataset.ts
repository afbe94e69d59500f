/**
 * OpenOOD image lists (Node): one `relative/path label` per line, split at the first space; label -1 = OOD.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { Dataset } from '../../types.js';
import { parseImageList, type ImageListEntry } from '../../formats/image-list.js';
import { imageFilesDataset } from './image-files.js';
import type { ImageFilesOptions } from './image-files.js';
import { formatError } from '../../errors.js';
import { fileSystemError } from '../fs-errors.js';

/** Options of {@link openImageList}. */
export interface ImageListOptions extends ImageFilesOptions {
  /** Folder the listed paths are relative to (OpenOOD's `data/images_classic/`); default: the list's folder. */
  root?: string;
  /**
   * Accept entries that resolve outside `root` (absolute paths, `../`). Default false: such an entry is a
   * `'DATASET_FORMAT'` error naming the list file, the line and the entry.
   */
  allowOutsideRoot?: boolean;
  /** Called once at open time when `allowOutsideRoot` let entries outside the root through (naming them). */
  onWarning?: (message: string) => void;
}

/**
 * Resolves the entries' paths against `root` (lexically: `..` and absolute paths are followed, symbolic links
 * are not) and returns the paths plus the entries that lie outside `root`.
 */
function resolveEntries(entries: readonly ImageListEntry[], root: string): { files: string[]; outside: ImageListEntry[] } {
  const base = resolve(root);
  const files: string[] = [];
  const outside: ImageListEntry[] = [];
  for (const entry of entries) {
    const file = resolve(base, entry.path);
    const rel = relative(base, file);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) outside.push(entry);
    files.push(file);
  }
  return { files, outside };
}

/**
 * Opens an OpenOOD image list with the images under `options.root`. Classes = largest label + 1 (none when
 * every label is -1). Entries that resolve outside the root are an error unless `allowOutsideRoot` (then
 * they are named through `onWarning`). Missing or unreadable images are skipped at read time and reported
 * through the batch options' `onSkip` / `onWarning` (or fail with `strict`).
 *
 * @throws OpnpError `'DATASET_FORMAT'` for a malformed line or an entry outside the root, `'DATASET_NOT_FOUND'`
 * for a missing list file.
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
  const { files, outside } = resolveEntries(entries, root);
  if (outside.length > 0) {
    const first = outside[0]!;
    if (!options.allowOutsideRoot) {
      throw formatError(`Image-list entry "${first.path}" resolves outside the root folder ${resolve(root)}`, {
        file: listFile,
        offset: first.line,
        actual: `${outside.length} entr${outside.length === 1 ? 'y' : 'ies'} outside the root (first on line ${first.line}: ${first.path})`,
        hint: 'Fix the list or the root (root=<folder>), or add the spec option allow-outside-root to read them anyway',
      });
    }
    const named = outside.slice(0, 5).map((e) => `line ${e.line}: ${e.path}`).join(', ');
    options.onWarning?.(`${listFile}: ${outside.length} entr${outside.length === 1 ? 'y resolves' : 'ies resolve'} outside the root folder ${resolve(root)} (${named}${outside.length > 5 ? ', ...' : ''})`);
  }
  const labels = options.unlabelled === true ? new Int32Array(entries.length).fill(-1) : Int32Array.from(entries, (e) => e.label);
  let max = -1;
  for (const v of labels) if (v > max) max = v;
  return imageFilesDataset({ format: 'imglist', source: listFile, files, labels, ...(max >= 0 ? { classes: max + 1 } : {}), strict: options.strict ?? false });
}
