/**
 * The files an extraction writes, as output targets (each output with the sidecar, partial and owner files written
 * beside it), checked against each other and against the files the run reads before anything is read.
 */
import { datasetInputFiles } from './feature-source.js';
import type { ExtractOutputs } from './extract.js';
import { assertOutputTargets, type InputFile, type OutputTarget } from './paths.js';

/** How messages name each output of an extraction (the library's option keys, or a CLI's flags). */
export interface ExtractOutputNames {
  readonly features: string;
  readonly logits: string;
  readonly labels: string;
  readonly indices: string;
}

/** The option keys of {@link ExtractOptions.outputs}, as library callers know them. */
export const EXTRACT_OUTPUT_OPTION_NAMES: ExtractOutputNames = { features: 'outputs.features', logits: 'outputs.logits', labels: 'outputs.labels', indices: 'outputs.indices' };

/** Every file an extraction to `outputs` writes, as targets for {@link assertOutputTargets}. */
export function extractionTargets(outputs: ExtractOutputs, names: ExtractOutputNames = EXTRACT_OUTPUT_OPTION_NAMES): OutputTarget[] {
  const { features, logits, labels, indices } = outputs;
  return [
    { path: features, what: `the features (${names.features})`, companions: [`${features}.json`, `${features}.partial`, `${features}.partial.json`, `${features}.partial.lock`] },
    ...(logits !== undefined ? [{ path: logits, what: `the logits (${names.logits})`, companions: [`${logits}.partial`, `${logits}.partial.owner.json`] }] : []),
    ...(labels !== undefined ? [{ path: labels, what: `the labels (${names.labels})` }] : []),
    ...(indices !== undefined ? [{ path: indices, what: `the indices (${names.indices})` }] : []),
  ];
}

/** The files an extraction reads: the model, the dataset's files and a labels file. */
export function extractionInputs(model: string, data: string, labelsFile: string | undefined, flags: { model: string; data: string; labels: string }): InputFile[] {
  return [{ path: model, what: `the model (${flags.model})` }, ...datasetInputFiles(data, flags.data), ...(labelsFile !== undefined ? [{ path: labelsFile, what: `the labels (${flags.labels})` }] : [])];
}

/**
 * Refuses an extraction whose outputs (or the files written beside them) are the same file twice, or one of the
 * files it reads (`inputs`), or unwritable: before anything is read.
 *
 * @throws OpnpError `INVALID_ARGUMENT` or `IO_ERROR` naming the file (see {@link assertOutputTargets})
 */
export async function assertExtractionTargets(outputs: ExtractOutputs, inputs: readonly InputFile[], names: ExtractOutputNames = EXTRACT_OUTPUT_OPTION_NAMES): Promise<void> {
  await assertOutputTargets(extractionTargets(outputs, names), inputs);
}
