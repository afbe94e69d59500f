/**
 * {@link mergeFeatureShards}: joins the per-shard outputs of a sharded extraction (`extractFeatures` with
 * `shard`, `opnp extract --shard i/n`) in dataset order into the files an unsharded run writes, bit for
 * bit, with the same complete `<out>.json` sidecar. It refuses missing, duplicate, unfinished or foreign
 * shards (another fingerprint) before writing anything.
 */
import { open, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isFile } from './paths.js';
import { OpnpError } from '@opnp/core/base';
import { loadNpy, openNpyRowWriter, parseNpyHeader, writeNpy } from '@opnp/datasets/node';
import type { ExtractOutputs } from './extract.js';
import { buildFeaturesMeta, readAnyFeaturesMeta, type FeatureShardMeta } from './extract-shards.js';
import { companionHashes, featuresMetaPath, writeFeaturesMeta, type SkippedSample } from './features-meta.js';
import { assertSameRun } from './fingerprint.js';
import { checkShardSet } from './shard-set.js';
import { optionNames, type OptionNames } from './option-names.js';

/** Options of {@link mergeFeatureShards}. */
export interface MergeFeatureShardsOptions {
  /** Overwrite finished outputs of another run (outputs of this same run are always rewritten). */
  readonly restart?: boolean;
  /** Rows copied per read (default 8192). */
  readonly chunkRows?: number;
  /** What messages call `restart` and the features output (default the library's names; the CLI passes `--restart`, `--out`). */
  readonly optionNames?: OptionNames;
}

/** What {@link mergeFeatureShards} wrote. */
export interface MergedFeatures {
  readonly rows: number;
  readonly samples: number;
  readonly dim: number;
  readonly classes: number;
  readonly shards: number;
  readonly skipped: readonly SkippedSample[];
  readonly files: ExtractOutputs;
}

/** One shard of a sharded extraction: its sidecar and where its files are now. */
export interface ShardFiles {
  readonly meta: FeatureShardMeta;
  readonly path: string;
  readonly files: { features: string; logits?: string; labels?: string; indices?: string };
}

/** A companion file as the sidecar names it, or (moved shards) the same name next to the features file. */
async function locate(recorded: string, featuresPath: string): Promise<string> {
  if (await isFile(recorded)) return recorded;
  const beside = join(dirname(featuresPath), basename(recorded));
  if (await isFile(beside)) return beside;
  throw new OpnpError('IO_ERROR', `${recorded} (a file of shard ${featuresPath}) is missing`, { file: recorded, hint: 'Keep every file a shard wrote next to its features file' });
}

/** Reads one shard's sidecar, saying plainly why a file is not a finished shard. */
async function readShard(path: string): Promise<ShardFiles> {
  const meta = await readAnyFeaturesMeta(featuresMetaPath(path));
  if (!meta) {
    const partial = await readAnyFeaturesMeta(featuresMetaPath(path, true)).catch(() => undefined);
    if (partial?.format === 'opnp-features-shard') {
      const done = partial.nextIndex - partial.shard.start;
      throw new OpnpError('STATE_MISMATCH', `Shard ${partial.shard.index}/${partial.shard.count} (${path}) is unfinished: ${done} of ${partial.shard.end - partial.shard.start} samples`, { file: path, hint: 'Rerun that shard (the same command) to finish it' });
    }
    if (!(await isFile(path))) throw new OpnpError('IO_ERROR', `Shard features file not found: ${path}`, { file: path, hint: 'Pass the features files written by opnp extract --shard' });
    throw new OpnpError('STATE_MISMATCH', `${path} has no sidecar (${featuresMetaPath(path)}), so it cannot be shown to be a shard of this run`, { file: path });
  }
  if (meta.format !== 'opnp-features-shard') throw new OpnpError('STATE_MISMATCH', `${path} is a whole extraction, not a shard: there is nothing to merge it with`, { file: path, hint: 'Merge the files written by opnp extract --shard i/n' });
  if (!meta.complete) throw new OpnpError('STATE_MISMATCH', `Shard ${meta.shard.index}/${meta.shard.count} (${path}) is unfinished`, { file: path, hint: 'Rerun that shard to finish it' });
  const files: ShardFiles['files'] = { features: path };
  for (const key of ['logits', 'labels', 'indices'] as const) {
    const recorded = meta.files[key];
    if (recorded !== undefined) files[key] = await locate(recorded, path);
  }
  return { meta, path, files };
}

/** The flags of the outputs an extraction may write besides its features. */
const OUTPUT_FLAGS = { logits: '--logits-out', labels: '--labels-out', indices: '--indices-out' } as const;

/** Which outputs the unsharded run of a shard writes (its fingerprint says). */
function shardOutputFlags(shard: ShardFiles): { logits?: boolean; labels?: boolean; indices?: boolean } {
  return (shard.meta.fingerprint.fields.outputs ?? {}) as { logits?: boolean; labels?: boolean; indices?: boolean };
}

/**
 * Refuses shards extracted with different outputs, in flag terms, saying how to even them out: labels and indices are
 * added by rerunning the shard without them with the flag (written from the dataset, without the model); logits need
 * that shard extracted again.
 */
function assertSameOutputs(shards: readonly ShardFiles[]): void {
  const first = shards[0]!;
  for (const s of shards) {
    for (const key of ['logits', 'labels', 'indices'] as const) {
      const [a, b] = [shardOutputFlags(first)[key] === true, shardOutputFlags(s)[key] === true];
      if (a === b) continue;
      const [withIt, without] = a ? [first, s] : [s, first];
      const flag = OUTPUT_FLAGS[key];
      const which = `shard ${without.meta.shard.index}/${without.meta.shard.count}`;
      const hint = key === 'logits' ? `Extract ${which} again with ${flag} and --restart, or the others without it` : `Rerun ${which} with ${flag} (written from the dataset, without running the model again)`;
      throw new OpnpError('STATE_MISMATCH', `${withIt.path} was extracted with ${flag}, ${without.path} without it: the shards of one run write the same outputs`, { file: without.path, hint });
    }
  }
}

/** Checks that the shards are all the finished shards of one run, each once, tiling the dataset; returns them in order. */
function checkShards(shards: readonly ShardFiles[]): ShardFiles[] {
  const first = shards[0]!;
  assertSameOutputs(shards);
  const entries = shards.map((s) => ({ path: s.path, fingerprint: s.meta.fingerprint, shard: s.meta.shard, files: s }));
  const ordered = checkShardSet(entries, { missingHint: 'Pass the features file of every shard (e.g. feats.shard-*-of-*.npy)' }).map((e) => e.files);
  let next = 0;
  for (const s of ordered) {
    if (s.meta.shard.start !== next || s.meta.samples !== first.meta.samples) throw new OpnpError('STATE_MISMATCH', `${s.path} covers samples ${s.meta.shard.start}-${s.meta.shard.end - 1}, expected from ${next}: the shards do not tile the dataset`, { file: s.path });
    next = s.meta.shard.end;
  }
  if (next !== first.meta.samples) throw new OpnpError('STATE_MISMATCH', `The shards cover ${next} of ${first.meta.samples} samples`, { file: ordered.at(-1)!.path });
  return ordered;
}

/**
 * Reads the sidecars of the shards' features files and checks that they are every finished shard of one
 * run exactly once, tiling the dataset (what {@link mergeFeatureShards} and sharded `features:` inputs
 * accept); returns them in shard order with the located companion files.
 *
 * @throws OpnpError `STATE_MISMATCH` for missing, duplicate, unfinished or foreign shards; `IO_ERROR` for missing files
 */
export async function readFeatureShards(paths: readonly string[]): Promise<ShardFiles[]> {
  const read: ShardFiles[] = [];
  for (const path of paths) read.push(await readShard(path));
  return checkShards(read);
}

/** Which outputs the unsharded run writes (its fingerprint says), against those asked for. */
function checkOutputs(shard: ShardFiles, outputs: ExtractOutputs): void {
  const wanted = shardOutputFlags(shard);
  const flag = OUTPUT_FLAGS;
  for (const key of ['logits', 'labels', 'indices'] as const) {
    const asked = outputs[key] !== undefined;
    if (wanted[key] === true && !asked) throw new OpnpError('INVALID_ARGUMENT', `The shards were extracted with ${flag[key]}: the merge writes it too`, { hint: `Pass ${flag[key]} <file>` });
    if (wanted[key] !== true && asked) throw new OpnpError('INVALID_ARGUMENT', `The shards were extracted without ${flag[key]}: there is nothing to merge into ${outputs[key]}`, { hint: `Leave ${flag[key]} out, or extract the shards with it` });
  }
  const inputs = new Set(Object.values(shard.files).map((p) => resolve(p!)));
  for (const path of Object.values(outputs)) if (path !== undefined && inputs.has(resolve(path))) throw new OpnpError('INVALID_ARGUMENT', `${path} is a shard file: the merge would overwrite its own input`, { file: path });
}

/** Streams the float32 rows of the shards' `key` files into one `.npy` (through the extractor's row writer). */
async function concatMatrix(path: string, parts: readonly string[], cols: number, chunkRows: number, expectedRows: number): Promise<void> {
  const writer = await openNpyRowWriter(path, { cols, resume: false });
  try {
    for (const part of parts) {
      const handle = await open(part, 'r');
      try {
        const head = new Uint8Array(4096);
        const { bytesRead } = await handle.read(head, 0, head.length, 0);
        const header = parseNpyHeader(head.subarray(0, bytesRead), part);
        if (header.dtype !== 'float32' || header.shape.length !== 2 || header.shape[1] !== cols) throw new OpnpError('SHAPE_MISMATCH', `${part} is not a float32 [N, ${cols}] shard`, { file: part, actual: header.shape });
        const rows = header.shape[0]!;
        for (let r = 0; r < rows; r += chunkRows) {
          const n = Math.min(chunkRows, rows - r);
          const buffer = new Float32Array(n * cols);
          await handle.read(new Uint8Array(buffer.buffer), 0, n * cols * 4, header.dataOffset + r * cols * 4);
          await writer.append(buffer);
        }
      } finally {
        await handle.close();
      }
    }
    if (writer.rows !== expectedRows) throw new OpnpError('STATE_MISMATCH', `The shard files hold ${writer.rows} rows, their sidecars record ${expectedRows}`, { file: parts[0], hint: 'Extract the shards again' });
    await writer.finalize();
  } finally {
    await writer.close();
  }
}

async function concatVector(path: string, parts: readonly string[]): Promise<Float64Array> {
  const arrays = [];
  for (const part of parts) {
    const a = await loadNpy(part);
    if (a.dtype !== 'float64' || a.shape.length !== 1) throw new OpnpError('SHAPE_MISMATCH', `${part} is not a float64 [N] shard`, { file: part, actual: a.shape });
    arrays.push(a.data as Float64Array);
  }
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  await writeNpy(path, { dtype: 'float64', shape: [out.length], data: out });
  return out;
}

/** Refuses to overwrite finished outputs of another run (unless `restart`). */
async function checkTarget(out: string, first: ShardFiles, restart: boolean, names: OptionNames | undefined): Promise<void> {
  if (restart || !(await isFile(out))) return;
  const meta = await readAnyFeaturesMeta(featuresMetaPath(out)).catch(() => undefined);
  assertSameRun(meta?.fingerprint, first.meta.fingerprint, { file: out, what: 'The existing output', restart: `Pass ${optionNames(names).restart} to overwrite it, or choose another ${optionNames(names).out}` });
}

/**
 * Merges the shards of a sharded extraction into the outputs of the unsharded run: features and logits
 * concatenated in dataset order, labels and indices likewise, and the complete `<features>.json` sidecar
 * with the unsharded fingerprint and every skipped sample. The result is the same bytes as an unsharded
 * `extractFeatures` with the same options (the model gives the same numbers whatever the batch).
 *
 * @param paths the shards' features files (`feats.shard-001-of-004.npy`, ...), in any order
 * @param outputs the unsharded run's outputs; exactly those it writes (logits, labels, indices as extracted)
 * @throws OpnpError `STATE_MISMATCH` for missing, duplicate, unfinished or foreign shards (or a finished
 *   output of another run without `restart`); `INVALID_ARGUMENT` when `outputs` differ from the run's
 */
export async function mergeFeatureShards(paths: readonly string[], outputs: ExtractOutputs, options: MergeFeatureShardsOptions = {}): Promise<MergedFeatures> {
  if (paths.length === 0) throw new OpnpError('INVALID_ARGUMENT', 'No shards to merge');
  const shards = await readFeatureShards(paths);
  const first = shards[0]!.meta;
  for (const s of shards) checkOutputs(s, outputs);
  await checkTarget(outputs.features, shards[0]!, options.restart === true, options.optionNames);
  const chunk = options.chunkRows ?? 8192;
  const rows = shards.reduce((n, s) => n + s.meta.rows, 0);
  await concatMatrix(outputs.features, shards.map((s) => s.files.features), first.dim, chunk, rows);
  if (outputs.logits !== undefined) await concatMatrix(outputs.logits, shards.map((s) => s.files.logits!), first.classes, chunk, rows);
  if (outputs.labels !== undefined) await concatVector(outputs.labels, shards.map((s) => s.files.labels!));
  if (outputs.indices !== undefined) await concatVector(outputs.indices, shards.map((s) => s.files.indices!));
  const skipped = shards.flatMap((s) => s.meta.skipped);
  const base = { fingerprint: first.fingerprint, data: first.data, ...(first.model !== undefined ? { model: first.model } : {}), preprocess: first.preprocess, dim: first.dim, classes: first.classes, samples: first.samples };
  const hashes = await companionHashes(outputs);
  await writeFeaturesMeta(featuresMetaPath(outputs.features), buildFeaturesMeta(base, { rows, nextIndex: first.samples, complete: true, skipped, hashes }, outputs));
  await rm(featuresMetaPath(outputs.features, true), { force: true });
  return { rows, samples: first.samples, dim: first.dim, classes: first.classes, shards: shards.length, skipped, files: outputs };
}
