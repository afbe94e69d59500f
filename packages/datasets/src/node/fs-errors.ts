/**
 * Typed errors for file-system failures of the Node loaders: a missing file or folder becomes
 * `'DATASET_NOT_FOUND'`, anything else `'IO_ERROR'` naming the path.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OpnpError, isOpnpError } from '@opnp/core/base';
import { notFoundError } from '../errors.js';

/**
 * Wraps a Node file-system error met while reading `file`: ENOENT/ENOTDIR become `'DATASET_NOT_FOUND'`
 * ("File not found: <path>"; "Folder not found" / "File or folder not found" for `kind` `'folder'` / `'path'`), others `'IO_ERROR'`.
 */
export function fileSystemError(error: unknown, file: string, kind: 'file' | 'folder' | 'path' = 'file'): OpnpError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const what = kind === 'folder' ? 'Folder' : kind === 'path' ? 'File or folder' : 'File';
    return notFoundError(`${what} not found: ${file}`, { file, cause: error });
  }
  return new OpnpError('IO_ERROR', `Cannot read ${file} (${String(code ?? (error as Error)?.message ?? error)})`, { file, cause: error });
}

/**
 * Wraps an error met while writing `path` as `'IO_ERROR'`: "Cannot write <path>: folder <dir> does not
 * exist" when the parent folder is missing, else "Cannot write <path> (<code>)".
 */
export async function writeError(error: unknown, path: string): Promise<OpnpError> {
  if (isOpnpError(error) && error.code !== 'IO_ERROR') return error;
  const cause = isOpnpError(error) ? (error.cause ?? error) : error;
  const dir = dirname(path);
  const dirExists = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!dirExists) return new OpnpError('IO_ERROR', `Cannot write ${path}: folder ${dir} does not exist`, { file: path, hint: 'Create the folder first', cause });
  const code = (cause as { code?: unknown } | null)?.code;
  return new OpnpError('IO_ERROR', `Cannot write ${path} (${String(code ?? (cause as Error)?.message ?? cause)})`, { file: path, hint: 'Check that the folder is writable and the disk has room', cause });
}
