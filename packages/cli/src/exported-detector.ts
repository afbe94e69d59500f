/**
 * Whether a loaded `--model` is already an OOD detector written by `opnp export`, so every command can refuse it
 * before any work (`opnp export`'s backends would refuse it only when writing, after the whole sensitivity pass, and
 * in their own option names; eval, extract and sensitivity would run on it as if it were the classifier). A detector has an `ood_score` output, or records its preprocessing under `opnp.preprocess`
 * (ONNX `metadata_props`, TensorFlow.js `userDefinedMetadata`).
 */
import type { FeatureExtractor } from '@opnp/core/base';
import { DETECTOR_OUTPUT_NAMES, DETECTOR_PREPROCESSING_KEY } from '@opnp/core/backend';
import { flagError } from './errors.js';

/** What the first-party extractors expose of their model: the ONNX backends' parsed model, TensorFlow.js's loaded model. */
interface ModelView {
  readonly model?: { readonly proto?: { readonly graph?: { readonly output?: readonly { readonly name?: string | null }[] | null } | null; readonly metadataProps?: readonly { readonly key?: string | null }[] | null } };
  readonly loaded?: { readonly model?: { readonly outputs?: readonly { readonly name?: string }[] }; readonly artifacts?: { readonly userDefinedMetadata?: unknown } };
}

/** The model's output names and metadata keys, as far as its backend shows them (none for other backends). */
function outputsAndMetadata(extractor: FeatureExtractor): { outputs: string[]; metadata: string[] } {
  const view = extractor as unknown as ModelView;
  const onnx = view.model?.proto;
  const tfjs = view.loaded;
  const userMetadata = tfjs?.artifacts?.userDefinedMetadata;
  return {
    outputs: [...(onnx?.graph?.output ?? []).map((o) => o.name ?? ''), ...(tfjs?.model?.outputs ?? []).map((o) => (o.name ?? '').replace(/:0$/, ''))],
    metadata: [...(onnx?.metadataProps ?? []).map((e) => e.key ?? ''), ...(userMetadata !== null && typeof userMetadata === 'object' ? Object.keys(userMetadata) : [])],
  };
}

/**
 * Refuses a `--model` that is already an exported detector, naming the file, what marks it and what to pass instead.
 *
 * @throws OpnpError `INVALID_ARGUMENT`
 */
export function assertNotExportedDetector(extractor: FeatureExtractor, path: string): void {
  const { outputs, metadata } = outputsAndMetadata(extractor);
  const mark = outputs.includes(DETECTOR_OUTPUT_NAMES.oodScore)
    ? `it has an ${DETECTOR_OUTPUT_NAMES.oodScore} output`
    : metadata.includes(DETECTOR_PREPROCESSING_KEY)
      ? `it records its preprocessing under ${DETECTOR_PREPROCESSING_KEY}`
      : undefined;
  if (mark === undefined) return;
  throw flagError('--model', `${path} is an OOD detector written by opnp export (${mark}), not a classifier`, {
    hint: 'Pass the classifier it was exported from as --model; the detector itself is ready to run (onnxruntime or TensorFlow.js, as opnp export printed)',
  });
}
