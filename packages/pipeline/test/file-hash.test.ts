import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sha256OfSegments, WORKER_HASH_BYTES } from '../src/file-hash.js';
import { datasetFilesIdentity, hashFile, warmDatasetIdentity } from '../src/index.js';
import { tempDir } from './helpers.js';

/** The definition: SHA-256 of the concatenated byte ranges. */
function expected(parts: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

function bytesOf(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 9)) % 256;
  return bytes;
}

describe('sha256OfSegments', () => {
  const dir = tempDir();
  const a = bytesOf(5000, 1);
  const b = bytesOf(1, 2);
  const empty = Buffer.alloc(0);
  for (const [name, bytes] of [['a', a], ['b', b], ['empty', empty]] as const) writeFileSync(join(dir, name), bytes);
  const cases = [
    { segments: [{ path: join(dir, 'a'), start: 0 }], parts: [a] },
    { segments: [{ path: join(dir, 'a'), start: 4999 }, { path: join(dir, 'b'), start: 0 }], parts: [a.subarray(4999), b] },
    { segments: [{ path: join(dir, 'a'), start: 128 }, { path: join(dir, 'empty'), start: 0 }, { path: join(dir, 'a'), start: 5000 }], parts: [a.subarray(128)] },
    { segments: [], parts: [] },
  ];

  it('hashes byte ranges one after the other, here and on a worker thread alike', async () => {
    for (const { segments, parts } of cases) {
      const name = JSON.stringify(segments.map((s) => [s.path.slice(-5), s.start]));
      expect(await sha256OfSegments(segments, 0), name).toBe(expected(parts));
      expect(await sha256OfSegments(segments, WORKER_HASH_BYTES), name).toBe(expected(parts)); // the worker's path
    }
  });

  it('rejects a missing file with its errno code on both paths', async () => {
    const missing = [{ path: join(dir, 'missing'), start: 0 }];
    await expect(sha256OfSegments(missing, 0)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(sha256OfSegments(missing, WORKER_HASH_BYTES)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('hashFile of a file larger than the worker threshold (read in several 4 MiB steps) is its SHA-256', async () => {
    const big = bytesOf(WORKER_HASH_BYTES + 3 * (1 << 20) + 17, 3);
    const path = join(dir, 'big');
    writeFileSync(path, big);
    expect(await hashFile(path)).toBe(expected([big]));
  });
});

describe('warmDatasetIdentity', () => {
  it('leaves the identity as it is computed without it, and ignores specs it does not hash or cannot parse', async () => {
    const dir = tempDir();
    const path = join(dir, 'images-idx3-ubyte');
    writeFileSync(path, bytesOf(3000, 4));
    const spec = `idx:${path}`;
    warmDatasetIdentity(spec);
    const warmed = await datasetFilesIdentity(spec);
    expect(warmed).toMatchObject({ content: { sha256: expected([bytesOf(3000, 4)]), bytes: 3000 } });
    for (const other of ['noise:10', `features:${join(dir, 'f.npy')}`, 'idx:', `idx:${join(dir, 'missing')}`, '']) expect(() => warmDatasetIdentity(other)).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50)); // a rejection left unhandled would fail the run
  });
});

describe('hashing and the life of the process', () => {
  const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  /** Runs `body` (ES module code with `pipeline` imported from the sources and `path`, a 96 MiB file) in a child process. */
  function child(body: string, path: string): { status: number | null; stdout: string; stderr: string } {
    const code = `import * as pipeline from ${JSON.stringify(pathToFileURL(src).href)};\nconst path = ${JSON.stringify(path)};\n${body}`;
    return spawnSync(process.execPath, ['--conditions=@opnp/source', '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  }
  const path = join(tempDir(), 'big-idx3-ubyte');
  writeFileSync(path, bytesOf(96 << 20, 5));

  it('a warm-up in the background does not keep the process alive; a fingerprint that waits does', () => {
    // The warm-up's worker is still hashing 96 MiB when the script ends: the process exits without its digest.
    const warm = child(`let done = false;\npipeline.hashFile(path, { background: true }).then(() => (done = true));\nprocess.on('exit', () => console.log(done ? 'hashed' : 'exited first'));`, path);
    expect(warm.stderr).toBe('');
    expect(warm.status).toBe(0);
    expect(warm.stdout.trim()).toBe('exited first');
    // Waiting for it (a fingerprint) gets the digest, and the process lives until then (not exit code 13 of an
    // unsettled top-level await).
    const wait = child(`pipeline.warmDatasetIdentity('idx:' + path);\nconsole.log(await pipeline.hashFile(path));`, path);
    expect(wait.stderr).toBe('');
    expect(wait.status).toBe(0);
    expect(wait.stdout.trim()).toBe(expected([bytesOf(96 << 20, 5)]));
  });
});
