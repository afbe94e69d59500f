/**
 * The classifier head: the last fully connected layer `f = W h + b`.
 */
import { OpnpError } from './errors.js';
import { gemm, gemmSync, type GemmKernel } from './gemm.js';
import { assertMatrix, type Matrix } from './matrix.js';

/** A linear classifier head: `weight` is `C x D` (one row per class), `bias` has length `C`. */
export interface LinearHead {
  readonly weight: Matrix;
  readonly bias: Float32Array;
}

/** Number of classes `C` of a head. */
export function numClasses(head: LinearHead): number {
  return head.weight.rows;
}

/** Feature dimension `D` of a head. */
export function featureDim(head: LinearHead): number {
  return head.weight.cols;
}

/** Creates a checked {@link LinearHead}; `bias` defaults to zeros. */
export function linearHead(weight: Matrix, bias?: Float32Array | ArrayLike<number>): LinearHead {
  assertMatrix(weight, 'head weight');
  const b = bias === undefined ? new Float32Array(weight.rows) : bias instanceof Float32Array ? bias : Float32Array.from(bias);
  const head = { weight, bias: b };
  assertHead(head);
  return head;
}

/** Throws `SHAPE_MISMATCH` unless `head` is a consistent `C x D` head with a length-`C` bias. */
export function assertHead(head: LinearHead): void {
  assertMatrix(head.weight, 'head weight');
  if (!(head.bias instanceof Float32Array) || head.bias.length !== head.weight.rows) {
    throw new OpnpError('SHAPE_MISMATCH', 'Head bias length must equal the number of classes (weight rows)', {
      expected: head.weight.rows,
      actual: head.bias instanceof Float32Array ? head.bias.length : typeof head.bias,
    });
  }
}

/** Throws `SHAPE_MISMATCH` unless `features` has `D` columns matching the head. */
export function assertFeaturesMatchHead(head: LinearHead, features: Matrix, name = 'features'): void {
  assertMatrix(features, name);
  if (features.cols !== head.weight.cols) {
    throw new OpnpError('SHAPE_MISMATCH', `${name} width must equal the head's feature dimension D`, {
      expected: `N x ${head.weight.cols}`,
      actual: `${features.rows} x ${features.cols}`,
    });
  }
}

function addBias(out: Matrix, bias: Float32Array): Matrix {
  const { rows, cols, data } = out;
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let c = 0; c < cols; c++) data[base + c] = data[base + c]! + bias[c]!;
  }
  return out;
}

/**
 * Logits `F [N x C] = H W^T + b` for features `H [N x D]`, with the portable kernel (synchronous).
 *
 * @example
 * ```ts
 * const f = logits(head, features); // f.rows === features.rows, f.cols === head.weight.rows
 * ```
 */
export function logits(head: LinearHead, features: Matrix): Matrix {
  assertHead(head);
  assertFeaturesMatchHead(head, features);
  return addBias(gemmSync(features, head.weight, { transB: true }), head.bias);
}

/** {@link logits} through any {@link GemmKernel} (for example onnxruntime's MatMul). */
export async function logitsWith(kernel: GemmKernel, head: LinearHead, features: Matrix): Promise<Matrix> {
  assertHead(head);
  assertFeaturesMatchHead(head, features);
  return addBias(await gemm(kernel, features, head.weight, { transB: true }), head.bias);
}
