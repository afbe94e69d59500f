import { describe, expect, it } from 'vitest';
import { shardFromEnvironment, shardOf } from '../src/index.js';

describe('--shard auto', () => {
  it('reads Slurm arrays (min/max or count), Kubernetes Indexed Jobs and AWS Batch arrays', () => {
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' })).toEqual({ index: 4, count: 4 });
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '9' })).toEqual({ index: 1, count: 5 });
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' })).toEqual({ index: 2, count: 2 });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '0' }, 8)).toEqual({ index: 1, count: 8 });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '7', OPNP_SHARD_COUNT: '8' })).toEqual({ index: 8, count: 8 });
    expect(shardFromEnvironment({ AWS_BATCH_JOB_ARRAY_INDEX: '2', AWS_BATCH_JOB_ARRAY_SIZE: '3' })).toEqual({ index: 3, count: 3 });
  });

  it('names the variables when none is set, and refuses inconsistent ones', () => {
    expect(() => shardFromEnvironment({})).toThrow(/SLURM_ARRAY_TASK_ID .*JOB_COMPLETION_INDEX .*AWS_BATCH_JOB_ARRAY_INDEX/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '1' })).toThrow(/--shard-count/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '8' }, 8)).toThrow(/shard 9 of 8/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow(/non-negative integer/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow(/SLURM_ARRAY_TASK_ID=2 is outside the array 0\.\.1/);
  });

  it('shards are contiguous, cover every index once, and differ in size by at most one', () => {
    for (const [n, k] of [[0, 3], [1, 5], [10, 3], [1000, 7], [5, 5]] as const) {
      const all = Uint32Array.from({ length: n }, (_, i) => i * 2);
      const parts = Array.from({ length: k }, (_, i) => Array.from(shardOf(all, i + 1, k)));
      expect(parts.flat()).toEqual(Array.from(all));
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});
