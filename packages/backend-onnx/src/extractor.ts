/**
 * The ONNX {@link FeatureExtractor} on onnxruntime-node: `@opnp/onnx-common`'s extractor with models read from
 * files and the `exportDetector` capability (a `.onnx` file written atomically).
 */
import type { DetectorExportOptions, DetectorExportResult, LoadOptions, ModelSource } from '@opnp/core/base';
import { OrtFeatureExtractor, prepareOnnxModel, type OnnxModel, type OrtExtractorOptions } from '@opnp/onnx-common';
import * as ort from 'onnxruntime-node';
import { exportDetectorOf } from './export-detector.js';
import { loadOnnxModel } from './onnx-model.js';
import { createSession, sessionOptionsOf, sessionRuntimeInfo, type OnnxSessionOptions } from './session-options.js';

export { modelInputSpec, withExtraOutputs } from '@opnp/onnx-common';

/** Options of {@link loadOnnxFeatureExtractor}. */
export interface OnnxLoadOptions extends LoadOptions, OrtExtractorOptions {
  /**
   * onnxruntime session options (threads, optimisation level, execution providers). Its `executionProviders` and
   * `intraOpNumThreads` take precedence over the generic `executionProviders` and `threads`.
   */
  session?: OnnxSessionOptions;
}

/** A {@link FeatureExtractor} over an ONNX model, running on onnxruntime-node. Create it with {@link loadOnnxFeatureExtractor}. */
export class OnnxFeatureExtractor extends OrtFeatureExtractor {
  /**
   * Writes a deployable ONNX detector to `options.outputPath` (a `.onnx` file, atomically): the model with its
   * outputs, its logits tensor (added as an output when the model ends in Softmax), `ood_score` and, with a
   * threshold, `is_ood`. The detector's input is the model's. Loaded in onnxruntime before it is written.
   *
   * @throws OpnpError `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad options (`INVALID_ARGUMENT` also when
   * `outputPath` is the model file this extractor was loaded from), `IO_ERROR` when writing fails,
   * `DISPOSED` after dispose
   */
  async exportDetector(options: DetectorExportOptions): Promise<DetectorExportResult> {
    this.assertAlive();
    return exportDetectorOf(this, options);
  }
}

/**
 * Loads an ONNX classifier as a {@link FeatureExtractor}: parses it, detects the head (see `detectHead`),
 * and opens one onnxruntime session with the feature tensor added as an output.
 *
 * @param source a `.onnx` path (external data next to it is loaded) or the model bytes
 * @throws OpnpError `MODEL_FORMAT`, `MODEL_HEAD_NOT_FOUND`, `MODEL_HEAD_AMBIGUOUS`, `BACKEND_UNAVAILABLE`
 *
 * @example
 * ```ts
 * const extractor = await loadOnnxFeatureExtractor('resnet50.onnx');
 * const { features, logits } = await extractor.extract({ data, shape: [32, 3, 224, 224] });
 * ```
 */
export async function loadOnnxFeatureExtractor(source: ModelSource | OnnxModel, options: OnnxLoadOptions = {}): Promise<OnnxFeatureExtractor> {
  const model = await loadOnnxModel(source);
  const prepared = prepareOnnxModel(model, options);
  const sessionOptions = sessionOptionsOf(options);
  const info = sessionRuntimeInfo(sessionOptions);
  const session = await createSession(prepared.sessionBytes, sessionOptions, model.file);
  return new OnnxFeatureExtractor(prepared, { backend: 'onnx', ort, session, info }, options);
}
