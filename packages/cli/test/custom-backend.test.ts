/**
 * `opnp eval` with a backend registered by the user (as `NODE_OPTIONS="--import ./register.mjs"` does): the
 * extractor's maxBatchSize is used when --batch-size is not given, and a chosen one above it is refused in flag terms.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLinearFeatureExtractor, linearHead, mulberry32, registerBackend, type FeatureExtractor, type InputBatch } from '@opnp/core';
import { randomMatrix } from '@opnp/core/testing';
import { writeNpy } from '@opnp/datasets/node';
import { cli, tempDir } from './helpers.js';

const I = 6;
let largest = 0;
const base = createLinearFeatureExtractor({ projection: randomMatrix(8, I, mulberry32(1)), head: linearHead(randomMatrix(3, 8, mulberry32(2)), [0.5, -1, 2]), input: { name: 'x', shape: [null, I], layout: 'flat' } });
const limited: FeatureExtractor = {
  ...base,
  backend: 'toy-cli',
  maxBatchSize: 10,
  extract: (b: InputBatch) => {
    largest = Math.max(largest, b.shape[0]!);
    return base.extract(b);
  },
  dispose: async () => undefined,
};

let args: string[];
beforeAll(async () => {
  registerBackend('toy-cli', () => ({ specificationVersion: 'v1', name: 'toy-cli', canLoad: (s) => typeof s === 'string' && s.endsWith('.toy'), load: async () => limited }), 100);
  const dir = tempDir();
  const model = join(dir, 'model.toy');
  writeFileSync(model, 'toy');
  const set = async (name: string, n: number, seed: number, shift: number) => {
    await writeNpy(join(dir, name), randomMatrix(n, I, mulberry32(seed), (u) => u * 2 - 1 + shift));
    return `npy:${join(dir, name)}`;
  };
  args = ['eval', '--model', model, '--train', await set('train.npy', 200, 3, 0), '--test', await set('test.npy', 60, 4, 0), '--ood', `far=${await set('ood.npy', 60, 5, 2)}`, '--methods', 'msp,energy'];
});

describe('opnp eval with a custom backend whose extractor has maxBatchSize 10', () => {
  it('uses batches of 10 without --batch-size', async () => {
    const run = await cli(args);
    expect(run.stderr).toContain('opnp: model: the extractor of backend "toy-cli" takes at most 10 samples per batch (maxBatchSize): using batches of 10');
    expect(run.code).toBe(0);
    expect(largest).toBe(10);
  });

  it('refuses --batch-size 256 naming the extractor limit and the flag', async () => {
    const run = await cli([...args, '--batch-size', '256']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('opnp: a batch of 256 samples is more than the extractor of backend "toy-cli" takes: its maxBatchSize is 10');
    expect(run.stderr).toContain('Pass --batch-size 10');
    expect(run.stderr).not.toContain('GiB');
  });
});
