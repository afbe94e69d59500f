/**
 * Copies of inputs (same-contents.ts): files and folders with identical bytes under other paths are found; inputs
 * that differ anywhere (size, first bytes, a byte past the first 64 KiB, a name, a kind) are not.
 */
import { copyFileSync, cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identicalContents } from '../src/same-contents.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `size` bytes of a fixed pattern, with `flip` (a position) changed. */
function bytes(size: number, flip?: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 0xff;
  if (flip !== undefined) out[flip] = out[flip]! ^ 1;
  return out;
}

function file(name: string, content: Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

describe('identicalContents', () => {
  it('finds copied files, small (compared whole) and large (hashed past the first 64 KiB)', async () => {
    for (const size of [0, 10, 64 << 10, (64 << 10) + 1, 300_000]) {
      const original = file(`f${size}.bin`, bytes(size));
      const copy = join(dir, `f${size}-copy.bin`);
      copyFileSync(original, copy);
      expect(await identicalContents(original, copy), `size ${size}`).toBe('files');
    }
  });

  it('tells apart files of other sizes, other first bytes, or another byte past the first 64 KiB', async () => {
    const a = file('a.bin', bytes(300_000));
    expect(await identicalContents(a, file('shorter.bin', bytes(299_999)))).toBeUndefined();
    expect(await identicalContents(a, file('head.bin', bytes(300_000, 0)))).toBeUndefined();
    expect(await identicalContents(a, file('tail.bin', bytes(300_000, 299_999)))).toBeUndefined();
    expect(await identicalContents(a, file('middle.bin', bytes(300_000, 70_000)))).toBeUndefined();
    expect(await identicalContents(file('small-a.bin', bytes(100)), file('small-b.bin', bytes(100, 99)))).toBeUndefined();
  });

  it('finds copied folders (nested, symlinked files followed) and tells apart folders with another name, size or byte', async () => {
    const tree = join(dir, 'tree');
    file('tree/0/a.png', bytes(5000));
    file('tree/0/b.png', bytes(200_000));
    file('tree/1/c.png', bytes(7000));
    mkdirSync(join(tree, 'empty'));
    const copy = join(dir, 'tree-copy');
    cpSync(tree, copy, { recursive: true });
    expect(await identicalContents(tree, copy)).toBe('folders');
    const linked = join(dir, 'tree-linked');
    cpSync(tree, linked, { recursive: true });
    rmSync(join(linked, '1', 'c.png'));
    symlinkSync(join(tree, '1', 'c.png'), join(linked, '1', 'c.png'));
    expect(await identicalContents(tree, linked)).toBe('folders');

    const renamed = join(dir, 'tree-renamed');
    cpSync(tree, renamed, { recursive: true });
    rmSync(join(renamed, '1', 'c.png'));
    file('tree-renamed/1/d.png', bytes(7000));
    expect(await identicalContents(tree, renamed)).toBeUndefined();
    const changed = join(dir, 'tree-changed');
    cpSync(tree, changed, { recursive: true });
    writeFileSync(join(changed, '0', 'b.png'), bytes(200_000, 150_000));
    expect(await identicalContents(tree, changed)).toBeUndefined();
    const extra = join(dir, 'tree-extra');
    cpSync(tree, extra, { recursive: true });
    file('tree-extra/empty/e.png', bytes(1));
    expect(await identicalContents(tree, extra)).toBeUndefined();
  });

  it('says nothing for a file beside a folder or a missing path', async () => {
    const a = file('lone.bin', bytes(10));
    expect(await identicalContents(a, dir)).toBeUndefined();
    expect(await identicalContents(a, join(dir, 'missing.bin'))).toBeUndefined();
    expect(await identicalContents(join(dir, 'missing.bin'), join(dir, 'missing.bin'))).toBeUndefined();
  });
});
