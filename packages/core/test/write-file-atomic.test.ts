import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '@opnp/core/node';

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
});
