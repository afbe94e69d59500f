/**
 * Sharded extraction: shards of one run merge into the bytes of the unsharded run (features, logits,
 * labels, indices and the sidecar); a shard resumes like a whole run; the merge refuses missing,
 * duplicate, unfinished and foreign shards, and a shard is no whole cached-features file.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFeatures, featureShard, InterruptedError, mergeFeatureShards, openFeatureSource, shardFileName, shardOutputs, unshardedFileName, type ExtractOptions, type ExtractOutputs } from '../src/index.js';
import { demoModel, FASHION_VAL, NORMALISE, tempDir } from './helpers.js';

const outputsIn = (dir: string): ExtractOutputs => ({ features: join(dir, 'f.npy'), logits: join(dir, 'l.npy'), labels: join(dir, 'y.npy'), indices: join(dir, 'i.npy') });

async function options(dir: string, extra: Partial<ExtractOptions> = {}): Promise<ExtractOptions> {
  return { model: await demoModel(), data: FASHION_VAL, preprocess: NORMALISE, outputs: outputsIn(dir), batchSize: 60, ...extra };
}

/** Extracts shards 1..count (all but `skip`) of the demo's 500 Fashion-MNIST images into `dir`. */
async function extractShards(dir: string, count: number, extra: Partial<ExtractOptions> = {}, skip: number[] = []): Promise<string[]> {
  const files: string[] = [];
  for (let index = 1; index <= count; index++) {
    if (skip.includes(index)) continue;
    const result = await extractFeatures(await options(dir, { shard: { index, count }, ...extra }));
    files.push(result.files.features);
  }
  return files;
}

/** The sidecar text with the folder names taken out (the files it lists are paths as given). */
const sidecar = (path: string, dir: string) => readFileSync(path, 'utf8').split(dir).join('<dir>');

describe('shard file names and ranges', () => {
  it('tags every output, always writes indices, and strips the tag back', () => {
    expect(shardFileName('out/feats.npy', { index: 2, count: 4 })).toBe('out/feats.shard-002-of-004.npy');
    expect(shardFileName('feats', { index: 12, count: 1000 })).toBe('feats.shard-0012-of-1000');
    expect(unshardedFileName('out/feats.shard-002-of-004.npy')).toBe('out/feats.npy');
    expect(unshardedFileName('out/feats.npy')).toBeUndefined();
    expect(shardOutputs({ features: 'f.npy', logits: 'l.npy' }, { index: 1, count: 3 })).toEqual({ features: 'f.shard-001-of-003.npy', logits: 'l.shard-001-of-003.npy', indices: 'f.shard-001-of-003.indices.npy' });
    const ranges = [1, 2, 3].map((index) => featureShard(500, { index, count: 3 }));
    expect(ranges.map((r) => [r.start, r.end])).toEqual([[0, 166], [166, 333], [333, 500]]);
    expect(() => featureShard(500, { index: 4, count: 3 })).toThrow(/does not exist/);
  });
});

describe('mergeFeatureShards', () => {
  it('merges shards (in any order) into the bytes of the unsharded run, sidecar included', async () => {
    const whole = tempDir();
    await extractFeatures(await options(whole));
    const dir = tempDir();
    const shards = await extractShards(dir, 3);
    const merged = tempDir();
    const result = await mergeFeatureShards([shards[2]!, shards[0]!, shards[1]!], outputsIn(merged));
    expect(result).toMatchObject({ rows: 500, samples: 500, dim: 128, classes: 10, shards: 3, skipped: [] });
    for (const name of ['f.npy', 'l.npy', 'y.npy', 'i.npy']) expect(readFileSync(join(merged, name)), name).toEqual(readFileSync(join(whole, name)));
    expect(sidecar(join(merged, 'f.npy.json'), merged)).toBe(sidecar(join(whole, 'f.npy.json'), whole));
    // The merged file is whole cached features: a later unsharded run of the same options finds it complete.
    const again = await extractFeatures(await options(merged));
    expect(again.alreadyComplete).toBe(true);
  });

  it('refuses shards extracted with different outputs in flag terms; the shard rerun with the labels added merges to the unsharded bytes', async () => {
    const whole = tempDir();
    await extractFeatures(await options(whole));
    const dir = tempDir();
    const { labels: _labels, ...withoutLabels } = outputsIn(dir);
    const shards = [...(await extractShards(dir, 3, {}, [2])), ...(await extractShards(dir, 3, { outputs: withoutLabels }, [1, 3]))];
    const refused = mergeFeatureShards(shards, outputsIn(tempDir()));
    await expect(refused).rejects.toThrow(`${join(dir, 'f.shard-001-of-003.npy')} was extracted with --labels-out, ${join(dir, 'f.shard-002-of-003.npy')} without it: the shards of one run write the same outputs`);
    await expect(refused).rejects.toMatchObject({ hint: 'Rerun shard 2/3 with --labels-out (written from the dataset, without running the model again)' });
    const rerun = await extractFeatures(await options(dir, { shard: { index: 2, count: 3 } }));
    expect(rerun.alreadyComplete).toBe(true);
    const merged = tempDir();
    await mergeFeatureShards(shards, outputsIn(merged));
    for (const name of ['f.npy', 'l.npy', 'y.npy', 'i.npy']) expect(readFileSync(join(merged, name)), name).toEqual(readFileSync(join(whole, name)));
    expect(sidecar(join(merged, 'f.npy.json'), merged)).toBe(sidecar(join(whole, 'f.npy.json'), whole));
  });

  it('a shard resumes after an interruption like a whole run', async () => {
    const dir = tempDir();
    const controller = new AbortController();
    let seen = 0;
    const run = extractFeatures(await options(dir, { shard: { index: 2, count: 3 }, signal: controller.signal, onProgress: (e) => !e.done && ++seen === 1 && controller.abort() }));
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
    const partial = JSON.parse(readFileSync(join(dir, 'f.shard-002-of-003.npy.partial.json'), 'utf8')) as { format: string; nextIndex: number; shard: { start: number } };
    expect(partial.format).toBe('opnp-features-shard');
    expect(partial.nextIndex).toBe(partial.shard.start + 60);
    // The merge names the unfinished shard.
    await extractShards(dir, 3, {}, [2]);
    const paths = [1, 2, 3].map((index) => join(dir, `f.shard-00${index}-of-003.npy`));
    await expect(mergeFeatureShards(paths, outputsIn(tempDir()))).rejects.toThrow(/Shard 2\/3 .* is unfinished: 60 of 167 samples/);
    const resumed = await extractFeatures(await options(dir, { shard: { index: 2, count: 3 } }));
    expect(resumed.resumedRows).toBe(60);
    const whole = tempDir();
    await extractFeatures(await options(whole));
    const merged = tempDir();
    await mergeFeatureShards(paths, outputsIn(merged));
    expect(readFileSync(join(merged, 'f.npy'))).toEqual(readFileSync(join(whole, 'f.npy')));
    // A whole run aimed at a shard's file is refused: the fingerprint is the same, the shard is not.
    const elsewhere = tempDir();
    const aimed = { ...outputsIn(elsewhere), features: join(dir, 'f.shard-002-of-003.npy') };
    await expect(extractFeatures(await options(dir, { outputs: aimed }))).rejects.toThrow(/covers shard 2\/3 \(samples 166-332\), this run the whole dataset/);
  });

  it('refuses missing, duplicate, foreign and whole-run inputs, and outputs the run does not write', async () => {
    const dir = tempDir();
    const shards = await extractShards(dir, 3);
    const out = outputsIn(tempDir());
    await expect(mergeFeatureShards(shards.slice(0, 2), out)).rejects.toThrow(/Shard 3 of 3 is missing/);
    await expect(mergeFeatureShards([...shards, shards[1]!], out)).rejects.toThrow(/are the same shard 2\/3/);
    const foreign = tempDir();
    const [other] = await extractShards(foreign, 3, { preprocess: { mean: [0.5], std: [0.5] } }, [2, 3]);
    await expect(mergeFeatureShards([other!, shards[1]!, shards[2]!], out)).rejects.toThrow(/belongs to another run .*data\.\w+/);
    const whole = tempDir();
    await extractFeatures(await options(whole));
    await expect(mergeFeatureShards([join(whole, 'f.npy')], out)).rejects.toThrow(/is a whole extraction, not a shard/);
    await expect(mergeFeatureShards(shards, { features: out.features })).rejects.toThrow(/extracted with --logits-out/);
    await expect(mergeFeatureShards(shards, out)).resolves.toMatchObject({ rows: 500 });
    rmSync(shards[0]!);
    rmSync(`${shards[0]!}.json`);
    await expect(mergeFeatureShards(shards, out)).rejects.toThrow(/Shard features file not found/);
  });

  it('cached features whose extraction is unfinished name its .partial files and their rows, not "file not found"', async () => {
    const dir = tempDir();
    const interrupt = async (extra: Partial<ExtractOptions>) => {
      const controller = new AbortController();
      let seen = 0;
      await expect(extractFeatures(await options(dir, { ...extra, signal: controller.signal, onProgress: (e) => !e.done && ++seen === 1 && controller.abort() }))).rejects.toBeInstanceOf(InterruptedError);
    };
    const open = async () => openFeatureSource(`features:${join(dir, 'f.npy')}`, { model: await demoModel() });
    await expect(open()).rejects.toThrow(/cached features file not found/i);
    await interrupt({ shard: { index: 1, count: 3 } });
    await interrupt({ shard: { index: 2, count: 3 } });
    const refused = open();
    await expect(refused).rejects.toMatchObject({ code: 'STATE_MISMATCH', file: join(dir, 'f.shard-001-of-003.npy.partial') });
    await expect(refused).rejects.toThrow(
      new RegExp(`Cached features ${join(dir, 'f.npy')} are not there yet: the extraction that writes them is unfinished \\(shard 1/3: .*f\\.shard-001-of-003\\.npy\\.partial holds 60 rows, 60 of 166 samples visited; shard 2/3: .*f\\.shard-002-of-003\\.npy\\.partial holds 60 rows, 60 of 167 samples visited\\)`),
    );
    await expect(refused).rejects.toThrow(/Finish the extraction: rerun it with the same inputs and outputs \(every shard of it; each resumes from its \.partial files\)/);
    // An unsharded run's partial output likewise.
    const whole = tempDir();
    const controller = new AbortController();
    await expect(extractFeatures(await options(whole, { signal: controller.signal, onProgress: (e) => !e.done && controller.abort() }))).rejects.toBeInstanceOf(InterruptedError);
    await expect(openFeatureSource(`features:${join(whole, 'f.npy')}`, { model: await demoModel() })).rejects.toThrow(/unfinished \(the whole dataset: .*f\.npy\.partial holds 60 rows, 60 of 500 samples visited\)/);
  });

  it('a shard file is not whole cached features: merge first', async () => {
    const dir = tempDir();
    const [first] = await extractShards(dir, 3, {}, [2, 3]);
    await expect(openFeatureSource(`features:${first!}`, { model: await demoModel() })).rejects.toThrow(/one shard of a sharded extraction.*opnp extract merge/);
  });
});
