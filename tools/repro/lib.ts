/**
 * Shared runner of the paper-reproduction scripts: builds the `opnp eval` command line of a setting from a
 * data root laid out as in README.md, runs it in-process through @opnp/cli's `runCli`, prints our table and
 * the paper's numbers beside ours (when a setting carries them).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliIo, type EvalReport } from '@opnp/cli';

/** Average FPR95 / AUROC of one method as printed in the paper (percent). */
export interface PaperRow {
  readonly method: string;
  readonly fpr95: number;
  readonly auroc: number;
}

/** The paper's numbers of a setting, with where they were copied from. */
export interface PaperTable {
  readonly source: string;
  readonly rows: readonly PaperRow[];
}

/** One reproduction setting. */
export interface Setting {
  readonly title: string;
  /** Dataset specs relative to the data root. */
  readonly train: (root: string) => string;
  readonly test: (root: string) => string;
  readonly ood: (root: string) => readonly { name: string; spec: string }[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Image resizing when it differs from the CLI's default (shorter side 256, Pillow bilinear, crop to the input). */
  readonly resize?: { readonly shorterSide: number; readonly kernel: 'pil-bilinear' | 'pil-bicubic' };
  /** The paper's numbers, or null when they are not bundled (see README). */
  readonly paper: PaperTable | null;
}

/** Methods of the paper's tables that the CLI has. */
export const REPRO_METHODS = 'msp,maxlogit,energy,gradnorm,react,dice,dice+react,ash-s,knn,opp,onp,opnp,opnp+react';

const USAGE = `usage: <script> --data-root <dir> --model <model.onnx> [--save <results dir>] [-- <extra opnp eval flags>]`;

/** Parses the script's own flags; everything after `--` goes to `opnp eval` unchanged. */
export function parseReproArgs(args: readonly string[]): { dataRoot: string; model: string; save?: string; extra: string[] } {
  const split = args.indexOf('--');
  const own = split >= 0 ? args.slice(0, split) : [...args];
  const extra = split >= 0 ? args.slice(split + 1) : [];
  const value = (flag: string) => {
    const i = own.indexOf(flag);
    return i >= 0 ? own[i + 1] : undefined;
  };
  const dataRoot = value('--data-root');
  const model = value('--model');
  if (!dataRoot || !model) throw new Error(USAGE);
  const save = value('--save');
  return { dataRoot, model, ...(save ? { save } : {}), extra };
}

/** The `opnp eval` arguments of a setting. */
export function evalArgs(setting: Setting, options: { dataRoot: string; model: string; json: string; save?: string; extra: readonly string[] }): string[] {
  const root = options.dataRoot;
  return [
    'eval',
    '--model', options.model,
    '--train', setting.train(root),
    '--test', setting.test(root),
    ...setting.ood(root).flatMap((o) => ['--ood', `${o.name}=${o.spec}`]),
    '--mean', setting.mean.join(','),
    '--std', setting.std.join(','),
    ...(setting.resize ? ['--resize', String(setting.resize.shorterSide), '--resize-kernel', setting.resize.kernel] : []),
    '--methods', REPRO_METHODS,
    '--json', options.json,
    ...(options.save ? ['--save', options.save] : []),
    ...options.extra,
  ];
}

/** The paper beside ours: per method, our average FPR95 / AUROC and the paper's (percent). */
export function comparisonTable(report: EvalReport, paper: PaperTable | null): string {
  const lines: string[] = [];
  if (!paper) {
    lines.push('Paper (Chen et al., "Optimal Parameter and Neuron Pruning for Out-of-Distribution Detection", NeurIPS 2023):');
    lines.push('  the paper\'s numbers are not bundled with this script; fill `paper` in from the paper\'s tables (see tools/repro/README.md).');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`Average over the OOD sets, ours vs the paper (${paper.source}):`);
  lines.push(`${'Method'.padEnd(12)} ${'FPR95 ours'.padStart(10)} ${'paper'.padStart(7)}  ${'AUROC ours'.padStart(10)} ${'paper'.padStart(7)}`);
  for (const a of report.averages) {
    const p = paper.rows.find((r) => r.method === a.method);
    lines.push(
      `${a.method.padEnd(12)} ${(a.fpr95 * 100).toFixed(2).padStart(10)} ${(p ? p.fpr95.toFixed(2) : '-').padStart(7)}  ${(a.auroc * 100).toFixed(2).padStart(10)} ${(p ? p.auroc.toFixed(2) : '-').padStart(7)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Runs a setting: `opnp eval` in-process, then the comparison. Returns the exit code. */
export async function runSetting(setting: Setting, args: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseReproArgs(args);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'opnp-repro-'));
  try {
    const json = join(dir, 'report.json');
    io.stdout.write(`${setting.title}\n\n`);
    const code = await runCli(['node', 'opnp', ...evalArgs(setting, { ...parsed, json })], io);
    if (code !== 0) return code;
    const report = JSON.parse(readFileSync(json, 'utf8')) as EvalReport;
    io.stdout.write(`\n${comparisonTable(report, setting.paper)}`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Entry point of a script: runs on `process` and sets the exit code. */
export async function main(setting: Setting): Promise<void> {
  process.exitCode = await runSetting(setting, process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
