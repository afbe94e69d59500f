/**
 * Run fingerprints: every resumable or reusable artefact (partial features, sensitivity checkpoints and
 * shard states, cached feature files) records what produced it, and a run refuses to continue or reuse
 * an artefact of another run. One fingerprint is a set of named fields (model bytes, dataset and its
 * files, preprocessing, subset and order, method options, package version) plus the SHA-256 of their
 * canonical JSON; comparing fields lets the error name what differs.
 */
import { createHash } from 'node:crypto';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OpnpError } from '@opnp/core/base';
import { parseDatasetSpec, parseNpyHeader } from '@opnp/datasets';
import { sha256OfSegments, type FileSegment } from './file-hash.js';
import { PIPELINE_VERSION } from './version.js';

/** A JSON value (what fingerprint fields hold). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** What produced an artefact: named fields and the digest of their canonical JSON. */
export interface RunFingerprint {
  /** SHA-256 (hex) of the canonical JSON of `fields`. */
  readonly digest: string;
  readonly fields: Readonly<Record<string, JsonValue>>;
}

/** JSON with object keys sorted, so equal fields always give equal text. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v as JsonValue)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, JsonValue>)[k]!)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A fingerprint of `fields` (the pipeline version is added as `version`). */
export function makeFingerprint(fields: Readonly<Record<string, JsonValue>>): RunFingerprint {
  const all = { ...fields, version: PIPELINE_VERSION };
  return { digest: sha256(canonicalJson(all)), fields: all };
}

/**
 * The fingerprint of the same fields but `keys` (its digest recomputed), e.g. an extraction's without `outputs` to
 * compare what produced the rows apart from which files were written; a value that is no fingerprint is returned as is.
 */
export function fingerprintWithout<T>(fingerprint: T | RunFingerprint, keys: readonly string[]): T | RunFingerprint {
  if (!isRunFingerprint(fingerprint)) return fingerprint;
  const fields = Object.fromEntries(Object.entries(fingerprint.fields).filter(([key]) => !keys.includes(key)));
  return { digest: sha256(canonicalJson(fields)), fields };
}

/** One difference between two fingerprints: where, and the value on each side (`undefined`: absent). */
export interface FingerprintChange {
  /** Dotted path, e.g. `data.preprocess.mean`. */
  readonly path: string;
  /** The value in the stored fingerprint (of the artefact). */
  readonly stored: JsonValue | undefined;
  /** The value in the current run's fingerprint. */
  readonly current: JsonValue | undefined;
}

/** Where (down to `depth` levels of objects) two JSON values differ, with both values there. */
function differingValues(a: JsonValue | undefined, b: JsonValue | undefined, path: string, depth: number): FingerprintChange[] {
  if (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b)) return [];
  const isObject = (v: JsonValue | undefined): v is { readonly [key: string]: JsonValue } => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (depth === 0 || !isObject(a) || !isObject(b)) return [{ path, stored: a, current: b }];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((key) => differingValues(a[key], b[key], `${path}.${key}`, depth - 1));
}

/**
 * Where two fingerprints differ, refined `depth` levels of objects below the fields (`data.files.content.sha256`),
 * with the value each side holds there, sorted by path; missing fields count.
 */
export function fingerprintChanges(stored: RunFingerprint, current: RunFingerprint, depth = 3): FingerprintChange[] {
  return jsonChanges(stored.fields, current.fields, depth);
}

/**
 * Where two JSON objects differ, key by key, refined `depth` levels of objects below their keys, with the value each
 * side holds there, sorted by path; missing keys count (e.g. two recorded preprocessings: `mean`, `resize`).
 */
export function jsonChanges(stored: { readonly [key: string]: JsonValue }, current: { readonly [key: string]: JsonValue }, depth = 0): FingerprintChange[] {
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(current)])].sort();
  return keys.flatMap((key) => differingValues(stored[key], current[key], key, depth));
}

/**
 * Where two fingerprints differ: the fields, refined into their parts (`train.preprocess`, `subset.seed`,
 * `sensitivity.temperature`); missing fields count.
 */
export function fingerprintDifferences(stored: RunFingerprint, current: RunFingerprint): string[] {
  return fingerprintChanges(stored, current, 1).map((c) => c.path);
}

/** Longest value text shown in a message; longer ones keep their start and end around an ellipsis. */
const SHOWN_VALUE_CHARS = 60;

/** A fingerprint value for messages: compact JSON, shortened in the middle (paths differ at their ends), or "absent". */
export function showFingerprintValue(value: JsonValue | undefined): string {
  if (value === undefined) return 'absent';
  const text = canonicalJson(value);
  if (text.length <= SHOWN_VALUE_CHARS) return text;
  const tail = Math.floor(((SHOWN_VALUE_CHARS - 1) * 2) / 3);
  return `${text.slice(0, SHOWN_VALUE_CHARS - 1 - tail)}…${text.slice(-tail)}`;
}

/** Most changes a message lists (the others are counted). */
const SHOWN_CHANGES = 6;

/** The changes for a message: `data.count was 2500, now 500; ...` (stored value first). */
export function describeFingerprintChanges(changes: readonly FingerprintChange[]): string {
  const shown = changes.slice(0, SHOWN_CHANGES).map((c) => `${c.path} was ${showFingerprintValue(c.stored)}, now ${showFingerprintValue(c.current)}`);
  const more = changes.length - shown.length;
  return `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

/** Whether `value` looks like a {@link RunFingerprint} read from JSON. */
export function isRunFingerprint(value: unknown): value is RunFingerprint {
  const v = value as RunFingerprint | null;
  return v !== null && typeof v === 'object' && typeof v.digest === 'string' && v.fields !== null && typeof v.fields === 'object';
}

/**
 * Throws unless `stored` is the fingerprint of the current run.
 *
 * @param what what the artefact is ("the checkpoint", "the partial features"); `plural` when it names several ("the shard states of x")
 * @param restart how to proceed (e.g. "rerun with the same inputs to resume it, or delete x and x.json to start over")
 * @throws OpnpError `STATE_MISMATCH` naming the artefact, the differing fields with the artefact's and this run's
 * values ({@link describeFingerprintChanges}) and how to proceed
 */
export function assertSameRun(stored: unknown, current: RunFingerprint, context: { file: string; what: string; restart: string; plural?: boolean }): void {
  if (!isRunFingerprint(stored)) {
    throw new OpnpError('STATE_MISMATCH', `${context.what} ${context.plural === true ? 'have' : 'has'} no run fingerprint, so ${context.plural === true ? 'they' : 'it'} cannot be shown to belong to this run`, { file: context.file, hint: context.restart });
  }
  if (stored.digest === current.digest) return;
  const fields = fingerprintDifferences(stored, current);
  const changes = fingerprintChanges(stored, current);
  // "x.sha256 was a, now b" names the field already: say it once rather than "x.sha256 differs (x.sha256 was ...)".
  const namedOnce = changes.length > 0 && changes.length === fields.length && changes.every((c, i) => c.path === fields[i]);
  const values = changes.length > 0 ? ` (${describeFingerprintChanges(changes)})` : '';
  const differences = namedOnce ? describeFingerprintChanges(changes) : `${fields.join(', ') || 'the fingerprint'} differ${fields.length === 1 ? 's' : ''}${values}`;
  throw new OpnpError('STATE_MISMATCH', `${context.what} ${context.plural === true ? 'belong' : 'belongs'} to another run: ${differences}`, {
    file: context.file,
    hint: context.restart,
  });
}

const fileHashes = new Map<string, Promise<string>>();

/** Options of {@link hashFile} and {@link datasetFilesIdentity}. */
export interface HashOptions {
  /**
   * Hash without keeping the process alive for it (a warm-up, see `warmDatasetIdentity`): a process with nothing else
   * to do exits instead of waiting for the hash. Default false: the caller waits for the digest, and so does the process.
   */
  readonly background?: boolean;
}

/** Resolves as `work` does; meanwhile a timer keeps the process alive (hashing workers do not, see file-hash.ts). */
async function keepingAlive<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1 << 30);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** SHA-256 of the bytes of the files from their `start` offsets, one after the other (memoised per paths, sizes and modification times). */
async function hashSegments(segments: readonly FileSegment[], options: HashOptions = {}): Promise<string> {
  const keys = [];
  let bytes = 0;
  for (const { path, start } of segments) {
    const info = await stat(path);
    keys.push(`${await realpath(path)}\u0000${start}\u0000${info.size}\u0000${info.mtimeMs}`);
    bytes += Math.max(0, info.size - start);
  }
  const key = keys.join('\u0001');
  let hash = fileHashes.get(key);
  if (!hash) {
    hash = sha256OfSegments(segments, bytes);
    fileHashes.set(key, hash);
    hash.catch(() => fileHashes.delete(key));
  }
  return options.background === true ? hash : keepingAlive(hash);
}

/** SHA-256 of a file's bytes (memoised per path, size and modification time; large files are hashed on a worker thread). */
export async function hashFile(path: string, options: HashOptions = {}): Promise<string> {
  return hashSegments([{ path, start: 0 }], options);
}

/**
 * SHA-256 of the data of `.npy` files without their headers, one file after the other: the rows of a
 * matrix split over shard files hash like those of the one merged file.
 */
export async function hashNpyRows(paths: readonly string[]): Promise<string> {
  const segments = [];
  for (const path of paths) {
    const handle = await open(path, 'r');
    try {
      const head = new Uint8Array(1 << 16);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      segments.push({ path, start: parseNpyHeader(head.subarray(0, bytesRead), path).dataOffset });
    } finally {
      await handle.close();
    }
  }
  return hashSegments(segments);
}

/** The model's identity: the SHA-256 of its bytes and their count. */
export async function modelIdentity(path: string): Promise<JsonValue> {
  const info = await stat(path);
  return { sha256: await hashFile(path), bytes: info.size };
}

/** Relative paths and sizes of every file under `dir`, sorted, as one digest. */
async function folderDigest(dir: string): Promise<{ files: number; sha256: string }> {
  const hash = createHash('sha256');
  let files = 0;
  const walk = async (folder: string, prefix: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else {
        const size = (await stat(full).catch(() => undefined))?.size ?? -1;
        hash.update(`${prefix}${entry.name}\u0000${size}\n`);
        files++;
      }
    }
  };
  await walk(dir, '');
  return { files, sha256: hash.digest('hex') };
}

/**
 * The identity of the files behind a dataset spec: a file's SHA-256 (and a labels file's), or a
 * folder's sorted file list with sizes. Specs that are not paths (`noise:`) are their own identity.
 */
export async function datasetFilesIdentity(spec: string, options: HashOptions = {}): Promise<JsonValue> {
  if (spec.startsWith('noise:')) return { spec };
  const parsed = parseDatasetSpec(spec);
  const path = resolve(parsed.path);
  const info = await stat(path).catch(() => undefined);
  if (!info) return { path, missing: true };
  const content: JsonValue = info.isDirectory() ? await folderDigest(path) : { sha256: await hashFile(path, options), bytes: info.size };
  const labels = typeof parsed.options.labels === 'string' ? await hashFile(parsed.options.labels, options).catch(() => 'unreadable') : null;
  return { format: parsed.format ?? null, path, options: JSON.parse(JSON.stringify(parsed.options)) as JsonValue, content, labels };
}

/** SHA-256 of a list of indices (the order and subset a pass visits). */
export function indicesDigest(indices: Uint32Array): string {
  return sha256(new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength));
}
