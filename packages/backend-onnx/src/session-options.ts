/**
 * onnxruntime-node session options exposed by the backend, with the toolkit's defaults.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { OpnpError, type LoadOptions, type RuntimeInfo } from '@opnp/core/base';

/** Graph optimisation level of onnxruntime. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Execution providers this backend knows about (`'cuda'` needs onnxruntime-node's GPU binaries). */
export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt' | 'webgpu';

/** Session options of the ONNX backend. */
export interface OnnxSessionOptions {
  /** Threads used inside one operator. Default: all cores (`os.availableParallelism()`). */
  intraOpNumThreads?: number;
  /** Threads used across operators (only used with `executionMode: 'parallel'`). Default: all cores. */
  interOpNumThreads?: number;
  /** Graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Execution providers in order of preference. Default `['cpu']`. */
  executionProviders?: readonly ExecutionProvider[];
  /** Sequential (default) or parallel execution of independent nodes. */
  executionMode?: 'sequential' | 'parallel';
  /**
   * Let the intra-op threads spin while they wait for work (onnxruntime's own default). Default `false`: a
   * spinning pool takes the cores from everything else the process runs between batches (decoding, image
   * workers, accumulation) and from other processes. On a 2-core machine shared with other jobs, not spinning
   * ran the benchmark model 1.5 to 2.5 times faster with 2 threads and used a third less CPU per image.
   */
  allowSpinning?: boolean;
}

const LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
const PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'tensorrt', 'webgpu'];

function threads(value: number | undefined, name: string): number {
  if (value === undefined) return availableParallelism();
  if (!Number.isInteger(value) || value < 1) {
    throw new OpnpError('INVALID_ARGUMENT', `${name} must be a positive integer`, { actual: value });
  }
  return value;
}

/**
 * Validates {@link OnnxSessionOptions} and turns them into onnxruntime's `SessionOptions`.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for bad values, `BACKEND_UNAVAILABLE` for an execution provider
 * whose binaries are not installed
 */
export function toOrtSessionOptions(options: OnnxSessionOptions = {}): ort.InferenceSession.SessionOptions {
  const level = options.graphOptimizationLevel ?? 'all';
  if (!LEVELS.includes(level)) {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown graph optimisation level', { expected: LEVELS.join(' | '), actual: level });
  }
  const providers = options.executionProviders ?? ['cpu'];
  if (providers.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'executionProviders must not be empty', { expected: "e.g. ['cpu']" });
  const supported = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]));
  for (const provider of providers) {
    if (!PROVIDERS.includes(provider)) {
      throw new OpnpError('INVALID_ARGUMENT', 'Unknown execution provider', { expected: PROVIDERS.join(' | '), actual: provider });
    }
    if (!supported.has(provider)) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `Execution provider "${provider}" is not supported by this onnxruntime-node build`, {
        expected: [...supported.keys()].join(', '),
        actual: provider,
        hint: provider === 'cuda' ? 'Install the GPU binaries of onnxruntime-node (see its README: ONNXRUNTIME_NODE_INSTALL_CUDA)' : undefined,
      });
    }
  }
  return {
    intraOpNumThreads: threads(options.intraOpNumThreads, 'intraOpNumThreads'),
    interOpNumThreads: threads(options.interOpNumThreads, 'interOpNumThreads'),
    graphOptimizationLevel: level,
    executionMode: options.executionMode ?? 'sequential',
    executionProviders: [...providers],
    extra: { session: { intra_op: { allow_spinning: options.allowSpinning === true ? '1' : '0' } } },
  };
}

/**
 * The session options of a load: `session` as given, with the generic {@link LoadOptions} `executionProviders`
 * and `threads` (as `intraOpNumThreads`) filling what `session` leaves unset.
 */
export function sessionOptionsOf(options: LoadOptions & { session?: OnnxSessionOptions }): OnnxSessionOptions {
  const session = { ...options.session };
  if (session.executionProviders === undefined && options.executionProviders !== undefined) {
    session.executionProviders = options.executionProviders as readonly ExecutionProvider[];
  }
  if (session.intraOpNumThreads === undefined && options.threads !== undefined) session.intraOpNumThreads = options.threads;
  return session;
}

/**
 * The execution providers and intra-op threads a session is created with (defaults resolved: `['cpu']`, all
 * cores).
 *
 * @throws OpnpError like {@link toOrtSessionOptions}
 */
export function sessionRuntimeInfo(options: OnnxSessionOptions = {}): RuntimeInfo {
  const ortOptions = toOrtSessionOptions(options);
  const providers = (ortOptions.executionProviders ?? ['cpu']).map((p) => (typeof p === 'string' ? p : p.name));
  return { executionProviders: providers, ...(ortOptions.intraOpNumThreads !== undefined ? { threads: ortOptions.intraOpNumThreads } : {}) };
}

/**
 * Creates an onnxruntime session from model bytes, turning runtime failures into `OpnpError`s
 * (`BACKEND_UNAVAILABLE` when a non-CPU provider cannot start, `MODEL_FORMAT` otherwise).
 */
export async function createSession(bytes: Uint8Array, options: OnnxSessionOptions = {}, file?: string): Promise<ort.InferenceSession> {
  const ortOptions = toOrtSessionOptions(options);
  try {
    return await ort.InferenceSession.create(bytes, ortOptions);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const gpu = (options.executionProviders ?? []).some((p) => p !== 'cpu');
    if (gpu && /provider|cuda|tensorrt|webgpu|library|\.so/i.test(message)) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `onnxruntime could not start the execution provider(s) ${options.executionProviders!.join(', ')}: ${message}`, {
        file,
        hint: "Install onnxruntime-node's GPU binaries and drivers, or run on the CPU (executionProviders: ['cpu']; in the opnp CLI, leave out --execution-provider or pass --execution-provider cpu)",
        cause,
      });
    }
    throw new OpnpError('MODEL_FORMAT', `onnxruntime cannot load the model: ${message}`, { file, cause });
  }
}
