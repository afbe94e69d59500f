/**
 * Loading the model through the backend registry of `@opnp/core`: whichever backends the application
 * registered (`import '@opnp/backend-onnx/register'`, `'@opnp/backend-tfjs/register'`) decide who can
 * open the file. The pipeline itself depends on no backend.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from './fingerprint.js';
import { OpnpError, loadFeatureExtractor, resolveGemmKernel, type FeatureExtractor, type GemmKernel, type LoadOptions } from '@opnp/core/base';
import { optionNames, type OptionNames } from './option-names.js';

/** A loaded model and the fastest registered GEMM kernel. */
export interface LoadedModel {
  /** The model file (or a name, for models built in memory). */
  readonly path: string;
  /** What identifies the model in run fingerprints, for models without a file (default: the file's SHA-256). */
  readonly identity?: JsonValue;
  readonly extractor: FeatureExtractor;
  readonly kernel: GemmKernel;
}

/**
 * Loads `path` with the best registered backend.
 *
 * @throws OpnpError `IO_ERROR` for a missing file or a folder, `BACKEND_UNAVAILABLE` when no registered backend can load it
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const entry = await stat(path).catch(() => undefined);
  if (entry?.isDirectory()) throw await folderAsModelError(path);
  if (!entry?.isFile()) throw new OpnpError('IO_ERROR', `Model file not found: ${path}`, { file: path, hint: `Pass the path of ${MODEL_FILES}` });
  const extractor = await loadFeatureExtractor(path, options);
  return { path, extractor, kernel: await resolveGemmKernel() };
}

/** The model files the first-party backends open (`@opnp/backend-onnx`, `@opnp/backend-tfjs`). */
const MODEL_FILES = 'an ONNX model file (.onnx) or a TensorFlow.js model.json';

/** The model files directly in `folder` (`*.onnx`, `model.json`), sorted; none when it cannot be listed. */
async function modelFilesIn(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  return names.filter((n) => n.toLowerCase().endsWith('.onnx') || n === 'model.json').sort();
}

/** The `IO_ERROR` for a model path that is a folder: what file is expected, and the model files the folder holds. */
async function folderAsModelError(path: string): Promise<OpnpError> {
  const found = await modelFilesIn(path);
  const shown = found.slice(0, 3).map((n) => join(path, n));
  const more = found.length > shown.length ? ` (and ${found.length - shown.length} more)` : '';
  return new OpnpError('IO_ERROR', 'The model path is a directory, not a model file', {
    file: path,
    expected: MODEL_FILES,
    actual: 'a directory',
    hint: found.length === 0 ? `Pass the path of the model file itself (the directory holds no .onnx file or model.json)` : `Pass the path of the model file itself, e.g. ${shown.join(', ')}${more}`,
  });
}

/** Memory one model batch may take for its inputs and outputs (float32), by default. */
export const BATCH_MEMORY_BUDGET = 2 ** 30;

/**
 * The largest batch whose float32 inputs, features and logits fit in `budgetBytes` (dynamic input
 * dimensions other than the batch count as 1), bounded by the extractor's own limit.
 */
export function maxBatchSize(model: LoadedModel, budgetBytes = BATCH_MEMORY_BUDGET): number {
  const { input, head, maxBatchSize: limit } = model.extractor;
  const inputValues = input.shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);
  const perSample = 4 * (inputValues + head.weight.cols + head.weight.rows);
  return Math.max(1, Math.min(limit ?? Infinity, Math.floor(budgetBytes / perSample)));
}

/** `--batch-size 10` for a flag, `batchSize: 10` for a library option. */
function passOption(option: string, value: number): string {
  return option.startsWith('-') ? `${option} ${value}` : `${option}: ${value}`;
}

/**
 * Checks a batch size against {@link maxBatchSize}: the extractor's own limit (`maxBatchSize`), then the memory
 * budget. `option` is how messages name the batch size option (a flag, or a library option such as `batchSize`).
 *
 * @throws OpnpError `INVALID_ARGUMENT` saying the extractor's limit, or how much memory the batch would take and the
 * largest that fits
 */
export function assertBatchSize(model: LoadedModel, batchSize: number, budgetBytes = BATCH_MEMORY_BUDGET, names?: OptionNames): void {
  const option = optionNames(names).batchSize;
  const max = maxBatchSize(model, budgetBytes);
  if (Number.isSafeInteger(batchSize) && batchSize >= 1 && batchSize <= max) return;
  const { input, head, maxBatchSize: limit, backend } = model.extractor;
  if (limit !== undefined && batchSize > limit && limit === max) {
    throw new OpnpError('INVALID_ARGUMENT', `A batch of ${batchSize} samples is more than the extractor of backend "${backend}" takes: its maxBatchSize is ${limit}`, {
      expected: `a batch size from 1 to ${limit}`,
      hint: `Pass ${passOption(option, limit)} (or leave the batch size out: the extractor's limit is then used)`,
    });
  }
  const perSample = 4 * (input.shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1) + head.weight.cols + head.weight.rows);
  const gib = (batchSize * perSample) / 2 ** 30;
  throw new OpnpError('INVALID_ARGUMENT', `A batch of ${batchSize} samples is too large for this model: it needs ${gib.toFixed(1)} GiB for inputs and outputs (input [${input.shape.map((d) => d ?? 'N').join(', ')}])`, {
    expected: `a batch size from 1 to ${max}`,
    hint: `Pass ${passOption(option, Math.min(max, 256))} (the most that fits in ${budgetBytes / 2 ** 30} GiB is ${max})`,
  });
}
