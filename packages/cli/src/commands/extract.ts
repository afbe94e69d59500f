/**
 * `opnp extract`: features `[N x D]` and logits `[N x C]` of a dataset as float32 `.npy` (and labels and
 * dataset indices of the same rows), through `extractFeatures` of @opnp/pipeline: resumable, and
 * refusing partial or finished outputs of another run.
 */
import type { Command } from 'commander';
import { assertOutputTargets, assertBatchSize, extractFeatures, type ExtractOutputs } from '@opnp/pipeline';
import { withModel, type RuntimeFlags } from '../model.js';
import { writeLine } from '../io.js';
import { addPreprocessOptions, addRunOptions, infoWriter, preprocessFlags, progressListener, skipWarner, type CommandContext } from './shared.js';

interface ExtractFlags extends RuntimeFlags {
  model: string;
  data: string;
  labels?: string;
  out: string;
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
preprocessing, so eval reuses the same preprocessing. An interrupted run leaves <out>.partial and
<out>.partial.json; rerun the same command to continue. Another run (other model, data or flags) is
refused: pass --restart to discard the old output.`;

function outputsOf(flags: ExtractFlags): ExtractOutputs {
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
    .description('write the features (N x D) and logits (N x C) of a dataset as float32 .npy (resumable)')
    .requiredOption('--model <file>', 'classifier: model.onnx (or model.json with @opnp/backend-tfjs)')
    .requiredOption('--data <dataset>', 'the dataset (a dataset spec of @opnp/datasets)')
    .option('--labels <file>', 'labels file overriding the dataset\'s labels (IDX or .npy)')
    .requiredOption('--out <features.npy>', 'features output')
    .option('--logits-out <logits.npy>', 'logits output')
    .option('--labels-out <labels.npy>', 'labels output (float64 [N], -1 = unknown)')
    .option('--indices-out <indices.npy>', 'dataset index of every row (float64 [N])')
    .option('--restart', 'discard partial or finished output of another run and start over');
  addPreprocessOptions(command);
  addRunOptions(command);
  command.addHelpText('after', HELP);
  command.action(async (flags: ExtractFlags) => {
    const { io } = context;
    const quiet = flags.quiet === true;
    const info = infoWriter(io, quiet);
    const outputs = outputsOf(flags);
    await assertOutputTargets([
      { path: outputs.features, what: 'the features (--out)' },
      outputs.logits !== undefined ? { path: outputs.logits, what: 'the logits (--logits-out)' } : undefined,
      outputs.labels !== undefined ? { path: outputs.labels, what: 'the labels (--labels-out)' } : undefined,
      outputs.indices !== undefined ? { path: outputs.indices, what: 'the indices (--indices-out)' } : undefined,
    ]);
    await withModel(flags.model, info, async (model) => {
      assertBatchSize(model, flags.batchSize);
      const result = await extractFeatures({
        model,
        data: flags.data,
        ...(flags.labels !== undefined ? { labelsFile: flags.labels } : {}),
        preprocess: preprocessFlags(flags),
        outputs,
        batchSize: flags.batchSize,
        restart: flags.restart === true,
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: progressListener(io, quiet),
        onInfo: info,
        onSkip: skipWarner(io, flags.data),
      });
      const skipped = result.skipped.length;
      const what = `${result.rows} x ${result.dim} features to ${flags.out}${outputs.logits ? ` and ${result.rows} x ${result.classes} logits to ${outputs.logits}` : ''}`;
      if (!result.alreadyComplete) info(`wrote ${what}`);
      if (skipped > 0) writeLine(io.stderr, `opnp: warning: ${skipped} of ${result.samples} samples were unreadable and are in none of the outputs (listed above and in ${flags.out}.json)`);
    }, flags);
  });
}
