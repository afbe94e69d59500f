/**
 * Test helpers: the demo's MNIST CNN and data (shipped with @opnp/cli), loaded through the ONNX backend.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@opnp/backend-onnx/register';
import { loadModel, type EvaluationConfig, type LoadedModel } from '../src/index.js';

/** A file of the CLI's demo assets. */
export function demoAsset(name: string): string {
  return fileURLToPath(new URL(`../../cli/assets/demo/${name}`, import.meta.url));
}

export const MODEL = demoAsset('mnist-cnn.onnx');
export const TRAIN = `idx:${demoAsset('mnist-train-6k-images-idx3-ubyte.gz')}`;
export const TEST = `idx:${demoAsset('mnist-test-2500-images-idx3-ubyte.gz')}`;
export const FASHION_VAL = `idx:${demoAsset('fashion-val-images-idx3-ubyte.gz')}`;
export const FASHION_TEST = `idx:${demoAsset('fashion-test-images-idx3-ubyte.gz')}`;
export const NORMALISE = { mean: [0.1307], std: [0.3081] };

let model: Promise<LoadedModel> | undefined;
/** The demo model, loaded once per test file. */
export function demoModel(): Promise<LoadedModel> {
  model ??= loadModel(MODEL);
  return model;
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'opnp-pipeline-'));
}

/**
 * The demo evaluation most tests start from: the demo model, a tenth of its training set, its test set, Fashion-MNIST
 * as the OOD set, a noise validation set of `valNoise` samples, batches of `batchSize`.
 */
export async function demoEvaluation(batchSize: number, valNoise = 200): Promise<EvaluationConfig> {
  return { model: await demoModel(), train: TRAIN, trainFraction: 0.1, test: TEST, ood: [{ name: 'fashion', spec: FASHION_VAL }], preprocess: NORMALISE, valNoise, batchSize };
}
