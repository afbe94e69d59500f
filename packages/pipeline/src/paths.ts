/**
 * Output paths are checked before any work starts, so a mistyped folder fails in a second instead of
 * after an hour of extraction: the parent folder exists and is writable, and the path is not a folder.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';

/** An output file a command will write, and what it is (for the message: "--json", "the features"). */
export interface OutputTarget {
  readonly path: string;
  readonly what: string;
}

async function statOrUndefined(path: string) {
  return stat(path).catch(() => undefined);
}

/**
 * Checks that `path` can be written as a file: its folder exists, is a folder and is writable, and `path`
 * itself is absent or a file.
 *
 * @throws OpnpError `IO_ERROR` naming the path, the flag and what is wrong
 */
export async function assertWritableFile(path: string, what: string): Promise<void> {
  const absolute = resolve(path);
  const folder = dirname(absolute);
  const parent = await statOrUndefined(folder);
  if (!parent) throw new OpnpError('IO_ERROR', `Cannot write ${what} to ${path}: folder ${folder} does not exist`, { file: path, hint: 'Create the folder first or fix the path' });
  if (!parent.isDirectory()) throw new OpnpError('IO_ERROR', `Cannot write ${what} to ${path}: ${folder} is not a folder`, { file: path });
  const target = await statOrUndefined(absolute);
  if (target?.isDirectory()) throw new OpnpError('IO_ERROR', `Cannot write ${what} to ${path}: it is a folder`, { file: path, hint: 'Pass a file name inside the folder' });
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new OpnpError('IO_ERROR', `Cannot write ${what} to ${path}: folder ${folder} is not writable`, { file: path });
  }
}

/**
 * Checks every target (see {@link assertWritableFile}) and that no two name the same file.
 *
 * @throws OpnpError `IO_ERROR` for an unwritable path, `INVALID_ARGUMENT` for two outputs on one file
 */
export async function assertOutputTargets(targets: readonly (OutputTarget | undefined)[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const target of targets) {
    if (!target) continue;
    const key = resolve(target.path);
    const other = seen.get(key);
    if (other !== undefined) throw new OpnpError('INVALID_ARGUMENT', `${other} and ${target.what} are the same file: ${target.path}`, { file: target.path, hint: 'Give each output its own file' });
    seen.set(key, target.what);
    await assertWritableFile(target.path, target.what);
  }
}

/**
 * Checks that the folder `path` would be created in exists and is writable (for outputs that may be a
 * file or a folder, e.g. an exported TensorFlow.js detector).
 *
 * @throws OpnpError `IO_ERROR` naming the path
 */
export async function assertParentFolder(path: string, what: string): Promise<void> {
  const folder = dirname(resolve(path));
  const parent = await statOrUndefined(folder);
  if (!parent?.isDirectory()) throw new OpnpError('IO_ERROR', `Cannot write ${what} to ${path}: folder ${folder} does not exist`, { file: path, hint: 'Create the folder first or fix the path' });
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new OpnpError('IO_ERROR', `Cannot write ${what} to ${path}: folder ${folder} is not writable`, { file: path });
  }
}

/** Whether `path` is an existing regular file. */
export async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}
