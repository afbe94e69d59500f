/**
 * The labels and dataset indices of an extraction's rows: written from the dataset, not the model, at the end of a
 * run ({@link writeSideOutputs}), or added to a finished extraction asked for them later ({@link completeFinished}),
 * which then records them in its sidecar as if the run had written them.
 */
import { OpnpError } from '@opnp/core/base';
import { writeNpy } from '@opnp/datasets/node';
import type { FeatureSource } from './feature-source.js';
import { companionHashes, featuresMetaPath, writeFeaturesMeta, type SkippedSample } from './features-meta.js';
import { buildFeaturesMeta, type AnyFeaturesMeta } from './extract-shards.js';
import { restartHint, type SideOutputKey } from './extract-start.js';
import { makeFingerprint, type JsonValue, type RunFingerprint } from './fingerprint.js';
import type { ExtractOutputs } from './extract.js';

/** Dataset indices `[start, end)` an extraction covers (all, or a shard's). */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** The rows an extraction wrote: how many, and the samples of its range it skipped (absent from every output). */
export interface WrittenRows {
  readonly rows: number;
  readonly skipped: readonly SkippedSample[];
}

/**
 * Writes the labels and indices `outputs` names for the written rows: every index of the range except the skipped ones.
 *
 * @throws OpnpError `STATE_MISMATCH` when the rows are not the range without its skipped samples
 */
export async function writeSideOutputs(source: FeatureSource, outputs: ExtractOutputs, written: WrittenRows, range: Range, restart = restartHint(undefined)): Promise<void> {
  const skipped = new Set(written.skipped.map((s) => s.index));
  const indices = new Float64Array(written.rows);
  let at = 0;
  for (let i = range.start; i < range.end; i++) if (!skipped.has(i)) indices[at++] = i;
  if (at !== written.rows) throw new OpnpError('STATE_MISMATCH', `The outputs hold ${written.rows} rows but ${at} samples were read`, { file: outputs.features, hint: restart });
  if (outputs.indices !== undefined) await writeNpy(outputs.indices, { dtype: 'float64', shape: [indices.length], data: indices });
  if (outputs.labels !== undefined) {
    const labels = await source.readLabels();
    await writeNpy(outputs.labels, { dtype: 'float64', shape: [indices.length], data: Float64Array.from(indices, (i) => labels[i]!) });
  }
}

type OutputFlags = Partial<Record<'logits' | 'labels' | 'indices', boolean>>;

/** The fingerprint of the run with the outputs of both: what the finished run wrote and what this one adds. */
function unitedFingerprint(stored: RunFingerprint, current: RunFingerprint): RunFingerprint {
  const [a, b] = [(stored.fields.outputs ?? {}) as OutputFlags, (current.fields.outputs ?? {}) as OutputFlags];
  const outputs: Record<string, JsonValue> = {};
  for (const key of ['logits', 'labels', 'indices'] as const) outputs[key] = a[key] === true || b[key] === true;
  const { version: _version, ...fields } = current.fields;
  return makeFingerprint({ ...fields, outputs });
}

/** `the labels to y.npy and the indices to i.npy` (`verb`: `to` or `in`). */
function listOutputs(keys: readonly ('logits' | SideOutputKey)[], files: Omit<ExtractOutputs, 'features'>, verb: string): string {
  return keys.map((key) => `the ${key} ${verb} ${files[key]}`).join(' and ');
}

/** What a finished extraction asked for again needs: its sidecar, this run's outputs, fingerprint and range. */
export interface FinishedRun {
  readonly meta: AnyFeaturesMeta;
  readonly missing: readonly SideOutputKey[];
  readonly outputs: ExtractOutputs;
  readonly fingerprint: RunFingerprint;
  readonly range: Range;
  /** What messages call `restart` (the library's `restart: true`, a CLI's `--restart`). */
  readonly restart: string;
}

/**
 * A finished extraction asked for again: writes the labels and indices this run asks for that it lacks (from the
 * dataset, without the model) and records them in its sidecar; returns what to tell the user (what was added, or
 * that nothing was to do, naming the outputs it wrote that this run does not ask for, which are kept).
 */
export async function completeFinished(source: FeatureSource, run: FinishedRun): Promise<string> {
  const { meta, missing, outputs } = run;
  const done = `${outputs.features} is already complete for this run (${meta.rows} rows`;
  if (missing.length === 0) {
    const kept = (['logits', 'labels', 'indices'] as const).filter((key) => meta.files[key] !== undefined && outputs[key] === undefined);
    const extra = kept.length > 0 ? `; it also holds ${listOutputs(kept, meta.files, 'in')}, which this run does not ask for and which are kept` : '';
    return `${done}${extra}); nothing to do (pass ${run.restart} to extract again)`;
  }
  const added: ExtractOutputs = { features: outputs.features, ...Object.fromEntries(missing.map((key) => [key, outputs[key]])) };
  await writeSideOutputs(source, added, meta, run.range, `Pass ${run.restart} to discard it and extract again`);
  const files = { ...meta.files, ...added };
  const hashes = { ...meta.hashes, ...(await companionHashes(added)) };
  const base = { ...meta, fingerprint: unitedFingerprint(meta.fingerprint, run.fingerprint) };
  const progress = { rows: meta.rows, nextIndex: meta.nextIndex, complete: true, skipped: meta.skipped, hashes };
  await writeFeaturesMeta(featuresMetaPath(outputs.features), buildFeaturesMeta(base, progress, files, meta.format === 'opnp-features-shard' ? meta.shard : undefined));
  return `${done}): wrote ${listOutputs(missing, outputs, 'to')} from the dataset, without running the model again`;
}
