/**
 * The loaders of `@opnp/backend-tfjs/node`: the browser-safe entry's functions with string sources and output
 * paths on the file system (`model.json` paths or their folders, `file://` URLs; other URLs still go through
 * TensorFlow.js's routers).
 */
import { exportTfjsDetectorWith, type ExportedTfjsDetector, type ExportTfjsDetectorOptions } from '../export-detector.js';
import { loadTfjsFeatureExtractorWith, type TfjsFeatureExtractor, type TfjsLoadOptions } from '../extractor.js';
import { loadTfjsModelWith, type LoadedTfjsModel, type TfjsModelSource } from '../model.js';
import { fileModelIO } from './fs-io.js';

/**
 * Loads a TensorFlow.js model from a `model.json` path (or its folder), an `IOHandler` or `ModelArtifacts`
 * (`loadTfjsModel` of `@opnp/backend-tfjs`, with paths).
 *
 * @throws OpnpError `IO_ERROR` (naming the file), `MODEL_FORMAT`
 */
export function loadTfjsModel(source: TfjsModelSource): Promise<LoadedTfjsModel> {
  return loadTfjsModelWith(source, fileModelIO);
}

/**
 * Loads a TensorFlow.js classifier as a `FeatureExtractor` from a `model.json` path (or its folder), an
 * `IOHandler` or `ModelArtifacts` (`loadTfjsFeatureExtractor` of `@opnp/backend-tfjs`, with paths); its
 * `exportDetector` writes folders.
 *
 * @example
 * ```ts
 * const extractor = await loadTfjsFeatureExtractor('packages/backend-tfjs/test/fixtures/mnist-cnn-layers/model.json');
 * ```
 * @throws OpnpError `IO_ERROR`, `MODEL_FORMAT`, `MODEL_HEAD_NOT_FOUND`, `MODEL_HEAD_AMBIGUOUS`, `BACKEND_UNAVAILABLE`
 */
export function loadTfjsFeatureExtractor(source: TfjsModelSource, options: TfjsLoadOptions = {}): Promise<TfjsFeatureExtractor> {
  return loadTfjsFeatureExtractorWith(source, options, fileModelIO);
}

/**
 * Builds a graph-model OOD detector (`exportTfjsDetector` of `@opnp/backend-tfjs`) and, with `outPath` a folder
 * (or `model.json` path), writes `model.json` + `weights.bin`, each atomically.
 *
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH`, `MODEL_FORMAT`, `MODEL_HEAD_*`, `IO_ERROR`
 */
export function exportTfjsDetector(options: ExportTfjsDetectorOptions): Promise<ExportedTfjsDetector> {
  return exportTfjsDetectorWith(options, fileModelIO);
}
