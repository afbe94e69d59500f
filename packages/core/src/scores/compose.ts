/**
 * Composed scores (docs/numerics.md#score-composition): an optional feature transform, then a linear head (original,
 * DICE, OPNP or any pruned head), then a logit score.
 *
 * How the methods of docs/numerics.md map onto a {@link ScoreSpec} (`H` = training features, `head` = the model's head):
 * | method | spec |
 * |---|---|
 * | `energy` / `msp` / `maxlogit` | `{ head, score }` |
 * | `react` | `{ head, transform: { kind: 'react', clip: reactThreshold(H, 90) } }` |
 * | `dice` | `{ head: diceHead(head, featureMean(H)).head }` |
 * | `dice` + `react` | `{ head: diceHead(...).head, transform: { kind: 'react', clip } }` |
 * | `ash-p` / `ash-b` / `ash-s` | `{ head, transform: { kind: 'ash', variant: 'p' / 'b' / 's', percentile: 90 } }` |
 * | `scale` | `{ head, transform: { kind: 'scale', percentile: 85 } }` |
 * | `opp` / `onp` / `opnp` (+ `react`) | `{ head: prunedHead, transform?: react }` |
 *
 * {@link composeScore} computes the head product with the portable kernel (synchronous); {@link composeScoreAsync}
 * with any {@link GemmKernel} (an evaluation passes its run's kernel, onnxruntime's MatMul). They differ only by the
 * float32 rounding of the products (docs/numerics.md#score-composition).
 */
import { OpnpError } from '../errors.js';
import { portableGemmKernel, type GemmKernel } from '../gemm.js';
import { assertFeaturesMatchHead, logits, logitsWith, type LinearHead } from '../head.js';
import type { Matrix } from '../matrix.js';
import { scoreLogits, type LogitScore } from './logit-scores.js';
import { ash, react, scale, type AshVariant } from './transforms.js';

/** A feature transform applied before the head. */
export type FeatureTransform =
  | { readonly kind: 'react'; /** Clip threshold `c` (see `reactThreshold`). */ readonly clip: number }
  | { readonly kind: 'ash'; readonly variant: AshVariant; /** Default 90. */ readonly percentile?: number }
  | { readonly kind: 'scale'; /** Default 85. */ readonly percentile?: number };

/** A composed score: transform, then head, then logit score. */
export interface ScoreSpec {
  /** The head that produces the scoring logits (original, DICE, or pruned). */
  readonly head: LinearHead;
  /** Optional transform of the features before the head. */
  readonly transform?: FeatureTransform;
  /** Logit score; default `'energy'`. */
  readonly score?: LogitScore;
  /** Temperature of `energy` / `msp`; default 1. */
  readonly temperature?: number;
}

/** Applies a {@link FeatureTransform} to features `[N, D]`, returning a new matrix. */
export function applyFeatureTransform(features: Matrix, transform: FeatureTransform): Matrix {
  switch (transform.kind) {
    case 'react':
      return react(features, transform.clip);
    case 'ash':
      return ash(features, transform.percentile === undefined ? { variant: transform.variant } : { variant: transform.variant, percentile: transform.percentile });
    case 'scale':
      return scale(features, transform.percentile === undefined ? {} : { percentile: transform.percentile });
    default:
      throw new OpnpError('INVALID_ARGUMENT', 'Unknown feature transform', { expected: "'react' | 'ash' | 'scale'", actual: (transform as { kind?: unknown }).kind });
  }
}

/** The features the head of `spec` multiplies: `transform(features)`, or `features` themselves. */
function transformedFor(features: Matrix, spec: ScoreSpec): Matrix {
  assertFeaturesMatchHead(spec.head, features);
  return spec.transform === undefined ? features : applyFeatureTransform(features, spec.transform);
}

/** The logit score of `spec` on logits `f` of its head. */
function scoreOfSpec(f: Matrix, spec: ScoreSpec): Float32Array {
  return scoreLogits(f, spec.score ?? 'energy', spec.temperature === undefined ? {} : { temperature: spec.temperature });
}

/**
 * Computes a composed score: `score(head(transform(features)))`, the head product through the portable kernel
 * (synchronous; {@link composeScoreAsync} takes a faster kernel).
 *
 * @param features `[N, D]` (not modified)
 * @returns scores `[N]`, higher = more in-distribution
 * @example
 * ```ts
 * const clip = reactThreshold(trainFeatures);
 * const s = composeScore(testFeatures, { head, transform: { kind: 'react', clip } }); // ReAct + energy
 * ```
 */
export function composeScore(features: Matrix, spec: ScoreSpec): Float32Array {
  return scoreOfSpec(logits(spec.head, transformedFor(features, spec)), spec);
}

/** Options of {@link composeScoreAsync}. */
export interface ComposeScoreAsyncOptions {
  /**
   * Kernel of the head product `transform(H) W^T` (`N x D` times `D x C`), e.g. `await resolveGemmKernel()`.
   * Default (also when `undefined`) the portable kernel, which gives {@link composeScore}'s scores bit for bit.
   */
  kernel?: GemmKernel | undefined;
}

/**
 * {@link composeScore} with the head product through `options.kernel`: the same scores up to the float32 rounding
 * of the logits (each logit differs by at most what the two kernels' float32 accumulations allow).
 *
 * @param features `[N, D]` (not modified)
 * @returns scores `[N]`, higher = more in-distribution
 * @throws OpnpError as {@link composeScore}, and the kernel's errors
 * @example
 * ```ts
 * const kernel = await resolveGemmKernel(); // onnxruntime's MatMul once @opnp/backend-onnx is registered
 * const s = await composeScoreAsync(testFeatures, { head: prunedHead }, { kernel }); // OPNP energy
 * ```
 */
export async function composeScoreAsync(features: Matrix, spec: ScoreSpec, options: ComposeScoreAsyncOptions = {}): Promise<Float32Array> {
  const transformed = transformedFor(features, spec);
  return scoreOfSpec(await logitsWith(options.kernel ?? portableGemmKernel, spec.head, transformed), spec);
}
