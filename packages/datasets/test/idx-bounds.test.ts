/**
 * IDX files whose header lies: huge images behind a tiny `.gz`, decompression bombs, truncated and padded
 * payloads. Each ends in a typed error with bounded work, checked on the bytes the readers pull and hold
 * (never on wall time).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '@opnp/core';
import { datasetInfo, fromIdx as nodeFromIdx, openDataset, openIdx } from '../src/node/index.js';
import { fromIdx as browserFromIdx } from '../src/index.js';
import { StreamReader, observeStreamReaders } from '../src/node/io.js';
import { collect, expectOpnpError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'opnp-idx-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every StreamReader created while a test runs. */
const readers: StreamReader[] = [];
observeStreamReaders((r) => readers.push(r));
afterEach(() => {
  readers.length = 0;
});
afterAll(() => observeStreamReaders(undefined));

/** An IDX uint8 (or `dtype`) header for `dims`. */
function idxHeader(dims: readonly number[], dtype = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length);
  out.set([0, 0, dtype, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

/** Seeded incompressible bytes. */
function noise(n: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 256) | 0;
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('IDX headers that announce more than the file holds', () => {
  it('a tiny .gz claiming 2 x 20000 x 20000 fails at open, naming the dims, after pulling only the header', async () => {
    const gz = gzipSync(concat(idxHeader([2, 20000, 20000]), noise(100, 1)));
    const path = write('huge-images-idx3-ubyte.gz', gz);
    const error = await expectOpnpError(() => openIdx(path, { labels: false }), 'DATASET_FORMAT');
    expect(error.message).toMatch(/truncated/);
    expect(error.message).toContain('dims [2, 20000, 20000] of uint8');
    expect(error.file).toBe(path);
    expect(readers.length).toBeGreaterThan(0);
    for (const r of readers) expect(r.pulled).toBeLessThanOrEqual(64 * 1024);
    // the buffer parsers of both entries refuse it before inflating
    for (const fromIdx of [browserFromIdx, nodeFromIdx]) expect((await expectOpnpError(() => fromIdx(gz), 'DATASET_FORMAT')).message).toContain('dims [2, 20000, 20000]');
  });

  it('refuses samples above 256 MiB even when the .gz could hold them', async () => {
    // 1 x 8000 x 8000 float64 = 512 MB per sample; 500 kB of incompressible data pass the deflate-ratio check
    const path = write('big-images-idx3-ubyte.gz', gzipSync(concat(idxHeader([1, 8000, 8000], 0x0e), noise(500_000, 2)), { level: 1 }));
    const error = await expectOpnpError(() => openIdx(path, { labels: false }), 'DATASET_FORMAT');
    expect(error.message).toContain('dims [1, 8000, 8000] of float64 make 512000000 bytes per sample');
    expect(error.message).toContain('at most 268435456 bytes');
  });

  it('a .gz with a short payload ends in a truncation error; buffering stays linear in the sample size', async () => {
    const side = 1500;
    const sample = side * side;
    const path = write('short-images-idx3-ubyte.gz', gzipSync(concat(idxHeader([2, side, side]), noise(sample + sample / 2, 3)), { level: 1 }));
    const ds = await openIdx(path, { labels: false });
    readers.length = 0;
    const error = await expectOpnpError(() => collect(ds, { batchSize: 1, prefetch: 0, preprocess: { scale: 1 } }), 'DATASET_FORMAT');
    expect(error.message).toMatch(/truncated/);
    expect(readers).toHaveLength(1);
    const [reader] = readers;
    // the first sample was assembled with one copy of its bytes, the second never held more than what exists
    expect(reader!.copied).toBeLessThanOrEqual(sample + 64 * 1024);
    expect(reader!.maxBuffered).toBeLessThanOrEqual(sample + 64 * 1024);
    expect(reader!.pulled).toBeLessThanOrEqual(16 + sample * 1.5 + 64 * 1024);
  });

  it('StreamReader copies every byte at most once when a read spans many chunks', async () => {
    const chunks = Array.from({ length: 400 }, (_, i) => Buffer.from(noise(1000, 10 + i)));
    const { Readable } = await import('node:stream');
    const reader = new StreamReader(Readable.from(chunks), 'mem', 'test data');
    const first = await reader.read(250_000);
    expect(Array.from(first.subarray(999, 1001))).toEqual([chunks[0]![999], chunks[1]![0]]);
    await reader.skip(100_500);
    expect((await reader.read(10))[0]).toBe(chunks[350]![500]);
    expect(reader.copied).toBe(250_000); // the 10 bytes lie in one chunk: a view, no copy
    expect(reader.maxBuffered).toBeLessThanOrEqual(251_000);
    await expectOpnpError(() => reader.read(50_000), 'DATASET_FORMAT');
    reader.close();
  });
});

describe('datasetInfo verifies the payload length', () => {
  const good = concat(idxHeader([3, 4, 5]), noise(60, 4));

  it('a .gz whose header claims more samples than it holds fails with expected and actual bytes', async () => {
    const lying = concat(idxHeader([10, 4, 5]), good.subarray(16));
    const path = write('lying-images-idx3-ubyte.gz', gzipSync(lying));
    const ds = await openDataset(path);
    expect(ds.count).toBe(10); // the header's claim, unverified
    const error = await expectOpnpError(() => datasetInfo(ds), 'DATASET_FORMAT');
    expect(error.file).toBe(path);
    expect(error.message).toMatch(/^IDX file is truncated/);
    expect(error.message).toContain('expected 216 bytes (decompressed) for dims [10, 4, 5] of uint8, got 76 bytes');
    expect((await datasetInfo(ds, { verify: false })).verified).toEqual([]);
  });

  it('a truncated raw file named like IDX opens as IDX and says "truncated"; an unnamed one says what its header announced', async () => {
    const cut = good.subarray(0, 70);
    const named = write('cut-images-idx3-ubyte', cut);
    const error = await expectOpnpError(() => openDataset(named), 'DATASET_FORMAT');
    expect(error.message).toContain('IDX file is truncated');
    expect(error.message).toContain('expected 76 bytes for dims [3, 4, 5] of uint8, got 70 bytes');
    const unnamed = write('mystery.dat', cut);
    expect((await expectOpnpError(() => openDataset(unnamed), 'DATASET_FORMAT')).message).toContain('it starts like an IDX file, but its header announces 76 bytes and the file has 70');
  });

  it('a cut .gz and a padded .gz fail; a good one says what was checked', async () => {
    const gz = gzipSync(good);
    const cut = write('cut-images-idx3-ubyte.gz', gz.subarray(0, gz.length - 12));
    const cutError = await expectOpnpError(async () => datasetInfo(await openDataset(cut)), 'DATASET_FORMAT');
    expect(cutError.message).toMatch(new RegExp(`^The gzip data ends early: the compressed stream stops at byte ${gz.length - 12} of the file, whose size is ${gz.length - 12} bytes`));
    expect(cutError.message).toContain('expected 76 decompressed bytes (header and data of dims [3, 4, 5] of uint8)');
    const padded = write('padded-images-idx3-ubyte.gz', gzipSync(concat(good, new Uint8Array(5000))));
    expect((await expectOpnpError(async () => datasetInfo(await openDataset(padded)), 'DATASET_FORMAT')).message).toMatch(/trailing bytes/);
    const ok = write('ok-images-idx3-ubyte.gz', gz);
    expect((await datasetInfo(await openDataset(ok))).verified).toEqual(['images: 76 decompressed bytes = header + dims [3, 4, 5] of uint8 (gzip streamed and counted)']);
  });

  it('a decompression bomb behind a small header is read only as far as the header justifies', async () => {
    const bomb = gzipSync(concat(good, new Uint8Array(16 << 20)));
    const path = write('bomb-images-idx3-ubyte.gz', bomb);
    const ds = await openDataset(path);
    readers.length = 0;
    await expectOpnpError(() => datasetInfo(ds), 'DATASET_FORMAT');
    await expectOpnpError(() => collect(ds, { preprocess: { scale: 1 } }), 'DATASET_FORMAT');
    expect(readers).toHaveLength(2);
    for (const r of readers) expect(r.pulled).toBeLessThanOrEqual(76 + 128 * 1024);
    for (const fromIdx of [browserFromIdx, nodeFromIdx]) expect((await expectOpnpError(() => fromIdx(bomb), 'DATASET_FORMAT')).message).toMatch(/more bytes than its header announces/);
  });
});
