/**
 * Building blocks for backend authors: what every {@link FeatureExtractor} implementation needs besides
 * running its model (the ONNX and TensorFlow.js backends both use them). Exported from `@opnp/core/backend`.
 */
import { OpnpError } from '../errors.js';
import type { ExtractResult, InputBatch, InputSpec } from '../feature-extractor.js';
import type { LinearHead } from '../head.js';

/**
 * Checks a batch against a model input: `{ data: Float32Array, shape }`, the same rank, every static
 * dimension equal (the batch dimension is free), `data.length` equal to the product of `shape`, and at most
 * `maxBatchSize` rows when given. Throws `SHAPE_MISMATCH` saying what the model expects.
 */
export function assertBatchMatchesInput(batch: InputBatch, spec: InputSpec, maxBatchSize?: number): void {
  const expected = `[${spec.shape.map((d, i) => (d === null ? (i === 0 ? 'N' : '?') : d)).join(', ')}]`;
  const shape = batch?.shape;
  if (!batch || !(batch.data instanceof Float32Array) || !Array.isArray(shape)) {
    throw new OpnpError('SHAPE_MISMATCH', 'An input batch is { data: Float32Array, shape: number[] }', { expected, actual: typeof batch });
  }
  const bad =
    shape.length !== spec.shape.length ||
    shape.some((d, i) => !Number.isInteger(d) || d < 0 || (i > 0 && spec.shape[i] !== null && spec.shape[i] !== d));
  if (bad) {
    throw new OpnpError('SHAPE_MISMATCH', `Input batch shape does not match the model input "${spec.name}"`, {
      expected,
      actual: `[${shape.join(', ')}]`,
      hint: spec.layout === 'NCHW' || spec.layout === 'NHWC' ? `The model expects ${spec.layout} images` : undefined,
    });
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (batch.data.length !== count) {
    throw new OpnpError('SHAPE_MISMATCH', 'Input batch data length does not match its shape', {
      expected: `${count} values for [${shape.join(', ')}]`,
      actual: batch.data.length,
    });
  }
  if (maxBatchSize !== undefined && shape[0]! > maxBatchSize) {
    throw new OpnpError('SHAPE_MISMATCH', 'Batch is larger than maxBatchSize', { expected: `N <= ${maxBatchSize}`, actual: shape[0] });
  }
}

/** Tolerance of a head check: passes when `maxAbsDiff <= atol + rtol * max|logits|`. */
export interface HeadCheckTolerance {
  /** Absolute tolerance. Default `1e-4`. */
  atol?: number;
  /** Tolerance relative to the largest logit magnitude. Default `1e-3`. */
  rtol?: number;
}

/** Result of comparing `W h + b` (computed by `@opnp/core`) with a model's own logits. */
export interface HeadCheck {
  /** `max |(W h + b) - f|` over the checked logits (NaN if any difference is NaN). */
  readonly maxAbsDiff: number;
  /** `maxAbsDiff / max |f|`: the difference relative to the logit scale. */
  readonly maxRelDiff: number;
  /** Whether `maxAbsDiff <= atol + rtol * max |f|`. */
  readonly withinTolerance: boolean;
  /** Number of samples the check ran on. */
  readonly samples: number;
  /**
   * The entry of the largest difference (the first NaN difference, if any): its row, its class (logit column), the
   * logit the model returned (`got`) and `W h + b` in float64 (`expected`). Absent when no entry was compared.
   */
  readonly worst?: { readonly row: number; readonly column: number; readonly got: number; readonly expected: number };
}

/**
 * Rows the extractors' automatic head check (on their first batch) compares: enough to tell a wrong head or
 * feature tensor (it differs on every row), few enough to cost nothing at start-up.
 */
export const AUTO_HEAD_CHECK_ROWS = 16;

/**
 * Checks that the detected head reproduces the model: compares `W h + b` of `result.features`, summed in float64,
 * with `result.logits` (`[N x C]`), over the first `maxRows` rows (default: all).
 */
export function compareHead(head: LinearHead, result: ExtractResult, tolerance: HeadCheckTolerance = {}, maxRows = Infinity): HeadCheck {
  const { weight, bias } = head;
  const [C, D] = [weight.rows, weight.cols];
  if (result.features.cols !== D || result.logits.cols !== C || result.features.rows !== result.logits.rows) {
    throw new OpnpError('SHAPE_MISMATCH', 'The features and logits do not match the head', { expected: `features N x ${D}, logits N x ${C}`, actual: `features ${result.features.rows} x ${result.features.cols}, logits ${result.logits.rows} x ${result.logits.cols}` });
  }
  const rows = Math.min(result.logits.rows, maxRows);
  const [h, f, w] = [result.features.data, result.logits.data, weight.data];
  let maxAbs = 0;
  let scale = 0;
  let worst: HeadCheck['worst'];
  check: for (let n = 0; n < rows; n++) {
    for (let c = 0; c < C; c++) {
      let sum = bias[c]!;
      for (let d = 0; d < D; d++) sum += w[c * D + d]! * h[n * D + d]!;
      const logit = f[n * C + c]!;
      const diff = Math.abs(sum - logit);
      if (Number.isNaN(diff)) {
        maxAbs = NaN; // a NaN anywhere fails the check
        worst = { row: n, column: c, got: logit, expected: sum };
        break check;
      }
      if (worst === undefined || diff > maxAbs) {
        maxAbs = diff;
        worst = { row: n, column: c, got: logit, expected: sum };
      }
      if (Math.abs(logit) > scale) scale = Math.abs(logit);
    }
  }
  const atol = tolerance.atol ?? 1e-4;
  const rtol = tolerance.rtol ?? 1e-3;
  return {
    maxAbsDiff: maxAbs,
    maxRelDiff: scale > 0 ? maxAbs / scale : maxAbs,
    withinTolerance: maxAbs <= atol + rtol * scale,
    samples: rows,
    ...(worst !== undefined ? { worst } : {}),
  };
}

/**
 * Runs a batch of any size `N` through a model whose batch dimension is fixed to `fixedBatch` (or
 * unlimited when undefined): splits it into chunks, zero-pads the last one, and stitches the
 * `features [N x D]` and `logits [N x C]` back together in input order.
 */
export async function extractInFixedBatches(
  batch: InputBatch,
  shape: { readonly fixedBatch: number | undefined; readonly classes: number; readonly dim: number },
  runOnce: (data: Float32Array, shape: readonly number[]) => Promise<ExtractResult>,
): Promise<ExtractResult> {
  const n = batch.shape[0]!;
  const { classes: C, dim: D } = shape;
  if (n === 0) return { features: { rows: 0, cols: D, data: new Float32Array(0) }, logits: { rows: 0, cols: C, data: new Float32Array(0) } };
  const chunk = shape.fixedBatch ?? n;
  if (chunk === n) return runOnce(batch.data, batch.shape);
  const per = batch.data.length / n;
  const features = new Float32Array(n * D);
  const logits = new Float32Array(n * C);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    let data = batch.data.subarray(start * per, (start + count) * per);
    if (count < chunk) {
      const padded = new Float32Array(chunk * per);
      padded.set(data);
      data = padded;
    }
    const part = await runOnce(data, [chunk, ...batch.shape.slice(1)]);
    features.set(part.features.data.subarray(0, count * D), start * D);
    logits.set(part.logits.data.subarray(0, count * C), start * C);
  }
  return { features: { rows: n, cols: D, data: features }, logits: { rows: n, cols: C, data: logits } };
}
