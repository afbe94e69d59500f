/**
 * Pieces shared by the commands: common flags, the per-run context, info lines and progress bars.
 */
import type { Command } from 'commander';
import { writeLine, type CliIo } from '../io.js';
import { createProgress, type Progress } from '../progress.js';
import { parseInteger, parseNumberList } from '../options.js';

/** What every command action gets. */
export interface CommandContext {
  readonly io: CliIo;
}

/** Info lines go to stderr (never mixed into stdout output) unless `quiet`. */
export function infoWriter(io: CliIo, quiet: boolean): (message: string) => void {
  return quiet ? () => undefined : (message) => writeLine(io.stderr, `opnp: ${message}`);
}

/** Progress bars on stderr (TTY only) unless `quiet`. */
export function progressFactory(io: CliIo, quiet: boolean): (label: string) => Progress {
  return (label) => createProgress(io.stderr, label, !quiet);
}

/** Adds `--mean` / `--std` (per-channel normalisation after x / 255). */
export function addNormalisationOptions(command: Command): Command {
  return command
    .option('--mean <m[,m,m]>', 'per-channel mean subtracted after x/255 (one value or one per channel)', (v) => parseNumberList('--mean', v))
    .option('--std <s[,s,s]>', 'per-channel standard deviation divided after the mean (one value or one per channel)', (v) => parseNumberList('--std', v));
}

/** Adds `--batch-size` and `--quiet`. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--batch-size <n>', 'samples per model batch', (v) => parseInteger('--batch-size', v), 256)
    .option('-q, --quiet', 'no progress bars or info lines on stderr');
}

/** Normalisation options as the pipeline takes them. */
export function normalisation(options: { mean?: number[]; std?: number[] }): { mean?: number[]; std?: number[] } {
  return { ...(options.mean ? { mean: options.mean } : {}), ...(options.std ? { std: options.std } : {}) };
}
