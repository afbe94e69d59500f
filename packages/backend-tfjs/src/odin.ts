/**
 * ODIN (Liang, Li & Srikant, ICLR 2018): temperature scaling plus a small input perturbation that increases the
 * maximum softmax score, which helps in-distribution inputs more than OOD ones. Needs gradients with respect to
 * the input, which TensorFlow.js provides (`tf.grad`) for LayersModels and for GraphModels whose ops have
 * gradients.
 *
 * For each sample, with `S(x; T) = max_c softmax(f(x) / T)_c` and `y = argmax_c f_c(x)`:
 *
 *     x' = x - epsilon * sign(-grad_x log softmax(f(x) / T)_y) / std
 *     score = S(x'; T)
 *
 * - `epsilon` is in the model's input space (after normalisation), like the paper's code applies it to the
 *   normalised tensor. The reference implementation additionally divides the signed gradient by the per-channel
 *   normalisation std (`gradient[0][c] / std_c`), which makes `epsilon` a step in `[0, 1]` pixel units: pass
 *   `inputStd` to do the same. Without it (the default) the step is `epsilon` in every input coordinate.
 * - `sign` follows the reference code: a zero gradient counts as positive (`(grad >= 0) * 2 - 1`).
 * - The final softmax is computed in float64 from the perturbed logits (at `T = 1000` the probabilities differ
 *   from `1/C` by amounts near float32 resolution).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { assertBatchMatchesInput } from '@opnp/core/backend';
import { OpnpError, type InputBatch } from '@opnp/core';
import { TfjsFeatureExtractor } from './extractor.js';

/** Options of {@link odinScores}. */
export interface OdinOptions {
  /** Softmax temperature `T > 0`. Default 1000 (the paper's choice). */
  temperature?: number;
  /** Perturbation magnitude `epsilon >= 0` in model-input units. Default 0.0014 (the paper's CIFAR-10 DenseNet value). */
  epsilon?: number;
  /**
   * Per-channel normalisation std (length = channels, or 1): the signed gradient is divided by it, as in the
   * reference code. Channels are dimension 1 for `NCHW` inputs and the last dimension otherwise.
   */
  inputStd?: readonly number[];
  /** Layout of the input; default: the extractor's `input.layout`, `'NHWC'` for a LayersModel with rank-4 input. */
  layout?: 'NCHW' | 'NHWC' | 'flat';
}

/** The result of {@link odinScores}. */
export interface OdinResult {
  /** `S(x'; T)` per sample `[N]` (higher = more in-distribution). */
  readonly scores: Float32Array;
  /** The perturbed inputs `x'`, same shape and layout as the batch. */
  readonly perturbed: Float32Array;
}

function checkOptions(T: number, eps: number): void {
  if (typeof T !== 'number' || !Number.isFinite(T) || T <= 0) throw new OpnpError('INVALID_ARGUMENT', 'ODIN temperature must be a finite number > 0', { actual: T });
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new OpnpError('INVALID_ARGUMENT', 'ODIN epsilon must be a finite number >= 0', { actual: eps });
}

/** `max_c softmax(f / T)_c` per row, in float64. */
function maxSoftmaxRows(f: Float32Array, N: number, C: number, T: number): Float32Array {
  const out = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, f[n * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp((f[n * C + c]! - max) / T);
    out[n] = Number.isFinite(max) ? 1 / sum : NaN;
  }
  return out;
}

function stdTensor(std: readonly number[], shape: readonly number[], layout: string): tf.Tensor {
  if (!std.every((s) => typeof s === 'number' && s > 0 && Number.isFinite(s))) throw new OpnpError('INVALID_ARGUMENT', 'inputStd entries must be finite numbers > 0', { actual: std });
  if (std.length === 1) return tf.scalar(std[0]!);
  const axis = layout === 'NCHW' ? 1 : shape.length - 1;
  if (shape[axis] !== std.length) {
    throw new OpnpError('SHAPE_MISMATCH', 'inputStd must have one entry per input channel', { expected: shape[axis], actual: std.length, hint: `channel axis ${axis} of [${shape.join(', ')}] (${layout})` });
  }
  const bshape = shape.map((_, i) => (i === axis ? std.length : 1));
  return tf.tensor(Float32Array.from(std), bshape);
}

/**
 * ODIN scores of a batch.
 *
 * @param model a {@link TfjsFeatureExtractor} (its logits, pre-softmax) or a LayersModel whose output is logits
 * @param batch inputs `[N, ...input shape]` in the model's layout (not modified)
 * @returns scores `[N]` and the perturbed inputs
 * @throws OpnpError `INVALID_ARGUMENT`, `SHAPE_MISMATCH`, `BACKEND_FAILURE` (a graph op without a gradient)
 *
 * @example
 * ```ts
 * const { scores } = await odinScores(extractor, batch, { temperature: 1000, epsilon: 0.0014, inputStd: [0.3081] });
 * ```
 */
export async function odinScores(model: TfjsFeatureExtractor | LayersModel, batch: InputBatch, options: OdinOptions = {}): Promise<OdinResult> {
  const T = options.temperature ?? 1000;
  const eps = options.epsilon ?? 0.0014;
  checkOptions(T, eps);
  let logitsOf: (x: tf.Tensor) => tf.Tensor;
  let layout: string;
  if (model instanceof TfjsFeatureExtractor) {
    assertBatchMatchesInput(batch, model.input);
    logitsOf = (x) => model.forward(x)[1];
    layout = options.layout ?? model.input.layout;
  } else {
    if (!batch || !(batch.data instanceof Float32Array) || batch.data.length !== batch.shape.reduce((a, b) => a * b, 1)) {
      throw new OpnpError('SHAPE_MISMATCH', 'An input batch is { data: Float32Array, shape } with matching length', { actual: batch?.shape });
    }
    logitsOf = (x) => model.apply(x, { training: false }) as tf.Tensor;
    layout = options.layout ?? (batch.shape.length === 4 ? 'NHWC' : 'flat');
  }
  const N = batch.shape[0]!;
  if (N === 0) return { scores: new Float32Array(0), perturbed: new Float32Array(0) };
  let out: [tf.Tensor, tf.Tensor];
  try {
    out = tf.tidy(() => {
      const x = tf.tensor(batch.data, [...batch.shape], 'float32');
      const f0 = logitsOf(x);
      const C = f0.shape[1]!;
      const target = tf.cast(tf.oneHot(tf.argMax(f0, 1), C), 'float32');
      // d/dx of sum_n log softmax(f(x_n) / T)_{y_n}: samples are independent, so row n is sample n's gradient.
      const grad = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(tf.div(logitsOf(xx), T)), target)))(x);
      // Reference code: g = sign(-grad log S) with 0 -> +1; x' = x - eps * g / std.
      let step: tf.Tensor = tf.sub(tf.mul(tf.cast(tf.greaterEqual(tf.neg(grad), 0), 'float32'), 2), 1);
      if (options.inputStd) step = tf.div(step, stdTensor(options.inputStd, batch.shape, layout));
      const xp = tf.sub(x, tf.mul(step, eps));
      return [xp, logitsOf(xp)];
    });
  } catch (cause) {
    if (cause instanceof OpnpError) throw cause;
    throw new OpnpError('BACKEND_FAILURE', `ODIN could not differentiate the model: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: 'Every op between the input and the logits needs a gradient in TensorFlow.js',
      cause,
    });
  }
  const [xp, f1] = out;
  try {
    const [perturbed, logits] = await Promise.all([xp.data<'float32'>(), f1.data<'float32'>()]);
    return { scores: maxSoftmaxRows(logits, N, f1.shape[1]!, T), perturbed: new Float32Array(perturbed) };
  } finally {
    xp.dispose();
    f1.dispose();
  }
}
