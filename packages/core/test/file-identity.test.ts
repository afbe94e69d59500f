/** fileIdentity: one name per file, whatever path reaches it (symlinks, `..`, files not written yet). */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileIdentity } from '../src/node/index.js';

describe('fileIdentity', () => {
  it('gives a file, its symlink, a .. path and a not-yet-written file under a symlinked folder their real path', async () => {
    const root = mkdtempSync(join(tmpdir(), 'opnp-identity-'));
    const real = join(root, 'real');
    mkdirSync(real);
    writeFileSync(join(real, 'a.npy'), 'x');
    symlinkSync(real, join(root, 'link'));
    symlinkSync(join(real, 'a.npy'), join(root, 'a-link.npy'));
    const target = await fileIdentity(join(real, 'a.npy'));
    expect(await fileIdentity(join(root, 'a-link.npy'))).toBe(target);
    expect(await fileIdentity(join(root, 'link', '..', 'real', 'a.npy'))).toBe(target);
    expect(await fileIdentity(join(root, 'link', 'new', 'b.json'))).toBe(join(await fileIdentity(real), 'new', 'b.json'));
    expect(await fileIdentity(join(root, 'other.npy'))).not.toBe(target);
  });
});
