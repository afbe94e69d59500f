/**
 * The browser-safe entries as a browser gets them: each is bundled by esbuild for `platform: 'browser'` from
 * the sources, and no Node built-in may be anywhere in its import graph. The `@opnp/datasets` bundle then runs in
 * a bare `node:vm` context (web globals only: no `require`, `process` or `Buffer`) on the demo's gzipped MNIST
 * files, and its pixels, labels and preprocessed batches must equal the Node entry's bit for bit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { fromIdx, idxLabels, openIdx, type Dataset, type IdxArray } from '@opnp/datasets/node';
import { REPO_ROOT, bundleForBrowser, runInBareContext } from '../src/browser-bundle.js';

const ENTRIES = ['@opnp/core', '@opnp/metrics', '@opnp/datasets', '@opnp/backend-tfjs', '@opnp/onnx-common', '@opnp/backend-onnx-web'];

describe.each(ENTRIES)('%s bundled for the browser', (entry) => {
  it('imports no Node built-in', async () => {
    const bundle = await bundleForBrowser(entry);
    const listed = bundle.nodeImports.map((i) => `${i.specifier} (imported by ${i.importer})`);
    expect(listed, `Node built-ins in the import graph of ${entry}`).toEqual([]);
    expect(bundle.errors, `esbuild errors bundling ${entry}`).toEqual([]);
    expect(bundle.code.length).toBeGreaterThan(0);
  });
});

it('the check sees Node built-ins where they are: @opnp/datasets/node', async () => {
  const bundle = await bundleForBrowser('@opnp/datasets/node');
  const specifiers = new Set(bundle.nodeImports.map((i) => i.specifier));
  for (const expected of ['node:fs', 'node:fs/promises', 'node:zlib', 'node:path']) expect(specifiers).toContain(expected);
  expect(bundle.nodeImports.find((i) => i.specifier === 'node:zlib')?.importer).toMatch(/^packages\/datasets\/src\/node\//);
});

const DEMO = join(REPO_ROOT, 'packages/cli/assets/demo');
const IMAGES = join(DEMO, 'mnist-test-2500-images-idx3-ubyte.gz');
const LABELS = join(DEMO, 'mnist-test-2500-labels-idx1-ubyte.gz');

/** The bytes behind a typed array of any realm. */
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** All batches of a pass, concatenated (works on datasets of another realm). */
async function drain(dataset: Dataset, preprocess: object): Promise<{ data: Buffer; labels: number[]; indices: number[] }> {
  const data: Buffer[] = [];
  const labels: number[] = [];
  const indices: number[] = [];
  for await (const batch of dataset.batches({ batchSize: 300, preprocess })) {
    data.push(Buffer.from(bytesOf(batch.data)));
    labels.push(...Array.from(batch.labels));
    indices.push(...Array.from(batch.indices));
  }
  return { data: Buffer.concat(data), labels, indices };
}

describe('the @opnp/datasets bundle in a bare vm context (no require, process or Buffer)', () => {
  it('parses the demo MNIST .gz and batches it exactly as the Node entry does', async () => {
    const bundle = await bundleForBrowser('@opnp/datasets');
    const { exports, context } = await runInBareContext(bundle.code);
    for (const name of ['require', 'process', 'Buffer', 'global', 'module']) {
      expect(runInContext(`typeof ${name}`, context), name).toBe('undefined');
    }
    const inRealm = runInContext('(bytes) => new Uint8Array(bytes)', context) as (bytes: Uint8Array) => Uint8Array;
    const api = exports as { fromIdx: typeof fromIdx; idxLabels: typeof idxLabels; idxDataset: (images: IdxArray, options: { labels: Int32Array }) => Dataset };

    const images = api.fromIdx(inRealm(readFileSync(IMAGES)));
    const labels = api.idxLabels(api.fromIdx(inRealm(readFileSync(LABELS))));
    const nodeImages = fromIdx(readFileSync(IMAGES));
    const nodeLabels = idxLabels(fromIdx(readFileSync(LABELS)));
    expect(Array.from(images.dims)).toEqual([2500, 28, 28]);
    expect(images.dtype).toBe('uint8');
    expect(bytesOf(images.data).equals(bytesOf(nodeImages.data))).toBe(true);
    expect(bytesOf(labels).equals(bytesOf(nodeLabels))).toBe(true);

    const preprocess = { mean: 0.1307, std: 0.3081, resize: 32, centerCrop: 30 };
    const inBundle = await drain(api.idxDataset(images, { labels }), preprocess);
    const fromNode = await drain(await openIdx(IMAGES), preprocess);
    expect(inBundle.indices).toEqual(fromNode.indices);
    expect(inBundle.labels).toEqual(fromNode.labels);
    expect(inBundle.data.length).toBe(2500 * 30 * 30 * 4);
    expect(inBundle.data.equals(fromNode.data)).toBe(true);
  });
});
