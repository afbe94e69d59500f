/**
 * `assertRunFiles`: one check of every path a run reads and writes, before any work.
 */
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertRunFiles } from '../src/index.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'opnp-run-files-'));

/** An earlier results folder: a manifest listing report.json and scores/energy.id.npy, and those files. */
function earlierResults(dir: string): string {
  const results = join(dir, 'results');
  mkdirSync(join(results, 'scores'), { recursive: true });
  writeFileSync(join(results, 'report.json'), '{}');
  writeFileSync(join(results, 'scores', 'energy.id.npy'), 'x');
  writeFileSync(join(results, 'manifest.json'), JSON.stringify({ format: 'opnp-results', version: 1, files: { report: 'report.json', scores: { energy: { id: 'scores/energy.id.npy', ood: {} } } } }));
  return results;
}

describe('assertRunFiles', () => {
  it('sees two new files through a symbolic link to their folder as one file', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    await expect(assertRunFiles({ outputs: [{ path: join(dir, 'link', 'r.json'), what: 'the JSON (--json)' }, { path: join(dir, 'real', 'r.json'), what: 'the CSV (--csv)' }] })).rejects.toThrow(/the JSON \(--json\) and the CSV \(--csv\) are the same file/);
    await expect(assertRunFiles({ outputs: [{ path: join(dir, 'link', 'r.json'), what: 'the JSON (--json)' }, { path: join(dir, 'real', 'r.csv'), what: 'the CSV (--csv)' }] })).resolves.toBeUndefined();
  });

  it('refuses an input, an output file or a companion file inside a results folder, and the folder on an output', async () => {
    const dir = fresh();
    const results = earlierResults(dir);
    const save = { path: results, what: 'the results folder (--save)', kind: 'results' as const };
    await expect(assertRunFiles({ folders: [save], inputs: [{ path: join(results, 'scores', 'energy.id.npy'), what: 'the features of --test' }] })).rejects.toThrow(/the features of --test lies inside the results folder \(--save\)/);
    await expect(assertRunFiles({ folders: [save], outputs: [{ path: join(dir, 'c.npy'), what: 'the checkpoint (--checkpoint)', companions: [join(results, 'c.npy.json')] }] })).rejects.toThrow(/a file the checkpoint \(--checkpoint\) writes beside it lies inside the results folder/);
    // A new results folder and --json on the same name: refused before the JSON is written where the folder goes.
    const absent = join(dir, 'new-results');
    await expect(assertRunFiles({ folders: [{ ...save, path: absent }], outputs: [{ path: absent, what: 'the JSON (--json)' }] })).rejects.toThrow(/the JSON \(--json\) lies inside the results folder/);
    await expect(assertRunFiles({ folders: [save], outputs: [{ path: join(dir, 'results-2.json'), what: 'the JSON (--json)' }], inputs: [{ path: join(dir, 'results-model.onnx'), what: 'the model (--model)' }] })).resolves.toBeUndefined();
  });

  it('replaces an earlier results folder only when it holds nothing but its manifest\'s files', async () => {
    const dir = fresh();
    const results = earlierResults(dir);
    const save = { path: results, what: 'the results folder (--save)', kind: 'results' as const };
    await expect(assertRunFiles({ folders: [save] })).resolves.toBeUndefined();
    writeFileSync(join(results, 'scores', 'mine.npy'), 'y');
    await expect(assertRunFiles({ folders: [save] })).rejects.toThrow(/also holds files opnp did not write there \(scores\/mine\.npy\)/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(assertRunFiles({ folders: [{ ...save, path: empty }] })).resolves.toBeUndefined();
    writeFileSync(join(empty, 'manifest.json'), '{"format":"something-else"}');
    await expect(assertRunFiles({ folders: [{ ...save, path: empty }] })).rejects.toThrow(/exists and is not an opnp results folder \(it holds 1 entry and no opnp manifest\.json\)/);
    expect(readdirSync(results).sort()).toEqual(['manifest.json', 'report.json', 'scores']);
  });

  it('counts OS metadata files (.DS_Store, Thumbs.db, desktop.ini, ._* AppleDouble) as neither user files nor entries', async () => {
    const dir = fresh();
    const results = earlierResults(dir);
    const save = { path: results, what: 'the results folder (--save)', kind: 'results' as const };
    for (const name of ['.DS_Store', 'THUMBS.DB', 'desktop.ini', 'scores/._energy.id.npy', 'scores/.DS_Store']) writeFileSync(join(results, name), 'os');
    await expect(assertRunFiles({ folders: [save] })).resolves.toBeUndefined();
    // any other file still refuses, and only it is named
    writeFileSync(join(results, 'DS_Store'), 'mine');
    await expect(assertRunFiles({ folders: [save] })).rejects.toThrow(/also holds files opnp did not write there \(DS_Store\); replacing/);
    const shown = join(dir, 'shown');
    mkdirSync(shown);
    writeFileSync(join(shown, '.DS_Store'), 'os');
    writeFileSync(join(shown, 'Thumbs.db'), 'os');
    await expect(assertRunFiles({ folders: [{ ...save, path: shown }] })).resolves.toBeUndefined();
    mkdirSync(join(shown, 'sub'));
    await expect(assertRunFiles({ folders: [{ ...save, path: shown }] })).rejects.toThrow(/exists and is not an opnp results folder \(it holds 3 entries and no opnp manifest\.json\)/);
  });

  it('refuses a folder written into an input folder, or on it', async () => {
    const dir = fresh();
    const results = earlierResults(dir);
    const input = { path: results, what: 'the results (<results>)', folder: true };
    await expect(assertRunFiles({ folders: [{ path: join(results, 'report'), what: 'the report (--out)', kind: 'into' }], inputs: [input] })).rejects.toThrow(/the report \(--out\) would be written inside the results \(<results>\)/);
    await expect(assertRunFiles({ folders: [{ path: results, what: 'the report (--out)', kind: 'into' }], inputs: [input] })).rejects.toThrow(/the report \(--out\) would overwrite the results/);
    await expect(assertRunFiles({ folders: [{ path: join(dir, 'report'), what: 'the report (--out)', kind: 'into' }], inputs: [input] })).resolves.toBeUndefined();
  });
});
