/**
 * `opnp sensitivity`: the OPNP parameter (C x D) and neuron (D) sensitivity of a model over a training
 * set, sharded (`--shard i/n`) and resumable (`--checkpoint`); `opnp sensitivity merge` adds shard states.
 */
import type { Command } from 'commander';
import { OpnpError, SensitivityAccumulator, neuronSensitivity, type NeuronStatistic, type ParameterSensitivity, type SensitivityAggregation } from '@opnp/core';
import { writeNpy } from '@opnp/datasets';
import { flagError, UsageError } from '../errors.js';
import { parseFraction, parseInteger, parseShard } from '../options.js';
import { openFeatureSource } from '../pipeline/feature-source.js';
import { loadModel } from '../pipeline/model.js';
import { runTrainingPass, shardOf, trainingIndices } from '../pipeline/sensitivity.js';
import { readStateFile, writeStateFile } from '../pipeline/state-file.js';
import { addPreprocessOptions, addRunOptions, infoWriter, preprocessFlags, progressFactory, type CommandContext } from './shared.js';

const STATISTICS: readonly NeuronStatistic[] = ['mean', 'max', 'min', 'median', 'l2', 'variance'];
const AGGREGATIONS: readonly SensitivityAggregation[] = ['sum-of-abs', 'abs-of-sum'];

function parseChoice<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw flagError(flag, `expected one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

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

function requireOutput(flags: OutputFlags): void {
  if (flags.out === undefined && flags.neuronOut === undefined && flags.stateOut === undefined) throw new UsageError('nothing to write: pass --out, --neuron-out or --state-out');
}

interface SensitivityFlags extends OutputFlags {
  model: string;
  train: string;
  trainLabels?: string;
  trainFraction?: number;
  seed: number;
  mean?: number[];
  std?: number[];
  shard?: { index: number; count: number };
  checkpoint?: string;
  temperature: number;
  aggregation: SensitivityAggregation;
  batchSize: number;
  quiet?: boolean;
}

/** Registers `opnp sensitivity` and `opnp sensitivity merge`. */
export function registerSensitivity(program: Command, context: CommandContext): void {
  const command = program
    .command('sensitivity')
    .description('compute the OPNP parameter (C x D) and neuron (D) sensitivity over a training set')
    .enablePositionalOptions()
    .option('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs)')
    .option('--train <dataset>', 'training set (a dataset spec, or features:<features.npy>[#logits=<logits.npy>])')
    .option('--train-fraction <0-1>', 'use a seeded subset of the training set', (v) => parseFraction('--train-fraction', v))
    .option('--seed <n>', 'seed of the training subset', (v) => parseInteger('--seed', v, { allowZero: true }), 0)
    .option('--shard <i/n>', 'process only part i of n (1-based) of the training samples; write --state-out and merge later')
    .option('--out <sens.npy>', 'write the C x D sensitivity (float64 .npy)')
    .option('--neuron-out <n.npy>', 'write the D neuron sensitivity (float64 .npy)')
    .option('--neuron-statistic <name>', `statistic over classes: ${STATISTICS.join(', ')}`, parseChoice('--neuron-statistic', STATISTICS), 'mean' as NeuronStatistic)
    .option('--state-out <state.npy>', 'write the accumulator state (sums .npy + .json sidecar) for merging')
    .option('--checkpoint <state.npy>', 'checkpoint the sums here (every 30 s and on Ctrl-C); a rerun resumes')
    .option('--temperature <T>', 'softmax temperature of the energy score', (v) => {
      const t = Number(v);
      if (!(t > 0) || !Number.isFinite(t)) throw flagError('--temperature', `expected a number > 0, got "${v}"`);
      return t;
    }, 1)
    .option('--aggregation <name>', `per-sample aggregation: ${AGGREGATIONS.join(', ')}`, parseChoice('--aggregation', AGGREGATIONS), 'sum-of-abs' as SensitivityAggregation);
  addPreprocessOptions(command);
  addRunOptions(command);
  command.addHelpText(
    'after',
    `
Examples:
  opnp sensitivity --model model.onnx --train idx:./mnist/train-images-idx3-ubyte \\
    --mean 0.1307 --std 0.3081 --out sens.npy --neuron-out neuron.npy
  # split over 4 processes, then merge:
  opnp sensitivity --model model.onnx --train ./imagenet#train --shard 1/4 --state-out part1.npy
  opnp sensitivity merge part1.npy part2.npy part3.npy part4.npy --out sens.npy --neuron-out neuron.npy`,
  );
  command.action(async (flags: SensitivityFlags & { shard?: string | { index: number; count: number } }) => {
    const { io } = context;
    if (flags.model === undefined) throw new UsageError("required option '--model <file>' not specified");
    if (flags.train === undefined) throw new UsageError("required option '--train <dataset>' not specified");
    requireOutput(flags);
    const shard = typeof flags.shard === 'string' ? parseShard(flags.shard) : undefined;
    const quiet = flags.quiet === true;
    const info = infoWriter(io, quiet);
    const model = await loadModel(flags.model, (m) => info(`model: ${m}`));
    try {
      const source = await openFeatureSource(flags.train, { model, preprocess: preprocessFlags(flags), ...(flags.trainLabels ? { labelsFile: flags.trainLabels } : {}) });
      let indices = trainingIndices(source.count, flags.trainFraction, flags.seed);
      if (shard) indices = shardOf(indices, shard.index, shard.count);
      const { accumulator } = await runTrainingPass({
        model,
        source,
        indices,
        batchSize: flags.batchSize,
        sensitivity: { temperature: flags.temperature, aggregation: flags.aggregation },
        ...(flags.checkpoint !== undefined ? { checkpoint: { path: flags.checkpoint } } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
        progress: progressFactory(io, quiet)(shard ? `shard ${shard.index}/${shard.count}` : 'train'),
        onInfo: info,
      });
      if (flags.stateOut !== undefined) await writeStateFile(flags.stateOut, accumulator.toState());
      if (flags.out !== undefined || flags.neuronOut !== undefined) await writeSensitivityOutputs(accumulator.result(), flags);
      info(`sensitivity of ${accumulator.classes} x ${accumulator.dim} weights over ${accumulator.count} samples written`);
    } finally {
      await model.extractor.dispose();
    }
  });

  command
    .command('merge')
    .description('add sensitivity states (shards) and write the merged sensitivity')
    .argument('<states...>', 'state files written by opnp sensitivity --state-out')
    .option('--out <sens.npy>', 'write the C x D sensitivity (float64 .npy)')
    .option('--neuron-out <n.npy>', 'write the D neuron sensitivity (float64 .npy)')
    .option('--neuron-statistic <name>', `statistic over classes: ${STATISTICS.join(', ')}`, parseChoice('--neuron-statistic', STATISTICS), 'mean' as NeuronStatistic)
    .option('--state-out <state.npy>', 'write the merged state')
    .option('-q, --quiet', 'no info lines on stderr')
    .addHelpText('after', '\nExample:\n  opnp sensitivity merge part1.npy part2.npy --out sens.npy --neuron-out neuron.npy --state-out all.npy')
    .action(async (states: string[], flags: OutputFlags & { quiet?: boolean }) => {
      requireOutput(flags);
      const first = await readStateFile(states[0]!);
      // The head is only needed for its shape: a zero head of the state's C x D.
      const { classes: C, dim: D } = first.state;
      const head = { weight: { rows: C, cols: D, data: new Float32Array(C * D) }, bias: new Float32Array(C) };
      const merged = SensitivityAccumulator.fromState(head, first.state);
      for (const path of states.slice(1)) {
        const { state } = await readStateFile(path);
        try {
          merged.merge(state);
        } catch (error) {
          if (error instanceof OpnpError) throw new OpnpError(error.code, `${path}: ${error.message}`);
          throw error;
        }
      }
      if (flags.stateOut !== undefined) await writeStateFile(flags.stateOut, merged.toState());
      if (flags.out !== undefined || flags.neuronOut !== undefined) await writeSensitivityOutputs(merged.result(), flags);
      infoWriter(context.io, flags.quiet === true)(`merged ${states.length} states: ${merged.count} samples`);
    });
}
