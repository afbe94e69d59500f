/** `--opnp` with no method that prunes with it is not accepted silently. */
import { describe, expect, it } from 'vitest';
import { cli, FASHION_VAL, MODEL, NORMALISE, TEST, TRAIN } from './helpers.js';

describe('--opnp without an OPNP method', () => {
  it('runs and says that the percentages are not used', async () => {
    const run = await cli(['demo', '--quick', '--methods', 'energy', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/the OPNP percentages given are not used: none of the methods prunes with them/);
    const used = await cli(['demo', '--quick', '--methods', 'energy,opnp', '--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1']);
    expect(used.code).toBe(0);
    expect(used.stderr).not.toMatch(/not used/);
  });
  it('a --method-option of a method that does not run is warned even with --quiet', async () => {
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, '--quiet', '--methods', 'energy', '--method-option', 'react.percentile=85']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('opnp: warning: options for react are not used: react is not among the methods\n');
  });
});
