import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OpnpError } from '@opnp/core';
import { assertSameRun, canonicalJson, fingerprintChanges, fingerprintDifferences, hashFile, makeFingerprint, PIPELINE_VERSION } from '../src/index.js';
import { createHash } from 'node:crypto';
import { tempDir } from './helpers.js';

describe('run fingerprints', () => {
  it('do not depend on key order, and record the package version', () => {
    const a = makeFingerprint({ model: { sha256: 'x', bytes: 3 }, subset: { seed: 1, fraction: 0.5 } });
    const b = makeFingerprint({ subset: { fraction: 0.5, seed: 1 }, model: { bytes: 3, sha256: 'x' } });
    expect(a.digest).toBe(b.digest);
    expect(a.fields.version).toBe(PIPELINE_VERSION);
    expect(canonicalJson({ b: [1, { d: 2, c: null }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":null,"d":2}]}');
    expect(a.digest).toBe(createHash('sha256').update(canonicalJson(a.fields)).digest('hex'));
  });

  it('name the fields that differ, including missing ones', () => {
    const stored = makeFingerprint({ model: 'm', train: { mean: [0.1] }, subset: 1 });
    const current = makeFingerprint({ model: 'm', train: { mean: [0.2] }, sensitivity: 'abs' });
    expect(fingerprintDifferences(stored, current)).toEqual(['sensitivity', 'subset', 'train.mean']);
    const seeds = [makeFingerprint({ subset: { seed: 1, fraction: 0.5 } }), makeFingerprint({ subset: { seed: 7, fraction: 0.5 } })] as const;
    expect(fingerprintDifferences(...seeds)).toEqual(['subset.seed']);
    expect(fingerprintDifferences(stored, stored)).toEqual([]);
  });

  it('assertSameRun passes the same run and refuses others or missing fingerprints with a STATE_MISMATCH naming them', () => {
    const run = makeFingerprint({ model: 'm', train: 't' });
    const context = { file: 'c.npy', what: 'The checkpoint', restart: 'Pass --restart' };
    expect(() => assertSameRun(run, run, context)).not.toThrow();
    const other = makeFingerprint({ model: 'm', train: 'u' });
    const error = (() => {
      try {
        assertSameRun(other, run, context);
      } catch (e) {
        return e as OpnpError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('STATE_MISMATCH');
    expect(error?.message).toBe('The checkpoint belongs to another run: train was "u", now "t" (file: c.npy). Pass --restart');
    expect(() => assertSameRun(undefined, run, context)).toThrow(/has no run fingerprint/);
    expect(() => assertSameRun('abc', run, context)).toThrow(/has no run fingerprint/);
  });

  it('say what differs with the old and the new value, refined into the fields\' parts, long values shortened', () => {
    const path = (name: string) => `/data/some/long/folder/of/datasets/${name}-images-idx3-ubyte.gz`;
    const stored = makeFingerprint({ model: 'm', data: { count: 2500, files: { path: path('mnist'), content: { bytes: 10, sha256: 'a'.repeat(64) } }, preprocess: { mean: [0.1307], std: [0.3081] } } });
    const current = makeFingerprint({ model: 'm', data: { count: 500, files: { path: path('fashion'), content: { bytes: 10, sha256: 'b'.repeat(64) } }, preprocess: {} } });
    expect(fingerprintChanges(stored, current)).toEqual([
      { path: 'data.count', stored: 2500, current: 500 },
      { path: 'data.files.content.sha256', stored: 'a'.repeat(64), current: 'b'.repeat(64) },
      { path: 'data.files.path', stored: path('mnist'), current: path('fashion') },
      { path: 'data.preprocess.mean', stored: [0.1307], current: undefined },
      { path: 'data.preprocess.std', stored: [0.3081], current: undefined },
    ]);
    const message = (() => {
      try {
        assertSameRun(stored, current, { file: 'f.npy.partial', what: 'The partial output', restart: 'Delete f.npy.partial' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toContain('The partial output belongs to another run: data.count, data.files, data.preprocess differ (');
    expect(message).toContain('data.count was 2500, now 500; ');
    expect(message).toContain('data.preprocess.mean was [0.1307], now absent; data.preprocess.std was [0.3081], now absent)');
    // A 66-character value keeps its start and end (where file names differ) around an ellipsis, within 60 characters.
    const shown = /data\.files\.path was (\S+), now (\S+);/.exec(message)!;
    for (const [value, name] of [[shown[1]!, 'mnist'], [shown[2]!, 'fashion']] as const) {
      expect(value.length).toBe(60);
      expect(value).toContain('…');
      expect(value.startsWith('"/data/some/long')).toBe(true);
      expect(value.endsWith(`/${name}-images-idx3-ubyte.gz"`)).toBe(true);
    }
    expect(message).toMatch(/\. Delete f\.npy\.partial$/);
  });

  it('hashFile streams the SHA-256 of the bytes and sees a changed file', async () => {
    const path = join(tempDir(), 'f.bin');
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    writeFileSync(path, bytes);
    expect(await hashFile(path)).toBe(createHash('sha256').update(bytes).digest('hex'));
    bytes[5] = bytes[5]! ^ 1;
    writeFileSync(path, Buffer.concat([bytes, Buffer.from([1])]));
    expect(await hashFile(path)).toBe(createHash('sha256').update(Buffer.concat([bytes, Buffer.from([1])])).digest('hex'));
  });
});
