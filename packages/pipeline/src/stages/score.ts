/**
 * Stage 3: scoring. The ID test samples left after the validation split and every OOD set are streamed
 * through every method's scorer; only the scores are kept.
 */
import { energy, logitsWith, msp, pruneHead, pruningMasks, type GemmKernel, type LinearHead, type Matrix } from '@opnp/core';
import { argmaxRows } from '@opnp/metrics';
import { scoreSet, type ScoredSet } from '../collect.js';
import type { SkippedSample } from '../features-meta.js';
import type { FeatureSource } from '../feature-source.js';
import { methodKernel, type MethodContext, type MethodOptionOverrides, type MethodRegistry, type OpnpState, type Scorer } from '../methods/registry.js';
import { fitScorers } from '../methods/fit-scorers.js';
import type { ProgressListener } from '../progress.js';
import type { ShardInfo } from '../state-file.js';
import { shardOf } from '../training-pass.js';
import { allIndices } from './select-point.js';

/** Scores of the ID test samples and of every OOD set. */
export interface ScoreResult {
  readonly id: ScoredSet;
  /** In the order of the OOD sets. */
  readonly ood: readonly (readonly [string, ScoredSet])[];
}

/** Options of {@link score}. */
export interface ScoreOptions {
  readonly registry: MethodRegistry;
  readonly methods: readonly string[];
  readonly methodOptions?: MethodOptionOverrides;
  /** What the methods are fitted on. */
  readonly context: MethodContext;
  /** ID test indices to score. */
  readonly evalIndices: Uint32Array;
  /** Score only this part of each set: shard `index` of `count` contiguous parts ({@link shardOf}) of the ID test indices and of each OOD set. */
  readonly shard?: ShardInfo;
  /** Also score the figure inputs (energy, OPNP energy, confidences) under {@link artifactKey} names. */
  readonly artifacts?: OpnpState;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
  readonly onSkip?: (set: string, skip: SkippedSample) => void;
}

const ARTIFACT = '\u0000artifact:';

/** The score-map key of a figure input (never clashes with a method name). */
export function artifactKey(name: 'energy' | 'opnp' | 'conf:original' | 'pred:original' | 'conf:pruned' | 'pred:pruned'): string {
  return `${ARTIFACT}${name}`;
}

/**
 * Logits of a batch under `head` through `kernel`, computed once per batch for the scorers that share them (the batch
 * is the same `features` object for every scorer of a pass, see `scoreSet`).
 */
function batchLogits(kernel: GemmKernel, head: LinearHead): (features: Matrix) => Promise<Matrix> {
  let last: { features: Matrix; logits: Promise<Matrix> } | undefined;
  return (features) => {
    if (last?.features !== features) last = { features, logits: logitsWith(kernel, head, features) };
    return last.logits;
  };
}

/** Scorers of the figure inputs; the pruned head's logits go through `kernel`, once per batch. */
function artifactScorers(head: LinearHead, state: OpnpState, kernel: GemmKernel): Map<string, Scorer> {
  const pruned = pruneHead(head, pruningMasks(state.sensitivity, state.neuronSensitivity, state.percentages, 'opnp'));
  const prunedLogits = batchLogits(kernel, pruned);
  const predicted = (f: Matrix) => Float32Array.from(argmaxRows(f));
  return new Map<string, Scorer>([
    [artifactKey('energy'), (_h, f) => energy(f)],
    [artifactKey('opnp'), async (h) => energy(await prunedLogits(h))],
    [artifactKey('conf:original'), (_h, f) => msp(f)],
    [artifactKey('pred:original'), (_h, f) => predicted(f)],
    [artifactKey('conf:pruned'), async (h) => msp(await prunedLogits(h))],
    [artifactKey('pred:pruned'), async (h) => predicted(await prunedLogits(h))],
  ]);
}

/**
 * Fits every method (stage `fit methods`), then scores the ID test samples and every OOD set with every method (or
 * one shard of each set, with `shard`): one pass per set, stages `score test` and `score <name>`.
 */
export async function score(test: FeatureSource, ood: readonly (readonly [string, FeatureSource])[], options: ScoreOptions): Promise<ScoreResult> {
  const scorers = await fitScorers(options.registry, options.methods, options.context, options.methodOptions, options.onProgress ? { onProgress: options.onProgress } : {});
  const all = options.artifacts ? new Map([...scorers, ...artifactScorers(options.context.head, options.artifacts, await methodKernel(options.context))]) : scorers;
  const common = { batchSize: options.batchSize, ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
  const part = (indices: Uint32Array) => (options.shard ? shardOf(indices, options.shard.index, options.shard.count) : indices);
  const testIndices = part(options.evalIndices);
  const id = await scoreSet(test, all, { ...common, subset: testIndices, count: testIndices.length, stage: 'score test', onSkip: (s) => options.onSkip?.('test', s) });
  const out: (readonly [string, ScoredSet])[] = [];
  for (const [name, source] of ood) {
    const subset = options.shard ? part(allIndices(source.count)) : undefined;
    out.push([name, await scoreSet(source, all, { ...common, ...(subset ? { subset } : {}), count: subset?.length ?? source.count, stage: `score ${name}`, onSkip: (s) => options.onSkip?.(`ood:${name}`, s) })]);
  }
  return { id, ood: out };
}
