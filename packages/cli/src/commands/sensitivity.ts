/**
 * `opnp sensitivity`: the OPNP parameter (C x D) and neuron (D) sensitivity of a model over a training
 * set, sharded (`--shard i/n`) and resumable (`--checkpoint`); `opnp sensitivity merge` adds the shard
 * states of one run, refusing duplicates, missing shards and states of other runs.
 */
import type { Command } from 'commander';
import { OpnpError, SensitivityAccumulator, neuronSensitivity, type NeuronStatistic, type ParameterSensitivity, type SensitivityAggregation, type SensitivityState } from '@opnp/core';
import { writeNpy } from '@opnp/datasets/node';
import { assertBatchSize, mergeStates, removeStateFile, runSensitivity, sidecarPath, writeStateFile, type RunInput } from '@opnp/pipeline';
import { checkRunFiles, dataInputs, fileOutput, modelInputs, stateOutput } from './run-files.js';
import { flagError, UsageError } from '../errors.js';
import { writeLine } from '../io.js';
import { withModel, type RuntimeFlags } from '../model.js';
import { NEURON_STATISTICS_HELP, parseNeuronStatistic } from '../neuron-statistics.js';
import { checkDatasetSpec, parseChoice, parseFraction, parseInteger } from '../options.js';
import { addFlagWarnings, addPreprocessOptions, addRunOptions, addShardOptions, checkpointPoster, imageWorkersOption, infoWriter, resolveShard, parseCheckpointEvery, progressListener, skipWarner, type CommandContext, preprocessArguments, CLI_OPTION_NAMES } from './shared.js';

const AGGREGATIONS: readonly SensitivityAggregation[] = ['sum-of-abs', 'abs-of-sum'];

interface OutputFlags {
  out?: string;
  neuronOut?: string;
  stateOut?: string;
  neuronStatistic: NeuronStatistic;
}

/** Writes the sensitivity `[C, D]` and neuron sensitivity `[D]` as float64 `.npy` files. */
async function writeSensitivityOutputs(result: ParameterSensitivity, flags: OutputFlags): Promise<void> {
  if (flags.out !== undefined) await writeNpy(flags.out, { dtype: 'float64', shape: [result.classes, result.dim], data: result.values });
  if (flags.neuronOut !== undefined) await writeNpy(flags.neuronOut, { dtype: 'float64', shape: [result.dim], data: neuronSensitivity(result, flags.neuronStatistic) });
}

/** Where the outputs went, for the success line: `to sens.npy (--out), neuron.npy (--neuron-out, mean)`. */
function writtenTo(flags: OutputFlags): string {
  const files = [
    flags.out !== undefined ? `${flags.out} (--out)` : undefined,
    flags.neuronOut !== undefined ? `${flags.neuronOut} (--neuron-out, ${flags.neuronStatistic})` : undefined,
    flags.stateOut !== undefined ? `${flags.stateOut} (--state-out)` : undefined,
  ].filter((f) => f !== undefined);
  return `written to ${files.join(', ')}`;
}

/**
 * Checks that something is asked for and that every output can be written and overwrites none of the `inputs`, before
 * any work.
 */
async function checkOutputs(flags: OutputFlags & { checkpoint?: string }, inputs: readonly (RunInput | undefined)[]): Promise<void> {
  if (flags.out === undefined && flags.neuronOut === undefined && flags.stateOut === undefined) throw new UsageError('nothing to write: pass --out, --neuron-out or --state-out');
  await checkRunFiles({
    outputs: [
      fileOutput(flags.out, 'the sensitivity (--out)'),
      fileOutput(flags.neuronOut, 'the neuron sensitivity (--neuron-out)'),
      stateOutput(flags.stateOut, 'the state (--state-out)'),
      stateOutput(flags.checkpoint, 'the checkpoint (--checkpoint)'),
    ],
    inputs,
  });
}

interface SensitivityFlags extends OutputFlags, RuntimeFlags {
  model: string;
  train: string;
  trainLabels?: string;
  trainFraction?: number;
  seed: number;
  mean?: number[];
  std?: number[];
  shard?: string;
  shardCount?: number;
  checkpoint?: string;
  checkpointEvery: number;
  restart?: boolean;
  temperature: number;
  aggregation: SensitivityAggregation;
  batchSize: number;
  quiet?: boolean;
}

const EXAMPLES = `
Examples:
  opnp sensitivity --model model.onnx --train idx:./mnist/train-images-idx3-ubyte \\
    --mean 0.1307 --std 0.3081 --out sens.npy --neuron-out neuron.npy
  # split over 4 processes, then merge:
  opnp sensitivity --model model.onnx --train ./imagenet#train --shard 1/4 --state-out part1.npy
  opnp sensitivity merge part1.npy part2.npy part3.npy part4.npy --out sens.npy --neuron-out neuron.npy`;

function temperature(v: string): number {
  const t = Number(v);
  if (!(t > 0) || !Number.isFinite(t)) throw flagError('--temperature', `expected a number > 0, got "${v}"`);
  return t;
}

/** Registers `opnp sensitivity` and `opnp sensitivity merge`. */
export function registerSensitivity(program: Command, context: CommandContext): void {
  const command = program
    .command('sensitivity')
    .description('compute the OPNP parameter (C x D) and neuron (D) sensitivity over a training set')
    .enablePositionalOptions()
    .option('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs)')
    .option('--train <dataset>', 'training set (a dataset spec, or features:<features.npy>[#logits=<logits.npy>])', (v) => checkDatasetSpec('--train', v))
    .option('--train-labels <file>', 'labels file for the training set (IDX or .npy)')
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .option('--seed <n>', 'seed of the training subset', (v) => parseInteger('--seed', v, { allowZero: true }), 0)
    .option('--out <sens.npy>', 'write the C x D sensitivity (float64 .npy)')
    .option('--neuron-out <n.npy>', 'write the D neuron sensitivity (float64 .npy)')
    .option('--neuron-statistic <name>', `statistic over classes: ${NEURON_STATISTICS_HELP}`, (v) => parseNeuronStatistic('--neuron-statistic', v), 'mean' as NeuronStatistic)
    .option('--state-out <state.npy>', 'write the accumulator state (sums .npy + .json sidecar with the run fingerprint) for merging')
    .option('--checkpoint <state.npy>', 'checkpoint the sums here (every 30 s and on Ctrl-C); a rerun of the same run resumes')
    .option('--restart', 'discard an existing --checkpoint instead of resuming it')
    .option('--checkpoint-every <seconds>', 'also write the checkpoint this often (0: after every batch)', parseCheckpointEvery, 30)
    .option('--temperature <T>', 'softmax temperature of the energy score', temperature, 1)
    .option('--aggregation <name>', `per-sample aggregation: ${AGGREGATIONS.join(', ')}`, parseChoice('--aggregation', AGGREGATIONS), 'sum-of-abs' as SensitivityAggregation);
  addShardOptions(command, 'process only part i of n (1-based) of the training samples; write --state-out, then merge (or name the merged state in eval --sensitivity-state: its shards are read)');
  addPreprocessOptions(command);
  addFlagWarnings(command, context.io);
  addRunOptions(command);
  command.addHelpText('after', EXAMPLES);
  command.action((flags: SensitivityFlags) => runSensitivityCommand(context, flags));
  registerMerge(command, context);
}

async function runSensitivityCommand(context: CommandContext, flags: SensitivityFlags): Promise<void> {
  const { io } = context;
  if (flags.model === undefined) throw new UsageError("required option '--model <file>' not specified");
  if (flags.train === undefined) throw new UsageError("required option '--train <dataset>' not specified");
  if (flags.shard !== undefined && flags.stateOut === undefined) throw new UsageError('--shard needs --state-out: a shard\'s --out alone covers part of the training set and could never be merged');
  const shard = resolveShard(io, flags);
  const inputs = [...modelInputs([flags.model]), ...dataInputs(flags)];
  await checkOutputs(flags, inputs);
  if (context.checkOnly) return context.checkOnly(inputs);
  const quiet = flags.quiet === true;
  const info = infoWriter(io, quiet);
  await withModel(flags.model, info, async (model) => {
    assertBatchSize(model, flags.batchSize, undefined, CLI_OPTION_NAMES);
    const run = await runSensitivity({
      model,
      train: flags.train,
      ...(flags.trainLabels !== undefined ? { trainLabels: flags.trainLabels } : {}),
      ...preprocessArguments(flags),
      ...(flags.trainFraction !== undefined ? { trainFraction: flags.trainFraction } : {}),
      seed: flags.seed,
      ...(shard ? { shard } : {}),
      sensitivity: { temperature: flags.temperature, aggregation: flags.aggregation },
      ...(flags.checkpoint !== undefined ? { checkpoint: { path: flags.checkpoint, restart: flags.restart === true, everyMs: flags.checkpointEvery * 1000, onSaved: checkpointPoster(context.io) } } : {}),
      optionNames: CLI_OPTION_NAMES,
      batchSize: flags.batchSize,
      ...imageWorkersOption(flags),
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: progressListener(io, quiet),
      onInfo: info,
      onSkip: skipWarner(io, flags.train),
    });
    const { accumulator } = run;
    if ((flags.out !== undefined || flags.neuronOut !== undefined) && accumulator.count === 0) {
      throw new OpnpError('EMPTY_INPUT', `${shard ? `Shard ${shard.index}/${shard.count}` : 'The training set'} holds no readable samples: there is no sensitivity to write`, { hint: shard ? 'Write --state-out only (an empty shard merges as nothing), or use fewer shards' : 'Check the training set' });
    }
    if (flags.stateOut !== undefined) await writeStateFile(flags.stateOut, accumulator.toState(), run.provenance);
    // A finished shard's state is what its run keeps: its own checkpoint (one per shard) would only be left behind.
    if (shard && flags.stateOut !== undefined && flags.checkpoint !== undefined) await removeStateFile(flags.checkpoint);
    if (flags.out !== undefined || flags.neuronOut !== undefined) await writeSensitivityOutputs(accumulator.result(), flags);
    info(`sensitivity of ${accumulator.classes} x ${accumulator.dim} weights over ${accumulator.count} samples ${writtenTo(flags)}`);
    if (shard) {
      writeLine(io.stderr, `opnp: note: this result covers only shard ${shard.index}/${shard.count}: ${accumulator.count} of ${run.total} training samples; merge every shard's --state-out with opnp sensitivity merge for the whole sensitivity`);
    }
  }, flags);
}

/** The sensitivity of a state's sums (the head is only needed for its shape). */
function sensitivityOf(state: SensitivityState): ParameterSensitivity {
  const { classes: C, dim: D } = state;
  const head = { weight: { rows: C, cols: D, data: new Float32Array(C * D) }, bias: new Float32Array(C) };
  return SensitivityAccumulator.fromState(head, state).result();
}

function registerMerge(parent: Command, context: CommandContext): void {
  parent
    .command('merge')
    .description('add the sensitivity states of the shards of one run and write the merged sensitivity')
    .argument('<states...>', 'state files written by opnp sensitivity --shard i/n --state-out')
    .option('--out <sens.npy>', 'write the C x D sensitivity (float64 .npy)')
    .option('--neuron-out <n.npy>', 'write the D neuron sensitivity (float64 .npy)')
    .option('--neuron-statistic <name>', `statistic over classes: ${NEURON_STATISTICS_HELP}`, (v) => parseNeuronStatistic('--neuron-statistic', v), 'mean' as NeuronStatistic)
    .option('--state-out <state.npy>', 'write the merged state')
    .option('--allow-partial', 'merge even when shards are missing (the result says which shards it covers)')
    .option('-q, --quiet', 'no info lines on stderr')
    .addHelpText('after', '\nExample:\n  opnp sensitivity merge part1.npy part2.npy --out sens.npy --neuron-out neuron.npy --state-out all.npy')
    .action(async (states: string[], flags: OutputFlags & { quiet?: boolean; allowPartial?: boolean }) => {
      await checkOutputs(flags, states.flatMap((path) => [{ path, what: `the state ${path}` }, { path: sidecarPath(path), what: `the sidecar of the state ${path}` }]));
      if (context.checkOnly) return context.checkOnly([]); // the states are the tasks' outputs
      const merged = await mergeStates(states, { allowPartial: flags.allowPartial === true });
      if (flags.stateOut !== undefined) await writeStateFile(flags.stateOut, merged.state, merged.provenance);
      if (flags.out !== undefined || flags.neuronOut !== undefined) {
        if (merged.state.count === 0) throw new OpnpError('EMPTY_INPUT', 'The merged states hold no samples: there is no sensitivity to write');
        await writeSensitivityOutputs(sensitivityOf(merged.state), flags);
      }
      infoWriter(context.io, flags.quiet === true)(`merged ${states.length} states: ${merged.state.count} samples, ${writtenTo(flags)}`);
      if (merged.shards.length < merged.shardCount) {
        writeLine(context.io.stderr, `opnp: note: the merged result covers only shards ${merged.shards.join(', ')} of ${merged.shardCount} (${merged.state.count} samples)`);
      }
    });
}
