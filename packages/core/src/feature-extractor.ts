/**
 * The backend contract: what a model backend (`@opnp/backend-onnx`, `@opnp/backend-tfjs`, your own)
 * implements so that datasets, core and the CLI can use any classifier.
 */
import type { LinearHead } from './head.js';
import type { Matrix } from './matrix.js';
import { OpnpError } from './errors.js';
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
 * A loaded classifier that yields penultimate features and logits (specification v1).
 *
 * Implementations must: return rows in input order; accept any batch size up to `maxBatchSize`
 * (splitting internally if the model has a fixed batch); be safe to `dispose()` twice; reject calls
 * after dispose with an `OpnpError` of code `'DISPOSED'`.
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
  /** Runs the model on a batch and returns features and logits together. */
  extract(batch: InputBatch): Promise<ExtractResult>;
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
}

/** A model backend: knows which model files it can open and turns them into {@link FeatureExtractor}s. */
export interface Backend {
  readonly specificationVersion: 'v1';
  /** Registry name, e.g. `'onnx'`, `'tfjs'`. */
  readonly name: string;
  /** Whether this backend recognises the model (by file extension or magic bytes); cheap, no loading. */
  canLoad(source: ModelSource): boolean;
  /** Loads the model. */
  load(source: ModelSource, options?: LoadOptions): Promise<FeatureExtractor>;
}

const backends = createRegistry<Backend>('backend');

/**
 * Registers a backend under `name` (lazily initialised by `factory`, one shared init). Higher `priority`
 * is preferred when several backends can load the same model. Registering the same factory is a no-op.
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

/**
 * Loads a model with the highest-priority registered backend that can load it.
 *
 * @throws OpnpError `'BACKEND_UNAVAILABLE'` when no registered backend recognises the model.
 */
export async function loadFeatureExtractor(source: ModelSource, options?: LoadOptions): Promise<FeatureExtractor> {
  const tried: string[] = [];
  for (const name of backends.names()) {
    let backend: Backend;
    try {
      backend = await backends.resolve(name);
    } catch {
      tried.push(`${name} (failed to initialise)`);
      continue;
    }
    if (backend.canLoad(source)) return backend.load(source, options);
    tried.push(name);
  }
  throw new OpnpError('BACKEND_UNAVAILABLE', 'No registered backend can load this model', {
    file: typeof source === 'string' ? source : undefined,
    expected: 'an ONNX model (.onnx) or a TensorFlow.js model.json',
    actual: tried.length ? `a model none of the registered backends (${tried.join(', ')}) recognises` : 'no backends registered',
    hint: 'Check the path; in code, import "@opnp/backend-onnx/register" (ONNX) or "@opnp/backend-tfjs/register" (model.json) first',
  });
}
