/**
 * The deployable detector in the browser: `@opnp/onnx-common`'s detector graph (the model plus `ood_score` and, with
 * a threshold, `is_ood`), checked by loading it in onnxruntime-web, returned as bytes.
 */
import { buildOnnxDetector, type DetectorGraphOptions, type OnnxDetector, type OnnxModel } from '@opnp/onnx-common';
import { loadOnnxWebModel, type WebModelSource } from './model-source.js';
import { createWebSession } from './session-options.js';

/** Options of {@link exportOnnxWebDetector}. */
export interface WebDetectorOptions extends DetectorGraphOptions {
  /** The original model: bytes, a URL, or a parsed model (e.g. `extractor.model`). */
  model: WebModelSource | OnnxModel;
}

/** {@link buildOnnxDetector} on a parsed model, then a wasm session over the result (released again). */
export async function buildCheckedDetector(options: DetectorGraphOptions & { model: OnnxModel }): Promise<OnnxDetector> {
  const detector = buildOnnxDetector(options.model, options);
  const { session } = await createWebSession(detector.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'basic' }, options.model.file);
  await session.release();
  return detector;
}

/**
 * Builds a new ONNX model that keeps the original outputs and adds `ood_score` (float32 `[N]`) and, given a
 * threshold, `is_ood` (bool `[N]`); checked by loading it in onnxruntime-web. Nothing is written: offer `bytes` as a
 * download, or send them somewhere.
 *
 * @returns the serialised model, its input name and its output names
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH` for bad options, `MODEL_*` for models without a usable head
 *
 * @example
 * ```ts
 * const { bytes } = await exportOnnxWebDetector({ model: extractor.model, head: extractor.detection, prunedWeight, threshold });
 * const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([bytes])), download: 'detector.onnx' });
 * ```
 */
export async function exportOnnxWebDetector(options: WebDetectorOptions): Promise<OnnxDetector> {
  return buildCheckedDetector({ ...options, model: await loadOnnxWebModel(options.model) });
}
