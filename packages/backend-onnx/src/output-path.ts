/**
 * The exported detector must not be written over the model it is built from: writing it atomically over the source
 * (temp file + rename) would silently replace the original model with the detector.
 */
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';

/** The path a file is known by: its real path when it exists (symbolic links and `..` resolved), else its absolute path. */
async function identityOf(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/** Whether `a` and `b` name the same file: equal real paths, or one existing file reached by two hard links. */
async function sameFile(a: string, b: string): Promise<boolean> {
  if ((await identityOf(a)) === (await identityOf(b))) return true;
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

/**
 * Throws unless `outputPath` is another file than `modelFile` (the path the source model was read from, when it
 * was read from a file), compared by real path and by device and inode.
 *
 * @throws OpnpError `INVALID_ARGUMENT` naming both paths
 */
export async function assertNotTheModelFile(outputPath: string, modelFile: string | undefined): Promise<void> {
  if (modelFile === undefined || !(await sameFile(outputPath, modelFile))) return;
  throw new OpnpError('INVALID_ARGUMENT', `exportDetector outputPath ${outputPath} is the model file the detector is built from (${modelFile}): writing it would replace the original model`, {
    file: outputPath,
    hint: 'Choose another output file name, e.g. detector.onnx next to the model',
  });
}
