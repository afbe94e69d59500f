/**
 * The identity of cached features and of resumable extraction state: features and logits (and labels) written by
 * one extraction are a recognisable pair, cached features name the model they were extracted with, the labels file
 * is part of the run, and partial outputs belong to one run (fingerprint and output files) and are never written
 * over by another.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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

  it('says which output file changed instead of calling the partial missing', async () => {
    const dir = tempDir();
    await interrupted(await options(dir), 1);
    const changed = extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l2.npy') } }));
    await expect(changed).rejects.toThrow(`The partial output was written to other files than this run's: outputs.logits was "${join(dir, 'l.npy')}", now "${join(dir, 'l2.npy')}"`);
  });

  it('a finished run asked for another logits file is not "already complete"', async () => {
    const dir = tempDir();
    await extractFeatures(await options(dir));
    await expect(extractFeatures(await options(dir, { outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l2.npy') } }))).rejects.toThrow(/existing output was written to other files than this run's: outputs\.logits/);
  });

  it('an interruption names every partial file it keeps, and each record reports the rows kept', async () => {
    const dir = tempDir();
    const checkpoints: ExtractCheckpoint[] = [];
    const error = await interrupted(await options(dir, { onCheckpoint: (c) => checkpoints.push(c) }), 2);
    expect(error.message).toContain(`partial output kept in ${join(dir, 'f.npy')}.partial and ${join(dir, 'l.npy')}.partial (120 rows each`);
    expect(checkpoints.at(-1)).toEqual({ files: [`${join(dir, 'f.npy')}.partial`, `${join(dir, 'l.npy')}.partial`], rows: 120 });
  });
});
