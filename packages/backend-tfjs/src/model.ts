/**
 * Loading TensorFlow.js models (LayersModel and GraphModel) from a URL (a path in `@opnp/backend-tfjs/node`),
 * an `IOHandler` or in-memory artifacts.
 */
import { io } from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { OpnpError } from '@opnp/core';
import type { GraphDefJson } from './graph-def.js';
import { urlModelIO, type TfjsModelIO } from './model-io.js';

/**
 * Where a TensorFlow.js model comes from: a `model.json` URL (`@opnp/backend-tfjs`) or path (`@opnp/backend-tfjs/node`),
 * an `IOHandler`, or `ModelArtifacts`.
 */
export type TfjsModelSource = string | io.IOHandler | io.ModelArtifacts;

/** The kind of a TensorFlow.js model file. */
export type TfjsModelKind = 'layers-model' | 'graph-model';

/**
 * The kind of a parsed `model.json`: from `format` (`'layers-model'`, `'graph-model'`), else from the shape of
 * `modelTopology` (a Keras config has `class_name` / `config`, a GraphDef has `node`). `undefined` if neither.
 */
export function modelKind(json: unknown): TfjsModelKind | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const { format, modelTopology } = json as { format?: unknown; modelTopology?: unknown };
  if (format === 'layers-model' || format === 'graph-model') return format;
  if (modelTopology === null || typeof modelTopology !== 'object') return undefined;
  const topology = modelTopology as Record<string, unknown>;
  const keras = (topology.model_config ?? topology) as Record<string, unknown>;
  if (typeof keras.class_name === 'string' && keras.config !== undefined) return 'layers-model';
  if (Array.isArray(topology.node)) return 'graph-model';
  return undefined;
}

/** A loaded LayersModel with the artifacts it was built from. */
export interface LoadedLayersModel {
  readonly kind: 'layers-model';
  readonly model: LayersModel;
  readonly artifacts: io.ModelArtifacts;
  /** The `model.json` path, when loaded from one. */
  readonly file?: string;
}

/** A loaded GraphModel with its GraphDef and the artifacts it was built from. */
export interface LoadedGraphModel {
  readonly kind: 'graph-model';
  readonly model: GraphModel;
  readonly graph: GraphDefJson;
  readonly artifacts: io.ModelArtifacts;
  readonly file?: string;
}

/** A loaded TensorFlow.js model of either kind. */
export type LoadedTfjsModel = LoadedLayersModel | LoadedGraphModel;

function isHandler(source: unknown): source is io.IOHandler {
  return source !== null && typeof source === 'object' && typeof (source as io.IOHandler).load === 'function';
}

/** The artifacts of a source and the model file's name (string sources only). */
async function artifactsOf(source: TfjsModelSource, modelIO: TfjsModelIO): Promise<{ artifacts: io.ModelArtifacts; file: string | undefined }> {
  if (typeof source === 'string') {
    const { handler, file } = modelIO.loadHandler(source);
    return { artifacts: await loadWith(handler, file), file };
  }
  if (isHandler(source)) return { artifacts: await loadWith(source, undefined), file: undefined };
  if (source !== null && typeof source === 'object' && 'modelTopology' in source) return { artifacts: source, file: undefined };
  throw new OpnpError('INVALID_ARGUMENT', 'A TensorFlow.js model source is a model.json URL or path, an IOHandler or ModelArtifacts', { actual: typeof source });
}

async function loadWith(handler: io.IOHandler, file: string | undefined): Promise<io.ModelArtifacts> {
  try {
    if (!handler.load) throw new Error('the IOHandler has no load()');
    return await handler.load();
  } catch (cause) {
    if (cause instanceof OpnpError) throw cause;
    throw new OpnpError('IO_ERROR', file === undefined ? 'The IOHandler failed to load the model' : 'Cannot load the TensorFlow.js model', {
      file,
      actual: cause instanceof Error ? cause.message : String(cause),
      hint: file === undefined ? undefined : 'Check the URL; in Node, load model.json paths through @opnp/backend-tfjs/node (here a string is fetched as a URL)',
      cause,
    });
  }
}

/**
 * Loads a TensorFlow.js model. The kind comes from `format` (`'layers-model'` / `'graph-model'`) or, when that
 * is missing, from the shape of `modelTopology`. Call {@link initTfjsBackend} first to choose the backend. A string
 * is a URL (`https://...`, `indexeddb://...`, or relative to the page); `@opnp/backend-tfjs/node` has the same
 * function for `model.json` paths.
 *
 * @throws OpnpError `IO_ERROR`, `MODEL_FORMAT`
 */
export function loadTfjsModel(source: TfjsModelSource): Promise<LoadedTfjsModel> {
  return loadTfjsModelWith(source, urlModelIO);
}

/** {@link loadTfjsModel} with a given reader of string sources (the Node entry passes the file system's). */
export async function loadTfjsModelWith(source: TfjsModelSource, modelIO: TfjsModelIO): Promise<LoadedTfjsModel> {
  const { artifacts, file } = await artifactsOf(source, modelIO);
  const kind: TfjsModelKind | undefined = modelKind({ format: artifacts.format, modelTopology: artifacts.modelTopology });
  if (kind === undefined) {
    throw new OpnpError('MODEL_FORMAT', 'Cannot tell whether this is a layers model or a graph model', {
      file,
      expected: 'format "layers-model" | "graph-model", or a Keras / GraphDef modelTopology',
      actual: artifacts.format ?? 'no format',
    });
  }
  try {
    if (kind === 'layers-model') {
      const model = await loadLayersModel(io.fromMemory(artifacts));
      return { kind, model, artifacts, ...(file ? { file } : {}) };
    }
    const model = await loadGraphModel(io.fromMemory(artifacts));
    return { kind, model, graph: artifacts.modelTopology as GraphDefJson, artifacts, ...(file ? { file } : {}) };
  } catch (cause) {
    if (cause instanceof OpnpError) throw cause;
    throw new OpnpError('MODEL_FORMAT', `TensorFlow.js could not build the ${kind}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      file,
      hint: kind === 'layers-model' ? 'Custom layers must be registered with tf.serialization.registerClass before loading' : undefined,
      cause,
    });
  }
}
