/**
 * Pieces shared by the commands: common flags, the per-run context, info lines and progress bars.
 */
import type { Command } from 'commander';
import { writeLine, type CliIo } from '../io.js';
import { createProgressListener } from '../progress.js';
import { RESIZE_KERNELS, type PreprocessOptionNames, type PreprocessOptions, type ResizeKernel } from '@opnp/datasets';
import { shardFromEnvironment, type OptionNames, type ProgressListener, type ShardInfo, type SkippedSample } from '@opnp/pipeline/extract';
import { flagError, UsageError } from '../errors.js';
import { collect, parseChoice, parseInteger, parseResize, parseShard } from '../options.js';
import { parseMean, parseStd } from '../normalisation-flags.js';
import { flagWarnings } from '../flag-warnings.js';

/** What every command action gets. */
export interface CommandContext {
  readonly io: CliIo;
  /**
   * Set by `opnp cluster`'s planner: the command runs only its up-front checks (flags, every output path) and hands
   * the files it would read here instead of starting the work (see cluster-checks.ts).
   */
  readonly checkOnly?: (inputs: readonly CheckedInput[]) => void;
}

/** A file or folder a command reads, as handed to {@link CommandContext.checkOnly}. */
export interface CheckedInput {
  readonly path: string;
  readonly what: string;
}

/**
 * Posts each write of a sensitivity checkpoint to the CLI's checkpoint board, for the message of a second Ctrl-C
 * (see signals.ts).
 */
export function checkpointPoster(io: CliIo): (saved: { readonly path: string; readonly visited: number; readonly planned: number }) => void {
  return (saved) => io.checkpoints?.post('checkpoint', `${saved.path} covers ${saved.visited} of ${saved.planned} training samples`);
}

/** Info lines go to stderr (never mixed into stdout output) unless `quiet`. */
export function infoWriter(io: CliIo, quiet: boolean): (message: string) => void {
  return quiet ? () => undefined : (message) => writeLine(io.stderr, `opnp: ${message}`);
}

/** The warnings said on each CLI's stderr, so each is said once per command (not once per run of a multi-run). */
const saidWarnings = new WeakMap<CliIo, Set<string>>();

/**
 * Warnings about the results go to stderr as `opnp: warning: ...`, even with --quiet (as the skipped-sample
 * warnings), each message once per command.
 */
export function warningWriter(io: CliIo): (message: string) => void {
  return (message) => {
    const said = saidWarnings.get(io) ?? new Set<string>();
    saidWarnings.set(io, said);
    if (said.has(message)) return;
    said.add(message);
    writeLine(io.stderr, `opnp: warning: ${message}`);
  };
}

/**
 * Progress on stderr (bars on a terminal, a line every few seconds otherwise: `OPNP_PROGRESS_EVERY=<seconds>`
 * sets how often, e.g. for cluster logs) unless `quiet`.
 */
export function progressListener(io: CliIo, quiet: boolean): ProgressListener {
  const every = Number(io.env.OPNP_PROGRESS_EVERY);
  return createProgressListener(io.stderr, !quiet, {
    ...(io.env.OPNP_PROGRESS_EVERY !== undefined && every >= 0 ? { plainEveryMs: every * 1000 } : {}),
    ...(io.now ? { now: io.now } : {}),
    ...(io.progressAck ? { afterLine: io.progressAck } : {}),
  });
}

/** `--checkpoint-every <seconds>`: how often a checkpoint is written besides at the end and on Ctrl-C. */
export function parseCheckpointEvery(text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw flagError('--checkpoint-every', `expected seconds >= 0, got "${text}"`);
  return v;
}

/** Names every skipped unreadable sample on stderr (even with --quiet: results leave it out). */
export function skipWarner(io: CliIo, set?: string): (skip: SkippedSample) => void {
  return (skip) => writeLine(io.stderr, `opnp: warning: skipped unreadable sample #${skip.index}${set ? ` of ${set}` : ''}: ${skip.file} (${skip.reason})`);
}

/** Adds the image preprocessing flags: `--mean` / `--std` (normalisation after x / 255), `--resize`, `--crop`, `--resize-kernel`. */
export function addPreprocessOptions(command: Command): Command {
  return command
    .option('--mean <m[,m,m]>', 'per-channel mean subtracted after x/255 (one value or one per channel)', parseMean)
    .option('--std <s[,s,s]>', 'per-channel standard deviation (> 0) divided after the mean (one value or one per channel)', parseStd)
    .option('--resize <n|h,w>', 'resize the shorter image side to n (keeping the aspect ratio), or to exactly height h and width w (e.g. 224,288), before the centre crop (default: input side / 0.875 for inputs >= 128, e.g. 256 for 224)', parseResize)
    .option('--crop <n>', 'centre-crop size (default: the model input size)', (v) => parseInteger('--crop', v))
    .option('--resize-kernel <kernel>', `resampling kernel: ${RESIZE_KERNELS.join(', ')} (default pil-bilinear = torchvision Resize on PIL images; timm ViTs use pil-bicubic)`, parseChoice<ResizeKernel>('--resize-kernel', RESIZE_KERNELS));
}

/**
 * Writes the warnings for valid but most likely mistaken flags (flag-warnings.ts: implausible --mean/--std,
 * --seed beside --seeds, a repeated --model, --val-ood reading an --ood set, by path or as a copy) before `command` runs, even with
 * --quiet, as `opnp: warning: ...` lines on stderr.
 */
export function addFlagWarnings(command: Command, io: CliIo): Command {
  return command.hook('preAction', async (_command, action) => {
    for (const warning of await flagWarnings({ values: action.opts(), given: (name) => action.getOptionValueSource(name) === 'cli' })) writeLine(io.stderr, `opnp: warning: ${warning}`);
  });
}

/** The image worker count: `--image-workers`, else `--threads`, else the library's default (the cores, at most 8). */
export function imageWorkersOption(flags: { readonly imageWorkers?: number; readonly threads?: number }): { imageWorkers?: number } {
  const workers = flags.imageWorkers ?? flags.threads;
  return workers !== undefined ? { imageWorkers: workers } : {};
}

/** The preprocessing flags that were given. */
export function preprocessFlags(options: { mean?: number[]; std?: number[]; resize?: number | [number, number]; crop?: number; resizeKernel?: ResizeKernel }): PreprocessOptions {
  return {
    ...(options.mean ? { mean: options.mean } : {}),
    ...(options.std ? { std: options.std } : {}),
    ...(options.resize !== undefined ? { resize: options.resize } : {}),
    ...(options.crop !== undefined ? { centerCrop: options.crop } : {}),
    ...(options.resizeKernel !== undefined ? { kernel: options.resizeKernel } : {}),
  };
}

/** What the library's messages call the preprocessing options in the CLI: the flags that set them. */
export const PREPROCESS_FLAG_NAMES: PreprocessOptionNames = Object.freeze({ mean: '--mean', std: '--std', resize: '--resize', centerCrop: '--crop', kernel: '--resize-kernel' });

/** What the pipeline's messages call its options: the flags (`--restart`, not the library's `restart: true`). */
export const CLI_OPTION_NAMES: OptionNames = Object.freeze({
  restart: '--restart',
  checkpoint: '--checkpoint',
  out: '--out',
  train: '--train',
  test: '--test',
  ood: '--ood',
  valOod: '--val-ood',
  data: '--data',
  trainLabels: '--train-labels',
  testLabels: '--test-labels',
  methods: '--methods',
  trainFraction: '--train-fraction',
  fitSamples: '--fit-samples',
  seed: '--seed',
  sensitivityState: '--sensitivity-state',
  batchSize: '--batch-size',
  sensitivityRun: 'opnp sensitivity (or opnp eval) command',
  mergeStates: 'opnp sensitivity merge',
});

/** The preprocessing flags that were given, for the pipeline, with the names its messages are to call them by (`--mean`, not `preprocess.mean`). */
export function preprocessArguments(options: Parameters<typeof preprocessFlags>[0]): { preprocess: PreprocessOptions; preprocessNames: PreprocessOptionNames } {
  return { preprocess: preprocessFlags(options), preprocessNames: PREPROCESS_FLAG_NAMES };
}

/** Adds `--batch-size`, `--threads`, `--image-workers`, `--execution-provider` and `--quiet`. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--batch-size <n>', 'samples per model batch', (v) => parseInteger('--batch-size', v), 256)
    .option('--threads <n>', 'threads of the model runtime (default: the backend\'s choice)', (v) => parseInteger('--threads', v))
    .option('--image-workers <n>', 'worker threads decoding and preprocessing image files, 0 = none (default: --threads, else the number of cores, at most 8)', (v) => parseInteger('--image-workers', v, { allowZero: true }))
    .option('--execution-provider <name>', 'model runtime device as onnxruntime names it: cpu, cuda, ... (repeatable, in order of preference: each model node runs on the first listed provider that supports it; every listed provider must be installed)', collect, undefined)
    .option('-q, --quiet', 'no progress bars or info lines on stderr');
}

/**
 * `--shard i/n`, or `--shard auto` from the array job's environment (said on stderr unless quiet); undefined without
 * `--shard`. `--shard-count` is the count `--shard auto` reads where the environment lacks one, so anywhere else
 * (no `--shard`, or `--shard i/n`, which gives its own count) it would be ignored: a usage error.
 */
export function resolveShard(io: CliIo, flags: { shard?: string; shardCount?: number; quiet?: boolean }): ShardInfo | undefined {
  if (flags.shardCount !== undefined && flags.shard !== 'auto') {
    throw new UsageError(`--shard-count is the shard count of --shard auto (a Kubernetes Indexed Job's completions)${flags.shard === undefined ? ': pass --shard auto too' : `; --shard ${flags.shard} gives its own count: drop --shard-count`}`);
  }
  if (flags.shard === undefined) return undefined;
  if (flags.shard !== 'auto') return parseShard(flags.shard);
  const shard = shardFromEnvironment(io.env, flags.shardCount);
  infoWriter(io, flags.quiet === true)(`shard ${shard.index}/${shard.count} (from the array job's environment)`);
  return shard;
}

/** Adds `--shard <i/n|auto>` (described by `what`) and `--shard-count <n>`. */
export function addShardOptions(command: Command, what: string): Command {
  return command
    .option('--shard <i/n|auto>', `${what}; "auto": from the array job (Slurm, Kubernetes Indexed Job, AWS Batch)`)
    .option('--shard-count <n>', 'with --shard auto on a Kubernetes Indexed Job: the completion count (or set OPNP_SHARD_COUNT); refused without --shard auto', (v) => parseInteger('--shard-count', v));
}

/** The value of a required flag, checked by hand (commands with subcommands cannot declare required options). */
export function requiredFlag<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`required option '${flag}' not specified`);
  return value;
}
