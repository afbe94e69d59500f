/**
 * Labels files that override a dataset's own labels (`--train-labels`, `--test-labels`, `--labels`).
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { loadIdx, loadNpy } from '@opnp/datasets/node';
import { hashFile, type JsonValue } from './fingerprint.js';

/**
 * The identity of a labels file for run fingerprints: the SHA-256 of its bytes and their count (not its path: the
 * same labels under another name are the same run, other labels under the same name are not).
 *
 * @throws OpnpError `IO_ERROR` when the file cannot be read
 */
export async function labelsFileIdentity(path: string): Promise<JsonValue> {
  try {
    const info = await stat(path);
    return { sha256: await hashFile(path), bytes: info.size };
  } catch {
    throw new OpnpError('IO_ERROR', `labels file not found: ${path}`, { file: path, hint: 'Fix the path of the labels file' });
  }
}

/** Reads a labels file: IDX (raw or gzip) or a 1-D `.npy` array; non-integer values become -1 (unknown). */
export async function loadLabelsFile(path: string): Promise<Int32Array> {
  if (extname(path).toLowerCase() === '.npy') {
    const array = await loadNpy(path);
    if (array.shape.length !== 1) throw new OpnpError('SHAPE_MISMATCH', 'A labels .npy must be 1-D', { file: path, expected: '[N]', actual: array.shape });
    return Int32Array.from(array.data, (v) => (Number.isInteger(v) ? v : -1));
  }
  const idx = await loadIdx(path);
  return Int32Array.from(idx.data as ArrayLike<number>);
}

/** `labels` when it has `count` entries; otherwise a `SHAPE_MISMATCH` naming the file. */
export function checkLabelCount(labels: Int32Array, count: number, file: string): Int32Array {
  if (labels.length !== count) {
    throw new OpnpError('SHAPE_MISMATCH', 'The labels file has another number of samples than the dataset', { file, expected: count, actual: labels.length });
  }
  return labels;
}
