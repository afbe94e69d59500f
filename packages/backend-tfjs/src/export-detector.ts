/**
 * Export of a deployable OOD detector as a TensorFlow.js graph model (`model.json` + `weights.bin`) with two
 * outputs, runnable by plain `tf.loadGraphModel` with no @opnp code:
 *
 * - `logits` float32 `[N, C]`: the classifier's logits (pre-softmax);
 * - `ood_score` float32 `[N]`: `T * logsumexp((W' min(h, clip) + b) / T)`, the energy of the OPNP-pruned head
 *   (optionally after ReAct clipping); higher = more in-distribution;
 * - `is_ood` bool `[N]` (only with a threshold): `ood_score < threshold`.
 *
 * A GraphModel source keeps its GraphDef and gains the new nodes; a LayersModel source is translated to GraphDef
 * up to its feature tensor (see `layersToGraph`), followed by its own head (MatMul + BiasAdd). The input
 * preprocessing, when given, is recorded in `model.json`'s `userDefinedMetadata` under `opnp.preprocess` (read it
 * back with {@link readTfjsDetectorPreprocessing}).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { DETECTOR_OUTPUT_NAMES, DETECTOR_PREPROCESSING_KEY, checkDetectorPreprocessing, decodeDetectorPreprocessing, resolveDetectorExportOptions } from '@opnp/core/backend';
import { OpnpError, assertMatrix, type DetectorExportOptions, type DetectorExportResult, type DetectorPreprocessing, type Matrix } from '@opnp/core';
import { attr, GraphDefBuilder, inputNodeName, type GraphDefJson } from './graph-def.js';
import { detectGraphHead, detectLayersHead, type TfjsHeadOptions } from './head-detection.js';
import { layersToGraph } from './layers-to-graph.js';
import { loadTfjsModelWith, type LoadedTfjsModel, type TfjsModelSource } from './model.js';
import { urlModelIO, type TfjsModelIO } from './model-io.js';
import type { TfjsFeatureExtractor } from './extractor.js';
import { initTfjsBackend } from './runtime.js';

/** Options of {@link exportTfjsDetector}. */
export interface ExportTfjsDetectorOptions {
  /** The loaded classifier (its model and detected head are used). Either this or `model`. */
  extractor?: TfjsFeatureExtractor;
  /** The classifier: a `model.json` URL (a path in `@opnp/backend-tfjs/node`), an IOHandler or artifacts (loaded, then released). */
  model?: TfjsModelSource;
  /** Head detection options when `model` is given. */
  head?: TfjsHeadOptions;
  /** The pruned weight `W' [C x D]` (same shape as the head's weight). */
  prunedWeight: Matrix;
  /** Bias `b [C]`. Default: the head's bias. */
  bias?: Float32Array | ArrayLike<number>;
  /** ReAct clipping threshold `c`: `min(h, c)` before the pruned head. Default: none. */
  reactClip?: number;
  /** Energy temperature `T > 0`. Default 1. */
  temperature?: number;
  /** When given, an `is_ood` output (bool `[N]`) is added: `ood_score < threshold`. */
  threshold?: number;
  /** The input preprocessing to record in `userDefinedMetadata['opnp.preprocess']`. Default: none recorded. */
  preprocessing?: DetectorPreprocessing;
  /**
   * Where to write the detector: a tf.io URL (`downloads://detector`, `indexeddb://detector`, ...); with
   * `@opnp/backend-tfjs/node`, also an output folder (or `model.json` path): `model.json` + `weights.bin`, each
   * written atomically. Without it, only the artifacts are returned.
   */
  outPath?: string;
}

/** What {@link exportTfjsDetector} produced. */
export interface ExportedTfjsDetector {
  /** The graph-model artifacts (load them with `tf.loadGraphModel(tf.io.fromMemory(artifacts))`). */
  readonly artifacts: tf.io.ModelArtifacts;
  /** Output names, in order: `['logits', 'ood_score']`, then `'is_ood'` with a threshold. */
  readonly outputs: readonly string[];
  /** Name of the input placeholder. */
  readonly inputName: string;
  /** Shape of the input placeholder (`null` marks a dynamic dimension). */
  readonly inputShape: readonly (number | null)[];
  /** The files written (`model.json` first; the URL for a tf.io URL), when `outPath` was given. */
  readonly files?: readonly string[];
}

function invalid(summary: string, expected: unknown, actual: unknown): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', summary, { expected, actual });
}

function transposeToDxC(w: Matrix): Float32Array {
  const { rows: C, cols: D, data } = w;
  const out = new Float32Array(C * D);
  for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) out[j * C + c] = data[c * D + j]!;
  return out;
}

/** Appends `T * logsumexp((W' min(h, clip) + b) / T)` as node `ood_score` (shape `[N]`). */
function appendEnergy(b: GraphDefBuilder, h: string, weight: Matrix, bias: Float32Array, T: number, clip: number | undefined): void {
  const C = weight.rows;
  const D = weight.cols;
  let x = h;
  if (clip !== undefined) x = b.op('Minimum', [x, b.constant('opnp_ood/react_clip', Float32Array.of(clip), [])], {}, b.name('opnp_ood/Minimum'));
  let z = b.op('MatMul', [x, b.constant('opnp_ood/pruned_kernel', transposeToDxC(weight), [D, C])], { transpose_a: attr.bool(false), transpose_b: attr.bool(false) }, b.name('opnp_ood/MatMul'));
  z = b.op('BiasAdd', [z, b.constant('opnp_ood/bias', bias, [C])], { data_format: attr.string('NHWC') }, b.name('opnp_ood/BiasAdd'));
  const t = T === 1 ? undefined : b.constant('opnp_ood/temperature', Float32Array.of(T), []);
  if (t) z = b.op('RealDiv', [z, t], {}, b.name('opnp_ood/RealDiv'));
  const axis = b.constant('opnp_ood/axis', Int32Array.of(1), [1]);
  const m = b.op('Max', [z, axis], { keep_dims: attr.bool(true), Tidx: attr.type('DT_INT32') }, b.name('opnp_ood/Max'));
  const e = b.op('Exp', [b.op('Sub', [z, m], {}, b.name('opnp_ood/Sub'))], {}, b.name('opnp_ood/Exp'));
  const s = b.op('Sum', [e, axis], { keep_dims: attr.bool(true), Tidx: attr.type('DT_INT32') }, b.name('opnp_ood/Sum'));
  let lse = b.op('AddV2', [b.op('Log', [s], {}, b.name('opnp_ood/Log')), m], {}, b.name('opnp_ood/AddV2'));
  if (t) lse = b.op('Mul', [lse, t], {}, b.name('opnp_ood/Mul'));
  b.op('Reshape', [lse, b.constant('opnp_ood/flat', Int32Array.of(-1), [1])], { Tshape: attr.type('DT_INT32') }, 'ood_score');
}

function graphOf(loaded: LoadedTfjsModel, headOptions: TfjsHeadOptions | undefined, extractor?: TfjsFeatureExtractor) {
  const b = new GraphDefBuilder(loaded.kind === 'graph-model' ? loaded.graph.node.map((n) => n.name) : []);
  if (loaded.kind === 'graph-model') {
    const det = extractor?.detection.kind === 'graph-model' ? extractor.detection : detectGraphHead(loaded.model, loaded.graph, headOptions);
    for (const node of (loaded.artifacts.modelTopology as GraphDefJson).node) b.nodes.push(node);
    const weightData = new Uint8Array(tf.io.CompositeArrayBuffer.join(loaded.artifacts.weightData ?? new ArrayBuffer(0)));
    b.addWeights(loaded.artifacts.weightSpecs ?? [], weightData);
    const input = loaded.model.inputs[0]!;
    const inputName = inputNodeName(input.name);
    const shape = (input.shape ?? []).map((d) => (d === -1 ? null : d));
    return { b, det, featureRef: det.featureTensor, logitsRef: det.logitsNode, input: { name: inputName, shape } };
  }
  const det = extractor?.detection.kind === 'layers-model' ? extractor.detection : detectLayersHead(loaded.model, headOptions);
  const dense = loaded.model.getLayer(det.layer);
  const { input, output } = layersToGraph(loaded.model, dense.input as SymbolicTensor, b);
  const { weight, bias } = det.head;
  let logits = b.op('MatMul', [output, b.constant(`${det.layer}/kernel`, transposeToDxC(weight), [weight.cols, weight.rows])], { transpose_a: attr.bool(false), transpose_b: attr.bool(false) }, b.name(`${det.layer}/MatMul`));
  logits = b.op('BiasAdd', [logits, b.constant(`${det.layer}/bias`, bias, [weight.rows])], { data_format: attr.string('NHWC') }, b.name(`${det.layer}/BiasAdd`));
  return { b, det, featureRef: output, logitsRef: logits, input };
}

/**
 * Builds (and optionally writes) a TensorFlow.js graph model with outputs `logits [N, C]`,
 * `ood_score [N] = T * logsumexp((W' min(h, clip) + b) / T)` and, with a threshold, `is_ood [N]`. The result is
 * loaded and run once on zeros before anything is written. With an `extractor`, the TensorFlow.js backend it runs
 * on is kept.
 *
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH` for bad options, `MODEL_FORMAT` for a layer that cannot be
 * translated, `MODEL_HEAD_*` when no head is found, `IO_ERROR` when writing fails
 *
 * @example
 * ```ts
 * const pruned = pruneHead(extractor.head, masks);
 * const { artifacts } = await exportTfjsDetector({ extractor, prunedWeight: pruned.weight, reactClip: c, outPath: 'indexeddb://detector' });
 * const detector = await tf.loadGraphModel(tf.io.fromMemory(artifacts)); // or tf.loadGraphModel('indexeddb://detector')
 * const [logits, oodScore] = detector.execute(x) as tf.Tensor[];
 * ```
 * (`exportTfjsDetector` of `@opnp/backend-tfjs/node` also writes folders: `outPath: 'detector/'`.)
 */
export function exportTfjsDetector(options: ExportTfjsDetectorOptions): Promise<ExportedTfjsDetector> {
  return exportTfjsDetectorWith(options, urlModelIO);
}

/** {@link exportTfjsDetector} with a given reader and writer of string sources and targets (the Node entry passes the file system's). */
export async function exportTfjsDetectorWith(options: ExportTfjsDetectorOptions, modelIO: TfjsModelIO): Promise<ExportedTfjsDetector> {
  if (!options.extractor === !options.model) throw invalid('Pass exactly one of extractor and model', 'extractor | model', Object.keys(options));
  const running = options.extractor?.tfBackend;
  if (!running || tf.getBackend() !== running.tfName) await initTfjsBackend(running ? { prefer: running.name } : {});
  const T = options.temperature ?? 1;
  if (typeof T !== 'number' || !(T > 0) || !Number.isFinite(T)) throw invalid('temperature must be a finite number > 0', '> 0', T);
  if (options.reactClip !== undefined && (typeof options.reactClip !== 'number' || Number.isNaN(options.reactClip))) throw invalid('reactClip must be a number (not NaN)', 'a number', options.reactClip);
  if (options.threshold !== undefined && (typeof options.threshold !== 'number' || Number.isNaN(options.threshold))) throw invalid('threshold must be a number (not NaN)', 'a number', options.threshold);
  assertMatrix(options.prunedWeight, 'prunedWeight');
  const preprocessing = options.preprocessing === undefined ? undefined : checkDetectorPreprocessing(options.preprocessing);
  const loaded = options.extractor ? options.extractor.loaded : await loadTfjsModelWith(options.model!, modelIO);
  try {
    const { b, det, featureRef, logitsRef, input } = graphOf(loaded, options.head, options.extractor);
    const C = det.head.weight.rows;
    const D = det.head.weight.cols;
    if (options.prunedWeight.rows !== C || options.prunedWeight.cols !== D) {
      throw new OpnpError('SHAPE_MISMATCH', "prunedWeight must have the head's shape C x D", { expected: `${C} x ${D}`, actual: `${options.prunedWeight.rows} x ${options.prunedWeight.cols}` });
    }
    const bias = options.bias === undefined ? det.head.bias : Float32Array.from(options.bias);
    if (bias.length !== C) throw new OpnpError('SHAPE_MISMATCH', 'bias length must equal the number of classes C', { expected: C, actual: bias.length });
    const outputs = ['logits', DETECTOR_OUTPUT_NAMES.oodScore, ...(options.threshold !== undefined ? [DETECTOR_OUTPUT_NAMES.isOod] : [])];
    for (const name of outputs) {
      if (b.nodes.some((n) => n.name === name) && !(name === 'logits' && logitsRef === 'logits')) {
        throw invalid(`The model already has a node named "${name}"`, `a model without ${outputs.join(' / ')} nodes`, name);
      }
    }
    if (logitsRef !== 'logits') b.op('Identity', [logitsRef], {}, 'logits');
    appendEnergy(b, featureRef, options.prunedWeight, bias, T, options.reactClip);
    if (options.threshold !== undefined) {
      b.op('Less', [DETECTOR_OUTPUT_NAMES.oodScore, b.constant('opnp_ood/threshold', Float32Array.of(options.threshold), [])], {}, DETECTOR_OUTPUT_NAMES.isOod);
    }
    const artifacts = b.artifacts([{ name: input.name, shape: input.shape }], outputs, { [DETECTOR_OUTPUT_NAMES.isOod]: 'DT_BOOL' });
    artifacts.userDefinedMetadata = {
      opnp: { outputs, oodScore: 'T * logsumexp((W\' min(h, clip) + b) / T)', temperature: T, reactClip: options.reactClip ?? null, threshold: options.threshold ?? null, featureTensor: featureRef },
      ...(preprocessing !== undefined ? { [DETECTOR_PREPROCESSING_KEY]: preprocessing } : {}),
    };
    await checkRuns(artifacts, input.shape);
    const files = options.outPath !== undefined ? await modelIO.save(options.outPath, artifacts) : undefined;
    return { artifacts, outputs, inputName: input.name, inputShape: input.shape, ...(files ? { files } : {}) };
  } finally {
    if (!options.extractor) loaded.model.dispose();
  }
}

/**
 * The `exportDetector` capability of the TensorFlow.js extractor: writes a graph model (`model.json` +
 * `weights.bin`) into the folder `options.outputPath` (or at that `model.json` path; a tf.io URL for an extractor
 * of the browser-safe entry) with outputs `logits`, `ood_score` and, with a threshold, `is_ood`.
 */
export async function exportDetectorOf(extractor: TfjsFeatureExtractor, options: DetectorExportOptions): Promise<DetectorExportResult> {
  const resolved = resolveDetectorExportOptions(extractor.head, options);
  const exported = await exportTfjsDetectorWith({
    extractor,
    prunedWeight: resolved.prunedWeight,
    bias: resolved.bias,
    temperature: resolved.temperature,
    ...(resolved.reactClip !== undefined ? { reactClip: resolved.reactClip } : {}),
    ...(resolved.threshold !== undefined ? { threshold: resolved.threshold } : {}),
    ...(resolved.preprocessing !== undefined ? { preprocessing: resolved.preprocessing } : {}),
    outPath: resolved.outputPath,
  }, extractor.modelIO);
  const files = exported.files ?? [];
  return {
    format: 'tfjs-graph-model',
    path: files[0] ?? resolved.outputPath,
    files,
    input: { name: exported.inputName, shape: exported.inputShape, layout: extractor.input.layout },
    outputs: {
      logits: 'logits',
      oodScore: DETECTOR_OUTPUT_NAMES.oodScore,
      ...(resolved.threshold !== undefined ? { isOod: DETECTOR_OUTPUT_NAMES.isOod } : {}),
      all: exported.outputs,
    },
    temperature: resolved.temperature,
    ...(resolved.reactClip !== undefined ? { reactClip: resolved.reactClip } : {}),
    ...(resolved.threshold !== undefined ? { threshold: resolved.threshold } : {}),
    ...(resolved.preprocessing !== undefined ? { preprocessing: resolved.preprocessing } : {}),
  };
}

/**
 * The input preprocessing recorded in a detector's `userDefinedMetadata` (key `opnp.preprocess`), if any: pass the
 * parsed `model.json`, the artifacts, or `{ userDefinedMetadata: graphModel.metadata }`.
 *
 * @param file the detector, for messages
 * @throws OpnpError `MODEL_FORMAT` when the recorded value is not a valid preprocessing
 */
export function readTfjsDetectorPreprocessing(model: { readonly userDefinedMetadata?: unknown }, file?: string): DetectorPreprocessing | undefined {
  const metadata = model.userDefinedMetadata;
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const stored = (metadata as Record<string, unknown>)[DETECTOR_PREPROCESSING_KEY];
  return stored === undefined ? undefined : decodeDetectorPreprocessing(stored, file);
}

async function checkRuns(artifacts: tf.io.ModelArtifacts, shape: readonly (number | null)[]): Promise<void> {
  let model;
  try {
    model = await loadGraphModel(tf.io.fromMemory(artifacts));
    const dims = shape.map((d, i) => (i === 0 ? 1 : (d ?? 1)));
    const outs = tf.tidy(() => model!.execute(tf.zeros(dims)) as tf.Tensor[]);
    tf.dispose(outs);
  } catch (cause) {
    throw new OpnpError('BACKEND_FAILURE', `The exported graph does not run: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  } finally {
    model?.dispose();
  }
}
