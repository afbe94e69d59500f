/**
 * An in-memory {@link FeatureExtractor}: `features = act(x P^T)` (or `act(x)` without a projection) and
 * `logits = features W^T + b`. A random-ReLU-feature classifier for tests, demos and the CLI's
 * model-free paths; no backend or model file needed.
 */
import { OpnpError } from '../errors.js';
import type { ExtractResult, FeatureExtractor, InputBatch, InputSpec } from '../feature-extractor.js';
import { gemmSync } from '../gemm.js';
import { assertHead, logits, type LinearHead } from '../head.js';
import { assertMatrix, type Matrix } from '../matrix.js';

/** Activation applied to the projected inputs. */
export type LinearActivation = 'relu' | 'none';

/** Options of {@link createLinearFeatureExtractor}. */
export interface LinearFeatureExtractorOptions {
  /** Projection `P [D, I]` (one row per feature); without it the features are the flattened inputs (`D = I`). */
  projection?: Matrix;
  /** Activation after the projection. Default `'relu'` with a projection, `'none'` without. */
  activation?: LinearActivation;
  /** Classifier head `W [C, D]`, `b [C]`. */
  head: LinearHead;
  /** The input description; its non-batch dimensions multiply to `I` (`null` dimensions are taken from each batch). */
  input: InputSpec;
  /** Largest batch accepted by one `extract` call; unlimited when omitted. */
  maxBatchSize?: number;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Creates an in-memory linear (optionally random-ReLU-feature) {@link FeatureExtractor} (`backend: 'linear'`).
 *
 * @throws OpnpError `SHAPE_MISMATCH` when projection, head and input do not fit together
 * @example
 * ```ts
 * const extractor = createLinearFeatureExtractor({
 *   projection: matrix(64, 8, randomValues), head: linearHead(matrix(3, 64, w)),
 *   input: { name: 'x', shape: [null, 8], layout: 'flat' },
 * });
 * const { features, logits } = await extractor.extract({ data: x, shape: [n, 8] });
 * ```
 */
export function createLinearFeatureExtractor(options: LinearFeatureExtractorOptions): FeatureExtractor {
  const { projection, head, input, maxBatchSize } = options;
  assertHead(head);
  const activation: LinearActivation = options.activation ?? (projection ? 'relu' : 'none');
  if (activation !== 'relu' && activation !== 'none') {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown activation', { expected: "'relu' | 'none'", actual: activation as unknown });
  }
  if (maxBatchSize !== undefined && (!Number.isInteger(maxBatchSize) || maxBatchSize < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'maxBatchSize must be a positive integer', { actual: maxBatchSize });
  }
  if (!input || !Array.isArray(input.shape) || input.shape.length < 2) {
    throw new OpnpError('INVALID_ARGUMENT', 'input.shape must have a batch dimension and at least one more', { actual: input?.shape });
  }
  for (const [axis, dim] of input.shape.entries()) {
    if (dim !== null && (!Number.isInteger(dim) || dim < 1)) {
      throw new OpnpError('INVALID_ARGUMENT', 'input.shape entries must be positive integers or null', { offset: axis, actual: dim });
    }
  }
  const inputWidth = projection ? projection.cols : head.weight.cols;
  if (projection) {
    assertMatrix(projection, 'projection');
    if (projection.rows !== head.weight.cols) {
      throw new OpnpError('SHAPE_MISMATCH', "projection rows must equal the head's feature dimension D", { expected: `${head.weight.cols} x I`, actual: `${projection.rows} x ${projection.cols}` });
    }
  }
  const fixedDims = input.shape.slice(1);
  if (fixedDims.every((d) => d !== null) && product(fixedDims as number[]) !== inputWidth) {
    throw new OpnpError('SHAPE_MISMATCH', `input shape does not flatten to the ${projection ? 'projection' : 'head'} width`, { expected: inputWidth, actual: input.shape });
  }
  let disposed = false;

  function checkBatch(batch: InputBatch): number {
    const shape = batch?.shape;
    if (!shape || shape.length !== input.shape.length || !(batch.data instanceof Float32Array)) {
      throw new OpnpError('SHAPE_MISMATCH', 'Input batch does not match the model input', { expected: input.shape, actual: shape ?? typeof batch });
    }
    for (const [axis, dim] of shape.entries()) {
      const want = input.shape[axis];
      if (!Number.isInteger(dim) || dim < 0 || (axis > 0 && want !== null && want !== undefined && dim !== want)) {
        throw new OpnpError('SHAPE_MISMATCH', `Input batch dimension ${axis} does not match the model input`, { expected: input.shape, actual: shape, offset: axis });
      }
    }
    const n = shape[0]!;
    if (product(shape.slice(1)) !== inputWidth) {
      throw new OpnpError('SHAPE_MISMATCH', 'Input batch does not flatten to the model input width', { expected: inputWidth, actual: shape });
    }
    if (batch.data.length !== n * inputWidth) {
      throw new OpnpError('SHAPE_MISMATCH', 'Input batch data length does not match its shape', { expected: n * inputWidth, actual: batch.data.length });
    }
    if (maxBatchSize !== undefined && n > maxBatchSize) {
      throw new OpnpError('INVALID_ARGUMENT', 'Batch larger than maxBatchSize', { expected: `<= ${maxBatchSize}`, actual: n, hint: 'Split the batch' });
    }
    return n;
  }

  const extractor: FeatureExtractor = {
    specificationVersion: 'v1',
    backend: 'linear',
    head,
    input,
    ...(maxBatchSize !== undefined ? { maxBatchSize } : {}),
    async extract(batch: InputBatch): Promise<ExtractResult> {
      if (disposed) throw new OpnpError('DISPOSED', 'This linear feature extractor has been disposed', { hint: 'Create a new extractor' });
      const n = checkBatch(batch);
      const x: Matrix = { rows: n, cols: inputWidth, data: batch.data };
      const features = projection ? gemmSync(x, projection, { transB: true }) : { rows: n, cols: inputWidth, data: Float32Array.from(batch.data) };
      if (activation === 'relu') {
        const f = features.data;
        for (let i = 0; i < f.length; i++) if (f[i]! < 0) f[i] = 0;
      }
      return { features, logits: logits(head, features) };
    },
    async dispose(): Promise<void> {
      disposed = true;
    },
  };
  return extractor;
}
