/**
 * The ONNX {@link FeatureExtractor} on onnxruntime-web: `@opnp/onnx-common`'s extractor on a session with the wasm
 * (or WebGPU) execution provider, and detector export to bytes (there is no file system in a page).
 */
import type { DetectorExportOptions, LoadOptions } from '@opnp/core';
import { OrtFeatureExtractor, prepareOnnxModel, type OnnxDetector, type OrtExtractorOptions } from '@opnp/onnx-common';
import { buildCheckedDetector } from './export-detector.js';
import { loadOnnxWebModel, type WebModelSource } from './model-source.js';
import { applyThreads, createWebSession, sessionOptionsOf, webRuntime, type OnnxWebSessionOptions } from './session-options.js';

/** Options of {@link loadOnnxWebFeatureExtractor}. */
export interface OnnxWebLoadOptions extends LoadOptions, OrtExtractorOptions {
  /** Execution providers and graph optimisation; its `executionProviders` take precedence over the generic ones. */
  session?: OnnxWebSessionOptions;
}

/** The options of {@link OnnxWebFeatureExtractor.buildDetector}: {@link DetectorExportOptions} without a path. */
export type DetectorBuildOptions = Omit<DetectorExportOptions, 'outputPath'>;

/**
 * A {@link FeatureExtractor} over an ONNX model, running on onnxruntime-web. Create it with
 * {@link loadOnnxWebFeatureExtractor}. It has no `exportDetector` (no files in a page): {@link buildDetector}
 * returns the detector's bytes instead.
 */
export class OnnxWebFeatureExtractor extends OrtFeatureExtractor {
  /**
   * Builds the deployable detector of an OPNP-pruned head: the model with its outputs, its logits, `ood_score` and,
   * with a threshold, `is_ood`, checked in an onnxruntime-web session. Save `bytes` as a `.onnx` file (a download).
   *
   * @throws OpnpError `SHAPE_MISMATCH` / `INVALID_ARGUMENT` for bad options, `DISPOSED` after dispose
   */
  async buildDetector(options: DetectorBuildOptions): Promise<OnnxDetector> {
    this.assertAlive();
    return buildCheckedDetector({ ...options, model: this.model, head: this.detection, logitsOutput: true });
  }
}

/**
 * Loads an ONNX classifier as a {@link FeatureExtractor} on onnxruntime-web: parses it, detects the head, and opens
 * one session (WebGPU when the browser has it, else wasm) with the feature tensor added as an output.
 *
 * @param source the model bytes (a picked file), a URL to fetch, or a parsed model
 * @throws OpnpError `IO_ERROR`, `MODEL_FORMAT`, `MODEL_HEAD_NOT_FOUND`, `MODEL_HEAD_AMBIGUOUS`, `BACKEND_UNAVAILABLE`
 *
 * @example
 * ```ts
 * const extractor = await loadOnnxWebFeatureExtractor(new Uint8Array(await file.arrayBuffer()));
 * const { features, logits } = await extractor.extract({ data, shape: [32, 1, 28, 28] });
 * ```
 */
export async function loadOnnxWebFeatureExtractor(source: WebModelSource, options: OnnxWebLoadOptions = {}): Promise<OnnxWebFeatureExtractor> {
  applyThreads(options.threads, options.onWarning);
  const model = await loadOnnxWebModel(source);
  const prepared = prepareOnnxModel(model, options);
  const { session, info } = await createWebSession(prepared.sessionBytes, sessionOptionsOf(options), model.file);
  return new OnnxWebFeatureExtractor(prepared, { backend: 'onnx-web', ort: webRuntime, session, info }, options);
}
