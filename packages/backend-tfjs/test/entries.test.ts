/**
 * The browser-safe entry (`@opnp/backend-tfjs`: string sources and targets are URLs routed by `tf.io`) against
 * the Node entry (`@opnp/backend-tfjs/node`: paths): the same features from the same model however it is
 * loaded, URLs through registered `tf.io` routers, typed errors for a path given to the browser entry, and the
 * base64 of GraphDef strings without `Buffer`. (The bundle without Node built-ins is checked in
 * tools/integration/test/browser-entries.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { beforeAll, describe, expect, it } from 'vitest';
import { isOpnpError, type InputBatch } from '@opnp/core';
import * as browser from '../src/index.js';
import * as node from '../src/node/index.js';
import { fixture, seeded } from './helpers.js';

const MODEL = fixture('mnist-cnn-layers/model.json');

/** The fixture's artifacts, read here (what a page would have after fetching the files itself). */
function fixtureArtifacts(): tf.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(MODEL, 'utf8')) as tf.io.ModelJSON;
  const weights = readFileSync(fixture('mnist-cnn-layers/weights.bin'));
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

/** Saved artifacts by key, behind the `memory-test://` scheme (a stand-in for `indexeddb://` in a page). */
const saved = new Map<string, tf.io.ModelArtifacts>();
const SCHEME = 'memory-test://';

beforeAll(async () => {
  await browser.initTfjsBackend({ prefer: 'cpu' });
  saved.set('mnist', fixtureArtifacts());
  // A router returns null for URLs that are not its own (tf.io's typings omit the null).
  const keyOf = (url: string | string[]) => (typeof url === 'string' && url.startsWith(SCHEME) ? url.slice(SCHEME.length) : undefined);
  tf.io.registerLoadRouter(((url: string | string[]) => {
    const key = keyOf(url);
    return key === undefined ? null : { load: async () => saved.get(key)! };
  }) as never);
  tf.io.registerSaveRouter(((url: string | string[]) => {
    const key = keyOf(url);
    const save = async (artifacts: tf.io.ModelArtifacts) => {
      saved.set(key!, artifacts);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    };
    return key === undefined ? null : { save };
  }) as never);
});

const batch: InputBatch = { data: seeded(3 * 784, 5), shape: [3, 28, 28, 1] };

async function errorOf(p: Promise<unknown>) {
  const error = await p.then(() => undefined, (e: unknown) => e);
  if (!isOpnpError(error)) throw new Error(`expected an OpnpError, got ${String(error)}`);
  return error;
}

describe('one model, every source', () => {
  it('artifacts, a tf.io URL and a path (Node entry) give the same features and logits, bit for bit', async () => {
    const fromPath = await node.loadTfjsFeatureExtractor(MODEL, { backend: 'cpu' });
    const fromArtifacts = await browser.loadTfjsFeatureExtractor(fixtureArtifacts(), { backend: 'cpu' });
    const fromUrl = await browser.loadTfjsFeatureExtractor(`${SCHEME}mnist`, { backend: 'cpu' });
    const fromFileUrl = await node.loadTfjsFeatureExtractor(pathToFileURL(MODEL).href, { backend: 'cpu' });
    const reference = await fromPath.extract(batch);
    for (const extractor of [fromArtifacts, fromUrl, fromFileUrl]) {
      const result = await extractor.extract(batch);
      expect(result.features.data).toEqual(reference.features.data);
      expect(result.logits.data).toEqual(reference.logits.data);
    }
    expect(fromUrl.loaded.file).toBe(`${SCHEME}mnist`);
    expect(fromFileUrl.loaded.file).toBe(MODEL);
    await Promise.all([fromPath, fromArtifacts, fromUrl, fromFileUrl].map((e) => e.dispose()));
  });

  it('the browser entry fetches a string: a path is an IO_ERROR that points to the Node entry', async () => {
    const error = await errorOf(browser.loadTfjsModel(MODEL));
    expect(error.code).toBe('IO_ERROR');
    expect(error.file).toBe(MODEL);
    expect(error.hint).toContain('@opnp/backend-tfjs/node');
    expect((await errorOf(node.loadTfjsModel(`${MODEL}.missing`))).code).toBe('IO_ERROR');
  });
});

describe('export targets follow the entry', () => {
  it('an extractor of the browser entry saves its detector to a tf.io URL; a folder needs the Node entry', async () => {
    const extractor = await browser.loadTfjsFeatureExtractor(fixtureArtifacts(), { backend: 'cpu' });
    try {
      const result = await extractor.exportDetector({ prunedWeight: extractor.head.weight, outputPath: `${SCHEME}detector` });
      expect(result.files).toEqual([`${SCHEME}detector`]);
      expect(result.path).toBe(`${SCHEME}detector`);
      const detector = await loadGraphModel(`${SCHEME}detector`);
      const [, oodScore] = detector.execute(tf.tensor(batch.data, [...batch.shape])) as tf.Tensor[];
      expect(oodScore!.shape).toEqual([3]);
      tf.dispose(oodScore!);
      detector.dispose();
      const error = await errorOf(browser.exportTfjsDetector({ extractor, prunedWeight: extractor.head.weight, outPath: 'detector/' }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.hint).toContain('@opnp/backend-tfjs/node');
    } finally {
      await extractor.dispose();
    }
  });
});

describe('GraphDef strings without Buffer', () => {
  it('encodes UTF-8 as standard base64 and decodes standard, URL-safe and unpadded base64', () => {
    for (const text of ['', 'BiasAdd', 'NHWC', 'ünïcødé ✓', 'a?b>c~']) {
      expect(browser.encodeAttrString(text)).toBe(Buffer.from(text, 'utf8').toString('base64'));
      expect(browser.decodeAttrString(browser.encodeAttrString(text))).toBe(text);
      expect(browser.decodeAttrString(Buffer.from(text, 'utf8').toString('base64url'))).toBe(text);
    }
    expect(browser.decodeAttrString(undefined)).toBeUndefined();
    expect(browser.decodeAttrString('not base64 !')).toBeUndefined();
  });
});
