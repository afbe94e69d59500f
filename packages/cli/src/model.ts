/**
 * Loading the model for a command: the ONNX backend is registered when the first model is loaded (not at
 * start-up: onnxruntime and the ONNX parser would slow `opnp --version`, `--help` and the commands without a
 * model), the TensorFlow.js backend when its optional package is installed and the model needs it.
 */
import { OpnpError, isOpnpError } from '@opnp/core/base';
import { loadModel as loadWithRegisteredBackends, type LoadedModel } from '@opnp/pipeline/extract';
import { assertNotExportedDetector } from './exported-detector.js';
import { cliModelError, cliModelNote } from './library-hints.js';
import { lowerFirstWord } from './message-case.js';

let onnxRegistered: Promise<unknown> | undefined;
let tfjsTried: Promise<boolean> | undefined;

/** Registers the ONNX backend (onnxruntime-node), once. */
function registerOnnxBackend(): Promise<unknown> {
  onnxRegistered ??= import('@opnp/backend-onnx/register');
  return onnxRegistered;
}

/** Registers the optional TensorFlow.js backend if its package is installed; resolves whether it is. */
export function registerOptionalBackends(): Promise<boolean> {
  tfjsTried ??= (async () => {
    try {
      const specifier = '@opnp/backend-tfjs/register';
      await import(specifier);
      return true;
    } catch {
      return false;
    }
  })();
  return tfjsTried;
}

/**
 * Loads `path` with the best registered backend. The TensorFlow.js backend is registered only when the
 * model needs it (a `model.json`, or a file the ONNX backend does not recognise): it takes half a second to
 * load, which every ONNX run would otherwise pay.
 *
 * @throws OpnpError `IO_ERROR` for a missing file, `BACKEND_UNAVAILABLE` when no backend can load it
 * (with a hint to install `@opnp/backend-tfjs` for `model.json`).
 */
export async function loadModel(path: string, onWarning?: (message: string) => void, runtime: RuntimeFlags = {}): Promise<LoadedModel> {
  const options = { ...(onWarning ? { onWarning } : {}), ...runtimeOptions(runtime) };
  await registerOnnxBackend();
  if (path.endsWith('.json')) await registerOptionalBackends();
  try {
    return await loadWithRegisteredBackends(path, options);
  } catch (error) {
    if (!isOpnpError(error) || error.code !== 'BACKEND_UNAVAILABLE') throw error; // by name: the optional TensorFlow.js backend brings its own @opnp/core
    // An .onnx file is the ONNX backend's: its failure (e.g. an execution provider that cannot start) is final,
    // and trying again after loading TensorFlow.js would only repeat it.
    if (path.toLowerCase().endsWith('.onnx')) throw error;
    const tfjs = await registerOptionalBackends();
    if (tfjs && !path.endsWith('.json')) return loadWithRegisteredBackends(path, options);
    if (!tfjs && path.endsWith('.json')) {
      throw new OpnpError('BACKEND_UNAVAILABLE', `No backend can load ${path}`, {
        hint: `TensorFlow.js models need the optional package @opnp/backend-tfjs: npm install @opnp/backend-tfjs. A model of a custom backend needs its register module imported first: NODE_OPTIONS="--import ./register.mjs" opnp ...`,
      });
    }
    throw error;
  }
}

/** `--threads`, `--execution-provider` (onnxruntime's names: cpu, cuda, ...) and `--image-workers`. */
export interface RuntimeFlags {
  readonly threads?: number;
  readonly executionProvider?: readonly string[];
  readonly imageWorkers?: number;
}

function runtimeOptions(flags: RuntimeFlags): { threads?: number; executionProviders?: readonly string[] } {
  return {
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
    ...(flags.executionProvider !== undefined && flags.executionProvider.length > 0 ? { executionProviders: flags.executionProvider } : {}),
  };
}

/**
 * Loads the model (on the runtime the flags ask for), runs `work` with it and releases it (also when `work` throws).
 * A detector written by `opnp export` is refused before any work: every command needs the classifier.
 */
export async function withModel<T>(path: string, info: (message: string) => void, work: (model: LoadedModel) => Promise<T>, runtime: RuntimeFlags = {}): Promise<T> {
  let model: LoadedModel;
  try {
    model = await loadModel(path, (m) => info(`model: ${lowerFirstWord(cliModelNote(m))}`), runtime);
  } catch (error) {
    throw cliModelError(error);
  }
  try {
    assertNotExportedDetector(model.extractor, path);
    const used = model.extractor.runtime;
    if (used && (runtime.threads !== undefined || runtime.executionProvider !== undefined)) {
      info(`runtime: ${used.executionProviders.join(', ')}${used.threads !== undefined ? `, ${used.threads} thread${used.threads === 1 ? '' : 's'}` : ''}`);
    }
    return await work(model);
  } catch (error) {
    throw cliModelError(error);
  } finally {
    await model.extractor.dispose();
  }
}
