/**
 * Fuzzing every binary parser with random, truncated and bit-flipped bytes: each must either parse or throw
 * an OpnpError ('DATASET_FORMAT', or 'DATASET_NOT_FOUND' for a corrupted variable name), never another
 * error, never hang, never allocate from an unchecked header size.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOpnpError, mulberry32 } from '@opnp/core';
import { fromCifar, fromIdx, fromMat, openDataset, openIdx, openSvhn, readNpy } from '../src/index.js';
import type { Dataset } from '../src/index.js';
import { fixture } from './helpers.js';

const rng = mulberry32;

/** Random byte strings, truncations and single-byte corruptions of `good`. */
function* mutations(good: Uint8Array, seed: number, count: number): Generator<Uint8Array> {
  const random = rng(seed);
  for (let i = 0; i < count; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const bytes = new Uint8Array(Math.floor(random() * 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      // keep a valid-looking prefix half the time so the header paths get exercised
      if (random() < 0.5) bytes.set(good.subarray(0, Math.min(bytes.length, 16 + Math.floor(random() * 128))));
      yield bytes;
    } else if (kind === 1) {
      yield good.slice(0, Math.floor(random() * good.length));
    } else {
      const bytes = good.slice();
      const at = Math.floor(random() * Math.min(bytes.length, random() < 0.7 ? 256 : bytes.length));
      bytes[at] = Math.floor(random() * 256);
      yield bytes;
    }
  }
}

const ALLOWED = new Set(['DATASET_FORMAT', 'DATASET_NOT_FOUND']);

function check(parse: () => unknown, label: string): void {
  try {
    parse();
  } catch (error) {
    if (!isOpnpError(error) || !ALLOWED.has(error.code)) throw new Error(`${label}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

async function checkAsync(run: () => Promise<unknown>, label: string): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (!isOpnpError(error) || !ALLOWED.has(error.code)) throw new Error(`${label}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

async function drain(ds: Dataset): Promise<void> {
  await ds.readLabels();
  for await (const _ of ds.batches({ batchSize: 7, preprocess: { scale: 1 } })) void _;
}

describe('buffer parsers', () => {
  it('fromIdx (raw and gzip)', () => {
    const good = readFileSync(fixture('idx', 'float64-images-idx3-ubyte'));
    let k = 0;
    for (const bytes of mutations(good, 1, 600)) {
      check(() => fromIdx(bytes), `idx #${k}`);
      if (k % 4 === 0) check(() => fromIdx(gzipSync(bytes)), `idx.gz #${k}`);
      k++;
    }
    const gz = readFileSync(fixture('idx', 'uint8-images-idx3-ubyte.gz'));
    for (const bytes of mutations(gz, 2, 300)) check(() => fromIdx(bytes), 'gz mutation');
  });

  it('fromCifar', () => {
    const good = readFileSync(fixture('cifar100', 'test.bin'));
    for (const bytes of mutations(good, 3, 300)) {
      check(() => fromCifar(bytes), 'cifar auto');
      check(() => fromCifar(bytes, { variant: 'cifar100', labels: 'coarse' }), 'cifar100');
    }
  });

  it('fromMat (compressed and uncompressed)', () => {
    for (const [seed, name] of [[4, 'test_32x32.mat'], [5, 'uncompressed_32x32.mat'], [6, 'grey.mat']] as const) {
      const good = readFileSync(fixture('svhn', name));
      let k = 0;
      for (const bytes of mutations(good, seed, 400)) check(() => fromMat(bytes), `${name} #${k++}`);
    }
  });

  it('readNpy', () => {
    const good = readFileSync(fixture('npy', 'v2.npy'));
    for (const bytes of mutations(good, 7, 600)) check(() => readNpy(bytes), 'npy');
  });

  it('an IDX header announcing terabytes is rejected without allocating', () => {
    const header = Uint8Array.from([0, 0, 0x08, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    expect(() => fromIdx(header)).toThrow(/truncated/);
  });
});

describe('streaming loaders on corrupted files', () => {
  it('openIdx / openSvhn / openDataset stream or fail with typed errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-fuzz-'));
    try {
      const sources: [string, string, (path: string) => Promise<Dataset>][] = [
        [fixture('idx', 'int16-images-idx3-ubyte'), 'a-images-idx3-ubyte', (p) => openIdx(p, { labels: false })],
        [fixture('idx', 'uint8-images-idx3-ubyte.gz'), 'b-images-idx3-ubyte.gz', (p) => openIdx(p, { labels: false })],
        [fixture('svhn', 'test_32x32.mat'), 'c.mat', (p) => openSvhn(p)],
        [fixture('svhn', 'uncompressed_32x32.mat'), 'd.mat', (p) => openSvhn(p)],
        [fixture('cifar10', 'test_batch.bin'), 'e.bin', (p) => openDataset(`cifar10:${p}`)],
        [fixture('npy', 'images.npy'), 'f.npy', (p) => openDataset(`npy:${p}`)],
        [fixture('svhn', 'test_32x32.mat'), 'g.bin', (p) => openDataset(p)],
      ];
      let k = 0;
      for (const [source, name, open] of sources) {
        const good = readFileSync(source);
        for (const bytes of mutations(good, 11 + k, 45)) {
          const path = join(dir, `${k++}-${name}`);
          writeFileSync(path, bytes);
          await checkAsync(async () => drain(await open(path)), `${name} (${path})`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
