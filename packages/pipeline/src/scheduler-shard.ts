/**
 * `--shard auto`: which shard this process is, from the environment a scheduler sets for array jobs.
 *
 * - Slurm job arrays: `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_MAX` (or
 *   `SLURM_ARRAY_TASK_COUNT`); shard = task id - min + 1 of max - min + 1.
 * - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based); the count is not in the environment, so it
 *   comes from `OPNP_SHARD_COUNT` (or the caller's `count`).
 * - AWS Batch array jobs: `AWS_BATCH_JOB_ARRAY_INDEX` (0-based) with `AWS_BATCH_JOB_ARRAY_SIZE`
 *   (or `OPNP_SHARD_COUNT`).
 */
import { OpnpError } from '@opnp/core/base';
import type { ShardInfo } from './state-file.js';

type Environment = Readonly<Record<string, string | undefined>>;

function integer(env: Environment, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new OpnpError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got "${text}"`);
  return value;
}

function checked(index: number, count: number, source: string): ShardInfo {
  if (count < 1 || index < 1 || index > count) throw new OpnpError('INVALID_ARGUMENT', `${source} gives shard ${index} of ${count}`, { expected: '1 <= shard <= count' });
  return { index, count };
}

function slurmShard(env: Environment, id: number): ShardInfo {
  const min = integer(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
  const max = integer(env, 'SLURM_ARRAY_TASK_MAX');
  const count = max !== undefined ? max - min + 1 : integer(env, 'SLURM_ARRAY_TASK_COUNT');
  if (count === undefined) throw new OpnpError('INVALID_ARGUMENT', 'SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT is');
  if (id < min || id - min >= count) throw new OpnpError('INVALID_ARGUMENT', `SLURM_ARRAY_TASK_ID=${id} is outside the array ${min}..${min + count - 1}`, { hint: 'Check SLURM_ARRAY_TASK_MIN/MAX (or _COUNT)' });
  return checked(id - min + 1, count, 'The Slurm array environment');
}

/**
 * The shard of this process from the scheduler's environment (see the module comment).
 *
 * @param count the shard count when the scheduler does not export it (Kubernetes), e.g. from a flag
 * @throws OpnpError `INVALID_ARGUMENT` naming the variables looked for when none is set, or when they are inconsistent
 */
export function shardFromEnvironment(env: Environment, count?: number): ShardInfo {
  const fallbackCount = count ?? integer(env, 'OPNP_SHARD_COUNT');
  const slurm = integer(env, 'SLURM_ARRAY_TASK_ID');
  if (slurm !== undefined) return slurmShard(env, slurm);
  const k8s = integer(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    if (fallbackCount === undefined) throw new OpnpError('INVALID_ARGUMENT', 'JOB_COMPLETION_INDEX is set but the shard count is not', { hint: 'Pass --shard-count <completions> or set OPNP_SHARD_COUNT' });
    return checked(k8s + 1, fallbackCount, 'JOB_COMPLETION_INDEX');
  }
  const aws = integer(env, 'AWS_BATCH_JOB_ARRAY_INDEX');
  if (aws !== undefined) {
    const size = integer(env, 'AWS_BATCH_JOB_ARRAY_SIZE') ?? fallbackCount;
    if (size === undefined) throw new OpnpError('INVALID_ARGUMENT', 'AWS_BATCH_JOB_ARRAY_INDEX is set but the array size is not', { hint: 'Set AWS_BATCH_JOB_ARRAY_SIZE or OPNP_SHARD_COUNT, or pass --shard-count' });
    return checked(aws + 1, size, 'AWS_BATCH_JOB_ARRAY_INDEX');
  }
  throw new OpnpError('INVALID_ARGUMENT', '--shard auto found no array-job environment', {
    expected: 'SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_MIN/MAX or SLURM_ARRAY_TASK_COUNT), JOB_COMPLETION_INDEX (with --shard-count or OPNP_SHARD_COUNT) or AWS_BATCH_JOB_ARRAY_INDEX',
    hint: 'Run it as an array task, or pass --shard i/n',
  });
}
