/**
 * A saved sensitivity state replaces the training pass only when it covers the whole run: the checkpoint of an
 * interrupted run, one shard's state and a merge of some shards are refused, naming the file, what it covers and what
 * to do in the library's names (or the caller's); a finished checkpoint and every shard read together are accepted.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, InterruptedError, mergeStates, runSensitivity, shardFileName, writeStateFile, type EvaluationConfig, type ShardInfo } from '../src/index.js';
import { demoEvaluation, demoModel, NORMALISE, tempDir, TRAIN } from './helpers.js';

/** The demo evaluation of OPNP alone at a fixed point (no grid search), with a noise validation set of 100 samples. */
async function opnpEvaluation(sensitivityState: string): Promise<EvaluationConfig> {
  return { ...(await demoEvaluation(100, 100)), methods: ['opnp'], percentages: { pMin: 10, pMax: 1, nMin: 10, nMax: 1 }, sensitivityState };
}

/** The sensitivity of the demo evaluation's training run (a tenth of the training set: 600 samples), or one shard of it. */
async function sensitivity(extra: { shard?: ShardInfo; checkpoint?: string; signal?: AbortSignal; onProgress?: () => void } = {}) {
  return runSensitivity({
    model: await demoModel(),
    train: TRAIN,
    preprocess: NORMALISE,
    trainFraction: 0.1,
    seed: 0,
    batchSize: 100,
    ...(extra.shard ? { shard: extra.shard } : {}),
    ...(extra.checkpoint !== undefined ? { checkpoint: { path: extra.checkpoint, everyMs: 0 } } : {}),
    ...(extra.signal ? { signal: extra.signal } : {}),
    ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
  });
}

/** Writes the state of shard `index` of `count` as `opnp cluster` names it (`state.shard-00i-of-00n.npy`). */
async function writeShard(state: string, index: number, count: number): Promise<string> {
  const run = await sensitivity({ shard: { index, count } });
  const path = shardFileName(state, { index, count });
  await writeStateFile(path, run.accumulator.toState(), run.provenance);
  return path;
}

describe('evaluate with sensitivityState', () => {
  it("refuses an interrupted run's checkpoint, saying what it covers and how to finish it; accepts it once finished", async () => {
    const checkpoint = join(tempDir(), 'ck.npy');
    const controller = new AbortController();
    let events = 0;
    await expect(sensitivity({ checkpoint, signal: controller.signal, onProgress: () => ++events === 3 && controller.abort() })).rejects.toBeInstanceOf(InterruptedError);
    const refused = evaluate(await opnpEvaluation(checkpoint));
    await expect(refused).rejects.toMatchObject({ code: 'STATE_MISMATCH', file: checkpoint });
    await expect(refused).rejects.toThrow(new RegExp(`sensitivity state ${checkpoint} is unfinished: it covers [1-5]00 of the 600 training samples \\(an interrupted run's checkpoint\\)`));
    // The hint names the library's options, not the CLI's flags.
    await expect(refused).rejects.toThrow(/rerun the same runSensitivity\(\) \(or evaluate\(\)\) with checkpoint\.path .*ck\.npy \(it resumes from this checkpoint\), then pass it as sensitivityState/);
    await expect(refused).rejects.not.toThrow(/--/);
    // The caller's names instead.
    const named = evaluate({ ...(await opnpEvaluation(checkpoint)), optionNames: { sensitivityState: '--sensitivity-state', checkpoint: '--checkpoint', sensitivityRun: 'opnp sensitivity command' } });
    await expect(named).rejects.toThrow(/rerun the same opnp sensitivity command with --checkpoint .*ck\.npy .*then pass it as --sensitivity-state/);
    // Finished, the checkpoint holds the whole run's sums.
    await sensitivity({ checkpoint });
    const { report } = await evaluate(await opnpEvaluation(checkpoint));
    expect(report.counts.train).toBe(600);
  });

  it('refuses one shard of a sharded run and a merge of some shards; reads every shard together', async () => {
    const state = join(tempDir(), 'state.npy');
    const shards = [await writeShard(state, 1, 3), await writeShard(state, 2, 3)];
    const one = evaluate(await opnpEvaluation(shards[0]!));
    await expect(one).rejects.toMatchObject({ code: 'STATE_MISMATCH', file: shards[0] });
    await expect(one).rejects.toThrow(new RegExp(`sensitivity state ${shards[0]} covers only shard 1 of 3 of its run \\(200 training samples\\)`));
    await expect(one).rejects.toThrow(new RegExp(`pass ${state} as sensitivityState \\(while it is absent, all the shard states next to it are read and checked together\\), or merge every shard's state with mergeStates\\(\\)`));
    const partial = join(tempDir(), 'partial.npy');
    const merged = await mergeStates(shards, { allowPartial: true });
    await writeStateFile(partial, merged.state, merged.provenance);
    await expect(evaluate(await opnpEvaluation(partial))).rejects.toThrow(/sensitivity state .*partial\.npy adds up only shards 1, 2 of 3 of its run \(400 training samples\)/);
    // The absent unsharded name reads the shards, and names the missing one until it is there.
    await expect(evaluate(await opnpEvaluation(state))).rejects.toThrow(new RegExp(`${state} is absent and is read from its shard states, but shard 3 of 3 is missing \\(.*state\\.shard-003-of-003\\.npy\\)`));
    await writeShard(state, 3, 3);
    const { report } = await evaluate(await opnpEvaluation(state));
    expect(report.counts.train).toBe(600);
  });

  it('says that the shard states of another run belong to it (plural)', async () => {
    const state = join(tempDir(), 'state.npy');
    for (const index of [1, 2]) await writeShard(state, index, 2);
    const other = { ...(await opnpEvaluation(state)), seed: 5 };
    await expect(evaluate(other)).rejects.toThrow(new RegExp(`The shard states of ${state} belong to another run: `));
  });
});
