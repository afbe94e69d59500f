/**
 * One check of every path a command reads and writes, before any work starts: each command declares its output
 * files, its output folders and its inputs, and {@link assertRunFiles} refuses a run that would overwrite an input,
 * write two outputs to one file, write into a folder it reads, or replace a folder holding its own inputs or other
 * outputs. A mistake then fails in a second, and never ends in a partial or mixed output.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { assertNotAnInput, assertOutputTargets, assertParentFolder, identityOf, type InputFile, type OutputTarget } from './paths.js';
import { assertResultsTarget } from './results-dir.js';
import { shardSiblings } from './extract-shards.js';

/** A folder a command writes. */
export interface OutputFolder {
  readonly path: string;
  /** What it is, with its flag, for the messages: "the results folder (--save)". */
  readonly what: string;
  /**
   * `results`: an `opnp eval --save` folder, replaced as a whole at the end of the run (see
   * {@link assertResultsTarget}); nothing else the run reads or writes may lie inside it. `into`: files are written
   * inside it (`opnp report --out`).
   */
  readonly kind: 'results' | 'into';
}

/** Everything a run reads and writes (undefined entries: flags not given). */
export interface RunFiles {
  readonly outputs?: readonly (OutputTarget | undefined)[];
  readonly folders?: readonly (OutputFolder | undefined)[];
  /** Inputs; one with `folder: true` is a folder the run reads, inside which no output may be written. */
  readonly inputs?: readonly (RunInput | undefined)[];
}

/** A file or folder a run reads. */
export interface RunInput extends InputFile {
  readonly folder?: boolean;
}

interface NamedPath {
  readonly path: string;
  readonly what: string;
}

const defined = <T>(value: T | undefined): value is T => value !== undefined;

/** Whether `inner` is `outer` or lies inside it (both identities from {@link identityOf}). */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : `${outer}${sep}`);
}

/** Every output file and the files written beside them. */
function outputFiles(outputs: readonly OutputTarget[]): NamedPath[] {
  return outputs.flatMap((o) => [{ path: o.path, what: o.what }, ...(o.companions ?? []).map((path) => ({ path, what: `a file ${o.what} writes beside it` }))]);
}

/** Throws when one of `paths` is `folder` or lies inside it. */
async function assertNoneInside(folder: NamedPath, paths: readonly NamedPath[], problem: (inner: NamedPath) => OpnpError): Promise<void> {
  const outer = await identityOf(folder.path);
  for (const inner of paths) if (within(await identityOf(inner.path), outer)) throw problem(inner);
}

function insideResultsError(folder: OutputFolder, inner: NamedPath): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', `${inner.what} lies inside ${folder.what}, which is replaced as a whole at the end of the run: ${inner.path}`, {
    file: inner.path,
    hint: `Keep the run's inputs and other outputs out of ${folder.path}, or choose another folder`,
  });
}

function insideInputError(input: NamedPath, output: NamedPath): OpnpError {
  return new OpnpError('INVALID_ARGUMENT', `${output.what} would be written inside ${input.what}: ${output.path}`, { file: output.path, hint: `Write it outside ${input.path}` });
}

/** A folder files are written into: absent (created) under a writable folder, or an existing folder, not a file. */
async function assertIntoFolder(folder: OutputFolder): Promise<void> {
  await assertParentFolder(folder.path, folder.what);
  const existing = await stat(folder.path).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw new OpnpError('INVALID_ARGUMENT', `${folder.what} is a folder, but ${folder.path} is a file`, { file: folder.path, hint: 'Give a folder name (it is created when absent)' });
  }
}

/**
 * Checks every path of a run before any work (see the module comment): the output files as
 * {@link assertOutputTargets} does (writable, distinct, none an input), each output folder (not an input; a results
 * folder absent, empty or an earlier results folder holding only its own files; the parent of an `into` folder
 * writable), no input, output file or other folder inside a results folder, and no output inside an input folder.
 *
 * @throws OpnpError `INVALID_ARGUMENT` naming both paths and their flags, `IO_ERROR` for an unwritable place
 */
export async function assertRunFiles(files: RunFiles): Promise<void> {
  const inputs = (files.inputs ?? []).filter(defined);
  const outputs = (files.outputs ?? []).filter(defined);
  const folders = (files.folders ?? []).filter(defined);
  await assertOutputTargets(outputs, inputs);
  const written = [...outputFiles(outputs), ...folders];
  for (const folder of folders) {
    await assertNotAnInput(folder, inputs);
    if (folder.kind === 'results') {
      await assertNoneInside(folder, [...inputs, ...written.filter((w) => w !== folder)], (inner) => insideResultsError(folder, inner));
      await assertResultsTarget(folder.path, folder.what);
    } else await assertIntoFolder(folder);
  }
  for (const input of inputs.filter((i) => i.folder === true)) await assertNoneInside(input, written, (output) => insideInputError(input, output));
}

/**
 * Checks that every input exists and can be read, before anything is queued or loaded: a batch system's tasks would
 * otherwise each fail after the queue wait. A `.npy` input that is absent counts as present when its shards lie next
 * to it (cached features, logits and sensitivity states are read from their shards then; see `shardSiblings`).
 * Every missing or unreadable input is named in one error, so that one attempt shows all the paths to fix.
 *
 * @throws OpnpError `IO_ERROR` naming each bad input, its flag and the path
 */
export async function assertInputsReadable(inputs: readonly (RunInput | undefined)[]): Promise<void> {
  const problems: { text: string; input: RunInput; missing: boolean }[] = [];
  for (const input of inputs.filter(defined)) {
    const entry = await stat(input.path).catch(() => undefined);
    if (entry === undefined) {
      if (input.path.endsWith('.npy') && (await shardSiblings(input.path)) !== undefined) continue;
      problems.push({ text: `${input.what} not found: ${input.path}`, input, missing: true });
      continue;
    }
    const readable = await access(input.path, constants.R_OK).then(() => true, () => false);
    if (!readable) problems.push({ text: `${input.what} is not readable: ${input.path}`, input, missing: false });
  }
  if (problems.length === 0) return;
  const anyMissing = problems.some((p) => p.missing);
  const hint = anyMissing ? 'Fix the path (relative paths are relative to the working folder), or write the file first' : 'Fix its permissions';
  if (problems.length === 1) throw new OpnpError('IO_ERROR', problems[0]!.text, { file: problems[0]!.input.path, hint });
  throw new OpnpError('IO_ERROR', `${problems.length} inputs cannot be read: ${problems.map((p) => p.text).join('; ')}`, { file: problems[0]!.input.path, hint: anyMissing ? 'Fix the paths (relative paths are relative to the working folder), or write the files first' : 'Fix their permissions' });
}
