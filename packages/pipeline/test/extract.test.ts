/**
 * extractFeatures: the same rows in every output; resumable after an interruption, after a failure and after a
 * crash between writing rows and recording them; refusing other runs.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadNpy } from '@opnp/datasets/node';
import { extractFeatures, InterruptedError, readFeaturesMeta, type ExtractOptions } from '../src/index.js';
import { demoAsset, demoModel, FASHION_VAL, NORMALISE, tempDir } from './helpers.js';

async function options(dir: string, extra: Partial<ExtractOptions> = {}): Promise<ExtractOptions> {
  return {
    model: await demoModel(),
    data: FASHION_VAL,
    preprocess: NORMALISE,
    outputs: { features: join(dir, 'f.npy'), logits: join(dir, 'l.npy'), indices: join(dir, 'i.npy') },
    batchSize: 60,
    ...extra,
  };
}

/** Interrupts an extraction after `batches` batches. */
async function interruptAfter(dir: string, batches: number): Promise<void> {
  const controller = new AbortController();
  let seen = 0;
  const run = extractFeatures({ ...(await options(dir)), signal: controller.signal, onProgress: (e) => !e.done && ++seen === batches && controller.abort() });
  await expect(run).rejects.toBeInstanceOf(InterruptedError);
}

describe('extractFeatures', () => {
  it('resumes an interrupted run to the bytes of an uninterrupted one', async () => {
    const clean = tempDir();
    const result = await extractFeatures(await options(clean));
    expect(result).toMatchObject({ rows: 500, samples: 500, dim: 128, classes: 10, skipped: [], resumedRows: 0, alreadyComplete: false });
    const dir = tempDir();
    await interruptAfter(dir, 3);
    const partial = JSON.parse(readFileSync(join(dir, 'f.npy.partial.json'), 'utf8')) as { rows: number; complete: boolean };
    expect(partial.rows).toBe(180);
    expect(partial.complete).toBe(false);
    const resumed = await extractFeatures(await options(dir));
    expect(resumed.resumedRows).toBe(180);
    for (const name of ['f.npy', 'l.npy', 'i.npy']) expect(readFileSync(join(dir, name))).toEqual(readFileSync(join(clean, name)));
  });

  it('survives a crash between writing rows and recording them (extra rows on disk are written over)', async () => {
    const clean = tempDir();
    await extractFeatures(await options(clean));
    const dir = tempDir();
    await interruptAfter(dir, 2);
    // As if killed after appending more rows (and half a row) to the features but before the sidecar said so.
    appendFileSync(join(dir, 'f.npy.partial'), Buffer.alloc(128 * 4 * 7 + 10, 0x7f));
    await extractFeatures(await options(dir));
    const [a, b] = [await loadNpy(join(dir, 'f.npy')), await loadNpy(join(clean, 'f.npy'))];
    expect(a.shape).toEqual([500, 128]);
    expect(Buffer.from(a.data.buffer)).toEqual(Buffer.from(b.data.buffer));
  });

  it('a run that fails keeps a partial output the same command resumes to the bytes of an uninterrupted one', async () => {
    const clean = tempDir();
    await extractFeatures(await options(clean));
    const dir = tempDir();
    const model = await demoModel();
    let calls = 0;
    // the same model (same fingerprint) whose fourth batch fails: rows of earlier batches may be held in memory
    const failing = { ...model, extractor: Object.assign(Object.create(model.extractor) as typeof model.extractor, { extract: (batch: Parameters<typeof model.extractor.extract>[0]) => (++calls === 4 ? Promise.reject(new Error('device lost')) : model.extractor.extract(batch)) }) };
    await expect(extractFeatures({ ...(await options(dir)), model: failing })).rejects.toThrow('device lost');
    const sidecar = JSON.parse(readFileSync(join(dir, 'f.npy.partial.json'), 'utf8')) as { rows: number };
    expect(readFileSync(join(dir, 'f.npy.partial')).length).toBeGreaterThanOrEqual(128 + sidecar.rows * 128 * 4);
    const resumed = await extractFeatures(await options(dir));
    expect(resumed.resumedRows).toBe(sidecar.rows);
    for (const name of ['f.npy', 'l.npy', 'i.npy']) expect(readFileSync(join(dir, name))).toEqual(readFileSync(join(clean, name)));
  });

  it('a fresh run that fails before writing a row leaves no file, so the corrected command runs', async () => {
    const dir = tempDir();
    // Two means for a one-channel model: found at the first batch, after the outputs were opened.
    await expect(extractFeatures({ ...(await options(dir)), preprocess: { mean: [0.1, 0.2], std: [0.3] } })).rejects.toThrow(/mean/);
    expect(readdirSync(dir)).toEqual([]);
    const model = await demoModel();
    const failing = { ...model, extractor: Object.assign(Object.create(model.extractor) as typeof model.extractor, { extract: () => Promise.reject(new Error('device lost')) }) };
    await expect(extractFeatures({ ...(await options(dir)), model: failing })).rejects.toThrow('device lost');
    expect(readdirSync(dir)).toEqual([]);
    const result = await extractFeatures(await options(dir));
    expect(result).toMatchObject({ rows: 500, resumedRows: 0 });
  });

  it('a run that fails after writing rows says where its partial output is kept', async () => {
    const dir = tempDir();
    const model = await demoModel();
    let calls = 0;
    const failing = { ...model, extractor: Object.assign(Object.create(model.extractor) as typeof model.extractor, { extract: (batch: Parameters<typeof model.extractor.extract>[0]) => (++calls === 3 ? Promise.reject(new Error('device lost')) : model.extractor.extract(batch)) }) };
    const info: string[] = [];
    await expect(extractFeatures({ ...(await options(dir)), model: failing, onInfo: (m) => info.push(m) })).rejects.toThrow('device lost');
    // The two batches that went through are recorded (even within the sidecar's one-second commit interval) and resumed.
    expect(info).toContain(`partial output kept in ${join(dir, 'f.npy')}.partial and ${join(dir, 'l.npy')}.partial (120 rows each): the same command resumes it once the cause is fixed, if the model, data files, labels file and flags are unchanged; after changing any of them (a repaired input file too), restart: true discards it`);
    expect(readdirSync(dir).sort()).toEqual(['f.npy.partial', 'f.npy.partial.json', 'l.npy.partial', 'l.npy.partial.owner.json']);
    expect(JSON.parse(readFileSync(join(dir, 'f.npy.partial.json'), 'utf8'))).toMatchObject({ rows: 120, nextIndex: 120, complete: false });
    const resumed = await extractFeatures(await options(dir));
    expect(resumed.resumedRows).toBe(120);
    const clean = tempDir();
    await extractFeatures(await options(clean));
    for (const name of ['f.npy', 'l.npy', 'i.npy']) expect(readFileSync(join(dir, name))).toEqual(readFileSync(join(clean, name)));
  });

  it('flushes to disk the finished files only, not the progress sidecar it rewrites every second', async () => {
    const dir = tempDir();
    const probe = await open(join(dir, 'probe'), 'w');
    const sync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync'); // every FileHandle's
    await probe.close();
    try {
      await extractFeatures(await options(dir));
      // f.npy and l.npy (finalized from their .partial), i.npy and the final sidecar f.npy.json; the .partial.json
      // written at the start (and every second) is not flushed
      expect(sync.mock.calls.length).toBe(4);
    } finally {
      sync.mockRestore();
    }
  });

  it('refuses another run and says which fields differ; restart overwrites', async () => {
    const dir = tempDir();
    await interruptAfter(dir, 1);
    await expect(extractFeatures({ ...(await options(dir)), preprocess: { mean: [0.5], std: [0.5] } })).rejects.toThrow(/partial output belongs to another run: data\.preprocess differs/);
    // Deleting every file the hint names is a clean fresh start (the logits partial's owner record included).
    await expect(extractFeatures({ ...(await options(dir)), preprocess: { mean: [0.5], std: [0.5] } })).rejects.toMatchObject({ hint: expect.stringContaining(`${join(dir, 'l.npy.partial')}, ${join(dir, 'l.npy.partial.owner.json')}, ${join(dir, 'f.npy.partial.json')}`) });
    await expect(extractFeatures({ ...(await options(dir)), outputs: { features: join(dir, 'f.npy') } })).rejects.toThrow(`The partial output ${join(dir, 'f.npy')}.partial was started writing the logits to ${join(dir, 'l.npy')}, but this run has no outputs.logits`);
    const restarted = await extractFeatures({ ...(await options(dir)), preprocess: { mean: [0.5], std: [0.5] }, restart: true });
    expect(restarted.resumedRows).toBe(0);
    expect(restarted.rows).toBe(500);
  });
});

describe('extractFeatures output paths', () => {
  it('refuses two outputs on one file, or an output on the model or the data, before writing anything', async () => {
    const dir = tempDir();
    const same = join(dir, 'same.npy');
    await expect(extractFeatures({ ...(await options(dir)), outputs: { features: same, logits: same } })).rejects.toThrow(/the features \(outputs\.features\) and the logits \(outputs\.logits\) are the same file/);
    const model = await demoModel();
    await expect(extractFeatures({ ...(await options(dir)), outputs: { features: join(dir, 'f.npy'), logits: model.path } })).rejects.toThrow(/logits \(outputs\.logits\).*the model \(model\)/);
    await expect(extractFeatures({ ...(await options(dir)), outputs: { features: demoAsset('fashion-val-images-idx3-ubyte.gz') } })).rejects.toThrow(/the dataset \(data\)/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('readFeaturesMeta', () => {
  it('reads the sidecar, and refuses the .npy itself naming the sidecar to pass instead', async () => {
    const dir = tempDir();
    await extractFeatures(await options(dir));
    const features = join(dir, 'f.npy');
    expect((await readFeaturesMeta(`${features}.json`))?.rows).toBe(500);
    await expect(readFeaturesMeta(features)).rejects.toThrow(/f\.npy is a \.npy array, not the JSON sidecar/);
    await expect(readFeaturesMeta(features)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', hint: `Pass the sidecar, ${features}.json` });
    expect(readFileSync(features).length).toBeGreaterThan(0); // nothing told to delete it
  });
});
