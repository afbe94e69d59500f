/**
 * Fuzzing every binary parser with random, truncated and bit-flipped bytes, lying headers, decompression
 * bombs and truncation at every byte of small valid files: each must either parse (correctly, where a
 * reference is known) or throw an OpnpError ('DATASET_FORMAT', or 'DATASET_NOT_FOUND' for a corrupted
 * variable name), never another error, never hang, never allocate from an unchecked header size. Work is
 * bounded by counting the bytes the stream readers pull from the decompressor (no wall-time assertions).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { deflateSync, gzipSync, inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOpnpError, mulberry32 } from '@opnp/core';
import type { OpnpError } from '@opnp/core';
import { datasetInfo, fromCifar, fromIdx as nodeFromIdx, fromMat as nodeFromMat, openDataset, openIdx, openSvhn, parseImageList, readNpy } from '../src/node/index.js';
import { fromIdx as browserFromIdx, fromMat as browserFromMat } from '../src/index.js';
import type { Dataset, PreprocessOptions } from '../src/node/index.js';
import { observeStreamReaders, type StreamReader } from '../src/node/io.js';
import { FIXTURES, expectOpnpError, fixture } from './helpers.js';

const rng = mulberry32;

/** The decompressing parsers of both entries (fflate and node:zlib): every case runs against each. */
const ENTRIES = [
  { entry: '@opnp/datasets', fromIdx: browserFromIdx, fromMat: browserFromMat },
  { entry: '@opnp/datasets/node', fromIdx: nodeFromIdx, fromMat: nodeFromMat },
] as const;

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
      const bytes = Uint8Array.from(good); // a copy: Buffer#slice would be a view, corrupting `good` for later cases
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
  it.each(ENTRIES)('fromIdx (raw and gzip) of $entry', ({ fromIdx }) => {
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

  it.each(ENTRIES)('fromMat (compressed and uncompressed) of $entry', ({ fromMat }) => {
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

  it.each(ENTRIES)('an IDX header announcing terabytes is rejected without allocating ($entry)', ({ fromIdx }) => {
    const header = Uint8Array.from([0, 0, 0x08, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    expect(() => fromIdx(header)).toThrow(/truncated/);
    expect(() => fromIdx(gzipSync(header))).toThrow(/truncated/);
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

/** Every StreamReader (gzip / zlib) created while the lie and bomb cases run: their pulled bytes are the work done. */
const readers: StreamReader[] = [];

/**
 * Opens `bytes` written to `name` with `open`, drains it and runs `datasetInfo` (which verifies lengths).
 * Must end in a typed error or succeed; returns the error, or undefined on success. Every stream reader
 * must have pulled at most `maxPulled` bytes.
 */
async function fileCase(dir: string, name: string, bytes: Uint8Array, open: (path: string) => Promise<Dataset>, maxPulled: number, preprocess: PreprocessOptions = { scale: 1 }): Promise<OpnpError | undefined> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  readers.length = 0;
  let caught: unknown;
  try {
    const ds = await open(path);
    await datasetInfo(ds);
    for await (const _ of ds.batches({ batchSize: 7, preprocess })) void _;
  } catch (error) {
    caught = error;
  }
  if (caught !== undefined && (!isOpnpError(caught) || !ALLOWED.has(caught.code))) throw new Error(`${name}: ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  for (const r of readers) expect(r.pulled, `${name}: bytes pulled from the decompressor`).toBeLessThanOrEqual(maxPulled);
  return caught as OpnpError | undefined;
}

/** An IDX header (`dtype` 0x08 uint8 by default) for `dims`, then `payload`. */
function idxBytes(dims: readonly number[], payload: Uint8Array, dtype = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  out.set([0, 0, dtype, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

/** A `.npy` float32 file whose header says `shape` (any text), with `payload` data bytes. */
function npyBytes(shape: string, payload: number): Uint8Array {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  while ((10 + dict.length + 1) % 64 !== 0) dict += ' ';
  const out = new Uint8Array(10 + dict.length + 1 + payload);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, dict.length + 1, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  out[10 + dict.length] = 0x0a;
  return out;
}

/** A MAT file with its `k`-th `miCOMPRESSED` element's inflated bytes replaced by `edit(inflated)`. */
function editCompressedMat(mat: Uint8Array, k: number, edit: (inflated: Uint8Array) => Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [mat.subarray(0, 128)];
  let offset = 128;
  let seen = 0;
  while (offset + 8 <= mat.length) {
    const view = new DataView(mat.buffer, mat.byteOffset + offset, 8);
    const bytes = view.getUint32(4, true);
    const data = mat.subarray(offset + 8, offset + 8 + bytes);
    if (view.getUint32(0, true) === 15 && seen++ === k) {
      const packed = deflateSync(edit(new Uint8Array(inflateSync(data))));
      const tag = new Uint8Array(8);
      new DataView(tag.buffer).setUint32(0, 15, true);
      new DataView(tag.buffer).setUint32(4, packed.length, true);
      parts.push(tag, packed);
    } else parts.push(mat.subarray(offset, offset + 8 + bytes));
    offset += 8 + bytes;
  }
  return Buffer.concat(parts);
}

/** `bytes` with int32 little-endian `values` written at `at`. */
function withInt32s(bytes: Uint8Array, at: number, values: readonly number[]): Uint8Array {
  const out = bytes.slice();
  values.forEach((v, i) => new DataView(out.buffer).setInt32(at + 4 * i, v, true));
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'opnp-fuzz-lies-'));
observeStreamReaders((r) => readers.push(r));
afterAll(() => {
  observeStreamReaders(undefined);
  rmSync(dir, { recursive: true, force: true });
});
const openRawIdx = (p: string) => openIdx(p, { labels: false });
/** Bytes a stream reader may pull beyond what a case justifies (zlib's output chunks are 16 KiB). */
const SLACK = 64 * 1024;

describe('IDX header lies and decompression bombs', () => {

  it('IDX raw and .gz: huge, "negative" (2^32 - 1), overflowing and zero dims', async () => {
    const lies = [[0xffffffff, 4, 5], [3, 0xffffffff, 0xffffffff], [0x80000000, 0x80000000, 2], [65536, 65536, 65536], [3, 4, 5, 0xffffffff], [2 ** 31, 1], [0, 4, 5], [3, 0, 5], [1, 20000, 20000], [4, 3, 5]];
    const payload = Uint8Array.from({ length: 60 }, (_, i) => i);
    let k = 0;
    for (const dims of lies) {
      for (const dtype of [0x08, 0x0e]) {
        const raw = idxBytes(dims, payload, dtype);
        for (const { entry, fromIdx } of ENTRIES) {
          check(() => fromIdx(raw), `${entry}: idx ${dims}`);
          check(() => fromIdx(gzipSync(raw)), `${entry}: idx.gz ${dims}`);
        }
        await fileCase(dir, `lie${k}-images-idx3-ubyte`, raw, openRawIdx, SLACK);
        const gzError = await fileCase(dir, `lie${k++}-images-idx3-ubyte.gz`, gzipSync(raw), openRawIdx, SLACK);
        const total = dims.reduce((a, b) => a * b, dtype === 0x08 ? 1 : 8);
        if (total !== 60) expect(gzError, `${dims}: the payload disagrees with the header`).toBeDefined();
      }
    }
  });

  it('IDX .gz bombs are read only as far as the header justifies', async () => {
    const good = readFileSync(fixture('idx', 'uint8-images-idx3-ubyte'));
    const bomb = gzipSync(Buffer.concat([good, Buffer.alloc(8 << 20)]), { level: 9 });
    expect(bomb.length).toBeLessThan(16 * 1024);
    for (const { fromIdx } of ENTRIES) expect((await expectOpnpError(() => fromIdx(bomb), 'DATASET_FORMAT')).message).toMatch(/more bytes than its header announces/);
    expect(await fileCase(dir, 'bomb-images-idx3-ubyte.gz', bomb, openRawIdx, good.length + SLACK)).toBeDefined();
    const labelsBomb = gzipSync(Buffer.concat([readFileSync(fixture('idx', 'uint8-labels-idx1-ubyte')), Buffer.alloc(8 << 20)]));
    writeFileSync(join(dir, 'lb-images-idx3-ubyte'), good);
    writeFileSync(join(dir, 'lb-labels-idx1-ubyte.gz'), labelsBomb);
    await expectOpnpError(() => openIdx(join(dir, 'lb-images-idx3-ubyte')), 'DATASET_FORMAT');
  });

});

describe('truncation at every byte', () => {
  it('IDX, .npy and SVHN files truncated at every byte fail with typed errors', async () => {
    const cases: [string, string, (p: string) => Promise<Dataset>][] = [
      [fixture('idx', 'uint8-images-idx3-ubyte'), 'cut-images-idx3-ubyte', openRawIdx],
      [fixture('idx', 'uint8-images-idx3-ubyte.gz'), 'cut-images-idx3-ubyte.gz', openRawIdx],
      [fixture('npy', 'f4.npy'), 'cut.npy', (p) => openDataset(`npy:${p}`)],
      [fixture('svhn', 'grey.mat'), 'cut.mat', (p) => openSvhn(p)],
    ];
    for (const [source, name, open] of cases) {
      const good = readFileSync(source);
      expect(await fileCase(dir, name, good, open, good.length * 1100 + SLACK), `${name} whole`).toBeUndefined();
      for (let n = 0; n < good.length; n++) {
        const cut = good.subarray(0, n);
        expect(await fileCase(dir, `${n}-${name}`, cut, open, SLACK), `${name} cut at ${n}`).toBeDefined();
        for (const { entry, fromIdx, fromMat } of ENTRIES) {
          if (name.endsWith('.mat')) check(() => fromMat(cut), `${entry}: ${name} cut at ${n}`);
          else if (name.endsWith('.npy')) expectTyped(() => readNpy(cut), `${name} cut at ${n}`);
          else expectTyped(() => fromIdx(cut), `${entry}: ${name} cut at ${n}`);
        }
      }
    }
  });

  it('CIFAR cut at every byte: whole records parse exactly, anything else fails', () => {
    const good = readFileSync(fixture('cifar10', 'test_batch.bin')).subarray(0, 2 * 3073);
    const full = fromCifar(good, { variant: 'cifar10' });
    for (let n = 0; n <= good.length; n++) {
      const cut = good.subarray(0, n);
      if (n > 0 && n % 3073 === 0) {
        const part = fromCifar(cut, { variant: 'cifar10' });
        expect(part.count).toBe(n / 3073);
        expect(Array.from(part.labels)).toEqual(Array.from(full.labels.subarray(0, part.count)));
        expect(part.images).toEqual(full.images.subarray(0, part.count * 3072));
      } else expectTyped(() => fromCifar(cut, { variant: 'cifar10' }), `cifar cut at ${n}`);
    }
  });

});

describe('MAT, .npy and image-list lies', () => {
  it('MAT: dims that are negative, overflowing or larger than the data, compressed and not', async () => {
    const plain = readFileSync(fixture('svhn', 'uncompressed_32x32.mat'));
    const packed = readFileSync(fixture('svhn', 'test_32x32.mat'));
    const lies = [[-1, 32, 3, 6], [32, 32, 3, 0x7fffffff], [65536, 65536, 3, 6], [0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff], [32, 32, 3, 600], [0, 32, 3, 6]];
    let k = 0;
    for (const dims of lies) {
      // uncompressed: X's dims at byte 160; compressed: at byte 32 of the first element's inflated data
      for (const bytes of [withInt32s(plain, 160, dims), editCompressedMat(packed, 0, (inner) => withInt32s(inner, 32, dims))]) {
        for (const { entry, fromMat } of ENTRIES) check(() => fromMat(bytes), `${entry}: mat ${dims}`);
        await fileCase(dir, `lie${k++}.mat`, bytes, (p) => openSvhn(p), SLACK);
      }
    }
    // labels announcing more values than the images
    await fileCase(dir, 'ylie.mat', editCompressedMat(packed, 1, (inner) => withInt32s(inner, 32, [600, 1])), (p) => openSvhn(p), SLACK);
  });

  it('MAT: a compressed element that inflates far past its tag is stopped', async () => {
    const packed = readFileSync(fixture('svhn', 'test_32x32.mat'));
    const bomb = editCompressedMat(packed, 0, (inner) => Buffer.concat([inner, Buffer.alloc(8 << 20)]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    for (const { fromMat } of ENTRIES) expect((await expectOpnpError(() => fromMat(bomb), 'DATASET_FORMAT')).message).toMatch(/more bytes than its header announces/);
    const error = await fileCase(dir, 'bomb.mat', bomb, (p) => openSvhn(p), 18496 + SLACK);
    expect(error?.message).toMatch(/trailing bytes/);
  });

  it('.npy: shapes larger than the data, negative, overflowing', async () => {
    for (const [k, shape] of ['(300, 4)', '(99999999999999999999, 4)', '(4294967296, 4294967296)', '(3, -4)', '(3, 4, 5, 6, 7)', '()', '(0, 4)', '(3, 4)'].entries()) {
      const bytes = npyBytes(shape, 48);
      const parsed = (() => {
        try {
          return readNpy(bytes);
        } catch (error) {
          if (!isOpnpError(error)) throw error;
          return undefined;
        }
      })();
      if (parsed) expect(parsed.shape, shape).toEqual([3, 4]);
      await fileCase(dir, `lie${k}.npy`, bytes, (p) => openDataset(`npy:${p}`), SLACK);
    }
  });

  it('image lists: mutated lines, huge labels, entries outside the root', async () => {
    const good = readFileSync(fixture('imglist', 'list.txt'), 'utf8');
    const full = parseImageList(good);
    for (let n = 0; n <= good.length; n++) {
      const cut = good.slice(0, n);
      try {
        const entries = parseImageList(cut);
        // a cut list parses to whole lines only: the entries are a prefix of the full list's
        expect(entries).toEqual(full.slice(0, entries.length));
      } catch (error) {
        if (!isOpnpError(error) || error.code !== 'DATASET_FORMAT') throw error;
      }
    }
    const lines = ['a.png 99999999999999999999', 'a.png -2', '../../etc/passwd 0', '/etc/passwd 0', 'folder/zebra/b.png 4 5', 'x\u0000y.png 1', 'ood/1.png 2147483647'];
    let k = 0;
    for (const line of lines) {
      await fileCase(dir, `l${k++}.txt`, Buffer.from(`${line}\n`), (p) => openDataset(`imglist:${p}#root=${FIXTURES}`), SLACK, { centerCrop: 4, scale: 1 });
    }
    let m = 0;
    for (const bytes of mutations(Buffer.from(good), 31, 60)) {
      await fileCase(dir, `m${m++}.txt`, bytes, (p) => openDataset(`imglist:${p}#root=${FIXTURES}`), SLACK, { centerCrop: 4, scale: 1 });
    }
  });
});

/** `parse` must throw an OpnpError ('DATASET_FORMAT' / 'DATASET_NOT_FOUND'), not succeed. */
function expectTyped(parse: () => unknown, label: string): void {
  let threw = false;
  check(() => {
    try {
      parse();
    } catch (error) {
      threw = true;
      throw error;
    }
  }, label);
  expect(threw, `${label}: parsed a truncated file`).toBe(true);
}
