/**
 * End-to-end benchmark of an evaluation on the demo's MNIST data, phase by phase: opening the sets, the
 * training pass (sensitivity + fit subset), the OPNP point search, scoring per method, metrics. Prints one
 * JSON line of seconds per phase (and per method), so the slowest phase of a real run is visible.
 *
 * Run: `npm run bench -w @opnp/pipeline` (or `-- --quick` for a tenth of the training set).
 */
import { fileURLToPath } from 'node:url';
import '@opnp/backend-onnx/register';
import {
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
} from '../src/index.js';

const demo = (name: string) => fileURLToPath(new URL(`../../cli/assets/demo/${name}`, import.meta.url));
const seconds = (start: number) => Math.round((performance.now() - start) / 10) / 100;

async function timed<T>(phases: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  phases[name] = seconds(start);
  return result;
}

/** Seconds of each method's scoring alone, over the ID test set and the OOD sets. */
async function perMethod(methods: readonly string[], run: (methods: readonly string[]) => Promise<unknown>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const method of methods) {
    const start = performance.now();
    await run([method]);
    out[method] = seconds(start);
  }
  return out;
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
  const scoreWith = (methods: readonly string[]) => score(sources.test, sources.ood, { registry: resolved.registry, methods, context, evalIndices: selection.evalIndices, batchSize: 500 });
  const scores = await timed(phases, 'scoring', () => scoreWith(DEFAULT_METHODS));
  await timed(phases, 'metrics', async () => summarize({ classes: 10, featureDim: 128, methods: DEFAULT_METHODS, registry: resolved.registry, fit: fitted, selection, scores, opnpEvaluated: true, skipped: {} }));
  const methods = await perMethod(DEFAULT_METHODS, scoreWith);
  await model.extractor.dispose();
  const total = seconds(started);
  const slowest = Object.entries(phases).sort((a, b) => b[1] - a[1])[0]![0];
  process.stdout.write(`${JSON.stringify({ quick, trainSamples: indices.length, phases, scoringPerMethod: methods, totalSeconds: total, slowestPhase: slowest })}\n`);
}

await main();
