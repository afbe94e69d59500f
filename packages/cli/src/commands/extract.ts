/**
 * `opnp extract`: features `[N x D]` and logits `[N x C]` of a dataset as float32 `.npy` (and labels and
 * dataset indices of the same rows), through `extractFeatures` of @opnp/pipeline: resumable, and
 * refusing partial or finished outputs of another run; `--shard i/n|auto` extracts one contiguous part
 * into per-shard files, and `opnp extract merge` joins the shards into the unsharded run's files.
 */
import type { Command } from 'commander';
import { assertExtractionTargets, assertBatchSize, extractFeatures, extractionInputs, mergeFeatureShards, readAnyFeaturesMeta, shardOutputs, unshardedFileName, warmDatasetIdentity, type ExtractOutputNames, type ExtractOutputs } from '@opnp/pipeline/extract';
import { withModel, type RuntimeFlags } from '../model.js';
import { writeLine } from '../io.js';
import { checkDatasetSpec } from '../options.js';
import { addFlagWarnings, addPreprocessOptions, addRunOptions, addShardOptions, imageWorkersOption, infoWriter, requiredFlag, resolveShard, progressListener, skipWarner, type CommandContext, preprocessArguments, CLI_OPTION_NAMES } from './shared.js';

interface ExtractFlags extends RuntimeFlags {
  model?: string;
  data?: string;
  labels?: string;
  out?: string;
  shard?: string;
  shardCount?: number;
  logitsOut?: string;
  labelsOut?: string;
  indicesOut?: string;
  mean?: number[];
  std?: number[];
  batchSize: number;
  restart?: boolean;
  quiet?: boolean;
}

const HELP = `
Example:
  opnp extract --model model.onnx --data idx:./mnist/train-images-idx3-ubyte --mean 0.1307 --std 0.3081 \\
    --out train-features.npy --logits-out train-logits.npy
  opnp eval --model model.onnx --train features:train-features.npy#logits=train-logits.npy ...

Every output holds the same rows; unreadable images are named on stderr and left out of all of them
(--indices-out says which dataset sample each row is). <out>.json records the model, data and
preprocessing, so eval reuses the same preprocessing, and refuses features of another model or logits
that are not the ones extracted with them. An interrupted run leaves <out>.partial and <out>.partial.json
(and <logits>.partial); rerun the same command to continue. Another run (other model, data, labels file,
preprocessing or --logits-out) is refused: pass --restart to discard the old output. A finished <out>
serves a rerun that asks for less (its other outputs are kept) or adds --labels-out or --indices-out
(written from the dataset, without running the model again).

Sharded (e.g. an array job; see docs/cluster.md):
  opnp extract --model model.onnx --data ./imagenet#train --out feats.npy --logits-out logits.npy --shard 2/4
    # writes feats.shard-002-of-004.npy, logits.shard-002-of-004.npy, feats.shard-002-of-004.indices.npy
  opnp extract merge feats.shard-*-of-004.npy --out feats.npy --logits-out logits.npy
The merged files are the bytes an unsharded run writes.`;

function outputsOf(flags: { out: string; logitsOut?: string; labelsOut?: string; indicesOut?: string }): ExtractOutputs {
  return {
    features: flags.out,
    ...(flags.logitsOut !== undefined ? { logits: flags.logitsOut } : {}),
    ...(flags.labelsOut !== undefined ? { labels: flags.labelsOut } : {}),
    ...(flags.indicesOut !== undefined ? { indices: flags.indicesOut } : {}),
  };
}

/** Registers `opnp extract`. */
export function registerExtract(program: Command, context: CommandContext): void {
  const command = program
    .command('extract')
    .description('write the features (N x D) and logits (N x C) of a dataset as float32 .npy (resumable, shardable)')
    .enablePositionalOptions()
    .option('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs)')
    .option('--data <dataset>', 'the dataset (a dataset spec of @opnp/datasets)', (v) => checkDatasetSpec('--data', v))
    .option('--labels <file>', 'labels file overriding the dataset\'s labels (IDX or .npy)')
    .option('--out <features.npy>', 'features output')
    .option('--logits-out <logits.npy>', 'logits output')
    .option('--labels-out <labels.npy>', 'labels output (float64 [N], -1 = unknown)')
    .option('--indices-out <indices.npy>', 'dataset index of every row (float64 [N])')
    .option('--restart', 'discard partial or finished output of another run and start over');
  addShardOptions(command, 'extract only part i of n (1-based, contiguous) of the dataset into per-shard files (feats.shard-00i-of-00n.npy ...; join them with opnp extract merge, or name feats.npy in features: and its shards are read)');
  addPreprocessOptions(command);
  addFlagWarnings(command, context.io);
  addRunOptions(command);
  command.addHelpText('after', HELP);
  command.action((flags: ExtractFlags) => runExtract(context, flags));
  registerExtractMerge(command, context);
}

/** How the extraction's messages name its outputs: by their flags. */
const OUTPUT_FLAGS: ExtractOutputNames = { features: '--out', logits: '--logits-out', labels: '--labels-out', indices: '--indices-out' };

async function runExtract(context: CommandContext, flags: ExtractFlags): Promise<void> {
  const { io } = context;
  const model = requiredFlag(flags.model, '--model <file>');
  const data = requiredFlag(flags.data, '--data <dataset>');
  const out = requiredFlag(flags.out, '--out <features.npy>');
  const quiet = flags.quiet === true;
  const info = infoWriter(io, quiet);
  const shard = resolveShard(io, flags);
  const outputs = outputsOf({ ...flags, out });
  const inputs = extractionInputs(model, data, flags.labels, { model: '--model', data: '--data', labels: '--labels' });
  await assertExtractionTargets(shard ? shardOutputs(outputs, shard) : outputs, inputs, OUTPUT_FLAGS);
  if (context.checkOnly) return context.checkOnly(inputs);
  warmDatasetIdentity(data); // the data files are hashed (for the run's fingerprint) while the model loads
  await withModel(model, info, async (loaded) => {
    assertBatchSize(loaded, flags.batchSize, undefined, CLI_OPTION_NAMES);
    const result = await extractFeatures({
      model: loaded,
      data,
      ...(shard ? { shard } : {}),
      ...(flags.labels !== undefined ? { labelsFile: flags.labels } : {}),
      labelsFileName: '--labels',
      ...preprocessArguments(flags),
      outputs,
      batchSize: flags.batchSize,
      ...imageWorkersOption(flags),
      restart: flags.restart === true,
      optionNames: CLI_OPTION_NAMES,
      outputNames: OUTPUT_FLAGS,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: progressListener(io, quiet),
      onInfo: info,
      onSkip: skipWarner(io, data),
      onCheckpoint: (c) => io.checkpoints?.post('extract', `${c.files.join(' and ')} hold ${c.rows} rows each`),
    });
    const skipped = result.skipped.length;
    const files = result.files;
    const what = [`${result.rows} x ${result.dim} features to ${files.features}`, files.logits ? `${result.rows} x ${result.classes} logits to ${files.logits}` : '', files.labels ? `labels to ${files.labels}` : '', files.indices ? `indices to ${files.indices}` : ''].filter((p) => p !== '').join(', ');
    if (!result.alreadyComplete) info(`wrote ${what}${result.shard ? ` (shard ${result.shard.index}/${result.shard.count}: samples ${result.shard.start}-${result.shard.end - 1}; indices in ${files.indices})` : ''}`);
    if (skipped > 0) writeLine(io.stderr, `opnp: warning: ${skipped} of ${result.shard ? result.shard.end - result.shard.start : result.samples} samples were unreadable and are in none of the outputs (listed above and in ${files.features}.json)`);
  }, flags);
}

interface MergeFlags {
  out: string;
  logitsOut?: string;
  labelsOut?: string;
  indicesOut?: string;
  restart?: boolean;
  quiet?: boolean;
}

/** The unsharded outputs: the flags given, else (logits, labels, indices the run wrote) the shard file names without their tag. */
async function mergeOutputs(first: string, flags: MergeFlags): Promise<ExtractOutputs> {
  const meta = await readAnyFeaturesMeta(`${first}.json`).catch(() => undefined);
  const wrote = (meta?.fingerprint.fields.outputs ?? {}) as { logits?: boolean; labels?: boolean; indices?: boolean };
  const fallback = (key: 'logits' | 'labels' | 'indices') => (wrote[key] === true && meta?.files[key] !== undefined ? unshardedFileName(meta.files[key]) : undefined);
  const logits = flags.logitsOut ?? fallback('logits');
  const labels = flags.labelsOut ?? fallback('labels');
  const indices = flags.indicesOut ?? fallback('indices');
  return outputsOf({ out: flags.out, ...(logits !== undefined ? { logitsOut: logits } : {}), ...(labels !== undefined ? { labelsOut: labels } : {}), ...(indices !== undefined ? { indicesOut: indices } : {}) });
}

function registerExtractMerge(parent: Command, context: CommandContext): void {
  parent
    .command('merge')
    .description('join the shards of a sharded extraction into the files an unsharded run writes (bit for bit)')
    .argument('<shards...>', 'the features files of every shard (feats.shard-*-of-004.npy), in any order')
    .requiredOption('--out <features.npy>', 'merged features (and <out>.json, the sidecar of the unsharded run)')
    .option('--logits-out <logits.npy>', 'merged logits (default: the shards\' logits file name without the shard tag)')
    .option('--labels-out <labels.npy>', 'merged labels (default: likewise)')
    .option('--indices-out <indices.npy>', 'merged dataset indices (default: likewise, when the shards were extracted with --indices-out)')
    .option('--restart', 'overwrite a finished output of another run')
    .option('-q, --quiet', 'no info lines on stderr')
    .addHelpText('after', '\nExample:\n  opnp extract merge feats.shard-*-of-004.npy --out feats.npy --logits-out logits.npy\n\nRefuses missing, duplicate, unfinished or foreign shards (another model, dataset, preprocessing or outputs).')
    .action(async (shards: string[], flags: MergeFlags) => {
      const outputs = await mergeOutputs(shards[0]!, flags);
      await assertExtractionTargets(outputs, shards.map((path) => ({ path, what: `the shard ${path}` })), OUTPUT_FLAGS);
      if (context.checkOnly) return context.checkOnly([]); // the shards are the tasks' outputs
      const merged = await mergeFeatureShards(shards, outputs, { restart: flags.restart === true, optionNames: CLI_OPTION_NAMES });
      const files = Object.values(merged.files).filter((f) => f !== undefined).join(', ');
      infoWriter(context.io, flags.quiet === true)(`merged ${merged.shards} shards: ${merged.rows} x ${merged.dim} features of ${merged.samples} samples into ${files}`);
      if (merged.skipped.length > 0) writeLine(context.io.stderr, `opnp: warning: ${merged.skipped.length} of ${merged.samples} samples were unreadable and are in none of the outputs (listed in ${flags.out}.json)`);
    });
}
