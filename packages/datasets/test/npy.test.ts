import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetInfo, encodeNpy, loadNpy, npyToMatrix, openDataset, openNpyDataset, openNpyRowWriter, readNpy, writeNpy } from '../src/node/index.js';
import { floatBytes, floatBytesView } from '../src/formats/npy.js';
import { collect, escapeRegExp, expectOpnpError, fixture, pix } from './helpers.js';

/** The fixtures' matrix: (arange(12).reshape(3, 4) - 5.5) / 3. */
const A = Array.from({ length: 12 }, (_, i) => (i - 5.5) / 3);

describe('readNpy', () => {
  it('reads float32 / float64, header v1 and v2, either byte order, 1-D', async () => {
    for (const name of ['f4.npy', 'v2.npy', 'big_endian.npy']) {
      const array = await loadNpy(fixture('npy', name));
      expect(array.dtype).toBe('float32');
      expect(array.shape).toEqual([3, 4]);
      expect(Array.from(array.data)).toEqual(A.map(Math.fround));
    }
    const f8 = readNpy(readFileSync(fixture('npy', 'f8.npy')));
    expect(f8.dtype).toBe('float64');
    expect(Array.from(f8.data)).toEqual(A);
    expect(npyToMatrix(f8)).toMatchObject({ rows: 3, cols: 4 });
    const vector = npyToMatrix(await loadNpy(fixture('npy', 'vector.npy')));
    expect(vector).toEqual({ rows: 3, cols: 1, data: Float32Array.from([1.5, -2.25, 3]) });
  });

  it('rejects fortran order, other dtypes, truncation and bad magic with clear errors', async () => {
    const fortran = await expectOpnpError(() => loadNpy(fixture('npy', 'fortran.npy')), 'DATASET_FORMAT');
    expect(fortran.message).toMatch(/Fortran/);
    expect((await expectOpnpError(() => loadNpy(fixture('npy', 'int.npy')), 'DATASET_FORMAT')).message).toMatch(/dtype/);
    const bytes = readFileSync(fixture('npy', 'f4.npy'));
    const truncated = await expectOpnpError(() => readNpy(bytes.subarray(0, bytes.length - 2), { file: 'f.npy' }), 'DATASET_FORMAT');
    expect(truncated.offset).toBe(bytes.length - 2);
    await expectOpnpError(() => readNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), 'DATASET_FORMAT');
    await expectOpnpError(() => loadNpy(fixture('npy', 'absent.npy')), 'DATASET_NOT_FOUND');
  });

  it('opens 4-D arrays as a dataset of stored values', async () => {
    const ds = await openDataset(fixture('npy', 'images.npy'));
    expect(ds.format).toBe('npy');
    expect(ds.shape).toEqual([3, 4, 5]);
    const { data } = await collect(ds);
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) expected.push(Math.fround(pix(n, c, y, x) / 255));
    expect(Array.from(data)).toEqual(expected);
  });
});

describe('writeNpy and the row writer', () => {
  it('round-trips and writes byte-identical files to numpy (np.save)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-npy-'));
    try {
      const m = { rows: 3, cols: 4, data: Float32Array.from(A) };
      const path = join(dir, 'out.npy');
      await writeNpy(path, m);
      expect(readFileSync(path).equals(readFileSync(fixture('npy', 'f4.npy')))).toBe(true);
      expect(readdirSync(dir)).toEqual(['out.npy']); // no temporary file left behind
      await writeNpy(join(dir, 'f8.npy'), { dtype: 'float64', shape: [3, 4], data: Float64Array.from(A) });
      expect(readFileSync(join(dir, 'f8.npy')).equals(readFileSync(fixture('npy', 'f8.npy')))).toBe(true);
      expect(readNpy(encodeNpy({ dtype: 'float32', shape: [3], data: Float32Array.from([1, 2, 3]) })).shape).toEqual([3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends rows, resumes after an interruption (cutting a partial row), and finalizes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-rows-'));
    try {
      const path = join(dir, 'features.npy');
      const first = await openNpyRowWriter(path, { cols: 3 });
      expect(first.rows).toBe(0);
      await first.append(Float32Array.from([1, 2, 3, 4, 5, 6]));
      await first.append({ rows: 1, cols: 3, data: Float32Array.from([7, 8, 9]) });
      await first.close();
      // the partial file is a valid .npy of the rows so far
      expect(readNpy(readFileSync(`${path}.partial`)).shape).toEqual([3, 3]);
      appendFileSync(`${path}.partial`, Buffer.alloc(5)); // a torn write
      const second = await openNpyRowWriter(path, { cols: 3 });
      expect(second.resumedRows).toBe(3);
      await second.append(Float32Array.from([10, 11, 12]));
      await second.finalize();
      expect(existsSync(`${path}.partial`)).toBe(false);
      const array = await loadNpy(path);
      expect(array.shape).toEqual([4, 3]);
      expect(Array.from(array.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      await expectOpnpError(() => openNpyRowWriter(path, { cols: 4 }), 'DATASET_FORMAT');
      const fresh = await openNpyRowWriter(join(dir, 'other.npy'), { cols: 2, resume: false });
      await expectOpnpError(() => fresh.append(Float32Array.from([1, 2, 3])), 'INVALID_ARGUMENT');
      await fresh.finalize();
      expect(readNpy(readFileSync(join(dir, 'other.npy'))).shape).toEqual([0, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('floatBytes', () => {
  /** The definition: each value written little-endian through a DataView. */
  function littleEndian(data: Float32Array | Float64Array): Uint8Array {
    const out = new Uint8Array(data.byteLength);
    const view = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) {
      if (data instanceof Float32Array) view.setFloat32(4 * i, data[i]!, true);
      else view.setFloat64(8 * i, data[i]!, true);
    }
    return out;
  }
  const values = [0, -0, 1, -1.5, Math.PI, 1e-45, -1e-40, 3.4e38, 1e300, -2.5e-310, Infinity, -Infinity, NaN, 0.1, 65504];

  it('gives the little-endian bytes of float32 and float64 values (views at an offset too), copies and views alike', () => {
    for (const Kind of [Float32Array, Float64Array]) {
      const whole = Kind.from([7, ...values, 7]);
      const data = whole.subarray(1, 1 + values.length);
      const expected = littleEndian(data);
      const [copy, view] = [floatBytes(data), floatBytesView(data)];
      expect(copy).toEqual(expected);
      expect(view).toEqual(expected);
      whole[1] = 42; // the copy keeps the bytes it was given, the view follows the values
      expect(copy).toEqual(expected);
      expect(view).toEqual(littleEndian(data));
    }
  });
});

describe('.npy messages and shape', () => {
  it('an output path in a missing folder is IO_ERROR naming the path and the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-npy-out-'));
    try {
      const path = join(dir, 'missing', 'f.npy');
      const m = { rows: 1, cols: 2, data: Float32Array.from([1, 2]) };
      for (const write of [() => writeNpy(path, m), () => openNpyRowWriter(path, { cols: 2 })]) {
        const error = await expectOpnpError(write, 'IO_ERROR');
        expect(error.message).toMatch(new RegExp(`^Cannot write ${escapeRegExp(path)}: folder ${escapeRegExp(join(dir, 'missing'))} does not exist`));
        expect(error.message).not.toMatch(/partial|not found/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('openNpyDataset over several files: one dataset of their rows in order, batches across the boundaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-npy-parts-'));
    try {
      const rowsOf = [2, 0, 4, 1];
      const all = Float32Array.from({ length: 7 * 3 }, (_, i) => i * 0.5 - 3);
      const paths: string[] = [];
      let at = 0;
      for (const [k, rows] of rowsOf.entries()) {
        const path = join(dir, `part${k}.npy`);
        await writeNpy(path, { rows, cols: 3, data: all.slice(at * 3, (at + rows) * 3) });
        paths.push(path);
        at += rows;
      }
      const whole = join(dir, 'whole.npy');
      await writeNpy(whole, { rows: 7, cols: 3, data: all });
      const parts = await openNpyDataset(paths);
      expect(parts.count).toBe(7);
      expect(parts.arrayShape).toEqual([7, 3]);
      const subset = Uint32Array.from([0, 1, 3, 5, 6]);
      const got = await collect(parts, { batchSize: 2, subset });
      const want = await collect(await openNpyDataset(whole), { batchSize: 2, subset });
      expect(got.indices).toEqual([0, 1, 3, 5, 6]);
      expect(got.shapes.map((s) => s[0])).toEqual([2, 2, 1]);
      expect(got.data).toEqual(want.data);
      // Row 5 is the first row of the fourth part: values 5 * 3 * 0.5 - 3 = 4.5, 5, 5.5.
      expect(Array.from(got.data.subarray(9, 12))).toEqual([4.5, 5, 5.5]);
      await writeNpy(join(dir, 'other.npy'), { rows: 2, cols: 4, data: new Float32Array(8) });
      const mixed = await expectOpnpError(() => openNpyDataset([paths[0]!, join(dir, 'other.npy')]), 'DATASET_FORMAT');
      expect(mixed.message).toMatch(/parts differ.*shape \(3\).*shape \(4\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('openNpyDataset says the stored array shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-npy-shape-'));
    try {
      const path = join(dir, 'f.npy');
      await writeNpy(path, { rows: 100, cols: 300, data: new Float32Array(30000) });
      const ds = await openNpyDataset(path);
      expect(ds.arrayShape).toEqual([100, 300]);
      expect(ds.shape).toEqual([1, 1, 300]);
      expect((await openNpyDataset(fixture('npy', 'images.npy'))).arrayShape.length).toBeGreaterThan(2);
      expect((await datasetInfo(ds)).verified[0]).toMatch(/file length/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

