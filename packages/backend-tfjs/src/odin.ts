/**
 * ODIN (Liang, Li & Srikant, ICLR 2018) for TensorFlow.js models with exact input gradients (`tf.grad`): the
 * algorithm of `@opnp/core`'s `odin` (docs/numerics.md#odin) with the gradient from TensorFlow.js, on a
 * {@link TfjsFeatureExtractor} or a LayersModel whose output is logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { assertBatchMatchesInput } from '@opnp/core/backend';
import { OpnpError, odin, odinModelOf, type InputBatch, type OdinModel, type OdinResult } from '@opnp/core';

export type { OdinResult } from '@opnp/core';
import { TfjsFeatureExtractor } from './extractor.js';
import { tfjsInputGradient } from './input-gradient.js';

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

/** The ODIN model of a LayersModel whose output is logits. */
function layersOdinModel(model: LayersModel, batch: InputBatch): OdinModel {
  if (!batch || !(batch.data instanceof Float32Array) || batch.data.length !== batch.shape.reduce((a, b) => a * b, 1)) {
    throw new OpnpError('SHAPE_MISMATCH', 'An input batch is { data: Float32Array, shape } with matching length', { actual: batch?.shape });
  }
  const logitsOf = (x: tf.Tensor) => model.apply(x, { training: false }) as tf.Tensor;
  return {
    async logits(b) {
      const f = tf.tidy(() => logitsOf(tf.tensor(b.data, [...b.shape], 'float32')));
      try {
        return { rows: f.shape[0]!, cols: f.shape[1]!, data: new Float32Array(await f.data<'float32'>()) };
      } finally {
        f.dispose();
      }
    },
    inputGradient: (b, w) => tfjsInputGradient(logitsOf, b, w),
  };
}

/**
 * ODIN scores of a batch, with exact input gradients.
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
  let odinModel: OdinModel;
  let layout: 'NCHW' | 'NHWC' | 'flat';
  if (model instanceof TfjsFeatureExtractor) {
    assertBatchMatchesInput(batch, model.input);
    odinModel = odinModelOf(model);
    layout = options.layout ?? model.input.layout;
  } else {
    odinModel = layersOdinModel(model, batch);
    layout = options.layout ?? (batch.shape.length === 4 ? 'NHWC' : 'flat');
  }
  return odin(odinModel, batch, {
    gradient: 'exact',
    layout,
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
    ...(options.inputStd ? { inputStd: options.inputStd } : {}),
  });
}
