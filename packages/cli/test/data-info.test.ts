/**
 * `opnp data info` checks the stored data against the header: truncated or lying IDX files (raw and `.gz`)
 * exit 1 with a message naming the file, the expected and the actual byte count.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cli, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX uint8 file: header for `dims`, then `payload` bytes (0, 1, 2, ...). */
function idx(dims: readonly number[], payload: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload);
  out.set([0, 0, 0x08, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < payload; i++) out[4 + 4 * dims.length + i] = i % 256;
  return out;
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('opnp data info verifies the data length', () => {
  it('a .gz whose header claims 10 images but holds 3 exits 1 naming file, expected and actual bytes', async () => {
    const path = write('lying-images-idx3-ubyte.gz', gzipSync(idx([10, 4, 5], 60)));
    const run = await cli(['data', 'info', path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('IDX file is truncated');
    expect(run.stderr).toContain(path);
    expect(run.stderr).toContain('expected 216 bytes (decompressed) for dims [10, 4, 5] of uint8, got 76 bytes');
    // --no-verify trusts the header and says so
    const trusting = await cli(['data', 'info', path, '--no-verify']);
    expect(trusting.code).toBe(0);
    expect(trusting.stdout).toMatch(/count: +10\n/);
    expect(trusting.stdout).toContain('checked: header only (--no-verify)');
  });

  it('a cut .gz and a truncated raw file exit 1', async () => {
    const gz = gzipSync(idx([3, 4, 5], 60));
    const cut = write('cut-images-idx3-ubyte.gz', gz.subarray(0, gz.length - 10));
    const cutRun = await cli(['data', 'info', cut, '--json']);
    expect(cutRun.code).toBe(1);
    expect(cutRun.stdout).toBe('');
    expect(cutRun.stderr).toContain(`opnp: the gzip data ends early: the compressed stream stops at byte ${gz.length - 10} of the file`);
    expect(cutRun.stderr).toContain('expected 76 decompressed bytes (header and data of dims [3, 4, 5] of uint8)');
    const raw = write('raw-images-idx3-ubyte', idx([3, 4, 5], 50));
    const rawRun = await cli(['data', 'info', raw]);
    expect(rawRun.code).toBe(1);
    expect(rawRun.stderr).toContain('IDX file is truncated');
    expect(rawRun.stderr).toContain('expected 76 bytes for dims [3, 4, 5] of uint8, got 66 bytes');
  });

  it('a good .gz prints what was checked', async () => {
    const path = write('good-images-idx3-ubyte.gz', gzipSync(idx([3, 4, 5], 60)));
    const run = await cli(['data', 'info', path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/count: +3\n/);
    expect(run.stdout).toContain('checked: images: 76 decompressed bytes = header + dims [3, 4, 5] of uint8 (gzip streamed and counted)');
  });

  it('an unknown format prefix and a missing file get their own messages', async () => {
    const prefix = await cli(['data', 'info', 'noise:abc']);
    expect(prefix.code).toBe(1);
    expect(prefix.stderr).toMatch(/^opnp: unknown dataset format prefix "noise:"/);
    expect(prefix.stderr).toContain('npy:');
    const missing = join(dir, 'missing.npy');
    const run = await cli(['data', 'info', missing]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^opnp: file not found: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});
