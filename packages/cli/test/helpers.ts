/**
 * Test helpers: run the CLI in-process with captured output; compute reference values through the
 * library API (extractor from @opnp/backend-onnx, datasets, core, metrics).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@opnp/backend-onnx/register';
import { loadFeatureExtractor, resolveGemmKernel, type FeatureExtractor, type Matrix } from '@opnp/core';
import { openDataset, preprocessOptionsFor, type PreprocessOptions } from '@opnp/datasets/node';
import { runCli } from '../src/main.js';
import { demoAssetPath } from '../src/commands/demo.js';

export const MODEL = demoAssetPath('mnist-cnn.onnx');
export const TRAIN = `idx:${demoAssetPath('mnist-train-6k-images-idx3-ubyte.gz')}`;
export const TEST = `idx:${demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz')}`;
export const FASHION = `idx:${demoAssetPath('fashion-test-images-idx3-ubyte.gz')}`;
export const FASHION_VAL = `idx:${demoAssetPath('fashion-val-images-idx3-ubyte.gz')}`;
export const NORMALISE = ['--mean', '0.1307', '--std', '0.3081'];

/** A captured run of the CLI. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `opnp <args>` in-process. */
export async function cli(args: string[], options: { signal?: AbortSignal; stderrTTY?: boolean; onStderr?: (text: string) => void; env?: Record<string, string>; now?: () => number; progressAck?: () => void } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['node', 'opnp', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: {
      isTTY: options.stderrTTY ?? false,
      write: (s: string) => {
        stderr += s;
        options.onStderr?.(s);
      },
    },
    env: options.env ?? {},
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.progressAck ? { progressAck: options.progressAck } : {}),
  });
  return { code, stdout, stderr };
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'opnp-cli-'));
}

let extractor: Promise<FeatureExtractor> | undefined;
/** The demo model, loaded once through the library. */
export function referenceExtractor(): Promise<FeatureExtractor> {
  extractor ??= loadFeatureExtractor(MODEL);
  return extractor;
}

/** Features and logits per batch (batch size as the CLI's), plus labels, through the library API. */
export async function referenceBatches(
  spec: string,
  options: { batchSize: number; subset?: Uint32Array; preprocess?: PreprocessOptions },
): Promise<{ batches: { features: Matrix; logits: Matrix }[]; labels: Int32Array }> {
  const ex = await referenceExtractor();
  const dataset = await openDataset(spec);
  const preprocess = preprocessOptionsFor(ex.input, { mean: 0.1307, std: 0.3081, ...options.preprocess });
  const batches: { features: Matrix; logits: Matrix }[] = [];
  const labels: number[] = [];
  for await (const b of dataset.batches({ batchSize: options.batchSize, preprocess, ...(options.subset ? { subset: options.subset } : {}) })) {
    const out = await ex.extract({ data: b.data, shape: b.shape });
    batches.push(out);
    labels.push(...b.labels);
  }
  return { batches, labels: Int32Array.from(labels) };
}

/** Row-concatenation of matrices. */
export function stack(parts: readonly Matrix[]): Matrix {
  const cols = parts[0]!.cols;
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const data = new Float32Array(rows * cols);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { rows, cols, data };
}

export { resolveGemmKernel };
