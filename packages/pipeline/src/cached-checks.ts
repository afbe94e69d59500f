/**
 * Checks that cached features are what a run takes them for, before any of their rows is used:
 * - extracted with this model (the sidecar's `fingerprint.fields.model`, the SHA-256 of the model bytes);
 * - their `#logits=` file is the one extracted with them (the sidecar's `hashes.logits`, the SHA-256 of its rows);
 *   without a recorded hash (a sidecar of an earlier version, or none), the logits must equal `W h + b` of the
 *   model head on the first {@link AUTO_HEAD_CHECK_ROWS} rows (the extractors' own head check, see @opnp/core);
 * - a labels file that is the one the extraction wrote (`--labels-out`) still holds the rows it wrote.
 * Each refusal names the files and says how to get a consistent set again.
 */
import { resolve } from 'node:path';
import { AUTO_HEAD_CHECK_ROWS, compareHead } from '@opnp/core/backend';
import { OpnpError, type LinearHead } from '@opnp/core/base';
import type { Dataset } from '@opnp/datasets/node';
import type { FeaturesMeta } from './features-meta.js';
import { canonicalJson, hashNpyRows, modelIdentity, showFingerprintValue, type JsonValue } from './fingerprint.js';
import type { LoadedModel } from './model.js';

/** `sha256 0123456789ab…, 1234 bytes` for messages. */
function describeModel(identity: JsonValue | undefined): string {
  const id = identity as { sha256?: unknown; bytes?: unknown } | null | undefined;
  if (id && typeof id.sha256 === 'string') return `sha256 ${id.sha256.slice(0, 12)}…${typeof id.bytes === 'number' ? `, ${id.bytes} bytes` : ''}`;
  return showFingerprintValue(identity);
}

/**
 * Refuses cached features extracted with another model than `model` (by the bytes of the model file).
 *
 * @throws OpnpError `STATE_MISMATCH` naming the cached file, the recorded model and this one
 */
export async function assertExtractedWithModel(meta: Pick<FeaturesMeta, 'fingerprint' | 'model'>, features: string, sidecar: string, model: LoadedModel): Promise<void> {
  const recorded = meta.fingerprint.fields.model;
  if (recorded === undefined) return;
  const current = model.identity ?? (await modelIdentity(model.path));
  if (canonicalJson(recorded) === canonicalJson(current)) return;
  const was = `${meta.model !== undefined ? `${meta.model} (${describeModel(recorded)})` : describeModel(recorded)}`;
  throw new OpnpError('STATE_MISMATCH', `The cached features ${features} were extracted with another model: ${sidecar} records ${was}, this run's model is ${model.path} (${describeModel(current)})`, {
    file: features,
    hint: `Extract the features again with this model (opnp extract --model ${model.path} ... --out ${features} --restart), or evaluate them with the model they were extracted with`,
  });
}

/** The first rows (at most `rows`) of a cached matrix, for the head check. */
async function firstRows(set: Dataset, rows: number): Promise<Float32Array> {
  const n = Math.min(rows, set.count);
  for await (const batch of set.batches({ batchSize: Math.max(1, n), subset: Uint32Array.from({ length: n }, (_, i) => i) })) return batch.data;
  return new Float32Array(0);
}

/** What {@link assertLogitsPair} checks: one features file (or shard) and the logits given with it. */
export interface LogitsPair {
  readonly features: string;
  readonly logits: string;
  /** The features sidecar, when there is one. */
  readonly sidecar: string | undefined;
  /** The SHA-256 of the logits rows the sidecar records (absent: earlier versions, or extracted without logits). */
  readonly recorded: string | undefined;
}

/**
 * Refuses a logits file that is not the one extracted with the features: by the recorded hash of its rows, else by
 * `W h + b` of the model head on the first rows (see the module comment).
 *
 * @throws OpnpError `STATE_MISMATCH` naming both files
 */
export async function assertLogitsPair(pair: LogitsPair, sets: { features: Dataset; logits: Dataset }, head: LinearHead): Promise<void> {
  const again = `Name the logits file written with these features, or extract them again with a logits file no other extraction writes (opnp extract ... --out ${pair.features} --logits-out <logits.npy> --restart)`;
  if (pair.recorded !== undefined) {
    const actual = await hashNpyRows([pair.logits]);
    if (actual === pair.recorded) return;
    throw new OpnpError('STATE_MISMATCH', `The cached logits ${pair.logits} are not the logits extracted with the features ${pair.features}: ${pair.sidecar} records logits rows of sha256 ${pair.recorded.slice(0, 12)}…, the file now holds ${actual.slice(0, 12)}… (overwritten by another extraction?)`, { file: pair.logits, hint: again });
  }
  const rows = Math.min(AUTO_HEAD_CHECK_ROWS, sets.features.count);
  if (rows === 0) return;
  const [h, f] = [await firstRows(sets.features, rows), await firstRows(sets.logits, rows)];
  const check = compareHead(head, { features: { rows, cols: head.weight.cols, data: h }, logits: { rows, cols: head.weight.rows, data: f } });
  if (check.withinTolerance) return;
  throw new OpnpError('STATE_MISMATCH', `The cached logits ${pair.logits} do not belong to the features ${pair.features}: W h + b of the model head differs from them by up to ${check.maxAbsDiff.toPrecision(3)} on the first ${rows} rows${pair.sidecar === undefined ? '' : ` (${pair.sidecar} records no hash of its logits)`}`, { file: pair.logits, hint: again });
}

/**
 * Refuses a labels file that is the labels output the extraction recorded (`files.labels`, compared resolved) but
 * no longer holds the rows it wrote. Other labels files are the caller's own choice (their length is checked apart).
 *
 * @throws OpnpError `STATE_MISMATCH` naming the labels file and the features
 */
export async function assertRecordedLabels(meta: Pick<FeaturesMeta, 'files' | 'hashes'>, labelsFile: string, features: string): Promise<void> {
  const recorded = meta.hashes?.labels;
  if (recorded === undefined || meta.files.labels === undefined || resolve(meta.files.labels) !== resolve(labelsFile)) return;
  const actual = await hashNpyRows([labelsFile]);
  if (actual === recorded) return;
  throw new OpnpError('STATE_MISMATCH', `The labels file ${labelsFile} is not the labels extracted with the features ${features}: their sidecar records labels rows of sha256 ${recorded.slice(0, 12)}…, the file now holds ${actual.slice(0, 12)}… (overwritten by another extraction?)`, {
    file: labelsFile,
    hint: `Extract them again together (opnp extract ... --out ${features} --labels-out ${labelsFile} --restart)`,
  });
}
