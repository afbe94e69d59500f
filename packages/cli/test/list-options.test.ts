/**
 * Comma-list flags (`--methods`, `--opnp`, `--mean`, `--std`, `--seeds`, `--statistics`, `--fractions`, `--resize`)
 * refuse an empty item with its flag and position instead of dropping it, and `--resize` takes the library's
 * `[height, width]` as `h,w`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResize, splitList } from '../src/options.js';
import { cli, FASHION_VAL, MODEL, referenceBatches, tempDir } from './helpers.js';

/** One `opnp: ` line on stderr and exit code 1 (a flag value refused before any work). */
async function refusal(args: string[]): Promise<string> {
  const run = await cli(args);
  expect(run.code, args.join(' ')).toBe(1);
  expect(run.stdout, args.join(' ')).toBe('');
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, args.join(' ')).toHaveLength(1);
  return lines[0]!;
}

describe('an empty item of a comma-list flag', () => {
  it('is refused naming the flag, the item position and the value, in every command that takes a list', async () => {
    const cases: [string[], string][] = [
      [['demo', '--methods', 'energy,,msp'], 'opnp: --methods: item 2 is empty in "energy,,msp"'],
      [['demo', '--methods', 'energy,msp,'], 'opnp: --methods: item 3 is empty in "energy,msp,"'],
      [['demo', '--methods', ',energy'], 'opnp: --methods: item 1 is empty in ",energy"'],
      [['demo', '--opnp', 'p_min=10,p_max=1,,n_min=10,n_max=1'], 'opnp: --opnp: item 3 is empty in "p_min=10,p_max=1,,n_min=10,n_max=1"'],
      [['extract', '--mean', '0.5,,0.5', '--model', 'm.onnx'], 'opnp: --mean: item 2 is empty in "0.5,,0.5"'],
      [['extract', '--std', '0.3,', '--model', 'm.onnx'], 'opnp: --std: item 2 is empty in "0.3,"'],
      [['eval', '--seeds', '0,,1'], 'opnp: --seeds: item 2 is empty in "0,,1"'],
      [['eval', '--methods', 'msp, ,energy'], 'opnp: --methods: item 2 is empty in "msp, ,energy"'],
      [['ablate', 'statistic', '--statistics', 'mean,,max'], 'opnp: --statistics: item 2 is empty in "mean,,max"'],
      [['ablate', 'fraction', '--fractions', '0.1,,1'], 'opnp: --fractions: item 2 is empty in "0.1,,1"'],
      [['export', '--opnp', ',p_min=10,p_max=1,n_min=10,n_max=1'], 'opnp: --opnp: item 1 is empty in ",p_min=10,p_max=1,n_min=10,n_max=1"'],
      [['extract', '--resize', '224,', '--model', 'm.onnx'], 'opnp: --resize: item 2 is empty in "224,"'],
      [['demo', '--methods='], 'opnp: --methods: expected a comma-separated list, got an empty value'],
    ];
    for (const [args, message] of cases) expect(await refusal(args), args.join(' ')).toBe(message);
  });

  it('splitList keeps every item, trimmed, and refuses blank ones', () => {
    expect(splitList('--x', ' a , b,c ')).toEqual(['a', 'b', 'c']);
    expect(splitList('--x', '7')).toEqual(['7']);
    for (const [text, position] of [['a,,b', 2], ['a, ', 2], [' ,a', 1], [',', 1], ['a,b,,', 3]] as const) {
      expect(() => splitList('--x', text)).toThrow(`--x: item ${position} is empty in "${text}"`);
    }
    expect(() => splitList('--x', '  ')).toThrow('--x: expected a comma-separated list, got an empty value');
  });
});

describe('--resize', () => {
  it('takes one size (the shorter side) or height,width, and refuses anything else with what it expects', async () => {
    expect(parseResize('256')).toBe(256);
    expect(parseResize(' 224 , 288 ')).toEqual([224, 288]);
    for (const text of ['0', '-3', '22.5', '1e3', 'x', '224,288,3', '224,0', '224,x', '224x288']) {
      expect(() => parseResize(text), text).toThrow(`--resize: expected a positive integer n (the shorter side) or height,width (e.g. 224,288), got "${text}"`);
    }
    expect(await refusal(['extract', '--resize', '224,288,3', '--model', 'm.onnx'])).toBe('opnp: --resize: expected a positive integer n (the shorter side) or height,width (e.g. 224,288), got "224,288,3"');
  });

  it('h,w resizes every image to exactly h x w (recorded in the sidecar), the features of the library\'s resize: [h, w]', async () => {
    const dir = tempDir();
    const out = join(dir, 'f.npy');
    const run = await cli(['extract', '--model', MODEL, '--data', FASHION_VAL, '--mean', '0.1307', '--std', '0.3081', '--resize', '32,40', '--out', out, '--batch-size', '100', '-q']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { preprocess: { resize: unknown; centerCrop: unknown } };
    expect(sidecar.preprocess.resize).toEqual([32, 40]);
    expect(sidecar.preprocess.centerCrop).toEqual([28, 28]);
    const { loadNpy } = await import('@opnp/datasets/node');
    const features = await loadNpy(out);
    const reference = await referenceBatches(FASHION_VAL, { batchSize: 100, preprocess: { resize: [32, 40] } });
    const expected = reference.batches.flatMap((b) => Array.from(b.features.data));
    expect(features.shape).toEqual([500, reference.batches[0]!.features.cols]);
    expect(Array.from(features.data)).toEqual(expected);
    // Not the features of the default resize (the 28 x 28 images unchanged): the pair was applied.
    const unresized = (await referenceBatches(FASHION_VAL, { batchSize: 100 })).batches.flatMap((b) => Array.from(b.features.data));
    expect(Array.from(features.data)).not.toEqual(unresized);
  });
});

describe('--method-option values', () => {
  it('reads plain decimals, true/false and strings; refuses numbers in other notations', async () => {
    const { parseMethodOptions } = await import('../src/options.js');
    expect(parseMethodOptions(['react.percentile=85', 'knn.k=1e1', 'ash.percentile=.5', 'vim.dim=-3', 'x.flag=true', 'x.name=abc', 'x.path=./w.json'])).toEqual({
      react: { percentile: 85 },
      knn: { k: 10 },
      ash: { percentile: 0.5 },
      vim: { dim: -3 },
      x: { flag: true, name: 'abc', path: './w.json' },
    });
    for (const raw of ['0x50', '0b1', '0o7', '0X10']) {
      expect(() => parseMethodOptions([`react.percentile=${raw}`]), raw).toThrow(`--method-option: expected a decimal number in "react.percentile=${raw}", got "${raw}"`);
    }
  });
});
