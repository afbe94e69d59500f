/**
 * A sharded evaluation: {@link evaluateShard} runs stages 1-3 (the sets, the training pass, the OPNP point)
 * like {@link evaluate}, then scores only shard `i` of `n` contiguous parts of the ID test samples and of
 * every OOD set, and writes the per-sample scores; {@link mergeEvalShards} joins the shards' scores in
 * dataset order and computes the report (and the figure inputs) from them: the same report as an
 * unsharded evaluation, since every metric is computed on the same scores in the same order.
 *
 * A shard writes `<out>.shard-002-of-004.npy` (float32 `[R, K + 1]`: the rows of the test slice, then of
 * each OOD set's slice, in set order; one column per score key in `columns`, the last one the sample's
 * label, -1 = unknown), its sidecar `<that>.json` (format `opnp-eval-shard`: the fingerprint of the
 * unsharded evaluation, the shard, the sets' slices, what the report needs besides the scores, and the
 * SHA-256 of the `.npy`), and, when an OPNP point was determined, `<that stem>.sensitivity.npy` (float64
 * `[C, D]`) for the figure inputs. The merge refuses missing, duplicate, foreign, torn or disagreeing
 * shards: all shards must have fitted the same methods and chosen the same point (`agreement`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { neuronSensitivity, OpnpError, type ParameterSensitivity } from '@opnp/core';
import { writeFileAtomic } from '@opnp/core/node';
import { encodeNpy, loadNpy, readNpy } from '@opnp/datasets/node';
import type { ScoredSet } from './collect.js';
import { prepareEvaluation, scoreOptionsOf, summaryInputsOf, withEvaluationModel, type EvaluationResult, type PreparedEvaluation } from './evaluate.js';
import type { EvaluationConfig } from './evaluation-types.js';
import { methodNeeds } from './methods/registry.js';
import { shardFileName } from './extract-shards.js';
import type { SkippedSample } from './features-meta.js';
import { canonicalJson, isRunFingerprint, makeFingerprint, type JsonValue, type RunFingerprint } from './fingerprint.js';
import { checkShardSet } from './shard-set.js';
import type { ResolvedConfig } from './stages/config.js';
import { score, type ScoreResult } from './stages/score.js';
import { collectArtifacts, resolvedOptions, summarize, type ChosenPoint } from './stages/summarize.js';
import type { BaselineSearchResult } from './stages/search-baselines.js';
import { methodInputsIdentity } from './methods/registry.js';
import type { ShardInfo } from './state-file.js';
import { isFile } from './paths.js';

/** Sidecar `format` of an eval shard. */
export const EVAL_SHARD_FORMAT = 'opnp-eval-shard';

/** One set's slice in a shard: positions `[start, end)` of the set's scored indices, and what was scored. */
export interface EvalShardSet {
  /** `test` or `ood:<name>`. */
  readonly key: string;
  readonly start: number;
  readonly end: number;
  /** Of all the set's indices to score (before sharding). */
  readonly planned: number;
  /** Rows in the scores file (the slice minus unreadable samples). */
  readonly rows: number;
  readonly labelled: number;
  readonly correct: number;
  readonly skipped: readonly SkippedSample[];
}

/** The sidecar of an eval shard (see the module comment). */
export interface EvalShardMeta {
  readonly format: typeof EVAL_SHARD_FORMAT;
  readonly version: 1;
  /** The unsharded evaluation's fingerprint (the shard is recorded apart). */
  readonly fingerprint: RunFingerprint;
  readonly shard: ShardInfo;
  /** Digest of what every shard must have fitted alike: the OPNP point and grid, the sensitivity and the fit subset. */
  readonly agreement: string;
  /** SHA-256 of the scores `.npy`. */
  readonly sha256: string;
  /** Score keys of the columns (the file has one more: the labels). */
  readonly columns: readonly string[];
  readonly sets: readonly EvalShardSet[];
  /** What the report takes from the fitted run. */
  readonly run: {
    readonly classes: number;
    readonly featureDim: number;
    readonly methods: readonly string[];
    readonly methodOptions: Record<string, Record<string, number | string | boolean>>;
    readonly opnpEvaluated: boolean;
    readonly trainCount: number;
    readonly fitRows: number;
    /** Rows of KNN's training subset, when a method used it. */
    readonly knnFitRows?: number;
    readonly selection: ChosenPoint | null;
    /** Samples skipped before the scoring, per set key (training set, validation split, validation sets): the same in every shard. */
    readonly skipped: Readonly<Record<string, readonly SkippedSample[]>>;
    /** The baseline search's choices, when the evaluation searched (the same in every shard). */
    readonly baselineSearch?: BaselineSearchResult;
  };
  /** The parameter sensitivity file and its sample count, when an OPNP point was determined. */
  readonly sensitivity: { readonly file: string; readonly count: number } | null;
}

/** What {@link evaluateShard} wrote. */
export interface EvalShardResult {
  readonly shard: ShardInfo;
  /** The scores file and its sidecar; the sensitivity file when written. */
  readonly files: { readonly scores: string; readonly sidecar: string; readonly sensitivity?: string };
  /** Rows scored per set key. */
  readonly rows: Readonly<Record<string, number>>;
  readonly fingerprint: RunFingerprint;
}

/** The files of shard `shard` of an evaluation whose scores go to `out`. */
export function evalShardFiles(out: string, shard: ShardInfo): { scores: string; sidecar: string; sensitivity: string } {
  const scores = shardFileName(out, shard);
  const stem = scores.endsWith('.npy') ? scores.slice(0, -4) : scores;
  return { scores, sidecar: `${scores}.json`, sensitivity: `${stem}.sensitivity.npy` };
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (a: Float32Array | Float64Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function labelsDigest(labels: Promise<Int32Array>): Promise<string> {
  return sha256(bytesOf(await labels));
}

/** The fingerprint of the unsharded evaluation: the training pass, every set, and every option that changes a score or the report. */
async function evaluationFingerprint(config: ResolvedConfig, prepared: PreparedEvaluation): Promise<RunFingerprint> {
  const { sources } = prepared;
  const named = async (sets: readonly (readonly [string, { identity(): Promise<JsonValue> }])[]) => {
    const out: JsonValue[] = [];
    for (const [name, source] of sets) out.push({ name, identity: await source.identity() });
    return out;
  };
  return makeFingerprint({
    kind: 'eval',
    training: prepared.fitted.fingerprint.digest,
    trainLabels: await labelsDigest(sources.train.readLabels()),
    test: { identity: await sources.test.identity(), labels: await labelsDigest(sources.test.readLabels()) },
    ood: await named(sources.ood),
    valOod: await named(sources.valOod),
    methods: [...prepared.methods],
    methodOptions: resolvedOptions({ methods: prepared.methods, registry: config.registry, ...(config.methodOptions ? { methodOptions: config.methodOptions } : {}), featureDim: prepared.context.head.weight.cols, classes: prepared.context.head.weight.rows }),
    methodInputs: methodInputsIdentity(config.registry, prepared.methods, config.methodOptions),
    percentages: config.percentages ? { ...config.percentages } : null,
    valFraction: config.valFraction,
    seed: config.seed,
    fitSamples: config.fitSamples,
    ...(methodNeeds(config.registry, prepared.methods).knnFit ? { knnFitSamples: config.knnFitSamples as JsonValue } : {}),
    trainFraction: config.trainFraction ?? 1,
    figureInputs: config.collectArtifacts === true,
  });
}

function selectionJson(selection: PreparedEvaluation['selection']): ChosenPoint | null {
  if (!selection) return null;
  const { evalIndices: _indices, ...chosen } = selection;
  return JSON.parse(JSON.stringify(chosen)) as ChosenPoint;
}

/** The digest of what every shard must have fitted alike (see {@link EvalShardMeta.agreement}). */
function agreementOf(prepared: PreparedEvaluation): string {
  const { fitted } = prepared;
  const h = createHash('sha256');
  const knn = fitted.knnFitFeatures;
  const baselineSearch = (prepared.baselineSearch ? JSON.parse(JSON.stringify(prepared.baselineSearch)) : null) as JsonValue;
  h.update(canonicalJson({ selection: selectionJson(prepared.selection) as unknown as JsonValue, trainCount: fitted.trainCount, fitRows: fitted.fitFeatures.rows, ...(knn ? { knnFitRows: knn.rows } : {}), baselineSearch }));
  h.update(bytesOf(fitted.fitFeatures.data)).update(bytesOf(fitted.fitLabels));
  if (knn) h.update(bytesOf(knn.data));
  if (fitted.opnp) h.update(bytesOf(fitted.opnp.sensitivity.values));
  return h.digest('hex');
}

/** The scores `[R, K + 1]` of the sets, rows of one set after the other, labels last. */
function scoreTable(sets: readonly ScoredSet[], columns: readonly string[]): Float32Array {
  const width = columns.length + 1;
  const table = new Float32Array(sets.reduce((n, s) => n + s.count, 0) * width);
  let row = 0;
  for (const set of sets) {
    for (const [k, key] of columns.entries()) {
      const scores = set.scores.get(key)!;
      for (let i = 0; i < set.count; i++) table[(row + i) * width + k] = scores[i]!;
    }
    for (let i = 0; i < set.count; i++) table[(row + i) * width + columns.length] = set.labels[i]!;
    row += set.count;
  }
  return table;
}

/** The slices of the sets a shard scored (positions in each set's list of indices to score). */
function shardSets(prepared: PreparedEvaluation, scores: ScoreResult, shard: ShardInfo): EvalShardSet[] {
  // The bounds of shardOf's part `index` of `planned` positions.
  const slice = (planned: number) => ({ start: Math.floor(((shard.index - 1) * planned) / shard.count), end: Math.floor((shard.index * planned) / shard.count), planned });
  const entry = (key: string, set: ScoredSet, planned: number): EvalShardSet => ({ key, ...slice(planned), rows: set.count, labelled: set.labelled, correct: set.correct, skipped: set.skipped });
  const testPlanned = prepared.selection?.evalIndices.length ?? prepared.sources.test.count;
  return [entry('test', scores.id, testPlanned), ...scores.ood.map(([name, set], k) => entry(`ood:${name}`, set, prepared.sources.ood[k]![1].count))];
}

/**
 * Runs shard `shard` of an evaluation (see the module comment) and writes its files next to `out`
 * (`out` names the scores of the whole evaluation; the shard's carry the shard tag).
 *
 * @throws OpnpError like {@link evaluate}
 * @throws InterruptedError when `config.signal` aborts (nothing is written)
 */
export async function evaluateShard(config: EvaluationConfig & { readonly shard: ShardInfo; readonly out: string }): Promise<EvalShardResult> {
  return withEvaluationModel(config, async (model, resolved, info) => {
    const { shard } = config;
    const prepared = await prepareEvaluation(model, resolved, info);
    // The samples skipped before scoring (training set, validation split, validation sets): alike in every shard.
    const skippedBefore = JSON.parse(JSON.stringify(prepared.skips.sets)) as Record<string, SkippedSample[]>;
    const scores = await score(prepared.sources.test, prepared.sources.ood, scoreOptionsOf(model, resolved, prepared, true, shard));
    const fingerprint = await evaluationFingerprint(resolved, prepared);
    const summary = summaryInputsOf(model, resolved, prepared, scores);
    const files = evalShardFiles(config.out, shard);
    const columns = [...scores.id.scores.keys()];
    const sets = shardSets(prepared, scores, shard);
    const table = scoreTable([scores.id, ...scores.ood.map(([, set]) => set)], columns);
    const bytes = encodeNpy({ dtype: 'float32', shape: [table.length / (columns.length + 1), columns.length + 1], data: table });
    const opnp = prepared.fitted.opnp;
    if (opnp) await writeFileAtomic(files.sensitivity, encodeNpy({ dtype: 'float64', shape: [opnp.sensitivity.classes, opnp.sensitivity.dim], data: opnp.sensitivity.values }), 'the shard\'s sensitivity');
    await writeFileAtomic(files.scores, bytes, 'the shard\'s scores');
    const meta: EvalShardMeta = {
      format: EVAL_SHARD_FORMAT,
      version: 1,
      fingerprint,
      shard: { index: shard.index, count: shard.count },
      agreement: agreementOf(prepared),
      sha256: sha256(bytes),
      columns,
      sets,
      run: {
        classes: summary.classes,
        featureDim: summary.featureDim,
        methods: [...prepared.methods],
        methodOptions: resolvedOptions(summary),
        opnpEvaluated: summary.opnpEvaluated,
        trainCount: prepared.fitted.trainCount,
        fitRows: prepared.fitted.fitFeatures.rows,
        ...(prepared.fitted.knnFitFeatures ? { knnFitRows: prepared.fitted.knnFitFeatures.rows } : {}),
        selection: selectionJson(prepared.selection),
        skipped: skippedBefore,
        ...(prepared.baselineSearch ? { baselineSearch: prepared.baselineSearch } : {}),
      },
      sensitivity: opnp ? { file: files.sensitivity, count: opnp.sensitivity.count } : null,
    };
    await writeFileAtomic(files.sidecar, `${JSON.stringify(meta, null, 1)}\n`, 'the shard\'s sidecar');
    return { shard: meta.shard, files: { scores: files.scores, sidecar: files.sidecar, ...(opnp ? { sensitivity: files.sensitivity } : {}) }, rows: Object.fromEntries(sets.map((s) => [s.key, s.rows])), fingerprint };
  });
}

/** One shard read back: its sidecar and its scores table. */
interface ReadShard {
  readonly path: string;
  readonly meta: EvalShardMeta;
  readonly table: Float32Array;
}

async function readEvalShard(path: string): Promise<ReadShard> {
  if (!(await isFile(path))) throw new OpnpError('IO_ERROR', `Eval shard scores not found: ${path}`, { file: path, hint: 'Pass the files opnp eval --shard wrote (--scores-out with the shard tag, e.g. scores.shard-001-of-004.npy)' });
  let text: string;
  try {
    text = await readFile(`${path}.json`, 'utf8');
  } catch {
    throw new OpnpError('STATE_MISMATCH', `${path} has no sidecar ${path}.json: it is unfinished, or not written by opnp eval --shard`, { file: path, hint: 'Rerun that shard (the same command) to finish it' });
  }
  let meta: EvalShardMeta;
  try {
    meta = JSON.parse(text) as EvalShardMeta;
  } catch {
    throw new OpnpError('DATASET_FORMAT', 'The eval shard sidecar is not JSON', { file: `${path}.json` });
  }
  if (meta.format !== EVAL_SHARD_FORMAT || meta.version !== 1 || !isRunFingerprint(meta.fingerprint)) {
    throw new OpnpError('DATASET_FORMAT', 'Not the sidecar of an opnp eval shard', { file: `${path}.json`, expected: `format "${EVAL_SHARD_FORMAT}", version 1` });
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new OpnpError('IO_ERROR', `Cannot read the eval shard scores ${path}`, { file: path, hint: 'Rerun that shard' });
  }
  if (sha256(bytes) !== meta.sha256) throw new OpnpError('STATE_MISMATCH', `${path} is not the file its sidecar describes (torn or mixed files)`, { file: path, hint: 'Rerun that shard' });
  const array = readNpy(bytes, { file: path });
  const rows = meta.sets.reduce((n, s) => n + s.rows, 0);
  if (array.dtype !== 'float32' || array.shape.length !== 2 || array.shape[0] !== rows || array.shape[1] !== meta.columns.length + 1) {
    throw new OpnpError('DATASET_FORMAT', 'The eval shard scores have another shape than their sidecar says', { file: path, expected: `float32 [${rows}, ${meta.columns.length + 1}]`, actual: array.shape });
  }
  return { path, meta, table: array.data as Float32Array };
}

/** Throws unless every shard fitted the same methods and chose the same point. */
function checkAgreement(shards: readonly ReadShard[]): void {
  const first = shards[0]!;
  for (const s of shards) {
    if (s.meta.agreement !== first.meta.agreement || canonicalJson(s.meta.columns as JsonValue) !== canonicalJson(first.meta.columns as JsonValue)) {
      throw new OpnpError('STATE_MISMATCH', `${s.path} and ${first.path} fitted the evaluation differently (another sensitivity, fit subset or OPNP point), so their scores do not add up to one evaluation`, {
        file: s.path,
        hint: 'Give every shard the same inputs computed once: --sensitivity-state and cached features (features:...), then rerun the shards',
      });
    }
  }
}

/** The scored set of key `key` joined over the shards in order, checking that the slices tile the set. */
function joinSet(shards: readonly ReadShard[], k: number): ScoredSet {
  const first = shards[0]!.meta;
  const width = first.columns.length + 1;
  const parts = shards.map((s) => {
    const set = s.meta.sets[k];
    if (!set || set.key !== first.sets[k]!.key) throw new OpnpError('STATE_MISMATCH', `${s.path} holds other sets than ${shards[0]!.path}`, { file: s.path });
    const offset = s.meta.sets.slice(0, k).reduce((n, x) => n + x.rows, 0);
    return { set, rows: s.table.subarray(offset * width, (offset + set.rows) * width), path: s.path };
  });
  let next = 0;
  for (const p of parts) {
    if (p.set.start !== next) throw new OpnpError('STATE_MISMATCH', `${p.path} covers ${p.set.key} positions ${p.set.start}-${p.set.end - 1}, expected from ${next}: the shards do not tile the set`, { file: p.path });
    next = p.set.end;
  }
  if (next !== parts[0]!.set.planned) throw new OpnpError('STATE_MISMATCH', `The shards cover ${next} of the ${parts[0]!.set.planned} samples of ${first.sets[k]!.key}`, { file: parts.at(-1)!.path });
  const count = parts.reduce((n, p) => n + p.set.rows, 0);
  const scores = new Map<string, Float32Array>(first.columns.map((key) => [key, new Float32Array(count)]));
  const labels = new Int32Array(count);
  let row = 0;
  for (const p of parts) {
    for (let i = 0; i < p.set.rows; i++, row++) {
      for (const [c, key] of first.columns.entries()) scores.get(key)![row] = p.rows[i * width + c]!;
      labels[row] = p.rows[i * width + width - 1]!;
    }
  }
  const sum = (f: (s: EvalShardSet) => number) => parts.reduce((n, p) => n + f(p.set), 0);
  return { scores, count, labelled: sum((s) => s.labelled), correct: sum((s) => s.correct), labels, skipped: parts.flatMap((p) => p.set.skipped) };
}

async function sensitivityOf(meta: EvalShardMeta, path: string): Promise<ParameterSensitivity | undefined> {
  if (!meta.sensitivity) return undefined;
  const array = await loadNpy(meta.sensitivity.file).catch(() => {
    throw new OpnpError('IO_ERROR', `${meta.sensitivity!.file} (the sensitivity of eval shard ${path}) is missing`, { file: meta.sensitivity!.file, hint: 'Keep every file a shard wrote' });
  });
  if (array.dtype !== 'float64' || array.shape.length !== 2 || array.shape[0] !== meta.run.classes || array.shape[1] !== meta.run.featureDim) {
    throw new OpnpError('DATASET_FORMAT', 'The shard\'s sensitivity has another shape than the run', { file: meta.sensitivity.file, expected: `float64 [${meta.run.classes}, ${meta.run.featureDim}]`, actual: array.shape });
  }
  return { classes: meta.run.classes, dim: meta.run.featureDim, count: meta.sensitivity.count, values: array.data as Float64Array };
}

/**
 * Joins the shards of a sharded evaluation (see the module comment) into its report and, when the shards
 * determined an OPNP point, its figure inputs (`artifacts`).
 *
 * @param paths the shards' scores files (`scores.shard-001-of-004.npy`, ...), in any order
 * @throws OpnpError `STATE_MISMATCH` for missing, duplicate, unfinished, foreign, torn or disagreeing shards
 */
export async function mergeEvalShards(paths: readonly string[]): Promise<EvaluationResult & { readonly shards: number }> {
  if (paths.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'No eval shards to merge');
  const read: ReadShard[] = [];
  for (const path of paths) read.push(await readEvalShard(path));
  const entries = read.map((r) => ({ path: r.path, fingerprint: r.meta.fingerprint, shard: r.meta.shard, read: r }));
  const shards = checkShardSet(entries, { missingHint: 'Pass the scores file of every shard (e.g. scores.shard-*-of-*.npy)' }).map((e) => e.read);
  checkAgreement(shards);
  const { meta } = shards[0]!;
  const sets = meta.sets.map((_, k) => joinSet(shards, k));
  const scores: ScoreResult = { id: sets[0]!, ood: meta.sets.slice(1).map((s, k) => [s.key.slice('ood:'.length), sets[k + 1]!] as const) };
  const skipped: Record<string, SkippedSample[]> = Object.fromEntries(Object.entries(meta.run.skipped).map(([key, list]) => [key, [...list]]));
  for (const [k, set] of meta.sets.entries()) if (sets[k]!.skipped.length > 0) skipped[set.key] = [...(skipped[set.key] ?? []), ...sets[k]!.skipped];
  const { run } = meta;
  const selection = run.selection ?? undefined;
  const report = summarize({
    classes: run.classes,
    featureDim: run.featureDim,
    methods: run.methods,
    resolvedMethodOptions: run.methodOptions,
    fit: { trainCount: run.trainCount, fitFeatures: { rows: run.fitRows }, ...(run.knnFitRows !== undefined ? { knnFitFeatures: { rows: run.knnFitRows } } : {}) },
    ...(selection ? { selection } : {}),
    scores,
    opnpEvaluated: run.opnpEvaluated,
    skipped,
    ...(run.baselineSearch ? { baselineSearch: run.baselineSearch } : {}),
  });
  const sensitivity = await sensitivityOf(meta, shards[0]!.path);
  if (!sensitivity || !selection) return { report, shards: shards.length };
  const artifacts = collectArtifacts({ opnp: { sensitivity, neuronSensitivity: neuronSensitivity(sensitivity) } }, selection, scores, skipped);
  return { report, artifacts, shards: shards.length };
}
