/**
 * What a command reads and writes, in the shape {@link checkRunFiles} checks before any work: every command that
 * writes files declares its outputs and every input here (the model, each dataset flag's files, labels files,
 * states), so no output can land on an input, on another output, or inside a folder that is replaced.
 */
import { statSync } from 'node:fs';
import { assertRunFiles, datasetInputFiles, sidecarPath, type OutputFolder, type OutputTarget, type RunFiles, type RunInput } from '@opnp/pipeline';
import { parseValOod } from './data-options.js';

/** Checks every declared path (see `assertRunFiles` of @opnp/pipeline); call it before loading anything. */
export function checkRunFiles(files: RunFiles): Promise<void> {
  return assertRunFiles(files);
}

/** An input file named by `flag` (none when the flag was not given). */
export function fileInput(path: string | undefined, what: string): RunInput | undefined {
  return path === undefined ? undefined : { path, what };
}

/** An output file (none when the flag was not given); `-` is refused by the check, as these outputs are files. */
export function fileOutput(path: string | undefined, what: string, companions?: readonly string[]): OutputTarget | undefined {
  if (path === undefined) return undefined;
  return { path, what, ...(companions ? { companions } : {}) };
}

/** An output that may go to standard output: a file, or none when the flag was not given or is `-`. */
export function fileOrStdout(path: string | undefined, what: string): OutputTarget | undefined {
  return path === '-' ? undefined : fileOutput(path, what);
}

/** A sensitivity state file (`--state-out`, `--checkpoint`): the sums and their `.json` sidecar. */
export function stateOutput(path: string | undefined, what: string): OutputTarget | undefined {
  return fileOutput(path, what, path === undefined ? undefined : [sidecarPath(path)]);
}

/** A results folder (`--save`), replaced as a whole at the end of the run. */
export function resultsFolder(path: string | undefined): OutputFolder | undefined {
  return path === undefined ? undefined : { path, what: 'the results folder (--save)', kind: 'results' };
}

/** The model files (`--model`, repeatable). */
export function modelInputs(paths: readonly string[], flag = '--model'): RunInput[] {
  return paths.map((path) => ({ path, what: `the model (${flag})` }));
}

/** The data flags of a run over datasets, as commander parses them. */
export interface DataInputFlags {
  readonly train?: string;
  readonly trainLabels?: string;
  readonly test?: string;
  readonly testLabels?: string;
  readonly ood?: readonly string[];
  readonly valOod?: readonly string[];
}

/** `name=spec` -> spec (a malformed value gives nothing here: its own flag check reports it). */
function specOf(value: string): string | undefined {
  const at = value.indexOf('=');
  return at > 0 ? value.slice(at + 1) : undefined;
}

/** Whether `path` is an existing folder (an image-folder dataset, a results folder: no output may be written inside it). */
export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The files named by `--method-option name.key=<file>` values (e.g. `webo.weights=w.npy`): a value that names an
 * existing file is read by the method, so no output may overwrite it.
 */
export function methodOptionInputs(values: readonly string[] | undefined): RunInput[] {
  return (values ?? []).flatMap((value) => {
    const at = value.indexOf('=');
    const path = at > 0 ? value.slice(at + 1) : '';
    try {
      return path !== '' && statSync(path).isFile() ? [{ path, what: `the file of --method-option ${value.slice(0, at)}` }] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Every file the data flags read: each dataset's files and labels files, cached features and logits; a dataset that
 * is a folder is marked as one, so no output is written inside it.
 */
export function dataInputs(flags: DataInputFlags): RunInput[] {
  return dataFiles(flags).map((input) => (isFolder(input.path) ? { ...input, folder: true } : input));
}

function dataFiles(flags: DataInputFlags): RunInput[] {
  const named = (values: readonly string[] | undefined, flag: string) => (values ?? []).flatMap((v) => {
    const spec = specOf(v);
    return spec === undefined ? [] : datasetInputFiles(spec, `${flag} ${v.slice(0, v.indexOf('='))}`);
  });
  const valOod = (() => {
    try {
      return parseValOod(flags.valOod ?? []).flatMap((v) => datasetInputFiles(v.spec, `--val-ood ${v.name}`));
    } catch {
      return [];
    }
  })();
  return [
    ...(flags.train !== undefined ? datasetInputFiles(flags.train, '--train') : []),
    ...[fileInput(flags.trainLabels, 'the labels (--train-labels)')].filter((i) => i !== undefined),
    ...(flags.test !== undefined ? datasetInputFiles(flags.test, '--test') : []),
    ...[fileInput(flags.testLabels, 'the labels (--test-labels)')].filter((i) => i !== undefined),
    ...named(flags.ood, '--ood'),
    ...valOod,
  ];
}
