/**
 * Output paths are checked before any work starts, so a mistyped folder fails in a second instead of
 * after an hour of extraction: the parent folder exists and is writable, and the path is not a folder.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { fileIdentity } from '@opnp/core/node';

/** An output file a command will write, and what it is (for the message: "--json", "the features"). */
export interface OutputTarget {
  readonly path: string;
  readonly what: string;
  /** Files written next to it (sidecars, partial files), which no other output and no input may be either. */
  readonly companions?: readonly string[];
}

/** A file a run reads (a model, a dataset file, a labels file), which no output may overwrite. */
export interface InputFile {
  readonly path: string;
  readonly what: string;
}

/** The path a file is known by (see `fileIdentity` of `@opnp/core/node`). */
export const identityOf = fileIdentity;

/**
 * The inputs by identity, each `.npy` input with its `.json` sidecar (cached features, sensitivity states and shards
 * are read with it), so no output lands on the sidecar of an input either.
 */
async function inputsByIdentity(inputs: readonly (InputFile | undefined)[]): Promise<Map<string, InputFile>> {
  const byIdentity = new Map<string, InputFile>();
  for (const input of inputs) {
    if (!input) continue;
    byIdentity.set(await identityOf(input.path), input);
    if (input.path.endsWith('.npy')) {
      const sidecar = `${input.path}.json`;
      const key = await identityOf(sidecar);
      if (!byIdentity.has(key)) byIdentity.set(key, { path: sidecar, what: `the sidecar of ${input.what}` });
    }
  }
  return byIdentity;
}

/** `-` given for an output that is a file (only some outputs, such as JSON reports, may go to standard output). */
function standardOutputError(what: string): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', `${what} cannot be written to standard output ("-"): it is a file`, { hint: 'Give a file name (./- if you really mean a file named -)' });
}

function overwriteError(what: string, input: InputFile, path: string): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', `${what} would overwrite ${input.what}: ${path}`, { file: path, hint: 'Choose another output file name' });
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
 * Checks every target (see {@link assertWritableFile}), that no two outputs (or their companion files) are the same
 * file, and that none of them is one of the run's `inputs`: a typo such as `--out model.onnx` is refused before
 * anything is read, and `--restart` can never overwrite the model or the data.
 *
 * @throws OpnpError `IO_ERROR` for an unwritable path, `INVALID_ARGUMENT` for two outputs on one file or an output on an input
 */
export async function assertOutputTargets(targets: readonly (OutputTarget | undefined)[], inputs: readonly (InputFile | undefined)[] = []): Promise<void> {
  const readers = await inputsByIdentity(inputs);
  const seen = new Map<string, { what: string; companion: boolean }>();
  for (const target of targets) {
    if (!target) continue;
    const files = [{ path: target.path, what: target.what, companion: false }, ...(target.companions ?? []).map((path) => ({ path, what: `a file ${target.what} writes beside it`, companion: true }))];
    if (target.path === '-') throw standardOutputError(target.what);
    for (const { path, what, companion } of files) {
      const key = await identityOf(path);
      const input = readers.get(key);
      if (input) throw overwriteError(what, input, path);
      const other = seen.get(key);
      if (other !== undefined) {
        const clash = companion ? `${target.what} writes a file beside it that would overwrite ${other.what}` : other.companion ? `${what} would overwrite ${other.what}` : `${other.what} and ${what} are the same file`;
        throw new OpnpError('INVALID_ARGUMENT', `${clash}: ${path}`, { file: path, hint: 'Give each output its own file' });
      }
      seen.set(key, { what, companion });
    }
    await assertWritableFile(target.path, target.what);
  }
}

/**
 * Throws unless `target` (a file or folder output) is none of the run's `inputs` (compared by real path).
 *
 * @throws OpnpError `INVALID_ARGUMENT` naming the output and the input it would overwrite
 */
export async function assertNotAnInput(target: OutputTarget, inputs: readonly (InputFile | undefined)[]): Promise<void> {
  const input = (await inputsByIdentity(inputs)).get(await identityOf(target.path));
  if (input) throw overwriteError(target.what, input, target.path);
}

/**
 * Checks that the folder `path` would be created in exists and is writable (for outputs that may be a
 * file or a folder, e.g. an exported TensorFlow.js detector).
 *
 * @throws OpnpError `IO_ERROR` naming the path
 */
export async function assertParentFolder(path: string, what: string): Promise<void> {
  if (path === '-') throw standardOutputError(what);
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
