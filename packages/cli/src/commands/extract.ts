/**
 * `opnp extract`: features `[N x D]` and logits `[N x C]` of a dataset as float32 `.npy`, in dataset
 * order, resumable: rows go to `<out>.partial` (always a valid `.npy`), a rerun continues after the
 * rows already written, and the file is renamed to `<out>` when complete.
 */
import type { Command } from 'commander';
import { writeNpy, openNpyRowWriter, type NpyRowWriter } from '@opnp/datasets';
import { OpnpError } from '@opnp/core';
import { InterruptedError } from '../errors.js';
import { openFeatureSource } from '../pipeline/feature-source.js';
import { loadModel } from '../pipeline/model.js';
import { addPreprocessOptions, addRunOptions, infoWriter, preprocessFlags, progressFactory, type CommandContext } from './shared.js';

interface ExtractFlags {
  model: string;
  data: string;
  labels?: string;
  out: string;
  logitsOut?: string;
  labelsOut?: string;
  mean?: number[];
  std?: number[];
  batchSize: number;
  restart?: boolean;
  quiet?: boolean;
}

/** Appends the rows of a batch starting at dataset position `start` that `writer` does not have yet. */
async function appendMissing(writer: NpyRowWriter, start: number, data: Float32Array, cols: number): Promise<void> {
  const skip = Math.max(0, writer.rows - start);
  const rows = data.length / cols;
  if (skip < rows) await writer.append(data.subarray(skip * cols));
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
    .option('--restart', 'ignore partial output from an interrupted run and start over');
  addPreprocessOptions(command);
  addRunOptions(command);
  command.addHelpText(
    'after',
    `
Example:
  opnp extract --model model.onnx --data idx:./mnist/train-images-idx3-ubyte --mean 0.1307 --std 0.3081 \\
    --out train-features.npy --logits-out train-logits.npy
  opnp eval --model model.onnx --train features:train-features.npy#logits=train-logits.npy ...

An interrupted run leaves <out>.partial; rerun the same command to continue.`,
  );
  command.action(async (flags: ExtractFlags) => {
    const { io } = context;
    const quiet = flags.quiet === true;
    const info = infoWriter(io, quiet);
    const model = await loadModel(flags.model, (m) => info(`model: ${m}`));
    const writers: NpyRowWriter[] = [];
    try {
      const head = model.extractor.head;
      const C = head.weight.rows;
      const D = head.weight.cols;
      const source = await openFeatureSource(flags.data, { model, preprocess: preprocessFlags(flags), ...(flags.labels ? { labelsFile: flags.labels } : {}) });
      const features = await openNpyRowWriter(flags.out, { cols: D, resume: flags.restart !== true });
      writers.push(features);
      const logits = flags.logitsOut !== undefined ? await openNpyRowWriter(flags.logitsOut, { cols: C, resume: flags.restart !== true }) : undefined;
      if (logits) writers.push(logits);
      const done = Math.min(...writers.map((w) => w.rows));
      if (done > source.count) throw new OpnpError('INVALID_ARGUMENT', `${flags.out} already holds ${done} rows, more than the ${source.count} samples of the dataset`, { hint: 'Pass --restart to start over' });
      if (done > 0) info(`resuming after ${done} of ${source.count} samples`);
      const remaining = Uint32Array.from({ length: source.count - done }, (_, i) => done + i);
      const progress = progressFactory(io, quiet)('extract');
      let position = done;
      try {
        if (remaining.length > 0) {
          for await (const batch of source.batches({
            subset: remaining,
            batchSize: flags.batchSize,
            ...(io.signal ? { signal: io.signal } : {}),
            onProgress: (e) => progress.update({ ...e, count: done + e.count, total: source.count }),
          })) {
            await appendMissing(features, position, batch.features.data, D);
            if (logits) await appendMissing(logits, position, batch.logits.data, C);
            position += batch.indices.length;
          }
        }
      } catch (error) {
        progress.done();
        if (io.signal?.aborted) throw new InterruptedError(`interrupted after ${position} of ${source.count} samples; partial output kept in ${flags.out}.partial, rerun the same command to resume`);
        throw error;
      }
      progress.done();
      for (const w of writers) await w.finalize();
      writers.length = 0;
      if (flags.labelsOut !== undefined) {
        const labels = await source.readLabels();
        await writeNpy(flags.labelsOut, { dtype: 'float64', shape: [labels.length], data: Float64Array.from(labels) });
      }
      info(`wrote ${source.count} x ${D} features to ${flags.out}${logits ? ` and ${source.count} x ${C} logits to ${flags.logitsOut}` : ''}`);
    } finally {
      for (const w of writers) await w.close();
      await model.extractor.dispose();
    }
  });
}
