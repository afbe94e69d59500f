/**
 * The test metrics of an ablation's variants: every variant is a scorer run over the ID test samples and the OOD
 * test sets in one streaming pass per set (the evaluation's `score` stage with a registry of the variants), then
 * `oodMetrics` per (variant, OOD set) and their averages (`methodMetrics`), or the top-1 accuracy of a pruned head
 * on the labelled ID test samples.
 */
import { accuracy } from '@opnp/metrics';
import type { ScoredSet } from '../collect.js';
import { createEmptyRegistry, type MethodDefinition, type Scorer } from '../methods/registry.js';
import { score, type ScoreResult } from '../stages/score.js';
import { methodMetrics } from '../stages/summarize.js';
import type { AblationSession } from './session.js';
import type { AblationRow, AblationVariant } from './types.js';

/** A variant with its scorer: scores `[n]` (OOD metrics), or predicted classes `[n]` (accuracy). */
export interface MeasuredVariant {
  readonly variant: AblationVariant;
  readonly scorer: Scorer;
}

/** What was measured: the tidy rows, and the samples they cover. */
export interface Measurement {
  readonly rows: AblationRow[];
  readonly idTest: number;
  readonly idLabelled: number;
  readonly ood: Record<string, number>;
}

/** Registry keys of the variants (their names may hold `%` or `=`, which method names may not). */
const keyOf = (index: number) => `variant-${index}`;

async function scoreVariants(session: AblationSession, variants: readonly MeasuredVariant[], ood: AblationSession['sources']['ood']): Promise<ScoreResult> {
  const definitions = Object.fromEntries(variants.map((v, i): [string, MethodDefinition] => [keyOf(i), { description: v.variant.description, defaults: {}, create: () => v.scorer }]));
  const { config } = session;
  return score(session.sources.test, ood, {
    registry: createEmptyRegistry(definitions),
    methods: variants.map((_v, i) => keyOf(i)),
    context: { head: session.head, kernel: session.model.kernel, fitFeatures: session.fitted.fitFeatures, fitLabels: session.fitted.fitLabels },
    evalIndices: session.evalIndices,
    batchSize: config.batchSize,
    ...(config.signal ? { signal: config.signal } : {}),
    ...(config.onProgress ? { onProgress: config.onProgress } : {}),
    onSkip: session.skips.add,
  });
}

const labelled = (set: ScoredSet) => set.labels.reduce((n, l) => n + (l >= 0 ? 1 : 0), 0);

/** FPR95, AUROC, AUPR-In and AUPR-Out of every variant on every OOD test set, then averaged over the sets. */
export async function measureOod(session: AblationSession, variants: readonly MeasuredVariant[]): Promise<Measurement> {
  const scores = await scoreVariants(session, variants, session.sources.ood);
  const { results, averages } = methodMetrics(variants.map((_v, i) => keyOf(i)), scores);
  const metrics = ['fpr95', 'auroc', 'auprIn', 'auprOut'] as const;
  const rows = variants.flatMap((v, i) => {
    const own = [...results.filter((r) => r.method === keyOf(i)), { ...averages[i]!, ood: null }];
    return own.flatMap((r) => metrics.map((metric): AblationRow => ({ variant: v.variant.name, ood: r.ood, metric, value: r[metric] })));
  });
  return { rows, idTest: scores.id.count, idLabelled: labelled(scores.id), ood: Object.fromEntries(scores.ood.map(([name, set]) => [name, set.count])) };
}

/** The top-1 accuracy of every variant's predictions on the labelled ID test samples. */
export async function measureAccuracy(session: AblationSession, variants: readonly MeasuredVariant[]): Promise<Measurement> {
  const { id } = await scoreVariants(session, variants, []);
  const keep: number[] = [];
  for (let i = 0; i < id.labels.length; i++) if (id.labels[i]! >= 0) keep.push(i);
  const truth = Int32Array.from(keep, (i) => id.labels[i]!);
  const rows = variants.map((v, i): AblationRow => {
    const predicted = id.scores.get(keyOf(i))!;
    return { variant: v.variant.name, ood: null, metric: 'accuracy', value: accuracy(Int32Array.from(keep, (k) => predicted[k]!), truth) };
  });
  return { rows, idTest: id.count, idLabelled: keep.length, ood: {} };
}
