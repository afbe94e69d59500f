/**
 * Whether two inputs given under different paths hold the same bytes (`cp model.onnx copy.onnx`), for the warnings
 * about repeated inputs (flag-warnings.ts). Inputs are compared cheaply first and read only when that cannot tell
 * them apart: files by size, then their first 64 KiB, then the SHA-256 of the whole file; folders by their listing
 * (relative names, kinds and file sizes, walked in step and left at the first difference), then file by file as
 * files. So inputs of different sizes are never read, and nothing is read at start-up unless two inputs could be
 * copies. Digests come from the pipeline's `hashFile` (kept per real path, size and modification time), so a file
 * hashed here is not hashed again for the run's fingerprint.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '@opnp/pipeline/extract';

/** What two inputs with identical contents are: two files or two folders. */
export type CopyKind = 'files' | 'folders';

/** Bytes compared before a file is hashed. */
const HEAD_BYTES = 64 << 10;

/** Folder levels walked at most (a symlink cycle would go on forever: deeper trees are taken as different). */
const MAX_DEPTH = 64;

interface Entry {
  readonly name: string;
  readonly kind: 'file' | 'folder' | 'other';
  readonly size: number;
}

/** The first `bytes` bytes of `path`. */
async function headOf(path: string, bytes: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await file.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Whether the files `a` and `b` hold the same bytes: equal sizes, equal first bytes, then equal SHA-256 digests. */
async function sameFileContents(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a), stat(b)]);
  if (x.size !== y.size) return false;
  const head = Math.min(x.size, HEAD_BYTES);
  const [headA, headB] = await Promise.all([headOf(a, head), headOf(b, head)]);
  if (!headA.equals(headB)) return false;
  if (x.size <= HEAD_BYTES) return true;
  const [digestA, digestB] = await Promise.all([hashFile(a), hashFile(b)]);
  return digestA === digestB;
}

/** The entries of folder `dir`, sorted by name, with their kind and (for files) size; symlinks are followed. */
async function entriesOf(dir: string): Promise<Entry[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (name): Promise<Entry> => {
      const info = await stat(join(dir, name)).catch(() => undefined);
      const kind = info?.isFile() ? 'file' : info?.isDirectory() ? 'folder' : 'other';
      return { name, kind, size: kind === 'file' ? info!.size : 0 };
    }),
  );
}

/**
 * Whether the folders `a` and `b` list the same relative names, kinds and file sizes (walked in step, stopping at the
 * first difference); the file pairs to compare are added to `pairs`.
 */
async function sameListing(a: string, b: string, pairs: [string, string][], depth = 0): Promise<boolean> {
  if (depth > MAX_DEPTH) return false;
  const [x, y] = await Promise.all([entriesOf(a), entriesOf(b)]);
  if (x.length !== y.length) return false;
  if (x.some((e, i) => e.name !== y[i]!.name || e.kind !== y[i]!.kind || e.size !== y[i]!.size || e.kind === 'other')) return false;
  for (const entry of x) {
    const [pathA, pathB] = [join(a, entry.name), join(b, entry.name)];
    if (entry.kind === 'file') pairs.push([pathA, pathB]);
    else if (!(await sameListing(pathA, pathB, pairs, depth + 1))) return false;
  }
  return true;
}

/** File pairs of two folders compared at once (small image files: the opens, not the bytes, take the time). */
const PAIRS_AT_ONCE = 32;

/** Whether the folders `a` and `b` hold the same files with the same bytes under the same relative names. */
async function sameFolderContents(a: string, b: string): Promise<boolean> {
  const pairs: [string, string][] = [];
  if (!(await sameListing(a, b, pairs))) return false;
  for (let start = 0; start < pairs.length; start += PAIRS_AT_ONCE) {
    const same = await Promise.all(pairs.slice(start, start + PAIRS_AT_ONCE).map(([x, y]) => sameFileContents(x, y)));
    if (same.includes(false)) return false;
  }
  return true;
}

/**
 * Whether `a` and `b` (paths of two inputs) hold identical contents: `'files'` or `'folders'` when they do,
 * `undefined` when they differ, are of different kinds, or cannot be read (opening them reports that).
 */
export async function identicalContents(a: string, b: string): Promise<CopyKind | undefined> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    if (x.isFile() && y.isFile()) return (await sameFileContents(a, b)) ? 'files' : undefined;
    if (x.isDirectory() && y.isDirectory()) return (await sameFolderContents(a, b)) ? 'folders' : undefined;
    return undefined;
  } catch {
    return undefined;
  }
}
