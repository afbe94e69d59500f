/**
 * Mode 2, the computation: OPNP from a classifier and a few hundred images, in the page. Features and logits come
 * from `@opnp/backend-onnx-web`; the sensitivity, masks, pruned head, scores, threshold and metrics from
 * `@opnp/core` and `@opnp/metrics`, exactly as the CLI computes them in Node.
 */
import {
  composeScore,
  concatRows,
  keptWeightCount,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  SensitivityAccumulator,
  type GemmKernel,
  type InputBatch,
  type Matrix,
  type PruningPercentages,
} from '@opnp/core';
import { fpr95Threshold, oodMetrics, type OodMetrics } from '@opnp/metrics';
import type { OnnxDetector, OnnxWebFeatureExtractor } from '@opnp/backend-onnx-web';

/** The preprocessed image sets of a fit. */
export interface FitInputs {
  /** Training images: the sensitivity. */
  readonly train: InputBatch;
  /** ID validation images: the threshold (95% of them are kept). */
  readonly idVal: InputBatch;
  /** ID test and OOD test images: the comparison. */
  readonly idTest: InputBatch;
  readonly oodTest: InputBatch;
}

/** Energy of the original head and OPNP (energy of the pruned head) of one image set. */
export interface SetScores {
  readonly energy: number[];
  readonly opnp: number[];
}

/** Everything a fit computed (what the page shows and its JSON holds). */
export interface FitResult {
  readonly classes: number;
  readonly dim: number;
  readonly trainCount: number;
  readonly percentages: PruningPercentages;
  /** `s [C x D]` row-major. */
  readonly sensitivity: number[];
  /** `s_j [D]` (mean over classes). */
  readonly neuronSensitivity: number[];
  readonly masks: { readonly param: number[]; readonly neuron: number[]; readonly paramKept: number; readonly neuronKept: number; readonly weightsKept: number };
  /** `is_ood = OPNP score < threshold`: the FPR95 threshold of the ID validation scores. */
  readonly threshold: number;
  readonly scores: { readonly idVal: SetScores; readonly idTest: SetScores; readonly oodTest: SetScores };
  readonly metrics: { readonly energy: OodMetrics; readonly opnp: OodMetrics };
  readonly runtime: { readonly executionProviders: readonly string[]; readonly threads?: number; readonly kernel: string };
}

/** Progress: a message and the fraction done. */
export type FitProgress = (message: string, fraction: number) => void;

/** Features and logits of a batch, `batchSize` rows at a time. */
async function extractAll(extractor: OnnxWebFeatureExtractor, batch: InputBatch, batchSize: number): Promise<{ features: Matrix; logits: Matrix }> {
  const n = batch.shape[0]!;
  const per = batch.data.length / Math.max(n, 1);
  const features: Matrix[] = [];
  const logits: Matrix[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const rows = Math.min(batchSize, n - start);
    const out = await extractor.extract({ data: batch.data.subarray(start * per, (start + rows) * per), shape: [rows, ...batch.shape.slice(1)] });
    features.push(out.features);
    logits.push(out.logits);
  }
  return { features: concatRows(features), logits: concatRows(logits) };
}

/**
 * Computes the parameter and neuron sensitivity on `inputs.train`, the OPNP masks for `percentages`, the pruned
 * head, its FPR95 threshold on `inputs.idVal`, and the scores and metrics of the original and the pruned head on the
 * ID / OOD test sets.
 */
export async function fitOpnp(extractor: OnnxWebFeatureExtractor, kernel: GemmKernel, inputs: FitInputs, percentages: PruningPercentages, progress: FitProgress): Promise<FitResult> {
  const { head } = extractor;
  progress(`features of ${inputs.train.shape[0]} training images`, 0.1);
  const train = await extractAll(extractor, inputs.train, 100);
  progress('parameter sensitivity', 0.4);
  const accumulator = new SensitivityAccumulator(head, { kernel });
  await accumulator.add(train.features, train.logits);
  const sensitivity = accumulator.result();
  const neuron = neuronSensitivity(sensitivity);
  const masks = pruningMasks(sensitivity, neuron, percentages, 'opnp');
  const pruned = pruneHead(head, masks);
  const score = async (batch: InputBatch): Promise<SetScores> => {
    const { features } = await extractAll(extractor, batch, 100);
    return { energy: Array.from(composeScore(features, { head })), opnp: Array.from(composeScore(features, { head: pruned })) };
  };
  progress('scoring ID validation images', 0.55);
  const idVal = await score(inputs.idVal);
  progress('scoring ID and OOD test images', 0.7);
  const idTest = await score(inputs.idTest);
  const oodTest = await score(inputs.oodTest);
  return {
    classes: head.weight.rows,
    dim: head.weight.cols,
    trainCount: sensitivity.count,
    percentages,
    sensitivity: Array.from(sensitivity.values),
    neuronSensitivity: Array.from(neuron),
    masks: { param: Array.from(masks.param), neuron: Array.from(masks.neuron), paramKept: masks.paramKept, neuronKept: masks.neuronKept, weightsKept: keptWeightCount(masks) },
    threshold: fpr95Threshold(idVal.opnp),
    scores: { idVal, idTest, oodTest },
    metrics: { energy: oodMetrics(idTest.energy, oodTest.energy), opnp: oodMetrics(idTest.opnp, oodTest.opnp) },
    runtime: { ...extractor.runtime, kernel: kernel.name },
  };
}

/** The deployable detector of a fit: the classifier plus `ood_score` of the pruned head and `is_ood` at its threshold. */
export async function fitDetector(extractor: OnnxWebFeatureExtractor, result: FitResult): Promise<OnnxDetector> {
  const { head } = extractor;
  const pruned = pruneHead(head, { param: Uint8Array.from(result.masks.param), neuron: Uint8Array.from(result.masks.neuron) });
  return extractor.buildDetector({ prunedWeight: pruned.weight, bias: pruned.bias, threshold: result.threshold });
}
