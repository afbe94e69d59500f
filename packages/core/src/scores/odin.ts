/**
 * ODIN (Liang, Li & Srikant, ICLR 2018; docs/numerics.md#odin): temperature scaling plus a small input step that
 * raises the maximum softmax score, which helps in-distribution inputs more than OOD ones. For each sample, with
 * `S(x; T) = max_c softmax(f(x) / T)_c` and `y = argmax_c f_c(x)`:
 *
 *     x' = x - epsilon * sign(-grad_x log softmax(f(x) / T)_y) / std
 *     score = S(x'; T)
 *
 * The gradient is the vector-Jacobian product `J(x)^T w` of the logits with `w = (e_y - softmax(f / T)) / T`.
 * It comes from the model's exact input gradient when the backend has one (`FeatureExtractor.inputGradient`:
 * TensorFlow.js), and otherwise from backward finite differences of the logits
 * ({@link finiteDifferenceInputGradient}: `D_in + 1` forward passes per sample, so only for small inputs; ONNX
 * Runtime is inference-only).
 *
 * - `epsilon` is in the model's input space (after normalisation). With `inputStd` the signed step is divided by the
 *   per-channel normalisation std, as the reference code does (`gradient[0][c] / std_c`), which makes `epsilon` a
 *   step in `[0, 1]` pixel units.
 * - `sign` follows the reference code: a zero gradient counts as positive (`(grad >= 0) * 2 - 1`).
 * - The final softmax is float64 from the perturbed logits (at `T = 1000` the probabilities differ from `1/C` by
 *   amounts near float32 resolution).
 */
import { OpnpError } from '../errors.js';
import type { FeatureExtractor, InputBatch, InputLayout } from '../feature-extractor.js';
import { rowSoftmax } from '../internal/logsumexp.js';
import type { Matrix } from '../matrix.js';
import { msp } from './logit-scores.js';
import { assertTemperature } from './validate.js';

/** What ODIN runs: the model's logits and, when the backend can differentiate, its exact input gradient. */
export interface OdinModel {
  /** Logits `[N x C]` (pre-softmax) of a batch in the model's layout. */
  logits(batch: InputBatch): Promise<Matrix>;
  /**
   * Optional: the exact gradient with respect to the input of `sum_n sum_c outputWeights[n, c] * logits[n, c]`
   * (`outputWeights [N x C]`), in the layout of `batch.data`.
   */
  inputGradient?(batch: InputBatch, outputWeights: Matrix): Promise<Float32Array>;
  /** Largest batch one `logits` call accepts. */
  readonly maxBatchSize?: number;
}

/** How ODIN gets the input gradient: `'auto'` = exact when the model has it, else finite differences. */
export type OdinGradient = 'auto' | 'exact' | 'finite-difference';

/** Options of {@link odin}. */
export interface OdinOptions {
  /** Softmax temperature `T > 0`. Default 1000 (the paper's choice). */
  temperature?: number;
  /** Perturbation magnitude `epsilon >= 0` in model-input units. Default 0.0014 (the paper's CIFAR-10 DenseNet value). */
  epsilon?: number;
  /** Per-channel normalisation std (length = channels, or 1): the signed step is divided by it, as in the reference code. */
  inputStd?: readonly number[];
  /** Layout of the input (the channel axis is 1 for `NCHW`, the last otherwise). Default `'flat'`. */
  layout?: InputLayout;
  /** Default `'auto'`. */
  gradient?: OdinGradient;
  /** The logits of `batch` when the caller has them (saves a forward pass of the exact path). */
  baseLogits?: Matrix;
  /** Options of the finite-difference path. */
  finiteDifference?: FiniteDifferenceOptions;
}

/** The result of {@link odin}. */
export interface OdinResult {
  /** `S(x'; T)` per sample `[N]` (higher = more in-distribution). */
  readonly scores: Float32Array;
  /** The perturbed inputs `x'`, same shape and layout as the batch. */
  readonly perturbed: Float32Array;
  /** Which gradient was used. */
  readonly gradient: 'exact' | 'finite-difference';
}

/** Options of {@link finiteDifferenceInputGradient}. */
export interface FiniteDifferenceOptions {
  /** Step `h > 0` subtracted from one input coordinate at a time (model-input units). Default {@link ODIN_FD_STEP}. */
  step?: number;
  /** Perturbed inputs per forward pass (at most the model's `maxBatchSize`). Default 256. */
  rowsPerPass?: number;
  /** Refuse inputs with more values per sample than this (each costs a forward pass). Default {@link ODIN_FD_MAX_INPUTS}. */
  maxInputs?: number;
}

/** Default finite-difference step (docs/numerics.md#odin says how it was chosen). */
export const ODIN_FD_STEP = 1e-3;
/** Default largest input (values per sample) the finite-difference path accepts: 32 x 32 single-channel images. */
export const ODIN_FD_MAX_INPUTS = 1024;

/** An {@link OdinModel} over a {@link FeatureExtractor} (its logits, and its `inputGradient` when it has one). */
export function odinModelOf(extractor: FeatureExtractor): OdinModel {
  return {
    logits: async (batch) => (await extractor.extract(batch)).logits,
    ...(extractor.inputGradient ? { inputGradient: (batch: InputBatch, w: Matrix) => extractor.inputGradient!(batch, w) } : {}),
    ...(extractor.maxBatchSize !== undefined ? { maxBatchSize: extractor.maxBatchSize } : {}),
  };
}

/**
 * ODIN's output weights `w = (e_y - softmax(f / T)) / T` per row of `logits [N x C]`, `y` the argmax (ties to the
 * lowest index): `J^T w` is the gradient of `log softmax(f / T)_y` with respect to the input. Float64, rounded once.
 */
export function odinOutputWeights(logits: Matrix, temperature: number): Matrix {
  const { rows: N, cols: C, data } = logits;
  const out = new Float32Array(N * C);
  const p = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    let y = 0;
    for (let c = 1; c < C; c++) if (data[n * C + c]! > data[n * C + y]!) y = c;
    rowSoftmax(data, n * C, C, temperature, p, 0);
    for (let c = 0; c < C; c++) out[n * C + c] = ((c === y ? 1 : 0) - p[c]!) / temperature;
  }
  return { rows: N, cols: C, data: out };
}

function valuesPerSample(batch: InputBatch): number {
  return batch.shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Throws unless the finite-difference path may run on inputs of `perSample` values. */
export function assertFiniteDifferenceSize(perSample: number, maxInputs = ODIN_FD_MAX_INPUTS): void {
  if (perSample <= maxInputs) return;
  throw new OpnpError('INVALID_ARGUMENT', `ODIN by finite differences needs ${perSample + 1} forward passes per sample for this ${perSample}-value input, above the limit of ${maxInputs} values`, {
    expected: `an input of at most ${maxInputs} values, or a backend with input gradients`,
    actual: perSample,
    hint: 'Use a backend with exact input gradients (a TensorFlow.js model.json), or raise the limit (odin.maxFiniteDifferenceInputs) if the model is small enough to run that many passes',
  });
}

/**
 * The input gradient `J(x_n)^T w_n` of every sample by backward finite differences of the logits: for each input
 * coordinate `i`, `(w_n . (f(x_n) - f(x_n - h e_i))) / h_i` with `h_i` the step as stored in float32
 * (`x_i - fround(x_i - h)`). The unperturbed logits are computed in the same passes. Costs `D_in + 1` forward
 * passes per sample. For a network that is piecewise linear in its input (ReLU, max-pool, convolutions, linear
 * layers) this is the exact gradient wherever the network is differentiable and no activation changes between
 * `x - h e_i` and `x`. Where it is not differentiable (a ReLU input exactly at 0, a tied max-pool window, common
 * on constant image backgrounds) the gradient is not unique: autodiff returns one subgradient by convention
 * (`relu'(0) = 0`, one element of a tied window), the backward difference the one-sided derivative towards
 * `-e_i`; their signs may differ there (docs/numerics.md#odin measures how often and what it costs).
 *
 * @param outputWeights `[N x C]`
 * @returns `[N * D_in]` in the layout of `batch.data`
 * @throws OpnpError `INVALID_ARGUMENT` for an input above `maxInputs` or a bad step
 */
export async function finiteDifferenceInputGradient(model: OdinModel, batch: InputBatch, outputWeights: Matrix, options: FiniteDifferenceOptions = {}): Promise<Float32Array> {
  const h = options.step ?? ODIN_FD_STEP;
  if (!(Number.isFinite(h) && h > 0)) throw new OpnpError('INVALID_ARGUMENT', 'The finite-difference step must be a finite number > 0', { actual: h });
  const D = valuesPerSample(batch);
  assertFiniteDifferenceSize(D, options.maxInputs);
  const N = batch.shape[0]!;
  const rowsPerSample = D + 1;
  const perPass = Math.max(1, Math.min(options.rowsPerPass ?? 256, model.maxBatchSize ?? Infinity));
  const grad = new Float32Array(N * D);
  const base = new Float64Array(outputWeights.cols);
  const x = batch.data;
  // Row r of the virtual batch: sample floor(r / (D + 1)); k = r mod (D + 1) is 0 for x itself, else coordinate k - 1.
  for (let start = 0; start < N * rowsPerSample; start += perPass) {
    const end = Math.min(N * rowsPerSample, start + perPass);
    const data = new Float32Array((end - start) * D);
    for (let r = start; r < end; r++) {
      const n = Math.floor(r / rowsPerSample);
      const k = r - n * rowsPerSample;
      data.set(x.subarray(n * D, (n + 1) * D), (r - start) * D);
      if (k > 0) data[(r - start) * D + k - 1] = x[n * D + k - 1]! - h;
    }
    const f = await model.logits({ data, shape: [end - start, ...batch.shape.slice(1)] });
    const C = f.cols;
    for (let r = start; r < end; r++) {
      const n = Math.floor(r / rowsPerSample);
      const k = r - n * rowsPerSample;
      const row = (r - start) * C;
      let dot = 0;
      for (let c = 0; c < C; c++) {
        if (k === 0) base[c] = f.data[row + c]!;
        else dot += outputWeights.data[n * C + c]! * (base[c]! - f.data[row + c]!);
      }
      if (k > 0) grad[n * D + k - 1] = dot / storedStep(x[n * D + k - 1]!, data[(r - start) * D + k - 1]!, n, k - 1);
    }
  }
  return grad;
}

/** `x - (x - h)` as stored in float32; throws when the step vanishes (inputs far larger than the step). */
function storedStep(x: number, lowered: number, sample: number, coordinate: number): number {
  const h = x - lowered;
  if (h > 0) return h;
  throw new OpnpError('INVALID_ARGUMENT', `The finite-difference step vanishes in float32 at input value ${x} (sample ${sample}, coordinate ${coordinate})`, { hint: 'Normalise the inputs, or pass a larger step' });
}

/** Per-element divisor of the step: the channel's std (1 without `inputStd`). */
function stepDivisor(shape: readonly number[], layout: InputLayout, std: readonly number[] | undefined): (i: number) => number {
  if (!std) return () => 1;
  if (!std.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)) throw new OpnpError('INVALID_ARGUMENT', 'inputStd entries must be finite numbers > 0', { actual: std });
  if (std.length === 1) return () => std[0]!;
  const axis = layout === 'NCHW' ? 1 : shape.length - 1;
  if (shape[axis] !== std.length) {
    throw new OpnpError('SHAPE_MISMATCH', 'inputStd must have one entry per input channel', { expected: shape[axis], actual: std.length, hint: `channel axis ${axis} of [${shape.join(', ')}] (${layout})` });
  }
  const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return (i) => std[Math.floor(i / stride) % std.length]!;
}

/** The gradient modes of {@link odin}. */
export const ODIN_GRADIENTS: readonly OdinGradient[] = ['auto', 'exact', 'finite-difference'];

/**
 * Checks ODIN's options: a finite temperature `> 0`, a finite `epsilon >= 0` and a known gradient mode.
 *
 * @throws OpnpError `INVALID_ARGUMENT`
 */
export function assertOdinOptions(temperature: number, epsilon: number, gradient: string): asserts gradient is OdinGradient {
  assertTemperature(temperature);
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) throw new OpnpError('INVALID_ARGUMENT', 'ODIN epsilon must be a finite number >= 0', { actual: epsilon });
  if (!(ODIN_GRADIENTS as readonly string[]).includes(gradient)) throw new OpnpError('INVALID_ARGUMENT', 'Unknown ODIN gradient mode', { expected: ODIN_GRADIENTS.join(' | '), actual: gradient });
}

/** Which gradient `mode` resolves to for `model`. @throws OpnpError `BACKEND_UNAVAILABLE` for `'exact'` without one */
export function resolveOdinGradient(model: Pick<OdinModel, 'inputGradient'>, mode: OdinGradient = 'auto'): 'exact' | 'finite-difference' {
  if (mode === 'finite-difference') return mode;
  if (model.inputGradient) return 'exact';
  if (mode === 'exact') throw new OpnpError('BACKEND_UNAVAILABLE', 'ODIN with exact gradients needs a backend with input gradients', { hint: "Use gradient 'auto' or 'finite-difference', or a TensorFlow.js model" });
  return 'finite-difference';
}

/**
 * ODIN scores of a batch (see the module comment).
 *
 * @param batch inputs `[N, ...input shape]` in the model's layout (not modified)
 * @throws OpnpError `INVALID_ARGUMENT`, `SHAPE_MISMATCH`, `BACKEND_UNAVAILABLE` (`gradient: 'exact'` without one)
 */
export async function odin(model: OdinModel, batch: InputBatch, options: OdinOptions = {}): Promise<OdinResult> {
  const T = options.temperature ?? 1000;
  const eps = options.epsilon ?? 0.0014;
  assertOdinOptions(T, eps, options.gradient ?? 'auto');
  const gradient = resolveOdinGradient(model, options.gradient);
  const divisor = stepDivisor(batch.shape, options.layout ?? 'flat', options.inputStd);
  const N = batch.shape[0]!;
  if (N === 0) return { scores: new Float32Array(0), perturbed: new Float32Array(0), gradient };
  const w = odinOutputWeights(options.baseLogits ?? (await model.logits(batch)), T);
  const grad = gradient === 'exact' ? await model.inputGradient!(batch, w) : await finiteDifferenceInputGradient(model, batch, w, options.finiteDifference);
  const epsilon = Math.fround(eps);
  const perturbed = new Float32Array(batch.data.length);
  for (let i = 0; i < perturbed.length; i++) {
    // Reference code: g = sign(-grad log S) with 0 -> +1; x' = x - eps * g / std.
    const sign = -grad[i]! >= 0 ? 1 : -1;
    perturbed[i] = batch.data[i]! - epsilon * Math.fround(sign / divisor(i));
  }
  const f1 = await model.logits({ data: perturbed, shape: batch.shape });
  return { scores: msp(f1, { temperature: T }), perturbed, gradient };
}
