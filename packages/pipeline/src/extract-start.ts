/**
 * Where an extraction starts ({@link startOf}): fresh, resumed from the partial output of this same run, or
 * already done. State is this run's when its fingerprint (model bytes, data files, labels file, preprocessing,
 * which outputs) is this run's, it covers the same shard and it was written to the same output files; anything
 * else is refused, saying what differs. A fresh start also refuses to write over a companion partial of another
 * unfinished extraction (see `partial-owner.ts`).
 */
import { resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { featuresMetaPath } from './features-meta.js';
import { describeShard, filesRecord, readAnyFeaturesMeta, type AnyFeaturesMeta, type FeatureShard } from './extract-shards.js';
import { assertSameRun, describeFingerprintChanges, type FingerprintChange, type RunFingerprint } from './fingerprint.js';
import { assertPartialFree, partialOwnerPath } from './partial-owner.js';
import { isFile } from './paths.js';
import type { ExtractOutputs } from './extract.js';
import { optionNames, type OptionNames } from './option-names.js';

/** The hint of a refusal that `restart` resolves, naming it as the caller does (`names.restart`). */
export function restartHint(names: OptionNames | undefined): string {
  return `Pass ${optionNames(names).restart} to discard it and extract again`;
}

/** Where an extraction starts: fresh, resumed from a partial run of the same run, or already done. */
export type Start = { kind: 'done'; meta: AnyFeaturesMeta } | { kind: 'fresh' } | { kind: 'resume'; meta: AnyFeaturesMeta };

/** How to proceed from partial output of another run: its files, to delete for a fresh start. */
function partialOutputHint(meta: AnyFeaturesMeta, names: OptionNames | undefined): string {
  const rowFiles = [meta.files.features, meta.files.logits].filter((f): f is string => f !== undefined).map((f) => `${f}.partial`);
  const owner = meta.files.logits !== undefined ? [partialOwnerPath(meta.files.logits)] : [];
  const files = [...rowFiles, ...owner, featuresMetaPath(meta.files.features, true)];
  return `To resume it, rerun with the inputs it was started with; to start over with these, delete ${files.join(', ')} or pass ${optionNames(names).restart}`;
}

/** Refuses state of another shard of the same run (or of the whole run for a shard, and the reverse). */
function assertSameShard(meta: AnyFeaturesMeta, shard: FeatureShard | undefined, file: string, restart: string): void {
  const stored = meta.format === 'opnp-features-shard' ? meta.shard : undefined;
  const same = stored === undefined ? shard === undefined : shard !== undefined && stored.index === shard.index && stored.count === shard.count && stored.start === shard.start && stored.end === shard.end;
  if (!same) throw new OpnpError('STATE_MISMATCH', `${file} covers ${describeShard(stored)}${stored ? ` (samples ${stored.start}-${stored.end - 1})` : ''}, this run ${describeShard(shard)}`, { file, hint: restart });
}

/**
 * Refuses state written to other output files than this run's (`--logits-out` changed: its partial rows are in
 * another file; or finished outputs that never wrote the file this run asks for). Paths are compared resolved.
 */
export function assertSameOutputs(meta: AnyFeaturesMeta, outputs: ExtractOutputs, context: { file: string; what: string; restart: string }): void {
  const stored: Record<string, string | undefined> = meta.files;
  const current: Record<string, string | undefined> = filesRecord(outputs);
  const changes: FingerprintChange[] = [];
  for (const key of ['features', 'logits', 'labels', 'indices']) {
    const [a, b] = [stored[key], current[key]];
    if ((a === undefined) !== (b === undefined) || (a !== undefined && b !== undefined && resolve(a) !== resolve(b))) changes.push({ path: `outputs.${key}`, stored: a, current: b });
  }
  if (changes.length === 0) return;
  throw new OpnpError('STATE_MISMATCH', `${context.what} was written to other files than this run's: ${describeFingerprintChanges(changes)}`, { file: context.file, hint: context.restart });
}

/**
 * Where an extraction writing `outputs` (the files of its shard with `shard`) starts; `restart` discards this
 * output's partial or finished state (never another extraction's companion partial). `names`: what the hints call
 * the options (default the library's).
 *
 * @throws OpnpError `STATE_MISMATCH` for state of another run, shard or output files (see the module comment)
 */
export async function startOf(outputs: ExtractOutputs, fingerprint: RunFingerprint, shard: FeatureShard | undefined, restart: boolean, names?: OptionNames): Promise<Start> {
  const start = restart ? ({ kind: 'fresh' } as const) : await existingState(outputs, fingerprint, shard, names);
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

async function existingState(outputs: ExtractOutputs, fingerprint: RunFingerprint, shard: FeatureShard | undefined, names: OptionNames | undefined): Promise<Start> {
  const out = outputs.features;
  const { restart, out: outName } = optionNames(names);
  const partialMeta = await readAnyFeaturesMeta(featuresMetaPath(out, true));
  if (partialMeta) {
    const context = { file: `${out}.partial`, what: 'The partial output', restart: partialOutputHint(partialMeta, names) };
    assertSameRun(partialMeta.fingerprint, fingerprint, context);
    assertSameShard(partialMeta, shard, `${out}.partial`, restartHint(names));
    assertSameOutputs(partialMeta, outputs, context);
    return { kind: 'resume', meta: partialMeta };
  }
  if (await isFile(`${out}.partial`)) throw new OpnpError('STATE_MISMATCH', `${out}.partial has no sidecar (${featuresMetaPath(out, true)}), so it cannot be shown to belong to this run`, { file: `${out}.partial`, hint: restartHint(names) });
  if (await isFile(out)) {
    const meta = await readAnyFeaturesMeta(featuresMetaPath(out));
    const context = { file: out, what: 'The existing output', restart: `Pass ${restart} to overwrite it, or choose another ${outName}` };
    assertSameRun(meta?.fingerprint, fingerprint, context);
    assertSameShard(meta!, shard, out, context.restart);
    assertSameOutputs(meta!, outputs, context);
    return { kind: 'done', meta: meta! };
  }
  return { kind: 'fresh' };
}
