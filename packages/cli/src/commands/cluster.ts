/**
 * `opnp cluster slurm|k8s <opnp command...> --shards N`: the batch-system side of sharded runs. It turns an
 * `opnp sensitivity`, `opnp extract` or `opnp eval` command into an array job of `--shard auto` tasks (a
 * Slurm job array script, or a Kubernetes Indexed Job manifest) and, with `--merge`, the job that merges
 * the shards' outputs once every task has succeeded (`opnp eval merge` computes the report from the
 * shards' scores). Each task writes files of its own (per-shard state, checkpoint, features and score
 * files, named `<name>.shard-002-of-004.npy`), so a requeued or retried task resumes its own checkpoint
 * or partial output. `--submit` (Slurm) runs `sbatch --parsable` and prints
 * the job ids.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { shardFileName, sidecarPath } from '@opnp/pipeline';
import { flagError, UsageError } from '../errors.js';
import { writeLine } from '../io.js';
import { parseInteger } from '../options.js';
import { scanArgs } from '../command-line.js';
import { usageProblem } from '../usage-problems.js';
import type { CommandContext } from './shared.js';
import { assertMovableAside, existingOutputs, movedAsideStamp, moveAside, planProblem, problemFinding, problemMovedAside, workingFolder } from './cluster-checks.js';
import type { OpnpError } from '@opnp/core/base';
import { lowerFirstWord } from '../message-case.js';
import { didYouMean } from '../suggest.js';

/** Stands for the zero-padded 1-based shard number inside a word; rendered as `${SHARD}`. */
const SHARD = '\u0000SHARD\u0000';

/** The tasks' command and the merge command of a sharded run, as argument lists (words may hold {@link SHARD}). */
export interface ShardedPlan {
  /** `sensitivity`, `extract` or `eval`. */
  readonly command: string;
  readonly shards: number;
  /** Digits of the padded shard number. */
  readonly width: number;
  /** Arguments of every task after `opnp` (with `--shard auto`). */
  readonly task: readonly string[];
  /** Arguments of the merge after `opnp`. */
  readonly merge: readonly string[];
  /** Files the merge reads (for the Kubernetes merge Job's wait). */
  readonly shardFiles: readonly string[];
  /**
   * The files and folders the merge writes, which a reader takes in place of the shards (merged features and states)
   * or which stand for the whole run (the report): an earlier run's are moved aside when a new run is submitted.
   */
  readonly finalOutputs: readonly string[];
}

type PlanParts = Omit<ShardedPlan, 'command' | 'shards' | 'width'>;

const given = (paths: readonly (string | undefined)[]): string[] => paths.filter((p): p is string => p !== undefined);

/** Index of `--flag` (`--flag v` or `--flag=v`) in `args`, with its value. */
function findFlag(args: readonly string[], flag: string): { at: number; value: string | undefined; span: number } | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === flag) return { at: i, value: args[i + 1], span: 2 };
    if (a.startsWith(`${flag}=`)) return { at: i, value: a.slice(flag.length + 1), span: 1 };
  }
  return undefined;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  return findFlag(args, flag)?.value;
}

/** `args` without the given flags (value-taking unless listed in `switches`). */
function without(args: readonly string[], flags: readonly string[], switches: readonly string[] = []): string[] {
  const out = [...args];
  for (const flag of [...flags, ...switches]) {
    for (let hit = findFlag(out, flag); hit; hit = findFlag(out, flag)) out.splice(hit.at, switches.includes(flag) && hit.span === 2 ? 1 : hit.span);
  }
  return out;
}

/** `name.npy` with the shard tag of the {@link SHARD} placeholder. */
function shardPattern(path: string, shards: number): string {
  const probe = shardFileName(path, { index: 1, count: shards });
  const width = Math.max(3, String(shards).length);
  return probe.replace(`.shard-${'1'.padStart(width, '0')}-of-`, `.shard-${SHARD}-of-`);
}

function withoutNpy(path: string): string {
  return path.endsWith('.npy') ? path.slice(0, -4) : path;
}

function refuseRestart(args: readonly string[]): void {
  if (args.includes('--restart')) throw new UsageError('--restart in an array job would make a requeued task discard its own checkpoint; delete the old outputs instead');
}

/** The planner gives every task `--shard auto` (its own shard from the array index): a `--shard` of the user's would be dropped silently. */
function refuseShardFlags(args: readonly string[]): void {
  for (const flag of ['--shard', '--shard-count']) {
    const hit = findFlag(args, flag);
    if (hit) throw new UsageError(`${args.slice(hit.at, hit.at + hit.span).join(' ')} in the command to shard: opnp cluster gives every task its own shard (--shard auto), out of --shards; drop ${flag}`);
  }
}

function sensitivityPlan(args: readonly string[], shards: number): PlanParts {
  const out = flagValue(args, '--out');
  const neuronOut = flagValue(args, '--neuron-out');
  const stateOut = flagValue(args, '--state-out');
  const named = stateOut ?? out ?? neuronOut;
  if (named === undefined) throw new UsageError('the sensitivity command writes nothing: pass --out, --neuron-out or --state-out');
  // Every task writes its state (merged at the end) and checkpoints to its own files.
  const base = stateOut ?? `${withoutNpy(named)}.state.npy`;
  const checkpoint = flagValue(args, '--checkpoint') ?? `${withoutNpy(base)}.checkpoint.npy`;
  const stripped = without(args, ['--out', '--neuron-out', '--neuron-statistic', '--state-out', '--checkpoint', '--shard', '--shard-count']);
  const task = [...stripped, '--shard', 'auto', '--state-out', shardPattern(base, shards), '--checkpoint', shardPattern(checkpoint, shards)];
  const shardFiles = Array.from({ length: shards }, (_, i) => shardFileName(base, { index: i + 1, count: shards }));
  const statistic = flagValue(args, '--neuron-statistic');
  const merge = ['sensitivity', 'merge', ...shardFiles, ...(out !== undefined ? ['--out', out] : []), ...(neuronOut !== undefined ? ['--neuron-out', neuronOut] : []), ...(statistic !== undefined ? ['--neuron-statistic', statistic] : []), ...(stateOut !== undefined ? ['--state-out', stateOut] : [])];
  return { task, merge, shardFiles, finalOutputs: given([out, neuronOut, stateOut, stateOut !== undefined ? sidecarPath(stateOut) : undefined]) };
}

function extractPlan(args: readonly string[], shards: number): PlanParts {
  const out = flagValue(args, '--out');
  if (out === undefined) throw new UsageError("the extract command needs --out <features.npy>");
  const task = [...without(args, ['--shard', '--shard-count']), '--shard', 'auto'];
  const shardFiles = Array.from({ length: shards }, (_, i) => shardFileName(out, { index: i + 1, count: shards }));
  const merge = ['extract', 'merge', ...shardFiles, '--out', out];
  for (const flag of ['--logits-out', '--labels-out', '--indices-out']) {
    const v = flagValue(args, flag);
    if (v !== undefined) merge.push(flag, v);
  }
  const finalOutputs = given([out, sidecarPath(out), ...['--logits-out', '--labels-out', '--indices-out'].map((flag) => flagValue(args, flag))]);
  return { task, merge, shardFiles, finalOutputs };
}

function evalPlan(args: readonly string[], shards: number): PlanParts {
  if (args.filter((a) => a === '--model' || a.startsWith('--model=')).length > 1 || findFlag(args, '--seeds')) {
    throw new UsageError('a sharded eval is one run: give one --model and no --seeds (submit one sharded eval per checkpoint or seed)');
  }
  const json = flagValue(args, '--json');
  const save = flagValue(args, '--save');
  const format = flagValue(args, '--format');
  if (json === '-' && format !== undefined) throw new UsageError(`--format ${format} cannot go with --json -, which prints the JSON report alone: drop --format, or give --json a file`);
  // The shards write per-sample scores; the merge computes the report and writes --json / --save.
  const scores = flagValue(args, '--scores-out') ?? (json !== undefined && json !== '-' ? `${json.replace(/\.json$/, '')}.scores.npy` : 'eval-scores.npy');
  const task = [...without(args, ['--json', '--save', '--format', '--scores-out', '--shard', '--shard-count']), '--shard', 'auto', '--scores-out', scores];
  const shardFiles = Array.from({ length: shards }, (_, i) => shardFileName(scores, { index: i + 1, count: shards }));
  const merge = ['eval', 'merge', ...shardFiles, ...(json !== undefined ? ['--json', json] : []), ...(save !== undefined ? ['--save', save] : []), ...(format !== undefined ? ['--format', format] : [])];
  return { task, merge, shardFiles, finalOutputs: given([json === '-' ? undefined : json, save]) };
}

const PLANS: Record<string, (args: readonly string[], shards: number) => PlanParts> = { sensitivity: sensitivityPlan, extract: extractPlan, eval: evalPlan };

/**
 * The task and merge commands of `opnp <args>` split into `shards` array tasks.
 *
 * @throws UsageError for commands that cannot be sharded, or without outputs
 */
export function planShardedRun(args: readonly string[], shards: number): ShardedPlan {
  const [command = '', ...rest] = args;
  const planOf = Object.hasOwn(PLANS, command) ? PLANS[command]! : undefined;
  const suggestion = planOf ? undefined : didYouMean(command, Object.keys(PLANS));
  if (!planOf) throw new UsageError(`cannot shard "${command}"${suggestion ? ` (${suggestion})` : ''}: give an opnp sensitivity, extract or eval command (e.g. opnp cluster slurm extract --model m.onnx --data d --out f.npy --shards 4)`);
  if (rest[0] === 'merge') throw new UsageError(`opnp ${command} merge is the merge step itself: give the ${command} command and --merge`);
  refuseRestart(rest);
  refuseShardFlags(rest);
  const plan = planOf(rest, shards);
  return { command, shards, width: Math.max(3, String(shards).length), ...plan, task: [command, ...plan.task] };
}

/** The arguments of the task of shard `index` (1-based) as it runs them: `--shard index/n`, its own file names. */
export function taskOfShard(plan: ShardedPlan, index: number): string[] {
  const number = String(index).padStart(plan.width, '0');
  return plan.task.map((word, i) => (word === 'auto' && plan.task[i - 1] === '--shard' ? `${index}/${plan.shards}` : word.split(SHARD).join(number)));
}

/** A word for bash: bare when safe, else single-quoted; words with the shard placeholder are double-quoted around `${SHARD}`. */
export function shellWord(word: string): string {
  if (word.includes(SHARD)) return `"${word.split(SHARD).map((part) => part.replace(/[\\$`"]/g, '\\$&')).join('${SHARD}')}"`;
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/** Resources and scheduling flags of `opnp cluster`. */
export interface ClusterFlags {
  shards: number;
  time?: string;
  cpus?: number;
  mem?: string;
  gpus?: number;
  partition?: string;
  jobName?: string;
  logDir: string;
  chdir?: string;
  opnp: string;
  merge?: boolean;
  submit?: boolean;
  sbatch: string;
}

function jobName(flags: ClusterFlags, plan: ShardedPlan): string {
  return flags.jobName ?? `opnp-${plan.command}`;
}

/** `#SBATCH` lines shared by the array and the merge job. */
function sbatchHeader(flags: ClusterFlags, name: string, log: string, gpus: boolean): string[] {
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${name}`,
    `#SBATCH --output=${log}`,
    '#SBATCH --open-mode=append',
    `#SBATCH --chdir=${resolve(flags.chdir ?? '.')}`,
    ...(flags.time !== undefined ? [`#SBATCH --time=${flags.time}`] : []),
    ...(flags.partition !== undefined ? [`#SBATCH --partition=${flags.partition}`] : []),
    ...(flags.cpus !== undefined ? [`#SBATCH --cpus-per-task=${flags.cpus}`] : []),
    ...(flags.mem !== undefined ? [`#SBATCH --mem=${flags.mem}`] : []),
    ...(gpus && flags.gpus !== undefined ? [`#SBATCH --gres=gpu:${flags.gpus}`] : []),
  ];
}

function usesShard(plan: ShardedPlan): boolean {
  return plan.task.some((w) => w.includes(SHARD));
}

function opnpLine(flags: ClusterFlags, args: readonly string[], threads: boolean): string {
  const extra = threads && flags.cpus !== undefined && findFlag(args, '--threads') === undefined ? ['--threads', String(flags.cpus)] : [];
  return `${flags.opnp} ${[...args, ...extra].map(shellWord).join(' ')}`;
}

/** The sbatch script of the array job: one task per shard, each resuming its own files when requeued. */
export function slurmArrayScript(plan: ShardedPlan, flags: ClusterFlags): string {
  const name = jobName(flags, plan);
  const last = plan.shards - 1;
  return [
    ...sbatchHeader(flags, name, `${flags.logDir}/${name}-%A_%a.log`, true),
    `#SBATCH --array=0-${last}`,
    '#SBATCH --requeue',
    `# Generated by opnp cluster slurm: ${plan.shards} shards of opnp ${plan.command}. A requeued (preempted) task`,
    '# resumes its own checkpoint / partial files; rerun one shard alone with sbatch --array=<i> <this script>.',
    'set -euo pipefail',
    '# Pin the array bounds so a task resubmitted alone is still shard i of all of them (--shard auto reads these).',
    `export SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=${last}`,
    ...(usesShard(plan) ? [`SHARD=$(printf '%0${plan.width}d' $((SLURM_ARRAY_TASK_ID + 1)))`] : []),
    'export OPNP_PROGRESS_EVERY="${OPNP_PROGRESS_EVERY:-60}"',
    `${opnpLine(flags, plan.task, true)}`,
    '',
  ].join('\n');
}

/** The sbatch script of the merge job (submitted with `--dependency=afterok:<array job>`). */
export function slurmMergeScript(plan: ShardedPlan, flags: ClusterFlags): string {
  const name = `${jobName(flags, plan)}-merge`;
  return [
    ...sbatchHeader(flags, name, `${flags.logDir}/${name}-%j.log`, false),
    // A failed or cancelled task makes afterok impossible: cancel the merge then, instead of leaving it pending
    // forever (DependencyNeverSatisfied).
    '#SBATCH --kill-on-invalid-dep=yes',
    `# Generated by opnp cluster slurm: merges the ${plan.shards} shards once every array task succeeded.`,
    'set -euo pipefail',
    `${opnpLine(flags, plan.merge, false)}`,
    '',
  ].join('\n');
}

/** What `opnp cluster slurm` prints: the array script, or with `--merge` a bash script submitting both with the dependency. */
export function slurmScript(plan: ShardedPlan, flags: ClusterFlags): string {
  if (flags.merge !== true) return slurmArrayScript(plan, flags);
  return [
    '#!/usr/bin/env bash',
    `# Generated by opnp cluster slurm: submits ${plan.shards} array tasks of opnp ${plan.command} and the merge job`,
    '# that starts when all of them succeeded (--dependency=afterok). Run it with bash on the login node.',
    'set -euo pipefail',
    `cd ${shellWord(resolve(flags.chdir ?? '.'))}   # the jobs' working folder: the paths below are relative to it`,
    `mkdir -p ${shellWord(flags.logDir)}`,
    ...movableAsideLines(plan.finalOutputs),
    "array_id=$(sbatch --parsable <<'OPNP_ARRAY_JOB'",
    slurmArrayScript(plan, flags).trimEnd(),
    'OPNP_ARRAY_JOB',
    `) || { echo "opnp: sbatch failed: nothing was submitted${plan.finalOutputs.length > 0 ? ' and no earlier output was moved aside' : ''}" >&2; exit 1; }`,
    'array_id=${array_id%%;*}',
    "merge_id=$(sbatch --parsable --dependency=afterok:${array_id} <<'OPNP_MERGE_JOB'",
    slurmMergeScript(plan, flags).trimEnd(),
    'OPNP_MERGE_JOB',
    `) || { echo "opnp: sbatch failed: only the array job \${array_id} was submitted (cancel it with scancel \${array_id}, or submit the merge job yourself)${plan.finalOutputs.length > 0 ? '; no earlier output was moved aside' : ''}" >&2; exit 1; }`,
    ...moveAsideLines(plan.finalOutputs),
    'merge_id=${merge_id%%;*}',
    'echo "array ${array_id}"',
    'echo "merge ${merge_id}"',
    '',
  ].join('\n');
}

/** Bash lines refusing, before anything is submitted, to move an earlier run's output onto a taken `<path>.previous-<UTC time>`. */
function movableAsideLines(paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  return [
    "# An earlier run's final outputs are moved aside once both jobs are submitted: a failed run must not leave them",
    '# looking like its own, and a failed submission leaves them in place.',
    'stamp=$(date -u +%Y%m%dT%H%M%SZ)',
    `for old in ${paths.map(shellWord).join(' ')}; do`,
    '  if [ -e "$old" ] && [ -e "$old.previous-$stamp" ]; then echo "opnp: cannot move the earlier run\'s $old aside: $old.previous-$stamp exists; nothing was submitted" >&2; exit 1; fi',
    'done',
  ];
}

/** Bash lines moving an earlier run's final outputs aside to `<path>.previous-<UTC time>` (see cluster-checks.ts). */
function moveAsideLines(paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  return [
    `for old in ${paths.map(shellWord).join(' ')}; do`,
    '  if [ -e "$old" ]; then mv -- "$old" "$old.previous-$stamp" && echo "opnp: note: moved the earlier run\'s $old aside to $old.previous-$stamp" >&2; fi',
    'done',
  ];
}

/** Runs `sbatch --parsable [extra...]` with `script` on stdin; resolves to the job id. */
function sbatch(binary: string, extra: readonly string[], script: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(binary, ['--parsable', ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => fail(new UsageError(`cannot run ${binary}: ${e.message} (is Slurm installed here? pass --sbatch <path>, or print the script without --submit)`)));
    child.on('close', (code) => {
      const id = out.trim().split(';')[0] ?? '';
      if (code === 0 && /^\d+$/.test(id)) done(id);
      else fail(new Error(`${binary} failed (exit ${code}): ${(err || out).trim().split('\n')[0]}`));
    });
    // An sbatch that fails before reading the script closes its stdin: its exit code (close, above) is the error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
}

/**
 * Submits the array (and the merge job) after the checks passed: the log folder is created (Slurm starts no job
 * whose --output folder is missing); an earlier run's final outputs are moved aside once sbatch accepted the jobs, so
 * a failed submission leaves them where they were (and says so).
 */
async function submitSlurm(plan: ShardedPlan, flags: ClusterFlags, folder: string, context: CommandContext): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(resolve(folder, flags.logDir), { recursive: true });
  const previous = await existingOutputs(plan.finalOutputs, folder);
  const stamp = movedAsideStamp(new Date());
  await assertMovableAside(previous, folder, stamp);
  const submitted: string[] = [];
  try {
    submitted.push(`array ${await sbatch(flags.sbatch, [], slurmArrayScript(plan, flags))}`);
    if (flags.merge === true) submitted.push(`merge ${await sbatch(flags.sbatch, [`--dependency=afterok:${submitted[0]!.slice(6)}`], slurmMergeScript(plan, flags))}`);
  } catch (error) {
    throw notSubmittedError(error, submitted, previous);
  }
  const moved = await moveAside(previous, folder, stamp);
  previous.forEach((path, i) => writeLine(context.io.stderr, `opnp: note: moved the earlier run's ${path} aside to ${moved[i]} (the new run writes ${path})`));
  for (const line of submitted) writeLine(context.io.stdout, line);
}

/** The error of a failed sbatch, saying which jobs it did submit and that an earlier run's outputs stayed in place. */
function notSubmittedError(error: unknown, submitted: readonly string[], previous: readonly string[]): Error {
  const message = error instanceof Error ? error.message : String(error);
  const done = submitted.length > 0 ? `only the ${submitted.map((s) => s.replace(' ', ' job ')).join(', ')} was submitted (cancel it with scancel ${submitted[0]!.slice(6)}, or submit the merge job yourself)` : 'nothing was submitted';
  const kept = previous.length > 0 ? `; the earlier run's ${previous.join(', ')} ${previous.length === 1 ? 'was' : 'were'} not moved aside` : '; nothing was moved aside';
  const text = `${message}; ${done}${kept}`;
  return error instanceof UsageError ? new UsageError(text) : new Error(text);
}

/** Kubernetes flags of `opnp cluster k8s`. */
export interface K8sFlags {
  shards: number;
  image: string;
  pvc: string;
  mount: string;
  name?: string;
  cpus?: number;
  mem?: string;
  gpus?: number;
  opnp: string;
  merge?: boolean;
  backoffLimit: number;
}

type Json = string | number | boolean | Json[] | { [key: string]: Json };

/** A word of a container shell script: `$` doubled so Kubernetes leaves `$(...)` to the shell. */
function k8sShell(words: readonly string[], opnp: string): string {
  return `${opnp} ${words.map(shellWord).join(' ')}`;
}

function resources(flags: K8sFlags, gpus: boolean): Json {
  const r: { [key: string]: Json } = {};
  if (flags.cpus !== undefined) r.cpu = String(flags.cpus);
  if (flags.mem !== undefined) r.memory = flags.mem.replace(/([KMGT])$/, '$1i');
  if (gpus && flags.gpus !== undefined) r['nvidia.com/gpu'] = String(flags.gpus);
  return { requests: r, limits: r };
}

function podSpec(flags: K8sFlags, container: { [key: string]: Json }, extra: { [key: string]: Json } = {}): Json {
  return {
    restartPolicy: 'Never',
    ...extra,
    containers: [{ name: 'opnp', image: flags.image, workingDir: flags.mount, ...container, volumeMounts: [{ name: 'work', mountPath: flags.mount }] }],
    volumes: [{ name: 'work', persistentVolumeClaim: { claimName: flags.pvc } }],
  };
}

/** The Indexed Job of the shards and (with `merge`) the merge Job, as objects (see {@link k8sYaml}). */
export function k8sManifests(plan: ShardedPlan, flags: K8sFlags): Json[] {
  const name = flags.name ?? `opnp-${plan.command}`;
  const script = [...(usesShard(plan) ? [`SHARD=$(printf '%0${plan.width}d' $((JOB_COMPLETION_INDEX + 1)))`] : []), `exec ${k8sShell(plan.task, flags.opnp)}`].join('\n');
  const shards: Json = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { app: 'opnp', 'opnp/step': 'shards' } },
    spec: {
      completionMode: 'Indexed',
      completions: plan.shards,
      parallelism: plan.shards,
      backoffLimit: flags.backoffLimit,
      template: {
        metadata: { labels: { app: 'opnp', 'opnp/step': 'shards' } },
        spec: podSpec(flags, {
          command: ['/bin/sh', '-c', script.replace(/\$/g, '$$$$')],
          env: [{ name: 'OPNP_SHARD_COUNT', value: String(plan.shards) }, { name: 'OPNP_PROGRESS_EVERY', value: '60' }],
          resources: resources(flags, true),
        }),
      },
    },
  };
  if (flags.merge !== true) return [shards];
  // A shard is done when its file and its sidecar are both there (the last two files a task writes).
  const sidecars = plan.shardFiles.map((f) => `[ -f ${shellWord(f)} ] && [ -f ${shellWord(`${f}.json`)} ]`).join(' && ');
  const wait = `until ${sidecars}; do sleep 30; done`;
  const merge: Json = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${name}-merge`, labels: { app: 'opnp', 'opnp/step': 'merge' } },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 2,
      template: {
        metadata: { labels: { app: 'opnp', 'opnp/step': 'merge' } },
        spec: podSpec(flags, { command: ['/bin/sh', '-c', k8sShell(plan.merge, flags.opnp).replace(/\$/g, '$$$$')], resources: resources(flags, false) }, {
          initContainers: [{ name: 'wait-for-shards', image: flags.image, workingDir: flags.mount, command: ['/bin/sh', '-c', wait.replace(/\$/g, '$$$$')], volumeMounts: [{ name: 'work', mountPath: flags.mount }] }],
        }),
      },
    },
  };
  return [shards, merge];
}

/** Block YAML of JSON values (strings double-quoted, which YAML reads as JSON strings). */
function yamlOf(value: Json, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    return value.map((v) => `\n${indent}-${typeof v === 'object' && !Array.isArray(v) ? yamlOf(v, `${indent}  `).replace(/^\n\s*/, ' ') : yamlOf(v, `${indent}  `)}`).join('');
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return ' {}';
    return keys.map((k) => `\n${indent}${/^[A-Za-z0-9_./-]+$/.test(k) ? k : JSON.stringify(k)}:${yamlOf(value[k]!, `${indent}  `)}`).join('');
  }
  return ` ${JSON.stringify(value)}`;
}

/** The manifests as one YAML stream (`---` between documents). */
export function k8sYaml(manifests: readonly Json[], header: string): string {
  return `${header}${manifests.map((m) => yamlOf(m, '').replace(/^\n/, '')).join('\n---\n')}\n`;
}

function addCommonFlags(command: Command): Command {
  return command
    .argument('<command...>', 'the opnp command to shard: sensitivity ..., extract ... or eval ... (with its flags)')
    .requiredOption('--shards <n>', 'number of shards (array tasks)', (v) => parseInteger('--shards', v))
    .option('--cpus <n>', 'CPUs per task (also passed as --threads)', (v) => parseInteger('--cpus', v))
    .option('--mem <size>', 'memory per task, e.g. 8G', (v) => parseMemory(v))
    .option('--gpus <n>', 'GPUs per task', (v) => parseInteger('--gpus', v))
    .option('--merge', 'also the job that merges the shards when all have succeeded')
    .option('--opnp <command>', 'how the tasks run opnp', 'opnp')
    .allowUnknownOption();
}

function parseMemory(text: string): string {
  if (!/^\d+[KMGT]?$/.test(text)) throw flagError('--mem', `expected a size such as 8G or 16000M, got "${text}"`);
  return text;
}

/** The time formats sbatch accepts (`man sbatch`, --time), so that a mistyped limit fails here, not when the script is submitted. */
const SLURM_TIME = /^(?:\d+(?::\d+){0,2}|\d+-\d+(?::\d+){0,2}|UNLIMITED|INFINITE)$/i;

function parseSlurmTime(text: string): string {
  if (!SLURM_TIME.test(text)) throw flagError('--time', `expected a Slurm time limit such as 02:00:00, 90 (minutes) or 1-12:00:00 (days-hours:minutes:seconds), got "${text}"`);
  return text;
}

const SLURM_HELP = `
Examples:
  opnp cluster slurm sensitivity --model m.onnx --train ./imagenet#train --out sens.npy --state-out state.npy \\
    --shards 16 --time 02:00:00 --cpus 8 --mem 16G --merge > submit.sh && bash submit.sh
  opnp cluster slurm extract --model m.onnx --data ./imagenet#train --out feats.npy --logits-out logits.npy \\
    --shards 16 --gpus 1 --merge --submit
  opnp cluster slurm eval --model m.onnx --train features:feats.npy#logits=logits.npy --test features:val.npy \\
    --ood inat=features:inat.npy --sensitivity-state state.npy --json report.json --shards 8 --merge --submit

Without --merge it prints the array job's sbatch script; with --merge a bash script that submits it and the
merge job (--dependency=afterok). Flags that are not opnp cluster's own go to the opnp command. See
docs/cluster.md.`;

const K8S_HELP = `
Example:
  opnp cluster k8s extract --model m.onnx --data ./imagenet#train --out feats.npy --shards 16 \\
    --image registry.example/opnp:1 --pvc opnp-work --gpus 1 --merge > jobs.yaml && kubectl apply -f jobs.yaml

Paths in the command are relative to the shared volume (--pvc, mounted at --mount, the working folder).`;

/** Without --merge the shards' outputs are all a run writes: say how they are used (the merged outputs are not written). */
function noteWithoutMerge(plan: ShardedPlan, flags: { merge?: boolean }, context: CommandContext): void {
  if (flags.merge === true) return;
  const use = plan.command === 'eval' ? 'compute the report afterwards with' : 'eval reads them in place of the merged file (features:, --sensitivity-state), or merge them afterwards with';
  writeLine(context.io.stderr, `opnp: note: without --merge the jobs write only the ${plan.shards} shard outputs (${plan.shardFiles[0]} ...); ${use}: opnp ${plan.merge.join(' ')}`);
}

/**
 * The plan of the command to shard, `args`, after its own usage errors (an unknown or twice-given option, an
 * unexpected argument), which every task would otherwise meet on the cluster.
 */
async function checkedPlan(cluster: Command, args: readonly string[], shards: number): Promise<ShardedPlan> {
  const plan = planShardedRun(args, shards);
  let program = cluster;
  while (program.parent) program = program.parent;
  const problem = await usageProblem(scanArgs(program, args), () => Promise.resolve(program));
  if (problem) throw new UsageError(`in the command to shard: ${problem}`);
  return plan;
}

/**
 * A printed script is submitted later, maybe elsewhere: what `--submit` would refuse or change is said on stderr (a
 * failed check, a missing log folder the array script does not create, an earlier run's outputs it does not move).
 */
async function warnBeforeSubmission(plan: ShardedPlan, flags: ClusterFlags, folder: string, problem: unknown, context: CommandContext): Promise<void> {
  const warn = (text: string) => writeLine(context.io.stderr, `opnp: warning: ${text}`);
  if (problem !== undefined) warn(`the jobs would fail: ${lowerFirstWord(problem instanceof Error ? problem.message : String(problem))}`);
  if (flags.merge === true) return; // the --merge script creates the log folder and moves an earlier run's outputs aside
  if (!(await existingOutputs([flags.logDir], folder)).length) warn(`the log folder ${flags.logDir} does not exist in ${folder}: Slurm starts no task without it (create it, or use --merge or --submit, which create it)`);
  const previous = await existingOutputs(plan.finalOutputs, folder);
  if (previous.length > 0) warn(`an earlier run's ${previous.join(', ')} ${previous.length === 1 ? 'is' : 'are'} still there and would be taken for this run's: move ${previous.length === 1 ? 'it' : 'them'} aside before submitting (--merge and --submit do)`);
}

/**
 * `problem`, unless it is about an earlier run's final output that the --merge script (or --submit) moves aside before
 * the merge runs (a --save folder holding files opnp did not write there): then the printed script comes with a note
 * of what it will do with it, and there is no problem.
 */
async function unlessMovedAside(problem: unknown, plan: ShardedPlan, flags: ClusterFlags, folder: string, context: CommandContext): Promise<unknown> {
  if (flags.merge !== true) return problem;
  const path = await problemMovedAside(problem, plan.finalOutputs, folder);
  if (path === undefined) return problem;
  const finding = lowerFirstWord(problemFinding(problem as OpnpError));
  const mover = flags.submit === true ? 'opnp cluster slurm --submit moves' : 'the script moves';
  writeLine(context.io.stderr, `opnp: note: ${finding}; ${mover} ${path} aside to ${path}.previous-<UTC time> once the jobs are submitted, with everything in it, and the merge writes a new ${path}`);
  return undefined;
}

/** Registers `opnp cluster slurm` and `opnp cluster k8s`. */
export function registerCluster(program: Command, context: CommandContext): void {
  const cluster = program.command('cluster').description('run a sharded opnp sensitivity / extract / eval as a Slurm job array or a Kubernetes Indexed Job, then merge');
  addCommonFlags(cluster.command('slurm').description('print (or --submit) the sbatch script of a job array of --shard auto tasks (+ the merge job)'))
    .option('--time <HH:MM:SS>', 'time limit per task (a Slurm time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED)', parseSlurmTime)
    .option('--partition <name>', 'Slurm partition')
    .option('--job-name <name>', 'job name (default opnp-<command>)')
    .option('--log-dir <dir>', 'folder of the per-task logs <name>-%A_%a.log', '.')
    .option('--chdir <dir>', 'working folder of the jobs (default: this one)')
    .option('--submit', 'submit with sbatch --parsable and print the job ids')
    .option('--sbatch <path>', 'the sbatch command', 'sbatch')
    .addHelpText('after', SLURM_HELP)
    .action(async (args: string[], flags: ClusterFlags, command: Command) => {
      const plan = await checkedPlan(command, args, flags.shards);
      const folder = await workingFolder(flags.chdir);
      const found = await planProblem(taskOfShard(plan, 1), flags.merge === true ? plan.merge : undefined, folder);
      const problem = await unlessMovedAside(found, plan, flags, folder, context);
      if (flags.submit === true) {
        if (problem !== undefined) throw problem;
        noteWithoutMerge(plan, flags, context);
        await submitSlurm(plan, flags, folder, context);
        return;
      }
      noteWithoutMerge(plan, flags, context);
      await warnBeforeSubmission(plan, flags, folder, problem, context);
      context.io.stdout.write(slurmScript(plan, flags));
    });
  addCommonFlags(cluster.command('k8s').description('print the Kubernetes Indexed Job manifest of --shard auto tasks (+ the merge Job)'))
    .option('--image <image>', 'container image with opnp and the model backends', 'opnp:latest')
    .option('--pvc <claim>', 'PersistentVolumeClaim shared by the tasks (data, model, states, outputs)', 'opnp-work')
    .option('--mount <path>', 'where the volume is mounted (the working folder)', '/work')
    .option('--name <name>', 'Job name (default opnp-<command>)')
    .option('--backoff-limit <n>', 'retries of failed or evicted pods over the whole Job', (v) => parseInteger('--backoff-limit', v, { allowZero: true }), 6)
    .addHelpText('after', K8S_HELP)
    .action(async (args: string[], flags: K8sFlags, command: Command) => {
      const plan = await checkedPlan(command, args, flags.shards);
      noteWithoutMerge(plan, flags, context);
      const header = `# Generated by opnp cluster k8s: ${plan.shards} shards of opnp ${plan.command}${flags.merge === true ? ' and the merge Job (it waits for every shard)' : ''}.\n# kubectl apply -f <this file>\n`;
      context.io.stdout.write(k8sYaml(k8sManifests(plan, flags), header));
    });
}
