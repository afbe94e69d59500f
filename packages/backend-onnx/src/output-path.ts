/**
 * The exported detector must not be written over the model it is built from: writing it atomically over the source
 * (temp file + rename) would silently replace the original model with the detector.
 */
import { stat } from 'node:fs/promises';
import { OpnpError } from '@opnp/core/base';
import { fileIdentity } from '@opnp/core/node';

/** Whether `a` and `b` name the same file: equal real paths, or one existing file reached by two hard links. */
async function sameFile(a: string, b: string): Promise<boolean> {
  if ((await fileIdentity(a)) === (await fileIdentity(b))) return true;
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
