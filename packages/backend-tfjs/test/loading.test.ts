import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { fileSystemIO, initTfjsBackend, loadTfjsFeatureExtractor, loadTfjsModel, looksLikeTfjsModel, modelKind } from '../src/node/index.js';
import { firstMismatch, fixture, seeded, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  await initTfjsBackend({ prefer: 'cpu' });
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

async function code(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  return isOpnpError(e) ? e.code : String(e);
}

describe('file-system IO', () => {
  it('save writes model.json + one weights.bin (no temp files); load reads them back identically', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ units: 3, inputShape: [4], name: 'fc' }));
    const dir = `${tmp.dir}/roundtrip`;
    await m.save(fileSystemIO(dir));
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8')) as { format: string; weightsManifest: { paths: string[] }[] };
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    const back = await tfl.loadLayersModel(fileSystemIO(`${dir}/model.json`));
    const x = tf.tensor(seeded(8), [2, 4]);
    expect(firstMismatch((back.predict(x) as tf.Tensor).dataSync(), (m.predict(x) as tf.Tensor).dataSync(), 0)).toBeUndefined();
    tf.dispose([x, back, m] as never);
  });

  it('loads several weight shards in a sub-folder, relative to model.json', async () => {
    const src = JSON.parse(readFileSync(fixture('mnist-cnn-graph/model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    const bytes = readFileSync(fixture('mnist-cnn-graph/weights.bin'));
    const dir = `${tmp.dir}/sharded`;
    mkdirSync(`${dir}/shards`, { recursive: true });
    const cut = 100_000;
    writeFileSync(`${dir}/shards/a.bin`, bytes.subarray(0, cut));
    writeFileSync(`${dir}/shards/b.bin`, bytes.subarray(cut));
    src.weightsManifest[0]!.paths = ['shards/a.bin', 'shards/b.bin'];
    writeFileSync(`${dir}/model.json`, JSON.stringify(src));
    const a = await loadTfjsFeatureExtractor(dir, { backend: 'cpu' });
    const b = await loadTfjsFeatureExtractor(fixture('mnist-cnn-graph'), { backend: 'cpu' });
    const batch = { data: seeded(2 * 784), shape: [2, 28, 28, 1] };
    expect(firstMismatch((await a.extract(batch)).logits.data, (await b.extract(batch)).logits.data, 0)).toBeUndefined();
    await a.dispose();
    await b.dispose();
  });

  it('kind from format or from the topology; canLoad checks content', () => {
    expect(modelKind({ format: 'graph-model', modelTopology: {} })).toBe('graph-model');
    expect(modelKind({ modelTopology: { class_name: 'Sequential', config: {} } })).toBe('layers-model');
    expect(modelKind({ modelTopology: { model_config: { class_name: 'Model', config: {} } } })).toBe('layers-model');
    expect(modelKind({ modelTopology: { node: [] } })).toBe('graph-model');
    expect(modelKind({ foo: 1 })).toBeUndefined();
    expect(looksLikeTfjsModel(fixture('mnist-cnn-layers/model.json'))).toBe(true);
    expect(looksLikeTfjsModel(fixture('mnist-cnn-layers'))).toBe(true);
    expect(looksLikeTfjsModel(fixture('mnist-cnn.reference.json'))).toBe(false);
    expect(looksLikeTfjsModel(`${tmp.dir}/missing.json`)).toBe(false);
  });

  it('a graph model without format is detected from its GraphDef; IOHandler sources work', async () => {
    const json = JSON.parse(readFileSync(fixture('mnist-cnn-graph/model.json'), 'utf8')) as Record<string, unknown>;
    delete json.format;
    const dir = `${tmp.dir}/noformat`;
    mkdirSync(dir);
    writeFileSync(`${dir}/model.json`, JSON.stringify(json));
    writeFileSync(`${dir}/weights.bin`, readFileSync(fixture('mnist-cnn-graph/weights.bin')));
    const loaded = await loadTfjsModel(`${dir}/model.json`);
    expect(loaded.kind).toBe('graph-model');
    loaded.model.dispose();
    const viaHandler = await loadTfjsFeatureExtractor(fileSystemIO(fixture('mnist-cnn-layers/model.json')), { backend: 'cpu' });
    expect(viaHandler.detection.kind).toBe('layers-model');
    await viaHandler.dispose();
  });

  it('errors: missing file / shard -> IO_ERROR, not a model -> MODEL_FORMAT', async () => {
    expect(await code(loadTfjsModel(`${tmp.dir}/nope/model.json`))).toBe('IO_ERROR');
    const dir = `${tmp.dir}/broken`;
    mkdirSync(dir);
    writeFileSync(`${dir}/model.json`, readFileSync(fixture('mnist-cnn-layers/model.json')));
    expect(await code(loadTfjsModel(dir))).toBe('IO_ERROR');
    writeFileSync(`${dir}/model.json`, '{"hello": 1}');
    expect(await code(loadTfjsModel(dir))).toBe('MODEL_FORMAT');
    writeFileSync(`${dir}/model.json`, '{not json');
    expect(await code(loadTfjsModel(dir))).toBe('MODEL_FORMAT');
  });
});
