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
 */
import { OpnpError } from '../errors.js';
import { assertFeaturesMatchHead, logits, type LinearHead } from '../head.js';
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

/**
 * Computes a composed score: `score(head(transform(features)))`.
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
  assertFeaturesMatchHead(spec.head, features);
  const transformed = spec.transform === undefined ? features : applyFeatureTransform(features, spec.transform);
  const f = logits(spec.head, transformed);
  return scoreLogits(f, spec.score ?? 'energy', spec.temperature === undefined ? {} : { temperature: spec.temperature });
}
