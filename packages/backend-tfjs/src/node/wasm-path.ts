/**
 * Where the installed `@tensorflow/tfjs-backend-wasm` keeps its `.wasm` files (Node).
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

/**
 * The `dist/` folder of the installed `@tensorflow/tfjs-backend-wasm` (with a trailing separator): pass it as
 * `wasmPath` when TensorFlow.js's own lookup cannot find the files (a Node bundle).
 */
export function defaultWasmPath(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + sep;
}
