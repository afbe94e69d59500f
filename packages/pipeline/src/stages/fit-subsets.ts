/**
 * The training rows kept in memory: the fit subset (`fitSamples` rows, for ReAct, DICE, Mahalanobis, ...) and KNN's
 * own subset (`knnFitSamples` rows: by default every training sample of the run up to 50,000, as the KNN paper fits
 * the whole CIFAR training set). Both are seeded subsets of the run's training indices drawn by {@link fitSubset}:
 * with the same seed the smaller is a prefix of the same partial shuffle, so it lies inside the larger, and the
 * training pass keeps only the larger one; the other is picked out of it.
 */
import { OpnpError, type Matrix } from '@opnp/core';
import type { KnnFitSamples } from '../evaluation-types.js';
import type { TrainingRows } from '../methods/registry.js';
import { fitSubset, trainingIndices } from '../training-pass.js';

/** Default KNN fit size: every training sample of the run up to 50,000 (the whole CIFAR training set). */
export const DEFAULT_KNN_FIT_SAMPLES = 50_000;

/**
 * A checked {@link KnnFitSamples} (default {@link DEFAULT_KNN_FIT_SAMPLES}).
 *
 * @throws OpnpError `INVALID_ARGUMENT` for a count that is not a positive integer or a fraction outside (0, 1]
 */
export function resolveKnnFitSamples(value: KnnFitSamples | undefined): KnnFitSamples {
  if (value === undefined) return DEFAULT_KNN_FIT_SAMPLES;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 1) throw new OpnpError('INVALID_ARGUMENT', 'knnFitSamples must be a positive integer or { fraction } in (0, 1]', { actual: value });
    return value;
  }
  if (!(value.fraction > 0 && value.fraction <= 1)) throw new OpnpError('INVALID_ARGUMENT', 'knnFitSamples.fraction must be in (0, 1]', { actual: value.fraction });
  return { fraction: value.fraction };
}

/** KNN's rows out of `n` training samples: the count (at most `n`), or `round(fraction * n)`, at least one. */
export function knnFitCount(n: number, value: KnnFitSamples): number {
  return typeof value === 'number' ? Math.min(n, value) : Math.max(1, Math.round(value.fraction * n));
}

/** The training indices whose rows are kept, and the two subsets picked out of them. */
export interface FitSubsets {
  /** The larger subset: what the training pass keeps. */
  readonly kept: Uint32Array;
  /** The fit subset (empty when no method needs it). */
  readonly fit: Uint32Array;
  /** KNN's subset (empty when no method needs it). */
  readonly knn: Uint32Array;
}

/** The subsets of the run's ascending training `indices` (see the module comment). */
export function fitSubsets(indices: Uint32Array, options: { readonly fitSamples: number; readonly knnFitSamples: KnnFitSamples; readonly seed: number }, needs: { readonly fit: boolean; readonly knnFit: boolean }): FitSubsets {
  const none = new Uint32Array(0);
  const fit = needs.fit ? fitSubset(indices, options.fitSamples, options.seed) : none;
  const knn = needs.knnFit ? fitSubset(indices, knnFitCount(indices.length, options.knnFitSamples), options.seed) : none;
  return { kept: knn.length > fit.length ? knn : fit, fit, knn };
}

/**
 * The rows of the fit subset and of KNN's subset that {@link fitSubsets} draws for a run of `trainCount` training
 * samples (`trainFraction`, `seed`), known before the training pass (fewer when samples turn out unreadable).
 */
export function plannedTrainingRows(trainCount: number, options: { readonly trainFraction?: number; readonly fitSamples: number; readonly knnFitSamples: KnnFitSamples; readonly seed: number }): TrainingRows {
  const n = trainingIndices(trainCount, options.trainFraction, options.seed).length;
  return { fit: Math.min(n, options.fitSamples), knnFit: Math.min(n, knnFitCount(n, options.knnFitSamples)) };
}

/** Kept rows: `[n x D]` features, `[n]` labels and the `[n]` ascending dataset indices they belong to. */
export interface KeptRows {
  readonly features: Matrix;
  readonly labels: Int32Array;
  readonly indices: Uint32Array;
}

/**
 * The rows of `kept` whose index is in `wanted`, a subset of the `keptIndices` the rows were read for (all of them,
 * without copying, when `wanted` is as large: nested subsets of one size are the same).
 */
export function pickRows(kept: KeptRows, wanted: Uint32Array, keptIndices: Uint32Array): KeptRows {
  if (wanted.length === keptIndices.length) return kept;
  const want = new Set(wanted);
  const D = kept.features.cols;
  const rows: number[] = [];
  for (let r = 0; r < kept.indices.length; r++) if (want.has(kept.indices[r]!)) rows.push(r);
  const data = new Float32Array(rows.length * D);
  rows.forEach((r, i) => data.set(kept.features.data.subarray(r * D, (r + 1) * D), i * D));
  return { features: { rows: rows.length, cols: D, data }, labels: Int32Array.from(rows, (r) => kept.labels[r]!), indices: Uint32Array.from(rows, (r) => kept.indices[r]!) };
}
