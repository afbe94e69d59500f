/**
 * Sharded evaluation: the shards' scores merge into the report (and figure inputs) of the unsharded
 * evaluation; the merge refuses missing, duplicate, foreign, torn and disagreeing shards. Cached inputs
 * named by their unsharded file are read from their shards (features, logits, labels, sensitivity states)
 * and give what the merged files give.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadIdx, writeNpy } from '@opnp/datasets/node';
import { oodMetrics } from '@opnp/metrics';
import {
  evalShardFiles,
  evaluate,
  evaluateShard,
  extractFeatures,
  mergeEvalShards,
  mergeFeatureShards,
  mergeStates,
  openFeatureSource,
  runSensitivity,
  trainingFingerprint,
  trainingIndices,
  writeStateFile,
  type EvaluationConfig,
  type ExtractOutputs,
} from '../src/index.js';
import { demoAsset, demoModel, FASHION_VAL, NORMALISE, TEST, TRAIN, tempDir } from './helpers.js';

const base = async (): Promise<EvaluationConfig> => ({
  model: await demoModel(),
  train: TRAIN,
  trainFraction: 0.1,
  test: TEST,
  ood: [{ name: 'fashion', spec: FASHION_VAL }, { name: 'noise', spec: 'noise:120#seed=5' }],
  preprocess: NORMALISE,
  valNoise: 100,
  batchSize: 70,
  collectArtifacts: true,
});

/** Runs shards `indices` of `count` of `config` into `dir`; returns their scores files. */
async function runShards(config: EvaluationConfig, dir: string, count: number, indices = Array.from({ length: count }, (_, i) => i + 1)): Promise<string[]> {
  const files: string[] = [];
  for (const index of indices) files.push((await evaluateShard({ ...config, shard: { index, count }, out: join(dir, 'scores.npy') })).files.scores);
  return files;
}

describe('evaluateShard + mergeEvalShards', () => {
  it('merge to the report and the figure inputs of the unsharded evaluation', async () => {
    const config = await base();
    const whole = await evaluate(config);
    const dir = tempDir();
    const files = await runShards(config, dir, 3);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['scores.shard-001-of-003.npy', 'scores.shard-002-of-003.npy', 'scores.shard-003-of-003.npy']);
    const merged = await mergeEvalShards([files[2]!, files[0]!, files[1]!]);
    expect(merged.shards).toBe(3);
    expect(JSON.stringify(merged.report)).toBe(JSON.stringify(whole.report));
    expect(merged.artifacts).toEqual(whole.artifacts);
    // The metrics are those of the concatenated scores: recompute one from the artifacts' score arrays.
    const energy = merged.artifacts!.scores.energy;
    expect(merged.report.results.find((r) => r.method === 'energy' && r.ood === 'fashion')).toMatchObject(oodMetrics(energy.id, energy.ood.fashion!));
    // Each shard holds only its slice: 2000 evaluated test samples (2500 minus the 20 % validation split) in 666/667/667.
    const sidecar = JSON.parse(readFileSync(`${files[1]!}.json`, 'utf8')) as { sets: { key: string; start: number; end: number; rows: number }[] };
    expect(sidecar.sets.map((s) => [s.key, s.start, s.end, s.rows])).toEqual([['test', 666, 1333, 667], ['ood:fashion', 166, 333, 167], ['ood:noise', 40, 80, 40]]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses missing, duplicate, foreign, torn and disagreeing shards', async () => {
    const config = { ...(await base()), collectArtifacts: false, methods: ['msp', 'energy', 'opnp'] };
    const dir = tempDir();
    const [a, b, c] = await runShards(config, dir, 3);
    await expect(mergeEvalShards([a!, c!])).rejects.toThrow(/Shard 2 of 3 is missing/);
    await expect(mergeEvalShards([a!, b!, b!, c!])).rejects.toThrow(/are the same shard 2\/3/);
    const other = tempDir();
    const [foreign] = await runShards({ ...config, seed: 7 }, other, 3, [2]);
    await expect(mergeEvalShards([a!, foreign!, c!])).rejects.toThrow(/belongs to another run than .*: .*seed/);
    const disagreeing = JSON.parse(readFileSync(`${b!}.json`, 'utf8')) as { agreement: string };
    writeFileSync(`${b!}.json`, JSON.stringify({ ...disagreeing, agreement: '0'.repeat(64) }));
    await expect(mergeEvalShards([a!, b!, c!])).rejects.toThrow(/fitted the evaluation differently/);
    writeFileSync(`${b!}.json`, JSON.stringify(disagreeing));
    const bytes = readFileSync(c!);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(c!, bytes);
    await expect(mergeEvalShards([a!, b!, c!])).rejects.toThrow(/not the file its sidecar describes/);
    rmSync(`${c!}.json`);
    await expect(mergeEvalShards([a!, b!, c!])).rejects.toThrow(/has no sidecar .* unfinished/);
    await expect(mergeEvalShards([a!, b!, join(dir, 'missing.shard-003-of-003.npy')])).rejects.toThrow(/Eval shard scores not found: .*missing\.shard-003-of-003\.npy/);
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });

  it('unreadable samples are counted and listed as in the unsharded evaluation', async () => {
    const dir = tempDir();
    const images = await loadIdx(demoAsset('fashion-val-images-idx3-ubyte.gz'));
    for (let i = 0; i < 12; i++) {
      const pixels = Buffer.from((images.data as Uint8Array).subarray(i * 784, (i + 1) * 784));
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, `img${String(i).padStart(2, '0')}.png`));
    }
    writeFileSync(join(dir, 'img05b.png'), 'not a png');
    writeFileSync(join(dir, 'img09b.png'), 'not a png either');
    const config = { ...(await base()), collectArtifacts: false, methods: ['energy', 'opnp'], ood: [{ name: 'folder', spec: `folder:${dir}#nolabels` }] };
    const whole = await evaluate(config);
    expect(whole.report.counts.skipped).toEqual({ 'ood:folder': 2 });
    const out = tempDir();
    const merged = await mergeEvalShards(await runShards(config, out, 3));
    expect(JSON.stringify(merged.report)).toBe(JSON.stringify(whole.report));
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('refuses shards whose method read another file (webo weights changed between shards)', async () => {
    const dir = tempDir();
    const weights = join(dir, 'weights.npy');
    const weightsOf = (seed: number) => new Float32Array(10).map((_, c) => 0.5 + ((c * 7 + seed) % 5) / 4);
    await writeNpy(weights, { dtype: 'float32', shape: [10], data: weightsOf(1) });
    const config = { ...(await base()), collectArtifacts: false, methods: ['energy', 'webo'], methodOptions: { webo: { weights } } };
    const [a, b] = await runShards(config, dir, 3, [1, 2]);
    await writeNpy(weights, { dtype: 'float32', shape: [10], data: weightsOf(2) });
    const [c] = await runShards(config, dir, 3, [3]);
    await expect(mergeEvalShards([a!, b!, c!])).rejects.toThrow(/belongs to another run than .*: .*methodInputs/);
    // The same file again: the shards merge.
    await writeNpy(weights, { dtype: 'float32', shape: [10], data: weightsOf(1) });
    const [again] = await runShards(config, dir, 3, [3]);
    expect((await mergeEvalShards([a!, b!, again!])).shards).toBe(3);
    rmSync(dir, { recursive: true, force: true });
  });

  it('with the baseline search, the merged report holds the search and its choices as the unsharded one', async () => {
    const config = { ...(await base()), collectArtifacts: false, methods: ['energy', 'react'], searchBaselines: true };
    const whole = await evaluate(config);
    expect(whole.report.baselineSearch?.methods.react).toBeDefined();
    const dir = tempDir();
    const merged = await mergeEvalShards(await runShards(config, dir, 2));
    expect(JSON.stringify(merged.report)).toBe(JSON.stringify(whole.report));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a shard beyond the samples of a small set scores none of it and still merges', async () => {
    const config = { ...(await base()), collectArtifacts: false, methods: ['energy'], ood: [{ name: 'few', spec: 'noise:2#seed=3' }] };
    const whole = await evaluate(config);
    const dir = tempDir();
    const merged = await mergeEvalShards(await runShards(config, dir, 3));
    expect(merged.report).toEqual(whole.report);
    expect(merged.report.counts.ood).toEqual({ few: 2 });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('cached inputs read from their shards', () => {
  const outputs = (dir: string, name: string): ExtractOutputs => ({ features: join(dir, `${name}.npy`), logits: join(dir, `${name}-logits.npy`), labels: join(dir, `${name}-labels.npy`) });

  it('features, logits, labels and sensitivity states of an absent merged file come from its shards, as the merged files would', async () => {
    const model = await demoModel();
    const shardsDir = tempDir();
    const mergedDir = tempDir();
    const extract = (data: string, name: string, shard?: { index: number; count: number }) =>
      extractFeatures({ model, data, preprocess: NORMALISE, outputs: outputs(shardsDir, name), batchSize: 64, ...(shard ? { shard } : {}) });
    const files: Record<string, string[]> = { train: [], test: [] };
    for (const [name, data] of [['train', TRAIN], ['test', TEST]] as const) {
      for (let index = 1; index <= 3; index++) files[name]!.push((await extract(data, name, { index, count: 3 })).files.features);
      await mergeFeatureShards(files[name]!, outputs(mergedDir, name));
    }
    const spec = (dir: string, name: string) => `features:${join(dir, `${name}.npy`)}#logits=${join(dir, `${name}-logits.npy`)}`;
    // One source over the shards: the rows, labels and identity of the merged file.
    const fromShards = await openFeatureSource(spec(shardsDir, 'test'), { model, labelsFile: join(shardsDir, 'test-labels.npy') });
    const fromMerged = await openFeatureSource(spec(mergedDir, 'test'), { model, labelsFile: join(mergedDir, 'test-labels.npy') });
    expect(fromShards.count).toBe(2500);
    expect(await fromShards.identity()).toEqual(await fromMerged.identity());
    expect(await fromShards.readLabels()).toEqual(await fromMerged.readLabels());
    // Sensitivity shards over the sharded training features; the state named by its unsharded name is their in-memory merge.
    const train = spec(shardsDir, 'train');
    const state = join(shardsDir, 'state.npy');
    for (let index = 1; index <= 3; index++) {
      const run = await runSensitivity({ model, train, trainFraction: 0.2, seed: 0, shard: { index, count: 3 }, batchSize: 100 });
      await writeStateFile(join(shardsDir, `state.shard-00${index}-of-003.npy`), run.accumulator.toState(), run.provenance);
    }
    const mergedState = join(mergedDir, 'state.npy');
    const merged = await mergeStates([1, 2, 3].map((i) => join(shardsDir, `state.shard-00${i}-of-003.npy`)));
    await writeStateFile(mergedState, merged.state, merged.provenance);
    const config = (dir: string, sensitivityState: string): EvaluationConfig => ({
      model,
      train: spec(dir, 'train'),
      trainLabels: join(dir, 'train-labels.npy'),
      trainFraction: 0.2,
      test: spec(dir, 'test'),
      testLabels: join(dir, 'test-labels.npy'),
      ood: [{ name: 'noise', spec: 'noise:100#seed=9' }],
      valNoise: 100,
      batchSize: 100,
      methods: ['msp', 'mahalanobis', 'opnp'],
      sensitivityState,
    });
    const infos: string[] = [];
    const a = await evaluate({ ...config(shardsDir, state), onInfo: (m) => infos.push(m) });
    const b = await evaluate(config(mergedDir, mergedState));
    expect(a.report).toEqual(b.report);
    expect(a.report.counts).toMatchObject({ train: 1200, idTest: 2000 });
    expect(infos.join('\n')).toMatch(/from the 3 shard states of .*state\.npy \(merged in memory\)/);
    // The shards' training fingerprint is the merged file's: one state serves both.
    const sources = await Promise.all([spec(shardsDir, 'train'), spec(mergedDir, 'train')].map((s) => openFeatureSource(s, { model })));
    const digests = await Promise.all(sources.map((source) => trainingFingerprint({ model, source, indices: trainingIndices(source.count, 0.2, 0), fraction: 0.2, seed: 0 })));
    expect(digests[0]!.digest).toBe(digests[1]!.digest);
    rmSync(shardsDir, { recursive: true, force: true });
    rmSync(mergedDir, { recursive: true, force: true });
  });

  it('refuses a missing shard, shards of two counts, and companion files the shards did not write', async () => {
    const model = await demoModel();
    const dir = tempDir();
    for (const index of [1, 3]) await extractFeatures({ model, data: FASHION_VAL, preprocess: NORMALISE, outputs: { features: join(dir, 'f.npy') }, batchSize: 100, shard: { index, count: 3 } });
    await expect(openFeatureSource(`features:${join(dir, 'f.npy')}`, { model })).rejects.toThrow(/Shard features file not found: .*f\.shard-002-of-003\.npy/);
    await extractFeatures({ model, data: FASHION_VAL, preprocess: NORMALISE, outputs: { features: join(dir, 'f.npy') }, batchSize: 100, shard: { index: 2, count: 3 } });
    await expect(openFeatureSource(`features:${join(dir, 'f.npy')}#logits=${join(dir, 'l.npy')}`, { model })).rejects.toThrow(/The cached logits .*l\.npy is not a file the shards wrote: shard 1\/3 .* has no logits/);
    await expect(openFeatureSource(`features:${join(dir, 'f.npy')}`, { model, labelsFile: join(dir, 'y.npy') })).rejects.toThrow(/The labels file .*y\.npy is not a file the shards wrote/);
    expect((await openFeatureSource(`features:${join(dir, 'f.npy')}`, { model })).count).toBe(500);
    await extractFeatures({ model, data: FASHION_VAL, preprocess: NORMALISE, outputs: { features: join(dir, 'f.npy') }, batchSize: 100, shard: { index: 1, count: 2 } });
    await expect(openFeatureSource(`features:${join(dir, 'f.npy')}`, { model })).rejects.toThrow(/sets of 2 and 3 shards of it lie next to it/);
    rmSync(dir, { recursive: true, force: true });
  });
});

// evalShardFiles names every file a shard writes next to the scores of the whole evaluation.
describe('evalShardFiles', () => {
  it('tags the scores and derives the sidecar and sensitivity names', () => {
    expect(evalShardFiles('out/scores.npy', { index: 2, count: 4 })).toEqual({ scores: 'out/scores.shard-002-of-004.npy', sidecar: 'out/scores.shard-002-of-004.npy.json', sensitivity: 'out/scores.shard-002-of-004.sensitivity.npy' });
  });
});
