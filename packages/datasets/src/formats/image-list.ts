/**
 * OpenOOD image lists (pure parser, no file access): one `relative/path label` per line, split at the first
 * space; label -1 = OOD.
 */
import { formatError } from '../errors.js';

/** One parsed image-list entry. */
export interface ImageListEntry {
  readonly path: string;
  readonly label: number;
  /** 1-based line number in the list file. */
  readonly line: number;
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
    out.push({ path, label, line: i + 1 });
  }
  return out;
}
