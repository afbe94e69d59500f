import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '@opnp/core/node';

/** Counts the fsyncs of file handles (every `FileHandle` shares one prototype) while `run` runs. */
async function countSyncs(run: () => Promise<unknown>): Promise<number> {
  const probe = await open(join(tmpdir(), `opnp-sync-probe-${process.pid}`), 'w');
  const prototype = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
  await probe.close();
  const spy = vi.spyOn(prototype, 'sync');
  try {
    await run();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

describe('writeFileAtomic', () => {
  it('writes and replaces a file, leaving no temporary files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-atomic-'));
    const file = join(dir, 'out.bin');
    writeFileSync(file, 'old');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    expect(Array.from(readFileSync(file))).toEqual([1, 2, 3]);
    await writeFileAtomic(file, 'text');
    expect(readFileSync(file, 'utf8')).toBe('text');
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('fails with IO_ERROR naming the file, and writes nothing, when the folder does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-atomic-'));
    const file = join(dir, 'missing', 'out.bin');
    await expect(writeFileAtomic(file, 'x', 'the report')).rejects.toMatchObject({ code: 'IO_ERROR', file, message: expect.stringContaining('Cannot write the report') });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('flushes the file to disk before the rename unless told not to, and writes the same either way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opnp-atomic-'));
    const file = join(dir, 'out.json');
    expect(await countSyncs(() => writeFileAtomic(file, 'flushed'))).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('flushed');
    expect(await countSyncs(() => writeFileAtomic(file, 'not flushed', 'the file', { flush: false }))).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('not flushed');
    expect(readdirSync(dir)).toEqual(['out.json']);
  });
});
