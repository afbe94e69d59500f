/**
 * Loading TensorFlow.js models (LayersModel and GraphModel) from a path, an `IOHandler` or in-memory artifacts.
 */
import { io } from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { OpnpError } from '@opnp/core';
import { fileSystemIO, modelKind, resolveModelJsonPath, type TfjsModelKind } from './fs-io.js';
import type { GraphDefJson } from './graph-def.js';

/** Where a TensorFlow.js model comes from: a `model.json` path (or its folder), an `IOHandler`, or artifacts. */
export type TfjsModelSource = string | io.IOHandler | io.ModelArtifacts;

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

/**
 * Loads a TensorFlow.js model. The kind comes from `format` (`'layers-model'` / `'graph-model'`) or, when that
 * is missing, from the shape of `modelTopology`. Call {@link initTfjsBackend} first to choose the backend.
 *
 * @throws OpnpError `IO_ERROR`, `MODEL_FORMAT`
 */
export async function loadTfjsModel(source: TfjsModelSource): Promise<LoadedTfjsModel> {
  const file = typeof source === 'string' ? resolveModelJsonPath(source) : undefined;
  let artifacts: io.ModelArtifacts;
  if (typeof source === 'string') artifacts = await fileSystemIO(source).load();
  else if (isHandler(source)) {
    try {
      if (!source.load) throw new Error("the IOHandler has no load()");
      artifacts = await source.load();
    } catch (cause) {
      throw new OpnpError('IO_ERROR', 'The IOHandler failed to load the model', { actual: cause instanceof Error ? cause.message : String(cause), cause });
    }
  } else if (source !== null && typeof source === 'object' && 'modelTopology' in source) artifacts = source;
  else {
    throw new OpnpError('INVALID_ARGUMENT', 'A TensorFlow.js model source is a model.json path, an IOHandler or ModelArtifacts', { actual: typeof source });
  }
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
