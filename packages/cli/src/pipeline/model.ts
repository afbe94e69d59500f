/**
 * Loading the model: the backend is chosen from the model file by the backend registry (`.onnx` ->
 * `@opnp/backend-onnx`, `model.json` -> `@opnp/backend-tfjs` when installed).
 */
import { stat } from 'node:fs/promises';
import { OpnpError, loadFeatureExtractor, resolveGemmKernel, type FeatureExtractor, type GemmKernel } from '@opnp/core';
import '@opnp/backend-onnx/register';

let tfjsTried: Promise<boolean> | undefined;

/** Registers the optional TensorFlow.js backend if its package is installed; resolves whether it is. */
export function registerOptionalBackends(): Promise<boolean> {
  tfjsTried ??= (async () => {
    try {
      const specifier = '@opnp/backend-tfjs/register';
      await import(specifier);
      return true;
    } catch {
      return false;
    }
  })();
  return tfjsTried;
}

/** A loaded model and the fastest registered GEMM kernel. */
export interface LoadedModel {
  readonly path: string;
  readonly extractor: FeatureExtractor;
  readonly kernel: GemmKernel;
}

/**
 * Loads `path` with the best registered backend.
 *
 * @throws OpnpError `IO_ERROR` for a missing file, `BACKEND_UNAVAILABLE` when no backend can load it
 * (with a hint to install `@opnp/backend-tfjs` for `model.json`).
 */
export async function loadModel(path: string, onWarning?: (message: string) => void): Promise<LoadedModel> {
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) throw new OpnpError('IO_ERROR', `Model file not found: ${path}`, { hint: 'Pass --model <model.onnx | model.json>' });
  const tfjs = await registerOptionalBackends();
  try {
    const extractor = await loadFeatureExtractor(path, onWarning ? { onWarning } : {});
    return { path, extractor, kernel: await resolveGemmKernel() };
  } catch (error) {
    if (!tfjs && path.endsWith('.json') && error instanceof OpnpError && error.code === 'BACKEND_UNAVAILABLE') {
      throw new OpnpError('BACKEND_UNAVAILABLE', `No backend can load ${path}`, { hint: 'TensorFlow.js models need the optional package @opnp/backend-tfjs: npm install @opnp/backend-tfjs' });
    }
    throw error;
  }
}
