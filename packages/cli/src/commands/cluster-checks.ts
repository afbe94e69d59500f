/**
 * What `opnp cluster slurm` checks before it prints or submits anything, so that a mistake fails on the login node in
 * a second instead of in every task after the queue wait: the jobs' working folder (`--chdir`) exists; the tasks'
 * command (as shard 1 runs it) and the merge command pass their own up-front checks (the checks each command runs
 * before any work: its flags, every output's folder, no output on an input or on another output), and every file the
 * tasks read exists and is readable; all relative to the working folder. It also finds the final outputs an earlier
 * run left in place, which a new submission moves aside (a failed run must not leave an old complete report looking
 * like its own).
 */
import { CommanderError } from 'commander';
import { rename, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isOpnpError, OpnpError } from '@opnp/core/base';
import { assertInputsReadable } from '@opnp/pipeline';
import { UsageError } from '../errors.js';
import type { CheckedInput } from './shared.js';

/**
 * The absolute working folder of the jobs: `--chdir` (refused when it is not an existing folder: Slurm would fail
 * every job, and creating it would hide a typo), or the current folder.
 *
 * @throws OpnpError `IO_ERROR` naming the folder
 */
export async function workingFolder(chdir: string | undefined): Promise<string> {
  const folder = resolve(chdir ?? '.');
  const entry = await stat(folder).catch(() => undefined);
  if (!entry?.isDirectory()) {
    throw new OpnpError('IO_ERROR', `--chdir ${chdir}: ${entry ? 'not a folder' : 'no such folder'} (${folder})`, { file: folder, hint: 'Give the existing shared folder the jobs run in (it is not created)' });
  }
  return folder;
}

/** Runs `fn` with `folder` as the current folder (the checks resolve relative paths as the jobs will). */
async function inFolder<T>(folder: string, fn: () => Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(folder);
  try {
    return await fn();
  } finally {
    process.chdir(previous);
  }
}

/**
 * Runs `opnp <args>` in a program whose commands only check (see `CommandContext.checkOnly`), then checks that the
 * files the command reads exist and are readable.
 *
 * @throws the command's own error (usage or path), or `IO_ERROR` for a missing or unreadable input
 */
async function checkCommand(args: readonly string[], readsInputs: boolean): Promise<void> {
  const { createProgram } = await import('../program.js');
  const silent = { write: () => true };
  let inputs: readonly CheckedInput[] | undefined;
  const program = createProgram({ stdout: silent, stderr: silent, env: {} }, (given) => {
    inputs = given;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new UsageError(`in the command to shard: ${error.message.replace(/^error:\s*/, '').split('\n')[0]!.trim()}`);
    throw error;
  }
  if (inputs === undefined) throw new Error(`opnp ${args.slice(0, 2).join(' ')} ran none of its checks`);
  if (readsInputs) await assertInputsReadable(inputs);
}

/**
 * The first problem of the tasks' command (`task`, as shard 1 runs it) and, when given, of the merge command, checked
 * in `folder`; undefined when both pass. The merge's inputs are the tasks' outputs, so only its own checks run.
 */
export async function planProblem(task: readonly string[], merge: readonly string[] | undefined, folder: string): Promise<unknown> {
  return inFolder(folder, async () => {
    try {
      await checkCommand(task, true);
      if (merge) await checkCommand(merge, false);
      return undefined;
    } catch (error) {
      return error;
    }
  });
}

/** Which of `paths` (relative to `folder`) exist: an earlier run's final outputs. */
export async function existingOutputs(paths: readonly string[], folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) if (await stat(resolve(folder, path)).then(() => true, () => false)) found.push(path);
  return found;
}

/**
 * The earlier run's final output (one of `finalOutputs`, relative to `folder`) that `problem`, of the merge's checks,
 * is about: one the merge could not replace as it is (a --save folder holding files opnp did not write there), which
 * is no problem when the final outputs are moved aside before the merge runs (the --merge script, --submit).
 */
export async function problemMovedAside(problem: unknown, finalOutputs: readonly string[], folder: string): Promise<string | undefined> {
  if (!isOpnpError(problem) || problem.file === undefined) return undefined;
  const target = resolve(folder, problem.file);
  return (await existingOutputs(finalOutputs, folder)).find((path) => resolve(folder, path) === target);
}

/** What `problem` found, without its hint and without what replacing the output in place would do. */
export function problemFinding(problem: OpnpError): string {
  const hint = problem.hint === undefined ? '' : `. ${problem.hint}`;
  const text = hint !== '' && problem.message.endsWith(hint) ? problem.message.slice(0, -hint.length) : problem.message;
  return text.replace(/; replacing the folder would delete them$/, '');
}

/** `20261203T071500Z`: the suffix of outputs moved aside. */
export function movedAsideStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Checks that each of `paths` (relative to `folder`) can be moved to `<path>.previous-<stamp>`: nothing is there.
 *
 * @throws OpnpError `IO_ERROR` when a new name is taken
 */
export async function assertMovableAside(paths: readonly string[], folder: string, stamp: string): Promise<void> {
  for (const path of paths) {
    const target = `${path}.previous-${stamp}`;
    if (await stat(resolve(folder, target)).then(() => true, () => false)) throw new OpnpError('IO_ERROR', `cannot move the earlier run's ${path} aside: ${target} exists`, { file: target, hint: 'Move or delete one of them' });
  }
}

/**
 * Moves each of `paths` (relative to `folder`) to `<path>.previous-<stamp>`, refusing to replace anything there.
 *
 * @returns the new names
 * @throws OpnpError `IO_ERROR` when a new name is taken
 */
export async function moveAside(paths: readonly string[], folder: string, stamp: string): Promise<string[]> {
  await assertMovableAside(paths, folder, stamp);
  const moved: string[] = [];
  for (const path of paths) {
    const target = `${path}.previous-${stamp}`;
    await rename(resolve(folder, path), resolve(folder, target));
    moved.push(target);
  }
  return moved;
}
