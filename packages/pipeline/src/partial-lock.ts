/**
 * One extraction at a time per output: `<features>.partial.lock` (beside the partial output) is created exclusively
 * before an extraction reads or writes its partial files, holds who runs it (pid, host, start time, and the Slurm
 * job when there is one), and is removed when the extraction ends. A second copy of the same command (an array
 * script submitted twice, a manual rerun while the task still runs) is refused naming the holder, instead of both
 * writing, renaming and deleting the same partial files.
 *
 * A lock whose holder is gone is taken over: on the same host when its process no longer exists, and on any host
 * when it was left by this same Slurm job and array task (a requeued task keeps its job id, and Slurm runs one
 * instance of it at a time). A lock left on another host by a process killed there (SIGKILL, a node failure, a
 * Kubernetes pod evicted after its grace period) cannot be checked from here: the refusal names the host and
 * process, and deleting the lock file lets the extraction resume.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { OpnpError } from '@opnp/core/base';

/** Contents of a lock file. */
export interface PartialLockHolder {
  readonly format: 'opnp-partial-lock';
  readonly version: 1;
  readonly pid: number;
  readonly host: string;
  /** ISO 8601 time the holder took the lock. */
  readonly started: string;
  /** `<job id>_<array task id>` (or `<job id>`) of the Slurm job holding it, when it runs under Slurm. */
  readonly job?: string;
}

/** The lock file of the extraction writing `features`. */
export function partialLockPath(features: string): string {
  return `${features}.partial.lock`;
}

/** The Slurm job and array task of this process, from its environment. */
function slurmJob(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.SLURM_ARRAY_JOB_ID !== undefined && env.SLURM_ARRAY_TASK_ID !== undefined) return `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`;
  return env.SLURM_JOB_ID;
}

function parseHolder(text: string): PartialLockHolder | undefined {
  try {
    const holder = JSON.parse(text) as PartialLockHolder;
    return holder?.format === 'opnp-partial-lock' && Number.isInteger(holder.pid) && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Whether process `pid` exists on this host (one owned by another user exists too). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `holder` is gone for sure (see the module comment), so `me` may take the lock over. */
function holderGone(holder: PartialLockHolder, me: PartialLockHolder): boolean {
  if (holder.job !== undefined && holder.job === me.job) return holder.host !== me.host || holder.pid !== me.pid;
  return holder.host === me.host && !processExists(holder.pid);
}

function heldError(path: string, features: string, holder: PartialLockHolder | undefined): OpnpError {
  const who = holder ? `process ${holder.pid} on ${holder.host}${holder.job !== undefined ? ` (Slurm job ${holder.job})` : ''}, since ${holder.started}` : 'a process whose lock file cannot be read';
  return new OpnpError('STATE_MISMATCH', `${features} is being extracted by another process (${who}): two extractions of one output cannot run at once`, {
    file: path,
    hint: `Wait for it to finish (the same command then says the output is complete) or stop it; if it no longer runs (killed on another host), delete ${path} and rerun to resume`,
  });
}

/** Removes the lock at `path` if it still holds `text` (a holder that took it over meanwhile keeps it). */
async function removeIfUnchanged(path: string, text: string): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await rm(path, { force: true });
}

/**
 * Takes the lock of the extraction writing `features` (see the module comment).
 *
 * @returns a function releasing it (it removes the lock only while it is still this holder's)
 * @throws OpnpError `STATE_MISMATCH` naming the holder while another live extraction holds it
 */
export async function lockPartial(features: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<() => Promise<void>> {
  const path = partialLockPath(features);
  const job = slurmJob(env);
  const me: PartialLockHolder = { format: 'opnp-partial-lock', version: 1, pid: process.pid, host: hostname(), started: new Date().toISOString(), ...(job !== undefined ? { job } : {}) };
  const mine = `${JSON.stringify(me)}\n`;
  let holder: PartialLockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, mine, { flag: 'wx' });
      return () => removeIfUnchanged(path, mine);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released meanwhile
    holder = parseHolder(text);
    if (holder === undefined || !holderGone(holder, me)) break;
    await removeIfUnchanged(path, text);
  }
  throw heldError(path, features, holder);
}
