/**
 * The hints of refusals name the options that resolve them as the caller names them: by default the library's
 * (`restart: true`, `checkpoint.path`, `outputs.features`), or the names the caller passes in `optionNames`
 * (an application's flags), never the command line's flags unasked.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { extractFeatures, LIBRARY_OPTION_NAMES, optionNames, runSensitivity, type ExtractOptions } from '../src/index.js';
import { demoModel, FASHION_VAL, NORMALISE, tempDir, TRAIN } from './helpers.js';

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
