/**
 * Choosing the TensorFlow.js backend: `@tensorflow/tfjs-node` when it is installed (an optional peer
 * dependency: its install script downloads libtensorflow, which fails on machines without access to
 * that host), otherwise `@tensorflow/tfjs-backend-wasm` (SIMD / threads where the runtime has them),
 * otherwise the pure-JavaScript `cpu` backend.
 *
 * TensorFlow.js has one global engine, so the choice is process-wide. Browser-safe: `'node'` is simply
 * skipped where `@tensorflow/tfjs-node` cannot load.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { OpnpError } from '@opnp/core';

/** The TensorFlow.js backends this package can run on. */
export type TfjsBackendName = 'node' | 'wasm' | 'cpu';

/** Options of {@link initTfjsBackend}. */
export interface TfjsBackendOptions {
  /**
   * Force one backend (no fallback: `BACKEND_UNAVAILABLE` when it cannot start). Default: the environment
   * variable `OPNP_TFJS_BACKEND` if set, else the first that starts of `node`, `wasm`, `cpu`.
   */
  prefer?: TfjsBackendName;
  /**
   * Folder (or URL prefix, ending in `/`) of the `tfjs-backend-wasm*.wasm` files. Default: TensorFlow.js's own
   * lookup, which in Node is the installed package's `dist/` and in a browser the folder of the page's script
   * (serve the files there, or pass e.g. the package's folder on a CDN). `defaultWasmPath()` of
   * `@opnp/backend-tfjs/node` is the installed package's folder, for Node bundles.
   */
  wasmPath?: string;
}

/** The backend in use, as reported by extractors (`extractor.tfBackend`). */
export interface TfjsBackendInfo {
  /** Our name of the backend. */
  readonly name: TfjsBackendName;
  /** TensorFlow.js's registry name (`'tensorflow'`, `'wasm'`, `'cpu'`). */
  readonly tfName: string;
  /** wasm only: whether the SIMD build runs. */
  readonly simd?: boolean;
  /** wasm only: whether the multi-threaded build runs. */
  readonly threads?: boolean;
  /** Backends tried before this one, with the reason each was skipped. */
  readonly skipped: readonly string[];
}

const TF_NAMES: Record<TfjsBackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };
const ORDER: readonly TfjsBackendName[] = ['node', 'wasm', 'cpu'];

let current: { key: string; promise: Promise<TfjsBackendInfo> } | undefined;

/** `OPNP_TFJS_BACKEND` where there is a process environment (Node, Deno, Bun); undefined in a browser. */
function environmentBackend(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.OPNP_TFJS_BACKEND;
}

function checkName(name: string | undefined, what: string): TfjsBackendName | undefined {
  if (name === undefined || name === '') return undefined;
  if (!(ORDER as readonly string[]).includes(name)) {
    throw new OpnpError('INVALID_ARGUMENT', `Unknown TensorFlow.js backend in ${what}`, { expected: ORDER.join(' | '), actual: name });
  }
  return name as TfjsBackendName;
}

async function startNode(): Promise<void> {
  // A variable specifier keeps bundlers and tsc from requiring the optional peer dependency.
  const specifier = '@tensorflow/tfjs-node';
  await import(specifier);
  if (!(await tf.setBackend(TF_NAMES.node))) throw new Error('tf.setBackend("tensorflow") returned false');
}

async function startWasm(wasmPath: string | undefined): Promise<{ simd: boolean; threads: boolean }> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (wasmPath !== undefined) setWasmPaths(wasmPath);
  if (!(await tf.setBackend(TF_NAMES.wasm))) throw new Error('tf.setBackend("wasm") returned false');
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  return { simd, threads };
}

async function start(name: TfjsBackendName, wasmPath: string | undefined): Promise<Omit<TfjsBackendInfo, 'skipped'>> {
  if (name === 'node') {
    await startNode();
    return { name, tfName: TF_NAMES.node };
  }
  if (name === 'wasm') return { name, tfName: TF_NAMES.wasm, ...(await startWasm(wasmPath)) };
  if (!(await tf.setBackend(TF_NAMES.cpu))) throw new Error('tf.setBackend("cpu") returned false');
  return { name, tfName: TF_NAMES.cpu };
}

async function choose(prefer: TfjsBackendName | undefined, wasmPath: string | undefined): Promise<TfjsBackendInfo> {
  const skipped: string[] = [];
  for (const name of prefer ? [prefer] : ORDER) {
    try {
      const info = await start(name, wasmPath);
      await tf.ready();
      return { ...info, skipped };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message.split('\n')[0]! : String(cause);
      if (prefer) {
        throw new OpnpError('BACKEND_UNAVAILABLE', `The TensorFlow.js "${name}" backend cannot start: ${reason}`, {
          expected: name,
          hint:
            name === 'node'
              ? 'Install @tensorflow/tfjs-node (it downloads libtensorflow at install time), or use prefer: "wasm" / "cpu"'
              : 'Use another backend (prefer: "wasm" | "cpu")',
          cause,
        });
      }
      skipped.push(`${name}: ${reason}`);
    }
  }
  throw new OpnpError('BACKEND_UNAVAILABLE', 'No TensorFlow.js backend could start', { actual: skipped });
}

/**
 * Selects and initialises the TensorFlow.js backend (process-wide; one shared init per choice, so concurrent
 * calls wait for the same start). Calling it again with another `prefer` switches the global backend.
 *
 * @returns the backend in use
 * @throws OpnpError `BACKEND_UNAVAILABLE` when a forced backend cannot start, `INVALID_ARGUMENT` for an unknown name
 *
 * @example
 * ```ts
 * const info = await initTfjsBackend();            // { name: 'wasm', simd: true, threads: false, ... } without tfjs-node
 * await initTfjsBackend({ prefer: 'cpu' });         // force the pure-JS kernels
 * ```
 */
export function initTfjsBackend(options: TfjsBackendOptions = {}): Promise<TfjsBackendInfo> {
  const prefer = checkName(options.prefer, 'options.prefer') ?? checkName(environmentBackend(), 'OPNP_TFJS_BACKEND');
  const wasmPath = options.wasmPath;
  const key = `${prefer ?? 'auto'}|${wasmPath ?? ''}`;
  if (current && current.key === key) {
    const cached = current.promise;
    // Another library may have switched the global backend since: re-select if so.
    return cached.then((info) => (tf.getBackend() === info.tfName ? info : reselect(key, prefer, wasmPath)));
  }
  return reselect(key, prefer, wasmPath);
}

function reselect(key: string, prefer: TfjsBackendName | undefined, wasmPath: string | undefined): Promise<TfjsBackendInfo> {
  const promise = choose(prefer, wasmPath);
  current = { key, promise };
  promise.catch(() => {
    if (current?.promise === promise) current = undefined;
  });
  return promise;
}
