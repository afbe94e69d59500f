/**
 * End-to-end benchmark of an evaluation on the demo's MNIST data, phase by phase: opening the sets, the
 * training pass (extraction of the training set, sensitivity, fit subset), the OPNP point search, the scoring stage
 * as an evaluation runs it, metrics; then the scoring stage's parts: `extract` (the test and OOD sets through the
 * model, once), and per method its fit statistics (`fitPerMethod`: building its scorer on the fit subset, e.g.
 * Mahalanobis' class means and covariance, KNN's normalised bank) and its scoring of the extracted features
 * (`scoringPerMethod`). Prints one JSON line of seconds, so the slowest phase of a real run is visible.
 *
 * Run: `npm run bench -w @opnp/pipeline` (or `-- --quick` for a tenth of the training set).
 */
import { fileURLToPath } from 'node:url';
import '@opnp/backend-onnx/register';
import type { Matrix } from '@opnp/core';
import {
  createEmptyRegistry,
  fitScorers,
  DEFAULT_METHODS,
  fit,
  fitSubset,
  loadModel,
  openSources,
  resolveConfig,
  score,
  selectPoint,
  summarize,
  trainingFingerprint,
  trainingIndices,
  type EvaluationConfig,
  type MethodContext,
  type MethodRegistry,
} from '../src/index.js';

const demo = (name: string) => fileURLToPath(new URL(`../../cli/assets/demo/${name}`, import.meta.url));
const seconds = (start: number) => Math.round((performance.now() - start) / 10) / 100;

async function timed<T>(phases: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  phases[name] = seconds(start);
  return result;
}

/** The features and logits of every batch of the scored sets (the ID test samples and the OOD sets), in memory. */
type CapturedBatches = { features: Matrix; logits: Matrix }[];

/**
 * Reads the scored sets once through the model (the `extract` phase): a method `capture` keeps every batch, so each
 * method's fit and scoring can then be timed apart on the same in-memory features.
 */
async function captureScoredSets(scoreWith: (registry: MethodRegistry, methods: readonly string[]) => Promise<unknown>): Promise<CapturedBatches> {
  const batches: CapturedBatches = [];
  const registry = createEmptyRegistry({
    capture: { description: 'keeps every batch', defaults: {}, create: () => (features, logits) => (batches.push({ features, logits }), new Float32Array(features.rows)) },
  });
  await scoreWith(registry, ['capture']);
  return batches;
}

/** Seconds of each method's fit (building its scorer on the fit subset) and of its scoring of the captured batches. */
async function perMethod(registry: MethodRegistry, methods: readonly string[], context: MethodContext, batches: CapturedBatches): Promise<{ fit: Record<string, number>; scoring: Record<string, number> }> {
  const fit: Record<string, number> = {};
  const scoring: Record<string, number> = {};
  for (const method of methods) {
    let start = performance.now();
    const scorer = (await fitScorers(registry, [method], context)).get(method)!;
    fit[method] = seconds(start);
    start = performance.now();
    for (const batch of batches) await scorer(batch.features, batch.logits);
    scoring[method] = seconds(start);
  }
  return { fit, scoring };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const phases: Record<string, number> = {};
  const started = performance.now();
  const model = await timed(phases, 'loadModel', () => loadModel(demo('mnist-cnn.onnx')));
  const config: EvaluationConfig = {
    model,
    train: `idx:${demo('mnist-train-6k-images-idx3-ubyte.gz')}`,
    ...(quick ? { trainFraction: 0.1 } : {}),
    test: `idx:${demo('mnist-test-2500-images-idx3-ubyte.gz')}`,
    ood: [{ name: 'fashion', spec: `idx:${demo('fashion-test-images-idx3-ubyte.gz')}` }, { name: 'noise', spec: 'noise:1500#seed=2' }],
    preprocess: { mean: [0.1307], std: [0.3081] },
    batchSize: 500,
  };
  const resolved = resolveConfig(config);
  const sources = await timed(phases, 'openSources', () => openSources(model, resolved, () => undefined));
  const indices = trainingIndices(sources.train.count, config.trainFraction, 0);
  const fitIndices = fitSubset(indices, resolved.fitSamples, 0);
  const fingerprint = await timed(phases, 'fingerprint', () => trainingFingerprint({ model, source: sources.train, indices, seed: 0 }));
  const fitted = await timed(phases, 'trainingPass', () => fit(model, sources.train, { sensitivity: true, indices, fitIndices, fingerprint, batchSize: 500 }));
  const opnp = fitted.opnp;
  if (!opnp) throw new Error('the training pass returned no sensitivity');
  const selection = await timed(phases, 'search', () => selectPoint(model, sources.test, sources.valOod, opnp, { valFraction: 0.2, seed: 0, batchSize: 500 }));
  const context = { head: model.extractor.head, kernel: model.kernel, fitFeatures: fitted.fitFeatures, fitLabels: fitted.fitLabels, opnp: { ...opnp, percentages: selection.percentages } };
  const scoreWith = (registry: MethodRegistry, methods: readonly string[]) => score(sources.test, sources.ood, { registry, methods, context, evalIndices: selection.evalIndices, batchSize: 500 });
  // The whole scoring stage as an evaluation runs it (extraction of the scored sets and every method), then its parts.
  const scores = await timed(phases, 'scoring', () => scoreWith(resolved.registry, DEFAULT_METHODS));
  await timed(phases, 'metrics', async () => summarize({ classes: 10, featureDim: 128, methods: DEFAULT_METHODS, registry: resolved.registry, fit: fitted, selection, scores, opnpEvaluated: true, skipped: {} }));
  const batches = await timed(phases, 'extract', () => captureScoredSets(scoreWith));
  const methods = await perMethod(resolved.registry, DEFAULT_METHODS, context, batches);
  await model.extractor.dispose();
  const total = seconds(started);
  const slowest = Object.entries(phases).sort((a, b) => b[1] - a[1])[0]![0];
  process.stdout.write(`${JSON.stringify({ quick, trainSamples: indices.length, phases, fitPerMethod: methods.fit, scoringPerMethod: methods.scoring, totalSeconds: total, slowestPhase: slowest })}\n`);
}

await main();
