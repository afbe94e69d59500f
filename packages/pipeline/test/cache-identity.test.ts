/**
 * The identity of cached features and of resumable extraction state: features and logits (and labels) written by
 * one extraction are a recognisable pair, cached features name the model they were extracted with, the labels file
 * is part of the run, and partial outputs belong to one run (fingerprint and output files) and are never written
 * over by another.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OpnpError } from '@opnp/core/base';
import { writeNpy } from '@opnp/datasets/node';
import { extractFeatures, InterruptedError, openFeatureSource, type ExtractCheckpoint, type ExtractOptions } from '../src/index.js';
import { demoAsset, demoModel, FASHION_VAL, NORMALISE, tempDir } from './helpers.js';

const FASHION_VAL_LABELS = demoAsset('fashion-val-labels-idx1-ubyte.gz');

async function options(dir: string, extra: Partial<ExtractOptions> = {}): Promise<ExtractOptions> {
  return { model: await demoModel(), data: FASHION_VAL, preprocess: NORMALISE, outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy') }, batchSize: 60, ...extra };
}

/** Runs an extraction and interrupts it after `batches` batches. */
async function interrupted(run: ExtractOptions, batches: number): Promise<InterruptedError> {
  const controller = new AbortController();
  let seen = 0;
  const error: unknown = await extractFeatures({ ...run, signal: controller.signal, onProgress: (e) => !e.done && ++seen === batches && controller.abort() }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InterruptedError);
  return error as InterruptedError;
}

/** The error a run is refused with (the test fails when it is not refused with an OpnpError). */
async function refusal(run: Promise<unknown>): Promise<OpnpError> {
  const error = await run.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(OpnpError);
  return error as OpnpError;
}

async function openCached(spec: string, labelsFile?: string) {
  return openFeatureSource(spec, { model: await demoModel(), ...(labelsFile !== undefined ? { labelsFile } : {}) });
}

/** Removes `keys` from a JSON sidecar (as an earlier version wrote it). */
function dropFields(path: string, keys: readonly string[]): void {
  const meta = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  for (const key of keys) delete meta[key];
  writeFileSync(path, JSON.stringify(meta));
}

describe('features and logits of one extraction are a pair (A3)', () => {
  it('refuses logits overwritten by another extraction, naming both files', async () => {
    const dir = tempDir();
    const [f1, f2, l] = [join(dir, 'f1.npy'), join(dir, 'f2.npy'), join(dir, 'l.npy')];
    await extractFeatures(await options(dir, { outputs: { features: f1, logits: l } }));
    await expect(openCached(`features:${f1}#logits=${l}`)).resolves.toBeDefined();
    // the same number of rows: nothing but the pairing tells them apart; extract refuses to overwrite l.npy unless told
    const second = await options(dir, { data: 'noise:500', outputs: { features: f2, logits: l } });
    await expect(extractFeatures(second)).rejects.toThrow(`The logits output ${l} already exists, but the features ${f2} do not: it is no output of this run`);
    await extractFeatures({ ...second, restart: true });
    await expect(openCached(`features:${f1}#logits=${l}`)).rejects.toThrow(`The cached logits ${l} are not the logits extracted with the features ${f1}`);
    await expect(openCached(`features:${f2}#logits=${l}`)).resolves.toBeDefined();
  });

  it('without a recorded hash (an earlier sidecar), checks the logits against the model head on the first rows', async () => {
    const dir = tempDir();
    const [f1, f2, l] = [join(dir, 'f1.npy'), join(dir, 'f2.npy'), join(dir, 'l.npy')];
    await extractFeatures(await options(dir, { outputs: { features: f1, logits: l } }));
    dropFields(`${f1}.json`, ['hashes', 'model']);
    await expect(openCached(`features:${f1}#logits=${l}`)).resolves.toBeDefined();
    await extractFeatures(await options(dir, { data: 'noise:500', outputs: { features: f2, logits: l }, restart: true }));
    await expect(openCached(`features:${f1}#logits=${l}`)).rejects.toThrow(/do not belong to the features .*W h \+ b of the model head differs/);
  });
});

describe('cached features name their model (A4)', () => {
  it('refuses features extracted with another model, naming the file and both models', async () => {
    const dir = tempDir();
    await extractFeatures(await options(dir));
    const model = await demoModel();
    const other = { ...model, path: 'other.onnx', identity: { sha256: 'ab'.repeat(32), bytes: 7 } };
    const error = await openFeatureSource(`features:${join(dir, 'f.npy')}`, { model: other }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`The cached features ${join(dir, 'f.npy')} were extracted with another model: ${join(dir, 'f.npy')}.json records ${model.path}`);
    expect((error as Error).message).toContain("this run's model is other.onnx (sha256 abababababab…, 7 bytes)");
  });
});

describe('the labels file is part of the run (A5)', () => {
  it('another labels file is another run; an overwritten labels output is refused', async () => {
    const dir = tempDir();
    const other = join(dir, 'other-labels.npy');
    await writeNpy(other, { dtype: 'float64', shape: [500], data: new Float64Array(500).fill(3) });
    const outputs = { features: join(dir, 'f.npy'), labels: join(dir, 'y.npy') };
    await extractFeatures(await options(dir, { labelsFile: FASHION_VAL_LABELS, outputs }));
    const meta = JSON.parse(readFileSync(join(dir, 'f.npy.json'), 'utf8')) as { fingerprint: { fields: { labelsFile: { sha256: string } } } };
    expect(meta.fingerprint.fields.labelsFile.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(extractFeatures(await options(dir, { labelsFile: other, outputs }))).rejects.toThrow(/The existing output belongs to another run: labelsFile\.bytes was \d+, now \d+; labelsFile\.sha256 was /);
    await expect(openCached(`features:${join(dir, 'f.npy')}`, join(dir, 'y.npy'))).resolves.toBeDefined();
    // y.npy overwritten by an extraction with the other labels
    await extractFeatures(await options(dir, { labelsFile: other, outputs: { features: join(dir, 'g.npy'), labels: join(dir, 'y.npy') }, restart: true }));
    await expect(openCached(`features:${join(dir, 'f.npy')}`, join(dir, 'y.npy'))).rejects.toThrow(`The labels file ${join(dir, 'y.npy')} is not the labels extracted with the features ${join(dir, 'f.npy')}`);
  });
});

describe('a finished extraction serves a run asking for what it wrote, or for labels and indices besides', () => {
  it('keeps outputs this run does not ask for, and writes the labels and indices it lacks from the dataset without the model', async () => {
    const dir = tempDir();
    const [f, l, y, i] = ['f.npy', 'l.npy', 'y.npy', 'i.npy'].map((name) => join(dir, name)) as [string, string, string, string];
    await extractFeatures(await options(dir));
    const finished = { f: readFileSync(f), l: readFileSync(l), sidecar: readFileSync(`${f}.json`) };
    const model = await demoModel();
    const extract = vi.spyOn(model.extractor, 'extract');
    try {
      const info: string[] = [];
      const subset = await extractFeatures(await options(dir, { outputs: { features: f }, onInfo: (m) => info.push(m) }));
      expect(subset).toMatchObject({ alreadyComplete: true, rows: 500 });
      expect(info).toEqual([`${f} is already complete for this run (500 rows; it also holds the logits in ${l}, which this run does not ask for and which are kept); nothing to do (pass restart: true to extract again)`]);
      expect({ f: readFileSync(f), l: readFileSync(l), sidecar: readFileSync(`${f}.json`) }).toEqual(finished);
      info.length = 0;
      const more = await extractFeatures(await options(dir, { outputs: { features: f, logits: l, labels: y, indices: i }, onInfo: (m) => info.push(m) }));
      expect(more).toMatchObject({ alreadyComplete: true, rows: 500 });
      expect(info).toEqual([`${f} is already complete for this run (500 rows): wrote the labels to ${y} and the indices to ${i} from the dataset, without running the model again`]);
      expect(extract).not.toHaveBeenCalled();
    } finally {
      extract.mockRestore();
    }
    const added = { y: readFileSync(y), i: readFileSync(i), sidecar: readFileSync(`${f}.json`) };
    await expect(openCached(`features:${f}#logits=${l}`, y)).resolves.toBeDefined();
    // what a fresh run asking for all four writes, byte for byte (the sidecar included)
    await extractFeatures(await options(dir, { outputs: { features: f, logits: l, labels: y, indices: i }, restart: true }));
    expect({ y: readFileSync(y), i: readFileSync(i), sidecar: readFileSync(`${f}.json`) }).toEqual(added);
    expect(readFileSync(f)).toEqual(finished.f);
  });

  it('does not write a missing labels output over an existing file', async () => {
    const dir = tempDir();
    await extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy') } }));
    writeFileSync(join(dir, 'y.npy'), 'mine');
    const error = await refusal(extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy'), labels: join(dir, 'y.npy') } })));
    expect(error.message).toContain(`The labels output ${join(dir, 'y.npy')} already exists, but the finished extraction of ${join(dir, 'f.npy')} did not write it: it is no output of this extraction (maybe the labels of another one)`);
    expect(readFileSync(join(dir, 'y.npy'), 'utf8')).toBe('mine');
  });
});

describe('partial outputs belong to their run (B1, B2, B5)', () => {
  it('never writes over the logits partial of another extraction, even with restart; that one still resumes', async () => {
    const clean = tempDir();
    await extractFeatures(await options(clean));
    const dir = tempDir();
    await interrupted(await options(dir), 2);
    const before = readFileSync(join(dir, 'l.npy.partial'));
    for (const restart of [false, true]) {
      const other = extractFeatures(await options(dir, { outputs: { features: join(dir, 'f2.npy'), logits: join(dir, 'l.npy') }, restart }));
      await expect(other).rejects.toThrow(`${join(dir, 'l.npy')}.partial holds the unfinished logits of another extraction (features ${join(dir, 'f.npy')}), not of this one (features ${join(dir, 'f2.npy')})`);
    }
    expect(readFileSync(join(dir, 'l.npy.partial'))).toEqual(before);
    expect(existsSync(join(dir, 'f2.npy.partial'))).toBe(false);
    const resumed = await extractFeatures(await options(dir));
    expect(resumed.resumedRows).toBe(120);
    for (const name of ['f.npy', 'l.npy']) expect(readFileSync(join(dir, name))).toEqual(readFileSync(join(clean, name)));
    expect(existsSync(join(dir, 'l.npy.partial.owner.json'))).toBe(false);
  });

  it('says which logits file the partial output writes instead of calling it missing, in the caller\'s names', async () => {
    const dir = tempDir();
    await interrupted(await options(dir), 1);
    const names = { features: '--out', logits: '--logits-out', labels: '--labels-out', indices: '--indices-out' };
    const changed = await refusal(extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l2.npy') }, outputNames: names, optionNames: { restart: '--restart' } })));
    expect(changed.message).toContain(`The partial output ${join(dir, 'f.npy')}.partial was started writing the logits to ${join(dir, 'l.npy')}, but this run writes them to ${join(dir, 'l2.npy')} (--logits-out): its features rows and logits rows must come from one pass`);
    expect(changed.hint).toMatch(new RegExp(`^To resume it, rerun with --logits-out ${join(dir, 'l.npy')}; to start over with these, delete .* or pass --restart$`));
    const dropped = await refusal(extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy') }, outputNames: names })));
    expect(dropped.message).toContain(`was started writing the logits to ${join(dir, 'l.npy')}, but this run has no --logits-out`);
    expect(`${changed.message} ${changed.hint} ${dropped.message} ${dropped.hint}`).not.toMatch(/outputs\./);
  });

  it('a partial output resumes with labels or indices asked for or dropped (written at the end, from the dataset)', async () => {
    const all = (dir: string) => ({ features: join(dir, 'f.npy'), logits: join(dir, 'l.npy'), labels: join(dir, 'y.npy'), indices: join(dir, 'i.npy') });
    const clean = tempDir();
    await extractFeatures(await options(clean, { outputs: all(clean) }));
    const dir = tempDir();
    await interrupted(await options(dir, { outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy'), indices: join(dir, 'i.npy') } }), 2);
    const resumed = await extractFeatures(await options(dir, { outputs: all(dir) }));
    expect(resumed.resumedRows).toBe(120);
    for (const name of ['f.npy', 'l.npy', 'y.npy', 'i.npy']) expect(readFileSync(join(dir, name)), name).toEqual(readFileSync(join(clean, name)));
    expect(readFileSync(join(dir, 'f.npy.json'), 'utf8')).toBe(readFileSync(join(clean, 'f.npy.json'), 'utf8').replaceAll(clean, dir));
  });

  it('a finished run asked for another logits file, or for logits it did not write, is refused naming the files', async () => {
    const dir = tempDir();
    await extractFeatures(await options(dir));
    const other = await refusal(extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l2.npy') } })));
    expect(other.message).toContain(`${join(dir, 'f.npy')} was extracted with its logits in ${join(dir, 'l.npy')}, not in ${join(dir, 'l2.npy')} (outputs.logits)`);
    expect(other.hint).toBe(`Pass outputs.logits ${join(dir, 'l.npy')} to use them, or restart: true to extract the features and the logits again`);
    await extractFeatures(await options(dir, { outputs: { features: join(dir, 'g.npy') } }));
    const none = await refusal(extractFeatures(await options(dir, { outputs: { features: join(dir, 'g.npy'), logits: join(dir, 'gl.npy') } })));
    expect(none.message).toContain(`${join(dir, 'g.npy')} was extracted without logits, and the logits (outputs.logits ${join(dir, 'gl.npy')}) need the model run over the data again`);
    expect(none.hint).toMatch(/^Pass restart: true to extract the features and the logits again/);
    expect(existsSync(join(dir, 'l2.npy')) || existsSync(join(dir, 'gl.npy'))).toBe(false);
  });

  it('an interruption names every partial file it keeps, and each record reports the rows kept', async () => {
    const dir = tempDir();
    const checkpoints: ExtractCheckpoint[] = [];
    const error = await interrupted(await options(dir, { onCheckpoint: (c) => checkpoints.push(c) }), 2);
    expect(error.message).toContain(`partial output kept in ${join(dir, 'f.npy')}.partial and ${join(dir, 'l.npy')}.partial (120 rows each`);
    expect(checkpoints.at(-1)).toEqual({ files: [`${join(dir, 'f.npy')}.partial`, `${join(dir, 'l.npy')}.partial`], rows: 120 });
  });
});
