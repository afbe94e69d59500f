/**
 * Exact input gradients (`FeatureExtractor.inputGradient`): `d/dx sum_n sum_c w[n, c] * f_c(x_n)` by TensorFlow.js
 * autodiff (`tf.grad`) through a differentiable forward pass (LayersModels, GraphModels whose ops have gradients).
 */
import * as tf from '@tensorflow/tfjs-core';
import { OpnpError, type InputBatch, type Matrix } from '@opnp/core';

/**
 * The gradient with respect to the input of `sum(outputWeights * logitsOf(x))`, in the layout of `batch.data`.
 *
 * @param logitsOf a differentiable forward pass `x [N, ...] -> logits [N, C]` (not tidied: called inside `tf.tidy`)
 * @param outputWeights `[N x C]`
 * @throws OpnpError `SHAPE_MISMATCH` for weights of another shape, `BACKEND_FAILURE` for an op without a gradient
 */
export async function tfjsInputGradient(logitsOf: (x: tf.Tensor) => tf.Tensor, batch: InputBatch, outputWeights: Matrix): Promise<Float32Array> {
  const N = batch.shape[0]!;
  if (outputWeights.rows !== N || outputWeights.data.length !== outputWeights.rows * outputWeights.cols) {
    throw new OpnpError('SHAPE_MISMATCH', 'The output weights of an input gradient need one row per sample', { expected: `${N} x C`, actual: `${outputWeights.rows} x ${outputWeights.cols}` });
  }
  if (N === 0) return new Float32Array(0);
  let grad: tf.Tensor;
  try {
    grad = tf.tidy(() => {
      const x = tf.tensor(batch.data, [...batch.shape], 'float32');
      const w = tf.tensor2d(outputWeights.data, [outputWeights.rows, outputWeights.cols]);
      return tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(logitsOf(xx), w)))(x);
    });
  } catch (cause) {
    if (cause instanceof OpnpError) throw cause;
    throw new OpnpError('BACKEND_FAILURE', `Could not differentiate the model with respect to its input: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: 'Every op between the input and the logits needs a gradient in TensorFlow.js',
      cause,
    });
  }
  try {
    return new Float32Array(await grad.data<'float32'>());
  } finally {
    grad.dispose();
  }
}
