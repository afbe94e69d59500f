/**
 * Export of a deployable OOD detector to a `.onnx` file: `@opnp/onnx-common`'s detector graph (the original model
 * plus `ood_score` and, with a threshold, `is_ood`), checked in onnxruntime-node and written atomically.
 */
import { writeFileAtomic } from '@opnp/core/node';
import { resolveDetectorExportOptions } from '@opnp/core/backend';
import type { DetectorExportOptions, DetectorExportResult, InputSpec, ModelSource } from '@opnp/core/base';
import { buildOnnxDetector, type DetectedHead, type DetectorGraphOptions, type OnnxDetector, type OnnxModel } from '@opnp/onnx-common';
import { loadOnnxModel } from './onnx-model.js';
import { assertNotTheModelFile } from './output-path.js';
import { createSession } from './session-options.js';

export type { OnnxDetector } from '@opnp/onnx-common';

/** Options of {@link exportOodDetector}. */
export interface ExportOodDetectorOptions extends DetectorGraphOptions {
  /** The original model: a path, bytes, or a parsed model (e.g. `extractor.model`). */
  model: ModelSource | OnnxModel;
  /**
   * Where to write the model (atomically: temp file + rename; nothing is written on failure). Must not be the file
   * the model was read from (`INVALID_ARGUMENT`).
   */
  outputPath?: string;
}

/**
 * Builds a new ONNX model that keeps the original outputs and adds `ood_score` (float32 `[N]`) and, given a
 * threshold, `is_ood` (bool `[N]`), and writes it to `outputPath` when given. The model is checked by loading it
 * in onnxruntime before anything is written.
 *
 * @returns the serialised model, its input name and its output names
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH` for bad options (including an `outputPath` that is the
 * source model's file, by real path), `MODEL_*` for models without a usable head, `IO_ERROR` when writing fails (no
 * file is left behind)
 */
export async function exportOnnxDetector(options: ExportOodDetectorOptions): Promise<OnnxDetector> {
  const model = await loadOnnxModel(options.model);
  if (options.outputPath !== undefined) await assertNotTheModelFile(options.outputPath, model.file);
  const detector = buildOnnxDetector(model, options);
  // Check the result loads and runs in plain onnxruntime before writing anything.
  const session = await createSession(detector.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'basic' }, options.outputPath);
  await session.release();
  if (options.outputPath !== undefined) await writeFileAtomic(options.outputPath, detector.bytes, 'the exported model');
  return detector;
}

/**
 * Writes a new ONNX model that keeps the original outputs and adds `ood_score` (float32 `[N]`) and, given a
 * threshold, `is_ood` (bool `[N]`). The model is checked by loading it in onnxruntime before anything is written.
 * (See {@link exportOnnxDetector} for the output names as well.)
 *
 * @returns the serialised model
 * @throws OpnpError `INVALID_ARGUMENT` / `SHAPE_MISMATCH` for bad options, `MODEL_*` for models without a
 * usable head, `IO_ERROR` when writing fails (no file is left behind)
 *
 * @example
 * ```ts
 * const pruned = pruneHead(extractor.head, masks);
 * await exportOodDetector({ model: extractor.model, head: extractor.detection, prunedWeight: pruned.weight,
 *   reactClip: c, threshold: tau, outputPath: 'detector.onnx' });
 * ```
 */
export async function exportOodDetector(options: ExportOodDetectorOptions): Promise<Uint8Array> {
  return (await exportOnnxDetector(options)).bytes;
}

/** What the ONNX extractor's `exportDetector` needs from it. */
export interface OnnxDetectorSource {
  readonly model: OnnxModel;
  readonly detection: DetectedHead;
  readonly input: InputSpec;
}

/**
 * The `exportDetector` capability of the ONNX extractor: writes `options.outputPath` (a `.onnx` file) with the
 * model's outputs, its logits, `ood_score` and (with a threshold) `is_ood`; `options.preprocessing` goes into the
 * model's `metadata_props` (`opnp.preprocess`, read back by `describeOnnxDetector`).
 */
export async function exportDetectorOf(source: OnnxDetectorSource, options: DetectorExportOptions): Promise<DetectorExportResult> {
  const resolved = resolveDetectorExportOptions(source.detection.head, options);
  const detector = await exportOnnxDetector({
    model: source.model,
    head: source.detection,
    prunedWeight: resolved.prunedWeight,
    bias: resolved.bias,
    temperature: resolved.temperature,
    ...(resolved.reactClip !== undefined ? { reactClip: resolved.reactClip } : {}),
    ...(resolved.threshold !== undefined ? { threshold: resolved.threshold } : {}),
    ...(resolved.preprocessing !== undefined ? { preprocessing: resolved.preprocessing } : {}),
    outputPath: resolved.outputPath,
    logitsOutput: true,
  });
  return {
    format: 'onnx',
    path: resolved.outputPath,
    files: [resolved.outputPath],
    input: { ...source.input, name: detector.inputName || source.input.name },
    outputs: detector.outputs,
    temperature: resolved.temperature,
    ...(resolved.reactClip !== undefined ? { reactClip: resolved.reactClip } : {}),
    ...(resolved.threshold !== undefined ? { threshold: resolved.threshold } : {}),
    ...(resolved.preprocessing !== undefined ? { preprocessing: resolved.preprocessing } : {}),
  };
}
