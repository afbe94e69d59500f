/**
 * Mistakes found before the work, not after it: method option values out of range (naming the flag and the range),
 * KNN's k above the training rows it will search (NNGuide's above its bank runs with a warning), a corrupt later
 * model of a multi-run, and interruption advice that names only flags the command has.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const POINT = ['--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1'];
const EVAL = ['eval', '--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT];

/** Runs `args` with Ctrl-C as soon as `marker` shows on stderr (a terminal, so progress bars). */
async function interrupted(args: string[], marker: string) {
  const controller = new AbortController();
  return cli(args, { signal: controller.signal, stderrTTY: true, onStderr: (t) => t.includes(marker) && controller.abort() });
}

describe('method options are checked before the model loads', () => {
  it.each([
    ['react.percentile=185', 'react', /^opnp: --method-option react\.percentile: expected a number in \[0, 100\], got 185/],
    ['knn.k=2.5', 'knn', /^opnp: --method-option knn\.k: expected an integer >= 1, got 2\.5/],
    ['mahalanobis.relativeTolerance=1', 'mahalanobis', /^opnp: --method-option mahalanobis\.relativeTolerance: expected a number in \[0, 1\), got 1/],
    ['gen.gamma=abc', 'gen', /^opnp: --method-option gen\.gamma: expected a number > 0, got "abc"/],
    ['odin.epsilon=-1', 'odin', /^opnp: --method-option odin\.epsilon: expected a number >= 0, got -1/],
  ])('%s', async (option, method, message) => {
    // A model that does not exist: the option must be refused before anything is loaded.
    const run = await cli([...EVAL, '--model', join(tempDir(), 'absent.onnx'), '--methods', `energy,${method}`, '--method-option', option]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });

  it('takes values in range (and ViM\'s optional dim)', async () => {
    const run = await cli([...EVAL, '--model', MODEL, '--methods', 'energy,react,vim', '--method-option', 'react.percentile=100', '--method-option', 'vim.dim=8', '-q', '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('a fit subset too small for the methods', () => {
  it('warns even with --quiet, in the flags\' names, and names the method whose scores are NaN', async () => {
    const run = await cli([...EVAL, '--model', MODEL, '--methods', 'mahalanobis', '--fit-samples', '5', '-q', '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^opnp: warning: mahalanobis: \d+ of the 10 classes have no fit rows \(5 fit rows\): its scores use the \d+ class(es)? that ha(s|ve); raise --fit-samples \/ --train-fraction$/);
    expect(lines[1]).toBe('opnp: warning: mahalanobis: its covariance is estimated from 5 fit rows, fewer than the 128 feature dimensions, so it is singular; raise --fit-samples / --train-fraction');
    const she = await cli([...EVAL, '--model', MODEL, '--methods', 'she', '--fit-samples', '5', '-q', '--format', 'csv']);
    expect(she.code).toBe(1);
    expect(she.stderr).toMatch(/^opnp: method "she" gave \d+ non-finite scores \(the first: NaN\) for the \d+ samples of the ID test set .*raise --fit-samples \/ --train-fraction/m);
    expect(she.stderr).not.toMatch(/idScores|check the model outputs/);
  });
});

describe('k above the training rows', () => {
  it('knn.k above the rows KNN will search is refused before the training pass', async () => {
    // --train-fraction 0.05 of 6000: KNN searches 300 rows. Progress lines would show a training pass.
    const run = await cli([...EVAL, '--model', MODEL, '--methods', 'knn', '--method-option', 'knn.k=301'], { env: { OPNP_PROGRESS_EVERY: '0' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^opnp: knn\.k is 301 but KNN searches 300 training rows: k must be at most the number of training rows\. Lower knn\.k to at most 300/m);
    expect(run.stderr).not.toMatch(/opnp: train/);
  });

  it('nnguide.k above its bank runs with k = the bank rows, warned even with --quiet, and the JSON records the k used', async () => {
    const json = join(tempDir(), 'report.json');
    // 300 fit rows: the default 1% bank has 3.
    const run = await cli([...EVAL, '--model', MODEL, '--methods', 'nnguide', '--method-option', 'nnguide.k=50', '-q', '--json', json]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('opnp: warning: nnguide.k is 50 but the NNGuide bank has 3 rows (nnguide.bankFraction 0.01 of 300 fit rows): nnguide runs with k = 3, which the report records; to run k = 50, raise nnguide.bankFraction (opnp eval: --method-option nnguide.bankFraction=<f>) or the fit rows (opnp eval: --fit-samples or --train-fraction; the library: fitSamples or trainFraction)\n');
    expect(JSON.parse(readFileSync(json, 'utf8')).methodOptions.nnguide).toEqual({ k: 3, bankFraction: 0.01, seed: 0 });
    // Once per command, not once per run of a multi-run.
    const seeds = await cli([...EVAL, '--model', MODEL, '--methods', 'nnguide', '--method-option', 'nnguide.k=50', '-q', '--seeds', '1,2', '--format', 'csv']);
    expect(seeds.code, seeds.stderr).toBe(0);
    expect(seeds.stderr.match(/opnp: warning: nnguide\.k is 50/g)).toHaveLength(1);
  });
});

describe('a multi-run loads every model before run 1', () => {
  it('a corrupt second model fails before the first run starts, naming the file', async () => {
    const corrupt = join(tempDir(), 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.from('not an onnx model at all'));
    const run = await cli([...EVAL, '--methods', 'energy', '--model', MODEL, '--model', corrupt]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('corrupt.onnx');
    expect(run.stderr).not.toMatch(/run 1 of 2/);
  });
});

describe('interrupted without a checkpoint', () => {
  it('eval, which has --checkpoint, suggests it', async () => {
    const run = await interrupted(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--batch-size', '50'], '/6000');
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/nothing was saved \(pass --checkpoint <file> to make the training pass resumable\)/);
  });

  it('demo, which has no --checkpoint, does not', async () => {
    const run = await interrupted(['demo', '--quick'], '/1500');
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/nothing was saved/);
    expect(run.stderr).not.toMatch(/--checkpoint/);
  });
});

describe('a sensitivity state of another kind of training input', () => {
  it('a state computed from the images is refused for cached features as --train, in those words', async () => {
    const dir = tempDir();
    const state = join(dir, 's.npy');
    const sens = await cli(['sensitivity', '--model', MODEL, '--train', TRAIN, ...NORMALISE, '--state-out', state, '--train-fraction', '0.05', '-q']);
    expect(sens.code, sens.stderr).toBe(0);
    const extract = await cli(['extract', '--model', MODEL, '--data', TRAIN, ...NORMALISE, '--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy'), '-q']);
    expect(extract.code, extract.stderr).toBe(0);
    const train = `features:${join(dir, 'f.npy')}#logits=${join(dir, 'l.npy')}`;
    const run = await cli(['eval', '--model', MODEL, '--train', train, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, '--methods', 'opp', '--sensitivity-state', state, '-q']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`opnp: the sensitivity state ${state} was computed from data files as the training set, but this run's --train is cached features: a state belongs to the one training input it was computed from`);
    expect(run.stderr).not.toContain('train.count was');
  }, 120_000);
});

describe('a sensitivity state at another sensitivity temperature', () => {
  it('is refused saying that the scores\' --temperature is a separate setting', async () => {
    const dir = tempDir();
    const state = join(dir, 's2.npy');
    const sens = await cli(['sensitivity', '--model', MODEL, '--train', TRAIN, ...NORMALISE, '--temperature', '2', '--state-out', state, '--train-fraction', '0.05', '-q']);
    expect(sens.code, sens.stderr).toBe(0);
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.05', '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, '--methods', 'energy,opp', '--temperature', '2', '--sensitivity-state', state, '-q']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`opnp: the sensitivity state ${state} was computed at sensitivity temperature 2, but this run computes the sensitivity at temperature 1: the temperature of the scores`);
  }, 120_000);
});
