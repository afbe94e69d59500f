/**
 * Reading a (small) feature set into memory, and scoring a (large) one batch by batch.
 */
import type { Matrix } from '@opnp/core';
import { argmaxRows } from '@opnp/metrics';
import type { Progress } from '../progress.js';
import type { FeatureBatchOptions, FeatureSource } from './feature-source.js';
import type { Scorer } from './methods.js';

/** All features `[n x D]` (and labels) of `source` over `subset`: for validation sets, which stay small. */
export async function collectFeatures(source: FeatureSource, options: FeatureBatchOptions & { dim: number }): Promise<{ features: Matrix; labels: Int32Array }> {
  const parts: Float32Array[] = [];
  const labels: Int32Array[] = [];
  let rows = 0;
  for await (const batch of source.batches(options)) {
    parts.push(batch.features.data);
    labels.push(batch.labels);
    rows += batch.features.rows;
  }
  const data = new Float32Array(rows * options.dim);
  const out = new Int32Array(rows);
  let at = 0;
  for (const [k, part] of parts.entries()) {
    data.set(part, at * options.dim);
    out.set(labels[k]!, at);
    at += labels[k]!.length;
  }
  return { features: { rows, cols: options.dim, data }, labels: out };
}

/** Per-method scores `[n]` of a set, plus the classification hits when labels are known. */
export interface ScoredSet {
  readonly scores: Map<string, Float32Array>;
  readonly count: number;
  /** Samples with a known label (>= 0) and how many of them the model's argmax got right. */
  readonly labelled: number;
  readonly correct: number;
  /** `[count]` labels of the scored samples in order (-1 = unknown). */
  readonly labels: Int32Array;
}

/**
 * Streams `source` over `subset` and scores every batch with every scorer, holding only the scores
 * (memory `N x methods` floats, not `N x D`).
 */
export async function scoreSet(source: FeatureSource, scorers: ReadonlyMap<string, Scorer>, options: FeatureBatchOptions & { count: number }, progress?: Progress): Promise<ScoredSet> {
  const scores = new Map<string, Float32Array>();
  for (const name of scorers.keys()) scores.set(name, new Float32Array(options.count));
  let at = 0;
  let labelled = 0;
  let correct = 0;
  let labels = new Int32Array(options.count);
  for await (const batch of source.batches({ ...options, ...(progress ? { onProgress: (e) => progress.update(e) } : {}) })) {
    for (const [name, scorer] of scorers) scores.get(name)!.set(scorer(batch.features, batch.logits), at);
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
  progress?.done();
  if (at !== options.count) {
    for (const [name, s] of scores) scores.set(name, s.slice(0, at));
    labels = labels.slice(0, at);
  }
  return { scores, count: at, labelled, correct, labels };
}
