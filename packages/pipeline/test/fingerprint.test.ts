import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OpnpError } from '@opnp/core';
import { assertSameRun, canonicalJson, fingerprintDifferences, hashFile, makeFingerprint, PIPELINE_VERSION } from '../src/index.js';
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
    expect(error?.message).toMatch(/^The checkpoint belongs to another run: train differs \(file: c\.npy\)\. Pass --restart$/);
    expect(() => assertSameRun(undefined, run, context)).toThrow(/has no run fingerprint/);
    expect(() => assertSameRun('abc', run, context)).toThrow(/has no run fingerprint/);
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
