/**
 * Cached features as a {@link FeatureSource}: `features:<features.npy>[#logits=<logits.npy>]`. Without
 * cached logits they are computed from the head. The sidecar written by {@link extractFeatures}
 * (`<features.npy>.json`) supplies the preprocessing and the run fingerprint when present. While
 * `<features.npy>` is absent, the shards of a sharded extraction of it are read in its place.
 * The identity of cached features is the hash of their rows (not of the file headers), so a set read
 * from its shards is the same set as the merged file.
 */
import { open as openFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isFile } from './paths.js';
import { OpnpError, logitsWith, type LinearHead, type Matrix } from '@opnp/core/base';
import { openNpyDataset, parseNpyHeader, type Dataset } from '@opnp/datasets/node';
import type { FeatureBatch, FeatureBatchOptions, FeatureSource, FeatureSourceOptions } from './feature-source.js';
import { assertFiniteBatch } from './feature-source.js';
import { featuresMetaPath, readFeaturesMeta, type FeaturesMeta } from './features-meta.js';
import { readFeatureShards, type ShardFiles } from './extract-merge.js';
import { shardFileName, shardSiblings } from './extract-shards.js';
import { hashNpyRows, type JsonValue } from './fingerprint.js';
import { refuseUnfinishedExtraction } from './unfinished-extraction.js';
import { checkLabelCount, loadLabelsFile } from './labels-file.js';
import { assertExtractedWithModel, assertLogitsPair, assertRecordedLabels } from './cached-checks.js';
import type { LoadedModel } from './model.js';

/** Parses `features:<features.npy>[#logits=<logits.npy>]`; undefined for other specs. */
export function parseFeaturesSpec(spec: string): { features: string; logits?: string } | undefined {
  if (!spec.startsWith('features:')) return undefined;
  let rest = spec.slice('features:'.length);
  let logits: string | undefined;
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) {
    const option = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
    if (!option.startsWith('logits=') || option.length === 'logits='.length) {
      throw new OpnpError('INVALID_ARGUMENT', `Unknown features option "${option}"`, { expected: 'logits=<logits.npy>', actual: spec });
    }
    logits = option.slice('logits='.length);
  }
  if (rest === '') throw new OpnpError('INVALID_ARGUMENT', 'The features spec has no path', { actual: spec });
  return logits === undefined ? { features: rest } : { features: rest, logits };
}

/** The shape stored in a `.npy` header, as the file says it (for messages). */
async function npyShape(path: string, what: string): Promise<readonly number[]> {
  let handle;
  try {
    handle = await openFile(path, 'r');
  } catch {
    throw new OpnpError('IO_ERROR', `${what} file not found: ${path}`, { file: path, hint: 'Write it with opnp extract, or fix the path' });
  }
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return parseNpyHeader(head.subarray(0, bytesRead), path).shape;
  } finally {
    await handle.close();
  }
}

/** What a cached matrix holds per row, for messages: the features (the head's input) or the logits (its output). */
interface MatrixKind {
  /** `Cached features`, `Cached logits`. */
  readonly what: string;
  /** What the head takes or gives per row, in words: `takes 128 features`, `gives 10 logits`. */
  readonly head: (cols: number) => string;
  /** Why the column count differs, in words. */
  readonly why: string;
  /** The column count the head needs. */
  readonly cols: number;
  /** The row count needed (the logits: the features' rows). */
  readonly rows?: number;
}

/** The kinds of cached matrix of a head `[C, D]`. */
function matrixKinds(head: LinearHead, featureRows?: number): { features: MatrixKind; logits: MatrixKind } {
  return {
    features: { what: 'Cached features', cols: head.weight.cols, head: (n) => `takes ${n} features`, why: 'these features were not extracted with this model (or were taken from another layer of it)' },
    logits: { what: 'Cached logits', cols: head.weight.rows, head: (n) => `gives ${n} logits (classes)`, why: 'these logits were not computed by this model', ...(featureRows !== undefined ? { rows: featureRows } : {}) },
  };
}

/**
 * Opens a cached `[N, cols]` matrix, refusing another shape in the user's terms: a column count that is not the
 * head's means the file was not extracted with this model (`argument`: how the caller names the set, e.g. its flag).
 */
async function openMatrixFile(path: string, kind: MatrixKind, argument: string): Promise<Dataset> {
  const shape = await npyShape(path, kind.what);
  if (shape.length !== 2) throw new OpnpError('SHAPE_MISMATCH', `${kind.what} must be an [N, ${kind.cols}] .npy matrix (${argument})`, { file: path, expected: `[N, ${kind.cols}]`, actual: shape });
  if (shape[1] !== kind.cols) {
    const what = kind.what.toLowerCase().replace('cached ', '');
    throw new OpnpError('SHAPE_MISMATCH', `${path} has ${shape[1]} columns but the model's head ${kind.head(kind.cols)} (${argument}): ${kind.why}`, {
      file: path,
      hint: `Extract the ${what} again with this model, or evaluate them with the model they were extracted with`,
    });
  }
  if (kind.rows !== undefined && shape[0] !== kind.rows) {
    throw new OpnpError('SHAPE_MISMATCH', `${path} has ${shape[0]} rows but its features have ${kind.rows} (${argument}): the logits were not extracted with these features`, { file: path });
  }
  return openNpyDataset(path);
}

async function checkedMeta(path: string, rows: number): Promise<FeaturesMeta | undefined> {
  const meta = await readFeaturesMeta(featuresMetaPath(path));
  if (meta && (!meta.complete || meta.rows !== rows)) {
    throw new OpnpError('STATE_MISMATCH', `The features sidecar does not describe ${path}: it records ${meta.rows} rows${meta.complete ? '' : ' of an unfinished run'}, the file has ${rows}`, {
      file: featuresMetaPath(path),
      hint: 'Extract the features again (opnp extract --restart)',
    });
  }
  return meta;
}

/** What a cached feature set is read from: whole files, or the shards of a sharded extraction. */
interface CachedFiles {
  readonly features: Dataset;
  readonly logits: Dataset | undefined;
  readonly preprocess: FeaturesMeta['preprocess'] | undefined;
  /** The extraction run's fingerprint digest (the unsharded run's for shards), or null without a sidecar. */
  readonly extraction: string | null;
  readonly featureFiles: readonly string[];
  readonly logitFiles: readonly string[] | undefined;
  /** The labels the labels file stands for, when it is absent and the shards wrote it. */
  readonly shardLabels?: (labelsFile: string) => Promise<Int32Array | undefined>;
  /** Refuses a labels file that is the extraction's labels output but no longer holds its rows (see cached-checks.ts). */
  readonly checkLabels: (labelsFile: string) => Promise<void>;
}

async function wholeFiles(cached: { features: string; logits?: string }, model: LoadedModel, argument: string): Promise<CachedFiles> {
  const head = model.extractor.head;
  const features = await openMatrixFile(cached.features, matrixKinds(head).features, argument);
  const logits = cached.logits === undefined ? undefined : await openMatrixFile(cached.logits, matrixKinds(head, features.count).logits, argument);
  const meta = await checkedMeta(cached.features, features.count);
  const sidecar = featuresMetaPath(cached.features);
  if (meta) await assertExtractedWithModel(meta, cached.features, sidecar, model);
  if (logits) await assertLogitsPair({ features: cached.features, logits: cached.logits!, sidecar: meta ? sidecar : undefined, recorded: meta?.hashes?.logits }, { features, logits }, head);
  const checkLabels = async (labelsFile: string) => (meta ? assertRecordedLabels(meta, labelsFile, cached.features) : undefined);
  return { features, logits, preprocess: meta?.preprocess, extraction: meta ? meta.fingerprint.digest : null, featureFiles: [cached.features], logitFiles: cached.logits === undefined ? undefined : [cached.logits], checkLabels };
}

/** The shards' copies of an unsharded companion file (`#logits=`, a labels file), refusing a name the shards did not write. */
function shardCompanions(shards: readonly ShardFiles[], key: 'logits' | 'labels', unsharded: string, what: string): string[] {
  return shards.map((s) => {
    const recorded = s.files[key];
    const expected = basename(shardFileName(unsharded, s.meta.shard));
    if (recorded === undefined || basename(recorded) !== expected) {
      throw new OpnpError('STATE_MISMATCH', `${what} ${unsharded} is not a file the shards wrote: shard ${s.meta.shard.index}/${s.meta.shard.count} (${s.path}) has ${recorded === undefined ? `no ${key}` : `${key} ${recorded}`}`, {
        file: s.path,
        hint: `Name the unsharded ${key} file given to opnp extract --shard (its shards are read), or extract the shards with it`,
      });
    }
    return recorded;
  });
}

async function shardFiles(paths: readonly string[], cached: { features: string; logits?: string }, model: LoadedModel, argument: string): Promise<CachedFiles> {
  const head = model.extractor.head;
  const shards = await readFeatureShards(paths);
  const first = shards[0]!.meta;
  await assertExtractedWithModel(first, cached.features, featuresMetaPath(shards[0]!.path), model);
  if (first.dim !== head.weight.cols || first.classes !== head.weight.rows) {
    throw new OpnpError('SHAPE_MISMATCH', `The shards of ${cached.features} hold ${first.dim} features and ${first.classes} logits per sample but the model's head takes ${head.weight.cols} features and gives ${head.weight.rows} logits (${argument}): these features were not extracted with this model (or were taken from another layer of it)`, { file: shards[0]!.path });
  }
  const rows = shards.reduce((n, s) => n + s.meta.rows, 0);
  const featureFiles = shards.map((s) => s.files.features);
  const features = await openNpyDataset(featureFiles);
  const logitFiles = cached.logits === undefined ? undefined : shardCompanions(shards, 'logits', cached.logits, 'The cached logits');
  const logits = logitFiles ? await openNpyDataset(logitFiles) : undefined;
  for (const set of [features, logits]) {
    if (set && set.count !== rows) throw new OpnpError('STATE_MISMATCH', `The shard files ${set.source} hold ${set.count} rows, their sidecars record ${rows}`, { file: shards[0]!.path, hint: 'Extract the shards again' });
  }
  if (logitFiles) await checkShardLogits(shards, logitFiles, head);
  const shardLabels = async (labelsFile: string) => {
    const parts = [];
    for (const [i, path] of shardCompanions(shards, 'labels', labelsFile, 'The labels file').entries()) {
      const s = shards[i]!;
      await assertRecordedLabels({ files: { ...s.meta.files, labels: path }, ...(s.meta.hashes ? { hashes: s.meta.hashes } : {}) }, path, s.files.features);
      parts.push(await loadLabelsFile(path));
    }
    const labels = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, part) => (labels.set(part, at), at + part.length), 0);
    return labels;
  };
  // a labels file given whole is not one the shards wrote (theirs are checked as they are read, in shardLabels)
  const checkLabels = async () => undefined;
  return { features, logits, preprocess: first.preprocess, extraction: first.fingerprint.digest, featureFiles, logitFiles, shardLabels, checkLabels };
}

/** Each shard's logits against the hash its sidecar records (or, without one, the head check; see cached-checks.ts). */
async function checkShardLogits(shards: readonly ShardFiles[], logitFiles: readonly string[], head: LinearHead): Promise<void> {
  for (const [i, s] of shards.entries()) {
    const logits = logitFiles[i]!;
    const sets = { features: await openNpyDataset(s.files.features), logits: await openNpyDataset(logits) };
    await assertLogitsPair({ features: s.files.features, logits, sidecar: featuresMetaPath(s.path), recorded: s.meta.hashes?.logits }, sets, head);
  }
}

/**
 * Opens cached features (see the module comment). A features file that is absent while its shards
 * (`feats.shard-001-of-004.npy` ...) lie next to it is read from the shards, checked like `opnp extract
 * merge` checks them (every finished shard of one run, once); `#logits=` and a labels file then name the
 * unsharded files too, and their shards are read. An absent file whose extraction is unfinished (only `.partial` files
 * lie there) is refused naming them (unfinished-extraction.ts).
 */
export async function openCachedFeatures(spec: string, cached: { features: string; logits?: string }, options: FeatureSourceOptions): Promise<FeatureSource> {
  const { model } = options;
  const shards = await shardSiblings(cached.features);
  const argument = options.argument ?? spec;
  if (!shards && !(await isFile(cached.features))) await refuseUnfinishedExtraction(cached.features);
  const files = shards ? await shardFiles(shards, cached, model, argument) : await wholeFiles(cached, model, argument);
  const count = files.features.count;
  const labelsFile = options.labelsFile;
  const fromShards = labelsFile !== undefined && files.shardLabels && !(await isFile(labelsFile)) ? await files.shardLabels(labelsFile) : undefined;
  if (labelsFile !== undefined && fromShards === undefined) await files.checkLabels(labelsFile);
  const override = labelsFile !== undefined ? checkLabelCount(fromShards ?? (await loadLabelsFile(labelsFile)), count, labelsFile) : undefined;
  const labels = override ?? new Int32Array(count).fill(-1);
  return {
    spec,
    kind: 'features',
    count,
    preprocess: files.preprocess,
    readLabels: async () => labels.slice(),
    identity: async (): Promise<JsonValue> => ({
      features: await hashNpyRows(files.featureFiles),
      logits: files.logitFiles === undefined ? null : await hashNpyRows(files.logitFiles),
      extraction: files.extraction,
    }),
    batches: (o) => cachedBatches(spec, files.features, files.logits, labels, options, o),
  };
}

async function* cachedBatches(spec: string, features: Dataset, logitsSet: Dataset | undefined, labels: Int32Array, source: FeatureSourceOptions, o: FeatureBatchOptions): AsyncGenerator<FeatureBatch> {
  const { head } = source.model.extractor;
  const D = head.weight.cols;
  const C = head.weight.rows;
  const subset = o.subset ?? Uint32Array.from({ length: features.count }, (_, i) => i);
  const common = { batchSize: o.batchSize, subset, prefetch: 1, ...(o.signal ? { signal: o.signal } : {}) };
  const featureIt = features.batches({ ...common, ...(o.onProgress ? { onProgress: o.onProgress } : {}) })[Symbol.asyncIterator]();
  const logitIt = logitsSet?.batches(common)[Symbol.asyncIterator]();
  try {
    while (true) {
      const next = await featureIt.next();
      if (next.done) return;
      const b = next.value;
      const n = b.indices.length;
      const h: Matrix = { rows: n, cols: D, data: b.data };
      let f: Matrix;
      if (logitIt) {
        const l = await logitIt.next();
        if (l.done || l.value.indices.length !== n) throw new OpnpError('SHAPE_MISMATCH', 'Cached logits ended before the features', { file: logitsSet!.source });
        f = { rows: n, cols: C, data: l.value.data };
      } else f = await logitsWith(source.model.kernel, head, h);
      const batch = { features: h, logits: f, labels: Int32Array.from(b.indices, (i) => labels[i]!), indices: b.indices };
      assertFiniteBatch(spec, batch);
      yield batch;
    }
  } finally {
    await featureIt.return?.();
    await logitIt?.return?.();
  }
}
