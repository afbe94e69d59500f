/**
 * The backend contract: what a model backend (`@opnp/backend-onnx`, `@opnp/backend-tfjs`, your own)
 * implements so that datasets, core and the CLI can use any classifier.
 */
import type { LinearHead } from './head.js';
import type { Matrix } from './matrix.js';
import type { HeadCheck } from './backend/batches.js';
import { OpnpError } from './errors.js';
import { assertBackend, assertFeatureExtractor } from './extractor-contract.js';
import { createRegistry } from './registry.js';

/** Memory layout of an image input. `'flat'` is a plain `N x D` vector input. */
export type InputLayout = 'NCHW' | 'NHWC' | 'flat';

/** Description of a model's (single) input. */
export interface InputSpec {
  /** Graph input name. */
  readonly name: string;
  /** Full shape including the batch dimension; `null` marks a dynamic dimension (e.g. `[null, 3, 224, 224]`). */
  readonly shape: readonly (number | null)[];
  /** Layout of image inputs; `'flat'` for vector inputs. */
  readonly layout: InputLayout;
}

/** A batch of model inputs: `N x (input shape without batch)` float32 values in the model's layout. */
export interface InputBatch {
  readonly data: Float32Array;
  /** Full shape, batch dimension first. */
  readonly shape: readonly number[];
}

/** What one extraction returns: features and logits of the same samples, in input order. */
export interface ExtractResult {
  /** Penultimate features `H [N x D]`: the input of the classifier head. */
  readonly features: Matrix;
  /** The model's logits `F [N x C]` (equal to `H W^T + b` of {@link FeatureExtractor.head}). */
  readonly logits: Matrix;
}

/**
 * What a {@link FeatureExtractor} runs on (its optional `runtime` member): the execution providers (devices)
 * and threads actually in use, as chosen at load time.
 */
export interface RuntimeInfo {
  /** Execution providers / devices in use, in order of preference (onnx: `['cpu']`, `['cuda', 'cpu']`; tfjs: `['wasm']`). */
  readonly executionProviders: readonly string[];
  /** Threads used inside one operator, when the backend knows it. */
  readonly threads?: number;
}

/**
 * How raw images must be preprocessed before they enter an exported detector, recorded inside it (ONNX:
 * `metadata_props`; TensorFlow.js: `model.json`'s `userDefinedMetadata`, both under the key `opnp.preprocess`).
 * Plain JSON data with the fields of `@opnp/datasets`' `PreprocessOptions` (a value of that type can be passed
 * as is, and a recorded one read back into it). Order per image: resize -> centre crop -> channel conversion ->
 * `x * scale` -> `(x - mean[c]) / std[c]` -> `layout`. Every field is optional; absent ones take `@opnp/datasets`'
 * defaults (`scale` 1/255 for 8-bit images, `mean` 0, `std` 1, kernel `'pil-bilinear'`, layout `'NCHW'`).
 */
export interface DetectorPreprocessing {
  /** Memory layout of the input batch. */
  readonly layout?: 'NCHW' | 'NHWC';
  /** Channels the images are converted to (1 grey, 3 RGB). */
  readonly channels?: number;
  /** Shorter side resized to this (keeping the aspect ratio), or `[height, width]` exactly. */
  readonly resize?: number | readonly [number, number];
  /** Centre crop: a side or `[height, width]`. */
  readonly centerCrop?: number | readonly [number, number];
  /** Resampling kernel name (`'pil-bilinear'`, `'pil-bicubic'`, ... as `@opnp/datasets` names them). */
  readonly kernel?: string;
  /** Factor applied to stored values before the normalisation. */
  readonly scale?: number;
  /** Per-channel mean (or one value for all channels) subtracted after scaling. */
  readonly mean?: number | readonly number[];
  /** Per-channel standard deviation (or one value for all channels, non-zero) divided after the mean. */
  readonly std?: number | readonly number[];
}

/** Options of {@link FeatureExtractor.exportDetector}: the OPNP-pruned head the detector scores with. */
export interface DetectorExportOptions {
  /** The pruned weight `W' [C x D]` (the shape of {@link FeatureExtractor.head}'s weight). */
  readonly prunedWeight: Matrix;
  /** Bias `b [C]`. Default: the head's bias. */
  readonly bias?: Float32Array | ArrayLike<number>;
  /**
   * ReAct clip `c >= 0` (e.g. `reactThreshold(trainFeatures, 90)`): the features become `min(h, c)` before the pruned
   * head. NaN or a negative clip is `INVALID_ARGUMENT`, as in `react`. Default: no clipping.
   */
  readonly reactClip?: number;
  /** Energy temperature `T > 0`. Default 1. */
  readonly temperature?: number;
  /** When given, the detector also outputs `is_ood = ood_score < threshold`. */
  readonly threshold?: number;
  /** The input preprocessing to record in the detector (see {@link DetectorPreprocessing}). Default: none recorded. */
  readonly preprocessing?: DetectorPreprocessing;
  /**
   * Where to write, atomically (nothing is left behind on failure). What the path names is the backend's format:
   * a `.onnx` file for `onnx`, a folder (or its `model.json`) for `tfjs`.
   */
  readonly outputPath: string;
}

/** Output names of an exported detector. */
export interface DetectorOutputs {
  /** The classifier's logits `[N, C]` (pre-softmax, unpruned). */
  readonly logits: string;
  /** `ood_score` float32 `[N]`: `T * logsumexp((W' min(h, c) + b) / T)`; higher = more in-distribution. */
  readonly oodScore: string;
  /** `is_ood` bool `[N]` (`ood_score < threshold`), present when a threshold was given. */
  readonly isOod?: string;
  /** Every output of the detector, in graph order (the model's own outputs first). */
  readonly all: readonly string[];
}

/** Formats of exported detectors: `'onnx'` (one `.onnx` file), `'tfjs-graph-model'` (`model.json` + `weights.bin`). */
export type DetectorFormat = 'onnx' | 'tfjs-graph-model' | (string & {});

/** What {@link FeatureExtractor.exportDetector} wrote: enough to tell the user how to run it. */
export interface DetectorExportResult {
  readonly format: DetectorFormat;
  /** The file to load the detector from (the `.onnx` file, the `model.json`). */
  readonly path: string;
  /** Every file written, `path` first. */
  readonly files: readonly string[];
  /** The detector's input: name and full shape (`null` marks a dynamic dimension), in the model's layout. */
  readonly input: InputSpec;
  /** Names of its outputs. */
  readonly outputs: DetectorOutputs;
  /** The energy temperature used. */
  readonly temperature: number;
  /** The ReAct clip, when one was applied. */
  readonly reactClip?: number;
  /** The `is_ood` threshold, when one was given. */
  readonly threshold?: number;
  /** The preprocessing recorded in the detector, when one was given. */
  readonly preprocessing?: DetectorPreprocessing;
}

/**
 * A loaded classifier that yields penultimate features and logits (specification v1).
 *
 * Implementations must: return rows in input order; accept any batch size up to `maxBatchSize`
 * (splitting internally if the model has a fixed batch); be safe to `dispose()` twice; reject calls
 * after dispose with an `OpnpError` of code `'DISPOSED'`.
 *
 * Optional capabilities (check for them, as with onnxruntime-common's optional handler methods):
 * {@link FeatureExtractor.runtime}, {@link FeatureExtractor.exportDetector} and {@link FeatureExtractor.inputGradient}.
 */
export interface FeatureExtractor {
  readonly specificationVersion: 'v1';
  /** Name of the backend that created it (e.g. `'onnx'`). */
  readonly backend: string;
  /** The classifier head `W [C x D]`, `b [C]` read from the model. */
  readonly head: LinearHead;
  /** The model input. */
  readonly input: InputSpec;
  /** Largest batch accepted by one {@link FeatureExtractor.extract} call, if limited. */
  readonly maxBatchSize?: number;
  /** Optional: the execution providers and threads in use. */
  readonly runtime?: RuntimeInfo;
  /**
   * Optional: the head check the extractor ran itself on its first non-empty extraction (`compareHead` of
   * `@opnp/core/backend` over `AUTO_HEAD_CHECK_ROWS` rows; the ONNX and TensorFlow.js backends do). When it is
   * present and within tolerance, the pipeline does not repeat it; otherwise the pipeline checks the first batch
   * itself and refuses logits that are not `W h + b`.
   */
  readonly headCheck?: HeadCheck | undefined;
  /** Runs the model on a batch and returns features and logits together. */
  extract(batch: InputBatch): Promise<ExtractResult>;
  /**
   * Optional: writes a deployable detector, the model plus `ood_score` (the energy of the pruned head) and, with a
   * threshold, `is_ood`, runnable without @opnp.
   *
   * @throws OpnpError `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad options, `IO_ERROR` when writing fails,
   * `DISPOSED` after dispose
   */
  exportDetector?(options: DetectorExportOptions): Promise<DetectorExportResult>;
  /**
   * Optional: the exact gradient with respect to the input of `sum_n sum_c outputWeights[n, c] * logits[n, c]`
   * (a vector-Jacobian product of the logits; `outputWeights [N x C]`), in the layout of `batch.data`. Backends
   * with automatic differentiation have it (TensorFlow.js); ODIN uses it (docs/numerics.md#odin) and falls back
   * to finite differences without it.
   *
   * @throws OpnpError `SHAPE_MISMATCH` for a batch or weights that do not fit, `BACKEND_FAILURE` when the model
   * cannot be differentiated, `DISPOSED` after dispose
   */
  inputGradient?(batch: InputBatch, outputWeights: Matrix): Promise<Float32Array>;
  /** Releases the model. Idempotent. */
  dispose(): Promise<void>;
}

/** Where a model comes from: a file path or its bytes. */
export type ModelSource = string | Uint8Array;

/** Options every backend understands; backends extend this with their own. */
export interface LoadOptions {
  /** Name of the feature tensor / layer, when automatic head detection is ambiguous. */
  featureTensor?: string;
  /** Name of the head node / layer, when automatic head detection is ambiguous. */
  headNode?: string;
  /** Called with human-readable warnings (e.g. "the model returns probabilities"). */
  onWarning?: (message: string) => void;
  /**
   * Execution providers to run on, in order of preference, where the backend can choose (onnx: `'cpu'`,
   * `'cuda'`, `'tensorrt'`, `'webgpu'`; tfjs: `'node'`, `'wasm'`, `'cpu'`). Default: the backend's choice.
   * Backend-specific options (e.g. onnx `session.executionProviders`) take precedence.
   */
  executionProviders?: readonly string[];
  /**
   * Threads inside one operator, where the backend can set it (onnx: `intraOpNumThreads`); backends that
   * cannot report it through `onWarning`. Default: the backend's choice.
   */
  threads?: number;
}

/** A model backend: knows which model files it can open and turns them into {@link FeatureExtractor}s. */
export interface Backend {
  readonly specificationVersion: 'v1';
  /** Registry name, e.g. `'onnx'`, `'tfjs'`. */
  readonly name: string;
  /** Optional: what it opens, for messages (e.g. `['.onnx']`, `['model.json', 'a folder holding model.json']`). */
  readonly accepts?: readonly string[];
  /** Whether this backend recognises the model (by file extension or magic bytes); cheap, no loading. */
  canLoad(source: ModelSource): boolean;
  /** Loads the model. */
  load(source: ModelSource, options?: LoadOptions): Promise<FeatureExtractor>;
}

const backends = createRegistry<Backend>('backend');

/**
 * Registers a backend under `name` (lazily initialised by `factory`, one shared init). Higher `priority`
 * is preferred when several backends can load the same model. Registering the same factory is a no-op; a
 * different factory replaces a lower-priority registration, is ignored below a higher-priority one, and is an
 * error at the same priority. The registry is shared by every copy of `@opnp/core` in the process.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for an empty name, or another factory already registered under `name`
 * with the same priority (the message names both registrations)
 *
 * @example
 * ```ts
 * registerBackend('onnx', async () => (await import('./backend.js')).onnxBackend, 10);
 * ```
 */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>, priority = 0): void {
  backends.register(name, factory, priority);
}

/** Resolves a registered backend by name (initialising it on first use). */
export function resolveBackend(name: string): Promise<Backend> {
  return backends.resolve(name);
}

/** Names of the registered backends, highest priority first. */
export function listBackends(): string[] {
  return backends.names();
}

/** The register entry points of the first-party backends, for hints. */
const KNOWN_BACKENDS: readonly { name: string; entry: string; accepts: string }[] = [
  { name: 'onnx', entry: '@opnp/backend-onnx/register', accepts: '.onnx' },
  { name: 'tfjs', entry: '@opnp/backend-tfjs/register', accepts: 'model.json' },
];

/** How a backend of one's own is found: its register module runs first. */
const CUSTOM_BACKEND_HINT = `a custom backend's register module must be imported before loading (in code: import './register.mjs'; with the opnp CLI: NODE_OPTIONS="--import ./register.mjs" opnp ...)`;

/** What `loadFeatureExtractor` found out about each registered backend. */
interface Tried {
  readonly name: string;
  readonly accepts?: readonly string[];
  readonly failed?: string;
}

function describeTried(t: Tried): string {
  if (t.failed !== undefined) return `${t.name} (failed to initialise: ${t.failed})`;
  return t.accepts && t.accepts.length > 0 ? `${t.name} (${t.accepts.join(', ')})` : t.name;
}

/** The `BACKEND_UNAVAILABLE` error of {@link loadFeatureExtractor}, saying what the registered backends accept. */
function noBackendError(source: ModelSource, tried: readonly Tried[]): OpnpError {
  const file = typeof source === 'string' ? source : undefined;
  const what = file === undefined ? `${source.length} bytes` : 'this model';
  if (tried.length === 0) {
    return new OpnpError('BACKEND_UNAVAILABLE', `No backend is registered to load ${what}`, {
      file,
      expected: 'a registered backend: an ONNX model (.onnx) or a TensorFlow.js model.json',
      actual: 'no backends registered',
      hint: `In code, import ${KNOWN_BACKENDS.map((k) => `"${k.entry}"`).join(' (ONNX) or ')} (model.json) before loading; ${CUSTOM_BACKEND_HINT}`,
    });
  }
  const registered = new Set(tried.map((t) => t.name));
  const missing = KNOWN_BACKENDS.filter((k) => !registered.has(k.name)).map((k) => `import "${k.entry}" to load ${k.accepts} files`);
  const failed = tried.filter((t) => t.failed !== undefined).map((t) => t.name);
  const hints = [
    file === undefined ? 'Check the bytes are a complete model' : 'Check the path and the file type',
    ...(failed.length > 0 ? [`fix the backend(s) that failed to initialise (${failed.join(', ')})`] : []),
    ...missing,
    CUSTOM_BACKEND_HINT,
  ];
  return new OpnpError('BACKEND_UNAVAILABLE', `None of the registered backends recognises ${what}`, {
    file,
    expected: `a model one of the registered backends accepts: ${tried.map(describeTried).join('; ')}`,
    actual: file === undefined ? 'bytes no registered backend recognises' : `a file no registered backend recognises`,
    hint: hints.join('; '),
  });
}

/**
 * `backend.load(source)`, refused unless it is a v1 {@link FeatureExtractor} (which is then disposed of, when it can
 * be): a broken backend fails here, naming what is missing, not in the middle of an evaluation.
 */
async function checkedLoad(backend: Backend, name: string, source: ModelSource, options: LoadOptions | undefined): Promise<FeatureExtractor> {
  const extractor: unknown = await backend.load(source, options);
  try {
    assertFeatureExtractor(extractor, { backend: name, model: typeof source === 'string' ? source : `${source.length} bytes` });
  } catch (error) {
    const dispose = (extractor as { dispose?: unknown } | null)?.dispose;
    if (typeof dispose === 'function') await Promise.resolve(dispose.call(extractor)).catch(() => undefined);
    throw error;
  }
  return extractor;
}

/**
 * Loads a model with the highest-priority registered backend that can load it, and checks that what the backend
 * returned is a v1 {@link FeatureExtractor}.
 *
 * @throws OpnpError `'BACKEND_UNAVAILABLE'` when no registered backend recognises the model: the error says
 * which backends are registered and what each accepts (a backend that is not a v1 {@link Backend} counts as one
 * that failed to initialise), or that none is registered
 * @throws OpnpError `'BACKEND_FAILURE'` when the backend's `load` returns something that is not a v1 extractor,
 * naming the members at fault
 */
export async function loadFeatureExtractor(source: ModelSource, options?: LoadOptions): Promise<FeatureExtractor> {
  const tried: Tried[] = [];
  for (const name of backends.names()) {
    let backend: Backend;
    try {
      const resolved: unknown = await backends.resolve(name);
      assertBackend(resolved, name);
      backend = resolved;
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      tried.push({ name, failed: reason });
      continue;
    }
    if (backend.canLoad(source)) return checkedLoad(backend, name, source, options);
    tried.push({ name, ...(backend.accepts ? { accepts: backend.accepts } : {}) });
  }
  throw noBackendError(source, tried);
}
