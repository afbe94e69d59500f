/**
 * onnxruntime-web session options: execution providers (WebGPU when the browser has an adapter, else wasm), the
 * graph optimisation level, and the process-wide wasm settings (threads, where the `.wasm` files are served from).
 */
import * as ort from 'onnxruntime-web';
import { OpnpError, type LoadOptions, type RuntimeInfo } from '@opnp/core';
import { messageOf, type OrtRuntime, type OrtSession } from '@opnp/onnx-common';

/** Graph optimisation level of onnxruntime. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Execution providers of onnxruntime-web that this backend runs on (`'cpu'` is accepted as an alias of `'wasm'`). */
export type WebExecutionProvider = 'wasm' | 'webgpu';

/** Session options of the web backend. */
export interface OnnxWebSessionOptions {
  /**
   * Execution providers in order of preference. Default: `['webgpu', 'wasm']` when the browser has a WebGPU adapter
   * (`navigator.gpu.requestAdapter()`), else `['wasm']`. A provider named here that is unavailable is an error.
   */
  executionProviders?: readonly (WebExecutionProvider | 'cpu')[];
  /** Graph optimisation level. Default `'all'`. */
  graphOptimizationLevel?: GraphOptimizationLevel;
}

/** Process-wide onnxruntime-web settings (`ort.env.wasm`), applied before the first session starts the wasm runtime. */
export interface OnnxWebRuntimeConfig {
  /**
   * Threads of the wasm runtime. More than 1 needs `SharedArrayBuffer`: a cross-origin isolated page (served with
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`) or Node.
   * Default: onnxruntime-web's (1 in a page that is not cross-origin isolated).
   */
  numThreads?: number;
  /** URL prefix (ending in `/`) the `ort-wasm-*.wasm` / `.mjs` files are served from. Default: next to the script. */
  wasmPaths?: string;
}

const LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
const PROVIDERS: readonly string[] = ['wasm', 'webgpu', 'cpu'];

/** Set once a session has started the wasm runtime; `ort.env.wasm` changes are ignored from then on. */
let runtimeStarted = false;

/** onnxruntime-web as the shared code's {@link OrtRuntime}; creating a session marks the wasm runtime as started. */
export const webRuntime: OrtRuntime = {
  InferenceSession: {
    create(buffer, options) {
      runtimeStarted = true;
      return ort.InferenceSession.create(buffer, options);
    },
  },
  Tensor: ort.Tensor,
};

/**
 * Sets onnxruntime-web's process-wide wasm options. Call it before the first model or kernel session.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for a bad value, or for a change after the wasm runtime started (it would be
 * silently ignored by onnxruntime-web)
 */
export function configureOnnxRuntimeWeb(config: OnnxWebRuntimeConfig): void {
  const { numThreads, wasmPaths } = config;
  if (numThreads !== undefined && (!Number.isInteger(numThreads) || numThreads < 1)) {
    throw new OpnpError('INVALID_ARGUMENT', 'numThreads must be a positive integer', { actual: numThreads });
  }
  if (wasmPaths !== undefined && (typeof wasmPaths !== 'string' || wasmPaths.length === 0)) {
    throw new OpnpError('INVALID_ARGUMENT', 'wasmPaths must be a non-empty URL prefix', { expected: "e.g. '/ort/'", actual: wasmPaths });
  }
  const changes = (numThreads !== undefined && numThreads !== ort.env.wasm.numThreads) || (wasmPaths !== undefined && wasmPaths !== ort.env.wasm.wasmPaths);
  if (runtimeStarted && changes) {
    throw new OpnpError('INVALID_ARGUMENT', 'onnxruntime-web is already running: its wasm options cannot change any more', {
      actual: config,
      hint: 'Call configureOnnxRuntimeWeb before loading the first model or creating a kernel',
    });
  }
  if (numThreads !== undefined) ort.env.wasm.numThreads = numThreads;
  if (wasmPaths !== undefined) ort.env.wasm.wasmPaths = wasmPaths;
}

/** The last WebGPU probe: the `navigator.gpu` it asked and its answer (browsers log a warning for each empty answer). */
let probe: { gpu: object; available: Promise<boolean> } | undefined;

/**
 * Whether the browser offers a WebGPU adapter (`false` in Node and in browsers without WebGPU or a usable GPU).
 * Asked once per `navigator.gpu`.
 */
export function webGpuAvailable(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return Promise.resolve(false);
  if (probe?.gpu !== gpu) {
    const available = gpu.requestAdapter().then(
      (adapter) => adapter != null,
      () => false,
    );
    probe = { gpu, available };
  }
  return probe.available;
}

/**
 * The execution providers to run on: `requested` checked (`'cpu'` read as `'wasm'`), or the default (`['webgpu',
 * 'wasm']` with a WebGPU adapter, else `['wasm']`).
 *
 * @throws OpnpError `INVALID_ARGUMENT` for an empty list or an unknown name, `BACKEND_UNAVAILABLE` for `'webgpu'`
 * without a WebGPU adapter
 */
export async function resolveExecutionProviders(requested?: readonly string[]): Promise<WebExecutionProvider[]> {
  if (requested === undefined) return (await webGpuAvailable()) ? ['webgpu', 'wasm'] : ['wasm'];
  if (requested.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'executionProviders must not be empty', { expected: "e.g. ['wasm']" });
  const providers: WebExecutionProvider[] = [];
  for (const name of requested) {
    if (!PROVIDERS.includes(name)) {
      throw new OpnpError('INVALID_ARGUMENT', 'Unknown execution provider for onnxruntime-web', { expected: PROVIDERS.join(' | '), actual: name });
    }
    const provider: WebExecutionProvider = name === 'webgpu' ? 'webgpu' : 'wasm';
    if (provider === 'webgpu' && !(await webGpuAvailable())) {
      throw new OpnpError('BACKEND_UNAVAILABLE', 'The WebGPU execution provider is not available here', {
        expected: 'a browser with WebGPU and a GPU adapter (navigator.gpu.requestAdapter())',
        actual: 'navigator' in globalThis ? 'no WebGPU adapter' : 'no navigator (not a browser)',
        hint: "Use executionProviders: ['wasm'], or leave executionProviders unset to use WebGPU only when it is there",
      });
    }
    if (!providers.includes(provider)) providers.push(provider);
  }
  return providers;
}

/**
 * Applies the generic `threads` load option as the wasm thread count when the runtime has not started yet; later,
 * a different count is reported through `onWarning` (onnxruntime-web cannot change it any more).
 */
export function applyThreads(threads: number | undefined, onWarning?: (message: string) => void): void {
  if (threads === undefined) return;
  if (!Number.isInteger(threads) || threads < 1) throw new OpnpError('INVALID_ARGUMENT', 'threads must be a positive integer', { actual: threads });
  if (!runtimeStarted) {
    configureOnnxRuntimeWeb({ numThreads: threads });
    return;
  }
  if (threads !== ort.env.wasm.numThreads) {
    onWarning?.(`threads: ${threads} ignored; onnxruntime-web is already running with ${ort.env.wasm.numThreads} thread(s)`);
  }
}

/** The session options of a load: `session` as given, with the generic {@link LoadOptions} filling what it leaves unset. */
export function sessionOptionsOf(options: LoadOptions & { session?: OnnxWebSessionOptions }): OnnxWebSessionOptions {
  const session = { ...options.session };
  if (session.executionProviders === undefined && options.executionProviders !== undefined) {
    session.executionProviders = options.executionProviders as OnnxWebSessionOptions['executionProviders'];
  }
  return session;
}

/** onnxruntime-web's `SessionOptions` for `providers` and `level`. */
function ortOptions(providers: readonly WebExecutionProvider[], level: GraphOptimizationLevel): ort.InferenceSession.SessionOptions {
  return { executionProviders: [...providers], graphOptimizationLevel: level };
}

/** A created session and what it runs on. */
export interface WebSession {
  readonly session: OrtSession;
  readonly info: RuntimeInfo;
}

/**
 * Creates an onnxruntime-web session from model bytes with checked options, turning runtime failures into
 * `OpnpError`s (`BACKEND_UNAVAILABLE` when the wasm or WebGPU runtime cannot start, `MODEL_FORMAT` otherwise).
 *
 * @throws OpnpError `INVALID_ARGUMENT` for bad options (see {@link resolveExecutionProviders})
 */
export async function createWebSession(bytes: Uint8Array, options: OnnxWebSessionOptions = {}, file?: string): Promise<WebSession> {
  const level = options.graphOptimizationLevel ?? 'all';
  if (!LEVELS.includes(level)) {
    throw new OpnpError('INVALID_ARGUMENT', 'Unknown graph optimisation level', { expected: LEVELS.join(' | '), actual: level });
  }
  const providers = await resolveExecutionProviders(options.executionProviders);
  let session: OrtSession;
  try {
    session = await webRuntime.InferenceSession.create(bytes, ortOptions(providers, level));
  } catch (cause) {
    const message = messageOf(cause);
    // onnxruntime-common says so when no requested backend initialised (wasm files not found, WebGPU device lost).
    if (/no available backend found/i.test(message)) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `onnxruntime-web could not start ${providers.join(', ')}: ${message}`, {
        file,
        hint: 'Serve the ort-wasm-*.wasm files of onnxruntime-web next to the script, or point configureOnnxRuntimeWeb({ wasmPaths }) at them',
        cause,
      });
    }
    throw new OpnpError('MODEL_FORMAT', `onnxruntime-web cannot load the model: ${message}`, { file, cause });
  }
  const threads = ort.env.wasm.numThreads;
  return { session, info: { executionProviders: providers, ...(typeof threads === 'number' && threads > 0 ? { threads } : {}) } };
}
