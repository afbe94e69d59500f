/**
 * Reading a (small) feature set into memory, and scoring a (large) one batch by batch.
 */
import type { Matrix } from '@opnp/core';
import { argmaxRows } from '@opnp/metrics';
import type { SkippedSample } from './features-meta.js';
import type { FeatureBatch, FeatureBatchOptions, FeatureSource } from './feature-source.js';
import type { Scorer } from './methods/registry.js';
import { stageReporter, type ProgressListener } from './progress.js';

/**
 * All features `[n x D]`, logits `[n x C]` and labels of `source` over `subset`: for validation sets, which stay
 * small. `classes` gives the logits' `C` when no sample is read (default 0).
 */
export async function collectFeatures(source: FeatureSource, options: FeatureBatchOptions & { dim: number; classes?: number }): Promise<{ features: Matrix; logits: Matrix; labels: Int32Array }> {
  // Only the arrays kept, not the batches (which may hold the model inputs).
  const parts: Pick<FeatureBatch, 'features' | 'logits' | 'labels'>[] = [];
  let rows = 0;
  for await (const batch of source.batches(options)) {
    parts.push({ features: batch.features, logits: batch.logits, labels: batch.labels });
    rows += batch.features.rows;
  }
  const C = parts[0]?.logits.cols ?? options.classes ?? 0;
  const features = new Float32Array(rows * options.dim);
  const logits = new Float32Array(rows * C);
  const labels = new Int32Array(rows);
  let at = 0;
  for (const part of parts) {
    features.set(part.features.data, at * options.dim);
    logits.set(part.logits.data, at * C);
    labels.set(part.labels, at);
    at += part.labels.length;
  }
  return { features: { rows, cols: options.dim, data: features }, logits: { rows, cols: C, data: logits }, labels };
}

/** Per-method scores `[n]` of a set, plus the classification hits when labels are known. */
export interface ScoredSet {
  readonly scores: Map<string, Float32Array>;
  /** Samples scored (visited minus skipped). */
  readonly count: number;
  /** Samples with a known label (>= 0) and how many of them the model's argmax got right. */
  readonly labelled: number;
  readonly correct: number;
  /** `[count]` labels of the scored samples in order (-1 = unknown). */
  readonly labels: Int32Array;
  /** Samples that could not be read (absent from the scores). */
  readonly skipped: readonly SkippedSample[];
}

/** Options of {@link scoreSet}. */
export interface ScoreSetOptions extends Omit<FeatureBatchOptions, 'onProgress'> {
  /** Samples the pass visits (the subset's length, or the set's size). */
  readonly count: number;
  /** Stage name of the progress events. */
  readonly stage: string;
  readonly onProgress?: ProgressListener;
}

/**
 * Streams `source` over `subset` and scores every batch with every scorer, holding only the scores
 * (memory `N x methods` floats, not `N x D`).
 */
export async function scoreSet(source: FeatureSource, scorers: ReadonlyMap<string, Scorer>, options: ScoreSetOptions): Promise<ScoredSet> {
  const scores = new Map<string, Float32Array>();
  for (const name of scorers.keys()) scores.set(name, new Float32Array(options.count));
  const skipped: SkippedSample[] = [];
  const stage = stageReporter(options.onProgress, options.stage, options.count);
  let at = 0;
  let labelled = 0;
  let correct = 0;
  let labels = new Int32Array(options.count);
  const onSkip = (skip: SkippedSample) => {
    skipped.push(skip);
    options.onSkip?.(skip);
  };
  for await (const batch of source.batches({ ...options, onProgress: stage.onProgress, onSkip })) {
    for (const [name, scorer] of scorers) scores.get(name)!.set(await scorer(batch.features, batch.logits, batch.inputs), at);
    labels.set(batch.labels, at);
    const predicted = argmaxRows(batch.logits);
    for (let r = 0; r < batch.labels.length; r++) {
      const label = batch.labels[r]!;
      if (label < 0) continue;
      labelled++;
      if (predicted[r] === label) correct++;
    }
    at += batch.features.rows;
  }
  stage.done(options.count);
  if (at !== options.count) {
    for (const [name, s] of scores) scores.set(name, s.slice(0, at));
    labels = labels.slice(0, at);
  }
  return { scores, count: at, labelled, correct, labels, skipped };
}
