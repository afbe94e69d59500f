/**
 * Where an extraction starts ({@link startOf}): fresh, resumed from the partial output of this same run, or
 * already done. State is this run's when its fingerprint (model bytes, data files, labels file, preprocessing) is
 * this run's and it covers the same shard; anything else is refused, saying what differs. Which outputs are written
 * is compared apart, file by file: a partial output resumes only with the logits file it was started with (its rows
 * are in `<logits>.partial`), while labels and indices, written from the dataset at the end, may be asked for or
 * dropped; a finished output serves any run asking for the same features and a part of what it wrote, and labels
 * or indices it did not write are written then from the dataset without running the model (logits it did not write
 * are refused: they need the model). A fresh start also refuses to write over a companion partial of another
 * unfinished extraction (see `partial-owner.ts`).
 */
import { resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { featuresMetaPath } from './features-meta.js';
import { describeShard, readAnyFeaturesMeta, unshardedFileName, type AnyFeaturesMeta, type FeatureShard } from './extract-shards.js';
import { EXTRACT_OUTPUT_OPTION_NAMES, type ExtractOutputNames } from './extract-targets.js';
import { assertSameRun, fingerprintWithout, type RunFingerprint } from './fingerprint.js';
import { assertPartialFree, partialOwnerPath } from './partial-owner.js';
import { isFile } from './paths.js';
import type { ExtractOutputs } from './extract.js';
import { optionNames, type OptionNames } from './option-names.js';

/** The hint of a refusal that `restart` resolves, naming it as the caller does (`names.restart`). */
export function restartHint(names: OptionNames | undefined): string {
  return `Pass ${optionNames(names).restart} to discard it and extract again`;
}

/** The outputs written from the dataset alone (no model): a finished extraction can add them. */
export type SideOutputKey = 'labels' | 'indices';

/**
 * Where an extraction starts: fresh, resumed from a partial run of the same run, or already done (`missing`: the
 * labels or indices this run asks for that the finished run did not write, to be written from the dataset).
 */
export type Start = { kind: 'done'; meta: AnyFeaturesMeta; missing: readonly SideOutputKey[] } | { kind: 'fresh' } | { kind: 'resume'; meta: AnyFeaturesMeta };

/** How to start over instead of resuming a partial output: the files to delete, or `restart` (as `names` calls it). */
function startOverHint(meta: AnyFeaturesMeta, names: OptionNames | undefined): string {
  const rowFiles = [meta.files.features, meta.files.logits].filter((f): f is string => f !== undefined).map((f) => `${f}.partial`);
  const owner = meta.files.logits !== undefined ? [partialOwnerPath(meta.files.logits)] : [];
  const files = [...rowFiles, ...owner, featuresMetaPath(meta.files.features, true)];
  return `to start over with these, delete ${files.join(', ')} or pass ${optionNames(names).restart}`;
}

/** How to proceed from partial output of another run: resume it with its inputs, or delete its files for a fresh start. */
function partialOutputHint(meta: AnyFeaturesMeta, names: OptionNames | undefined): string {
  return `To resume it, rerun with the inputs it was started with; ${startOverHint(meta, names)}`;
}

/** Refuses state of another shard of the same run (or of the whole run for a shard, and the reverse). */
function assertSameShard(meta: AnyFeaturesMeta, shard: FeatureShard | undefined, file: string, restart: string): void {
  const stored = meta.format === 'opnp-features-shard' ? meta.shard : undefined;
  const same = stored === undefined ? shard === undefined : shard !== undefined && stored.index === shard.index && stored.count === shard.count && stored.start === shard.start && stored.end === shard.end;
  if (!same) throw new OpnpError('STATE_MISMATCH', `${file} covers ${describeShard(stored)}${stored ? ` (samples ${stored.start}-${stored.end - 1})` : ''}, this run ${describeShard(shard)}`, { file, hint: restart });
}

/** Whether two optional output paths are the same file (both absent, or equal when resolved). */
function sameFile(a: string | undefined, b: string | undefined): boolean {
  return a === undefined ? b === undefined : b !== undefined && resolve(a) === resolve(b);
}

/** A file a message tells the user to pass: a shard's file by the name given for the whole run. */
const asGiven = (path: string): string => unshardedFileName(path) ?? path;

/**
 * Refuses a partial output started with another logits file (or without logits, or with them when this run has none):
 * its logits rows are in `<logits>.partial` and must stay the pair of its features rows. Labels and indices are
 * written at the end, from the dataset: they may differ.
 */
function assertSameLogits(meta: AnyFeaturesMeta, outputs: ExtractOutputs, names: ExtractOutputNames, startOver: string): void {
  const [stored, current] = [meta.files.logits, outputs.logits];
  if (sameFile(stored, current)) return;
  const file = `${outputs.features}.partial`;
  const started = stored === undefined ? 'was started without logits' : `was started writing the logits to ${stored}`;
  const asked = current === undefined ? `this run has no ${names.logits}` : `this run writes them to ${current} (${names.logits})`;
  const resume = stored === undefined ? `rerun without ${names.logits}` : `rerun with ${names.logits} ${asGiven(stored)}`;
  throw new OpnpError('STATE_MISMATCH', `The partial output ${file} ${started}, but ${asked}: its features rows and logits rows must come from one pass`, {
    file,
    hint: `To resume it, ${resume}; ${startOver}`,
  });
}

/**
 * Which outputs of this run a finished extraction lacks: labels and indices it did not write (at this run's file) are
 * returned, to be written from the dataset; logits it did not write at this run's file are refused, as they need the
 * model run again. Outputs it wrote that this run does not ask for are kept.
 *
 * @throws OpnpError `STATE_MISMATCH` naming the logits file written, or saying none was
 */
function missingOutputs(meta: AnyFeaturesMeta, outputs: ExtractOutputs, names: ExtractOutputNames, restart: string): SideOutputKey[] {
  const [stored, current] = [meta.files.logits, outputs.logits];
  if (current !== undefined && !sameFile(stored, current)) {
    const features = outputs.features;
    if (stored === undefined) {
      throw new OpnpError('STATE_MISMATCH', `${features} was extracted without logits, and the logits (${names.logits} ${current}) need the model run over the data again`, {
        file: features,
        hint: `Pass ${restart} to extract the features and the logits again (replacing ${features}), or leave out ${names.logits} to use the finished features as they are`,
      });
    }
    throw new OpnpError('STATE_MISMATCH', `${features} was extracted with its logits in ${stored}, not in ${current} (${names.logits})`, {
      file: features,
      hint: `Pass ${names.logits} ${asGiven(stored)} to use them, or ${restart} to extract the features and the logits again`,
    });
  }
  return (['labels', 'indices'] as const).filter((key) => outputs[key] !== undefined && !sameFile(meta.files[key], outputs[key]));
}

/**
 * Refuses to write a missing labels or indices output of a finished extraction over an existing file: that file is no
 * output of this extraction (maybe another extraction's, which would no longer match its features).
 */
async function assertMissingAbsent(outputs: ExtractOutputs, missing: readonly SideOutputKey[], names: ExtractOutputNames): Promise<void> {
  for (const key of missing) {
    const path = outputs[key]!;
    if (!(await isFile(path))) continue;
    throw new OpnpError('STATE_MISMATCH', `The ${key} output ${path} already exists, but the finished extraction of ${outputs.features} did not write it: it is no output of this extraction (maybe the ${key} of another one)`, {
      file: path,
      hint: `Choose another ${names[key]} file, or delete ${path} if it is not needed`,
    });
  }
}

/**
 * Where an extraction writing `outputs` (the files of its shard with `shard`) starts; `restart` discards this
 * output's partial or finished state (never another extraction's companion partial). `names`: what the hints call
 * the options (default the library's); `outputNames`: what messages call the outputs (the library's option keys, or a
 * CLI's flags).
 *
 * @throws OpnpError `STATE_MISMATCH` for state of another run, shard or logits file (see the module comment)
 */
export async function startOf(
  outputs: ExtractOutputs,
  fingerprint: RunFingerprint,
  shard: FeatureShard | undefined,
  restart: boolean,
  names?: OptionNames,
  outputNames: ExtractOutputNames = EXTRACT_OUTPUT_OPTION_NAMES,
): Promise<Start> {
  const start = restart ? ({ kind: 'fresh' } as const) : await existingState(outputs, fingerprint, shard, names, outputNames);
  if (start.kind === 'fresh' && !restart) await assertNoStrayCompanions(outputs, names);
  if (start.kind === 'fresh' && outputs.logits !== undefined) await assertPartialFree(outputs.logits, 'logits', outputs.features, restart, names);
  return start;
}

/**
 * Before a fresh start (neither partial nor finished features of this output exist): refuses to write over an existing
 * logits, labels or indices file, which is then no output of this run but maybe another extraction's companion
 * (overwritten, it would no longer be the pair of that extraction's features).
 *
 * @throws OpnpError `STATE_MISMATCH` naming the file
 */
async function assertNoStrayCompanions(outputs: ExtractOutputs, names: OptionNames | undefined): Promise<void> {
  for (const key of ['logits', 'labels', 'indices'] as const) {
    const path = outputs[key];
    if (path === undefined || !(await isFile(path))) continue;
    throw new OpnpError('STATE_MISMATCH', `The ${key} output ${path} already exists, but the features ${outputs.features} do not: it is no output of this run (maybe the ${key} of another extraction, which would no longer match its features)`, {
      file: path,
      hint: `Choose another ${key} output file, or pass ${optionNames(names).restart} to overwrite it`,
    });
  }
}

/** The part of a run's fingerprint that says what produced the rows, without which outputs were written. */
const rowsFingerprint = <T>(fingerprint: T | RunFingerprint) => fingerprintWithout(fingerprint, ['outputs']);

async function existingState(outputs: ExtractOutputs, fingerprint: RunFingerprint, shard: FeatureShard | undefined, names: OptionNames | undefined, outputNames: ExtractOutputNames): Promise<Start> {
  const out = outputs.features;
  const { restart, out: outName } = optionNames(names);
  const partialMeta = await readAnyFeaturesMeta(featuresMetaPath(out, true));
  if (partialMeta) {
    const context = { file: `${out}.partial`, what: 'The partial output', restart: partialOutputHint(partialMeta, names) };
    assertSameRun(rowsFingerprint(partialMeta.fingerprint), rowsFingerprint(fingerprint), context);
    assertSameShard(partialMeta, shard, `${out}.partial`, restartHint(names));
    assertSameLogits(partialMeta, outputs, outputNames, startOverHint(partialMeta, names));
    return { kind: 'resume', meta: partialMeta };
  }
  if (await isFile(`${out}.partial`)) throw new OpnpError('STATE_MISMATCH', `${out}.partial has no sidecar (${featuresMetaPath(out, true)}), so it cannot be shown to belong to this run`, { file: `${out}.partial`, hint: restartHint(names) });
  if (await isFile(out)) {
    const meta = await readAnyFeaturesMeta(featuresMetaPath(out));
    const context = { file: out, what: 'The existing output', restart: `Pass ${restart} to overwrite it, or choose another ${outName}` };
    assertSameRun(rowsFingerprint(meta?.fingerprint), rowsFingerprint(fingerprint), context);
    assertSameShard(meta!, shard, out, context.restart);
    const missing = missingOutputs(meta!, outputs, outputNames, restart);
    await assertMissingAbsent(outputs, missing, outputNames);
    return { kind: 'done', meta: meta!, missing };
  }
  return { kind: 'fresh' };
}
