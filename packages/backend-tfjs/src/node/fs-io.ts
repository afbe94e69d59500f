/**
 * A file-system `IOHandler` for Node (no `@tensorflow/tfjs-node` needed): reads `model.json` and its weight
 * shards (paths relative to `model.json`), and saves `model.json` + one `weights.bin` atomically
 * (temp file + rename). {@link fileModelIO} makes string sources and output paths of the Node entry files.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from '@tensorflow/tfjs-core';
import { OpnpError } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import { modelKind } from '../model.js';
import { urlModelIO, type TfjsModelIO } from '../model-io.js';

/** Resolves a model path: a directory means its `model.json`. */
export function resolveModelJsonPath(path: string): string {
  try {
    if (statSync(path).isDirectory()) return join(path, 'model.json');
  } catch {
    // not there: reported by the reader
  }
  return path;
}

/**
 * Whether `path` is a TensorFlow.js `model.json` (or a directory holding one): a `.json` file whose content
 * is a layers or graph model. Reads the file synchronously (cheap: no weights).
 */
export function looksLikeTfjsModel(path: string): boolean {
  const file = resolveModelJsonPath(path);
  if (!/\.json$/i.test(file)) return false;
  try {
    return modelKind(JSON.parse(readFileSync(file, 'utf8'))) !== undefined;
  } catch {
    return false;
  }
}

/** Reads and parses a `model.json`. @throws OpnpError `IO_ERROR` / `MODEL_FORMAT` */
export async function readModelJson(path: string): Promise<io.ModelJSON> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new OpnpError('IO_ERROR', 'Cannot read the TensorFlow.js model file', {
      file: path,
      actual: (cause as NodeJS.ErrnoException).code ?? String(cause),
      hint: 'Pass the path of model.json (or of the folder that holds it)',
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new OpnpError('MODEL_FORMAT', 'model.json is not valid JSON', { file: path, cause });
  }
  if (modelKind(json) === undefined) {
    throw new OpnpError('MODEL_FORMAT', 'Not a TensorFlow.js model.json', {
      file: path,
      expected: 'format "layers-model" or "graph-model" with a modelTopology',
      actual: json !== null && typeof json === 'object' ? `keys ${Object.keys(json).join(', ')}` : typeof json,
    });
  }
  return json as io.ModelJSON;
}

async function readWeights(modelPath: string, manifest: io.WeightsManifestConfig): Promise<[io.WeightsManifestEntry[], ArrayBuffer]> {
  const base = dirname(modelPath);
  const buffers: Uint8Array[] = [];
  for (const group of manifest) {
    for (const p of group.paths) {
      const file = resolve(base, p);
      try {
        buffers.push(await readFile(file));
      } catch (cause) {
        throw new OpnpError('IO_ERROR', 'Cannot read a weight shard of the model', {
          file,
          actual: (cause as NodeJS.ErrnoException).code ?? String(cause),
          hint: 'Weight paths in model.json are relative to model.json; keep the shards next to it',
          cause,
        });
      }
    }
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(b, offset);
    offset += b.byteLength;
  }
  const specs = io.getWeightSpecs(manifest);
  return [specs, out.buffer];
}

function weightBytes(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(io.CompositeArrayBuffer.join(data));
}

/** The `model.json` content of `artifacts` with the given weights manifest (as tfjs's own handlers write it). */
function modelJsonFor(artifacts: io.ModelArtifacts, weightsManifest: io.WeightsManifestConfig): io.ModelJSON {
  const json: io.ModelJSON = { modelTopology: artifacts.modelTopology as object, weightsManifest };
  const optional = ['format', 'generatedBy', 'convertedBy', 'signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig'] as const;
  for (const key of optional) if (artifacts[key] !== undefined) (json as unknown as Record<string, unknown>)[key] = artifacts[key];
  return json;
}


/** Where {@link fileSystemIO}`(path).save` writes: `path` is the folder or its `model.json`. */
export function saveTargets(path: string): { readonly dir: string; readonly modelJson: string; readonly weights: string } {
  const isJson = /\.json$/i.test(path);
  const dir = isJson ? dirname(path) : path;
  return { dir, modelJson: isJson ? path : join(dir, 'model.json'), weights: join(dir, 'weights.bin') };
}

/**
 * A `tf.io.IOHandler` over the file system.
 *
 * - `load()`: reads `model.json` (or `<dir>/model.json`) and concatenates its weight shards.
 * - `save(artifacts)`: writes `<dir>/model.json` and `<dir>/weights.bin` (one shard), each atomically; the
 *   path may be the folder or the `model.json` path. Weights are written before `model.json`, so a reader never
 *   sees a `model.json` whose weights are missing.
 *
 * @example
 * ```ts
 * const model = await tf.loadLayersModel(fileSystemIO('models/mnist/model.json'));
 * await model.save(fileSystemIO('out/mnist'));
 * ```
 */
export function fileSystemIO(path: string): Required<Pick<io.IOHandler, "load" | "save">> {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const file = resolveModelJsonPath(path);
      const json = await readModelJson(file);
      return io.getModelArtifactsForJSON(json, (manifest) => readWeights(file, manifest));
    },
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      const { dir, modelJson: jsonPath, weights: weightsPath } = saveTargets(path);
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new OpnpError('INVALID_ARGUMENT', 'Binary model topologies cannot be saved as model.json', { file: jsonPath });
      }
      try {
        await mkdir(dir, { recursive: true });
        if ((await stat(dir)).isDirectory() === false) throw new Error('not a directory');
      } catch (cause) {
        throw new OpnpError('IO_ERROR', 'Cannot create the output folder', { file: dir, cause });
      }
      const weights = weightBytes(artifacts.weightData);
      const manifest: io.WeightsManifestConfig = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }];
      const modelJson = modelJsonFor(artifacts, manifest);
      await writeFileAtomic(weightsPath, weights, 'the model weights');
      await writeFileAtomic(jsonPath, JSON.stringify(modelJson), 'model.json');
      return {
        modelArtifactsInfo: io.getModelArtifactsInfoForJSON(artifacts),
      };
    },
  };
}

/** True for a URL with a scheme other than `file:` (`https://`, `indexeddb://`, ...); `C:\\...` is a path. */
function isUrl(source: string): boolean {
  return /^[a-z][a-z0-9+.-]+:\/\//i.test(source) && !/^file:/i.test(source);
}

/** A path, or a `file://` URL as a path. */
function filePath(source: string): string {
  return /^file:\/\//i.test(source) ? fileURLToPath(source) : source;
}

/**
 * String sources and output paths of `@opnp/backend-tfjs/node`: `model.json` paths (or their folders, or
 * `file://` URLs) through {@link fileSystemIO}; other URLs (`https://...`) through TensorFlow.js's routers.
 */
export const fileModelIO: TfjsModelIO = {
  loadHandler(source) {
    if (isUrl(source)) return urlModelIO.loadHandler(source);
    const path = filePath(source);
    return { handler: fileSystemIO(path), file: resolveModelJsonPath(path) };
  },
  async save(target, artifacts) {
    if (isUrl(target)) return urlModelIO.save(target, artifacts);
    const path = filePath(target);
    await fileSystemIO(path).save(artifacts);
    const { modelJson, weights } = saveTargets(path);
    return [modelJson, weights];
  },
};
