/**
 * The identity of a file path for "is this output one of the inputs?" checks (pipeline outputs, detector export).
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * The path a file is known by: its real path when it exists (symbolic links and `..` resolved), else the real path of
 * its nearest existing folder joined with the rest, so `link/new.json` and `target/new.json` are one file.
 *
 * @example
 * ```ts
 * if ((await fileIdentity(outputPath)) === (await fileIdentity(modelPath))) throw new Error('would overwrite the model');
 * ```
 */
export async function fileIdentity(path: string): Promise<string> {
  const absolute = resolve(path);
  const real = await realpath(absolute).catch(() => undefined);
  if (real !== undefined) return real;
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(await fileIdentity(parent), basename(absolute));
}
