/**
 * The hints of refusals name the options that resolve them as the caller names them: by default the library's
 * (`restart: true`, `checkpoint.path`, `outputs.features`), or the names the caller passes in `optionNames`
 * (an application's flags), never the command line's flags unasked.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { writeNpy } from '@opnp/datasets/node';
import { assertBatchSize, evaluate, extractFeatures, LIBRARY_OPTION_NAMES, optionNames, runSensitivity, summarizeRuns, type EvalReport, type ExtractOptions } from '../src/index.js';
import { demoEvaluation, demoModel, FASHION_VAL, NORMALISE, tempDir, TRAIN } from './helpers.js';

/** The error `run` rejects with, as message and hint. */
async function refusal(run: Promise<unknown>): Promise<{ message: string; hint: string }> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isOpnpError(error)) throw new Error(`expected an OpnpError, got ${String(error)}`);
  return { message: error.message, hint: error.hint ?? '' };
}

const CLI_LIKE = { restart: '--restart', checkpoint: '--checkpoint', out: '--out' };

describe('optionNames', () => {
  it('fills the names not given with the library\'s, and ignores undefined ones', () => {
    expect(optionNames(undefined)).toBe(LIBRARY_OPTION_NAMES);
    expect(optionNames({ restart: '--restart', out: undefined })).toEqual({ ...LIBRARY_OPTION_NAMES, restart: '--restart' });
  });
});

describe('refusal hints name the caller\'s options', () => {
  it('a checkpoint of another run: checkpoint.restart and checkpoint.path by default, the flags when passed', async () => {
    const model = await demoModel();
    const path = join(tempDir(), 'c.npy');
    const base = { model, train: TRAIN, preprocess: NORMALISE, seed: 0, batchSize: 100 };
    await runSensitivity({ ...base, trainFraction: 0.02, checkpoint: { path } });
    const library = await refusal(runSensitivity({ ...base, trainFraction: 0.03, checkpoint: { path } }));
    expect(library.message).toMatch(/^The checkpoint belongs to another run/);
    expect(library.hint).toContain('pass checkpoint.restart: true or use another checkpoint.path file');
    expect(library.hint).not.toMatch(/--[a-z]/);
    const cli = await refusal(runSensitivity({ ...base, trainFraction: 0.03, checkpoint: { path }, optionNames: CLI_LIKE }));
    expect(cli.hint).toContain('pass --restart or use another --checkpoint file');
  });

  it('a finished extraction of another run: restart: true and outputs.features by default, the flags when passed', async () => {
    const dir = tempDir();
    const options = async (extra: Partial<ExtractOptions> = {}): Promise<ExtractOptions> => ({
      model: await demoModel(),
      data: FASHION_VAL,
      preprocess: NORMALISE,
      outputs: { features: join(dir, 'f.npy') },
      batchSize: 250,
      ...extra,
    });
    await extractFeatures(await options());
    const other = { preprocess: { mean: [0.5], std: [0.5] } };
    const library = await refusal(extractFeatures(await options(other)));
    expect(library.hint).toBe('Pass restart: true to overwrite it, or choose another outputs.features');
    const cli = await refusal(extractFeatures(await options({ ...other, optionNames: CLI_LIKE })));
    expect(cli.hint).toBe('Pass --restart to overwrite it, or choose another --out');
    const info: string[] = [];
    await extractFeatures(await options({ onInfo: (m) => info.push(m) }));
    expect(info).toEqual([`${join(dir, 'f.npy')} is already complete for this run (500 rows); nothing to do (pass restart: true to extract again)`]);
  });
});

describe('other hints name the caller\'s options', () => {
  it('a batch too large: batchSize, or the caller\'s name', async () => {
    const model = await demoModel();
    const hint = (names?: object) => {
      try {
        assertBatchSize(model, 1e9, undefined, names);
      } catch (error) {
        return isOpnpError(error) ? (error.hint ?? '') : '';
      }
      return '';
    };
    expect(hint()).toMatch(/^Pass batchSize: 256 \(the most that fits/);
    expect(hint({ batchSize: '--batch-size' })).toMatch(/^Pass --batch-size 256 /);
  });

  it('runs of different evaluations: methods and ood, or the caller\'s names', () => {
    const report = (methods: string[]) => ({ methods, counts: { ood: { f: 1 } }, results: [], averages: [], idAccuracy: null }) as unknown as EvalReport;
    const runs = [{ label: 'a', report: report(['msp']) }, { label: 'b', report: report(['energy']) }];
    expect(() => summarizeRuns(runs)).toThrow('Give every run the same methods and ood (methods dropped for lack of labels differ too: pass methods)');
    expect(() => summarizeRuns(runs, { methods: '--methods', ood: '--ood' })).toThrow('Give every run the same --methods and --ood');
  });

  it('cached features without a sidecar beside a set run through the model: the preprocessing options as the caller names them', async () => {
    const features = join(tempDir(), 'f.npy');
    await writeNpy(features, { dtype: 'float32', shape: [40, 128], data: new Float32Array(40 * 128) });
    const { preprocess: _none, ...config } = { ...(await demoEvaluation(250)), test: `features:${features}`, methods: ['energy'] };
    const library = await refusal(evaluate(config));
    expect(library.hint).toBe('Pass the preprocess.mean/preprocess.std (and preprocess.resize/preprocess.centerCrop) used for the extraction (preprocess.mean: 0 and preprocess.std: 1 for none), or give every set as cached features');
    const named = await refusal(evaluate({ ...config, preprocessNames: { mean: '--mean', std: '--std', resize: '--resize', centerCrop: '--crop' } }));
    expect(named.hint).toBe('Pass the --mean/--std (and --resize/--crop) used for the extraction (--mean 0 and --std 1 for none), or give every set as cached features');
  });
});
