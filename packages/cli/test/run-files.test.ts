/**
 * Every command that writes files checks all its outputs against all its inputs (and a results folder against
 * everything inside it) before any work: an ordinary mistake ends in a clear error naming both paths, never in
 * exit 0 with an overwritten model, data or labels file, or a deleted folder.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { demoAssetPath } from '../src/commands/demo.js';
import { createProgram } from '../src/program.js';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const POINT = ['--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1'];

/** A folder with copies of the model, data and labels a run reads, and their bytes. */
function inputsFolder() {
  const dir = tempDir();
  const files = {
    model: join(dir, 'm.onnx'),
    train: join(dir, 'train-images-idx3-ubyte.gz'),
    test: join(dir, 'test-images-idx3-ubyte.gz'),
    labels: join(dir, 'test-labels.png'),
    ood: join(dir, 'ood-images-idx3-ubyte.gz'),
  };
  copyFileSync(MODEL, files.model);
  copyFileSync(demoAssetPath('mnist-train-6k-images-idx3-ubyte.gz'), files.train);
  copyFileSync(demoAssetPath('mnist-test-2500-images-idx3-ubyte.gz'), files.test);
  copyFileSync(demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz'), files.labels);
  copyFileSync(demoAssetPath('fashion-val-images-idx3-ubyte.gz'), files.ood);
  const bytes = () => Object.values(files).map((f) => readFileSync(f));
  return { dir, files, bytes };
}

type Files = ReturnType<typeof inputsFolder>['files'] & { dir: string };

/**
 * One case per output flag of every command (`<command path> <flag>`): the run with that output on one of its inputs,
 * and what the message must say. The test below fails when a command gains an output flag without a case here.
 */
const CASES: Record<string, (f: Files) => { args: string[]; message: RegExp }> = {
  'eval --json': (f) => ({ args: [...evalArgs(f), '--json', f.model], message: /the JSON report \(--json\) would overwrite the model \(--model\)/ }),
  'eval --checkpoint': (f) => ({ args: [...evalArgs(f), '--checkpoint', f.test], message: /the checkpoint \(--checkpoint\) would overwrite the dataset \(--test\)/ }),
  'eval --save': (f) => ({ args: [...evalArgs(f), '--save', f.dir], message: /the model \(--model\) lies inside the results folder \(--save\)/ }),
  'eval --scores-out': (f) => ({ args: [...evalArgs(f), '--train-labels', join(f.dir, 's.shard-001-of-001.npy'), '--shard', '1/1', '--scores-out', join(f.dir, 's.npy')], message: /the shard's scores \(--scores-out\) would overwrite the labels \(--train-labels\)/ }),
  'eval merge --json': (f) => ({ args: ['eval', 'merge', f.ood, '--json', f.ood], message: /the JSON report \(--json\) would overwrite the shard/ }),
  'eval merge --save': (f) => ({ args: ['eval', 'merge', f.ood, '--save', f.dir], message: /the shard .* lies inside the results folder \(--save\)/ }),
  'sensitivity --out': (f) => ({ args: ['sensitivity', '--model', f.model, '--train', `idx:${f.train}`, '--out', f.model], message: /the sensitivity \(--out\) would overwrite the model \(--model\)/ }),
  'sensitivity --neuron-out': (f) => ({ args: ['sensitivity', '--model', f.model, '--train', `idx:${f.train}`, '--neuron-out', f.train], message: /would overwrite the dataset \(--train\)/ }),
  'sensitivity --state-out': (f) => ({ args: ['sensitivity', '--model', f.model, '--train', `idx:${f.train}`, '--train-labels', f.labels, '--state-out', f.labels], message: /would overwrite the labels \(--train-labels\)/ }),
  'sensitivity --checkpoint': (f) => ({ args: ['sensitivity', '--model', f.model, '--train', `idx:${f.train}`, '--out', join(f.dir, 's.npy'), '--checkpoint', f.model], message: /the checkpoint \(--checkpoint\) would overwrite the model/ }),
  'sensitivity merge --out': (f) => ({ args: ['sensitivity', 'merge', f.ood, '--out', f.ood], message: /the sensitivity \(--out\) would overwrite the state/ }),
  'sensitivity merge --neuron-out': (f) => ({ args: ['sensitivity', 'merge', f.ood, '--neuron-out', f.ood], message: /would overwrite the state/ }),
  'sensitivity merge --state-out': (f) => ({ args: ['sensitivity', 'merge', f.ood, '--state-out', f.ood], message: /would overwrite the state/ }),
  'ablate --json': (f) => ({ args: [...ablateArgs(f), '--json', f.model], message: /the JSON \(--json\) would overwrite the model \(--model\)/ }),
  'ablate --csv': (f) => ({ args: [...ablateArgs(f), '--csv', f.ood], message: /the CSV \(--csv\) would overwrite the dataset \(--ood f\)/ }),
  'ablate --figure': (f) => ({ args: ['ablate', 'sweep', ...ablateArgs(f).slice(2), '--figure', f.labels], message: /the figure \(--figure\) would overwrite the labels \(--test-labels\)/ }),
  'extract --out': (f) => ({ args: ['extract', '--model', f.model, '--data', `idx:${f.test}`, '--out', f.model], message: /the features \(--out\) would overwrite the model/ }),
  'extract --logits-out': (f) => ({ args: ['extract', '--model', f.model, '--data', `idx:${f.test}`, '--out', join(f.dir, 'x.npy'), '--logits-out', f.test], message: /would overwrite the dataset \(--data\)/ }),
  'extract --labels-out': (f) => ({ args: ['extract', '--model', f.model, '--data', `idx:${f.test}`, '--out', join(f.dir, 'x.npy'), '--labels-out', f.model], message: /would overwrite the model/ }),
  'extract --indices-out': (f) => ({ args: ['extract', '--model', f.model, '--data', `idx:${f.test}`, '--out', join(f.dir, 'x.npy'), '--indices-out', f.model], message: /would overwrite the model/ }),
  'extract merge --out': (f) => ({ args: ['extract', 'merge', f.ood, '--out', f.ood], message: /would overwrite the shard/ }),
  'extract merge --logits-out': (f) => ({ args: ['extract', 'merge', f.ood, '--out', join(f.dir, 'x.npy'), '--logits-out', f.ood], message: /would overwrite the shard/ }),
  'extract merge --labels-out': (f) => ({ args: ['extract', 'merge', f.ood, '--out', join(f.dir, 'x.npy'), '--labels-out', f.ood], message: /would overwrite the shard/ }),
  'extract merge --indices-out': (f) => ({ args: ['extract', 'merge', f.ood, '--out', join(f.dir, 'x.npy'), '--indices-out', f.ood], message: /would overwrite the shard/ }),
  'export --out': (f) => ({ args: ['export', '--model', f.model, '--train', `idx:${f.train}`, ...POINT, '--out', f.train], message: /the detector \(--out\) would overwrite the dataset \(--train\)/ }),
  'report --out': (f) => ({ args: ['report', f.dir, '--out', f.dir], message: /the report \(--out\) would overwrite the results/ }),
  // The demo reads its shipped assets: --json on them is refused like any input (its --save case: the demo test below).
  'demo --json': () => ({ args: ['demo', '--json', MODEL], message: /the JSON report \(--json\) would overwrite the demo's model/ }),
  'demo --save': () => ({ args: ['demo', '--save', demoAssetPath('.')], message: /the demo's model lies inside the results folder \(--save\)/ }),
};

function evalArgs(f: Files): string[] {
  return ['eval', '--model', f.model, '--train', `idx:${f.train}`, '--test', `idx:${f.test}`, '--test-labels', f.labels, '--ood', `f=idx:${f.ood}`, ...NORMALISE, ...POINT];
}

function ablateArgs(f: Files): string[] {
  return ['ablate', 'pruning', '--model', f.model, '--train', `idx:${f.train}`, '--test', `idx:${f.test}`, '--test-labels', f.labels, '--ood', `f=idx:${f.ood}`, ...NORMALISE];
}

/** `<command path> <flag>` of every option of the program that names a file or folder to write. */
function outputFlags(): string[] {
  const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
  const found: string[] = [];
  const visit = (command: Command, path: string[]) => {
    for (const option of command.options) {
      const long = option.long ?? '';
      const takesPath = /<[^>]*(file|dir|\.npy|\.onnx|features|detector|logits|labels|indices|state|scores|sens|n\.npy)[^>]*>/.test(option.flags);
      if (takesPath && /^--(out|json|csv|save|figure|checkpoint|[a-z-]+-out)$/.test(long)) found.push([...path, long].join(' '));
    }
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(createProgram(io as never), []);
  return found.sort();
}

describe('outputs are checked against every input before any work', () => {
  it('every output flag of every command has a case here', () => {
    expect(outputFlags()).toEqual(Object.keys(CASES).sort());
  });

  it.each(Object.keys(CASES))('%s on an input is refused and the input is left as it was', async (name) => {
    const folder = inputsFolder();
    const demoModel = readFileSync(MODEL);
    // Merge inputs are files of the folder; the report's is the folder itself.
    const { args, message } = CASES[name]!({ ...folder.files, dir: folder.dir });
    const before = folder.bytes();
    const run = await cli(args);
    expect(run.code, run.stderr).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(folder.bytes()).toEqual(before);
    expect(readFileSync(MODEL)).toEqual(demoModel);
    expect(readdirSync(folder.dir).sort()).toEqual(['m.onnx', 'ood-images-idx3-ubyte.gz', 'test-images-idx3-ubyte.gz', 'test-labels.png', 'train-images-idx3-ubyte.gz']);
  });
});

describe('--save never deletes what opnp did not write', () => {
  /** An earlier results folder as opnp writes it (a manifest listing its files), plus `extra` files of the user. */
  function earlierResults(extra: Record<string, string>): string {
    const dir = join(tempDir(), 'results');
    mkdirSync(join(dir, 'scores'), { recursive: true });
    writeFileSync(join(dir, 'report.json'), '{}');
    writeFileSync(join(dir, 'scores', 'energy.id.npy'), 'x');
    const manifest = { format: 'opnp-results', version: 1, files: { report: 'report.json', scores: { energy: { id: 'scores/energy.id.npy', ood: {} } } } };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('refuses an earlier results folder holding a user file, naming it, before any work', async () => {
    const dir = earlierResults({ 'notes.txt': 'mine' });
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--save', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the results folder \(--save\): the earlier results folder .*results also holds files opnp did not write there \(notes\.txt\); replacing the folder would delete them/);
    expect(run.stderr).toMatch(/Move them out of/);
    expect(run.stderr).not.toMatch(/training/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses --json inside the --save folder before any work (it would be replaced at the end)', async () => {
    const dir = earlierResults({});
    const json = join(dir, 'r.json');
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--save', dir, '--json', json]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the JSON report \(--json\) lies inside the results folder \(--save\), which is replaced as a whole at the end of the run: .*r\.json/);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'report.json', 'scores']);
  });

  it('still replaces an earlier results folder holding only its own files', async () => {
    const dir = earlierResults({});
    const run = await cli(['demo', '--quick', '--methods', 'energy,opnp', ...POINT, '--save', dir, '-q', '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files.selection).toBe('selection.json');
  });

  it('replaces an earlier results folder holding OS metadata files besides its own (they go with it)', async () => {
    const junk = { '.DS_Store': 'finder', 'Thumbs.db': 'explorer', 'desktop.ini': '[.ShellClassInfo]', 'scores/._energy.id.npy': 'appledouble' };
    const dir = earlierResults(junk);
    const run = await cli(['demo', '--quick', '--methods', 'energy,opnp', ...POINT, '--save', dir, '-q', '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files.selection).toBe('selection.json');
    for (const name of Object.keys(junk)) expect(existsSync(join(dir, name)), name).toBe(false);
  });
});

describe('what an input brings with it is an input too', () => {
  it('refuses an output on the .json sidecar of cached features or on a --method-option file, before any work', async () => {
    const dir = tempDir();
    const features = join(dir, 'test.npy');
    const extracted = await cli(['extract', '--model', MODEL, '--data', TEST, ...NORMALISE, '--out', features, '--logits-out', join(dir, 'test-logits.npy'), '-q']);
    expect(extracted.code, extracted.stderr).toBe(0);
    const sidecar = readFileSync(`${features}.json`);
    const onSidecar = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--test', `features:${features}#logits=${join(dir, 'test-logits.npy')}`, '--test-labels', demoAssetPath('mnist-test-2500-labels-idx1-ubyte.gz'), '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--json', `${features}.json`]);
    expect(onSidecar.code).toBe(1);
    expect(onSidecar.stderr).toMatch(/the JSON report \(--json\) would overwrite the sidecar of the features of --test/);
    expect(readFileSync(`${features}.json`)).toEqual(sidecar);
    const weights = join(dir, 'w.npy');
    writeFileSync(weights, 'weights');
    const onOption = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--methods', 'energy,webo', '--method-option', `webo.weights=${weights}`, '--json', weights]);
    expect(onOption.code).toBe(1);
    expect(onOption.stderr).toMatch(/the JSON report \(--json\) would overwrite the file of --method-option webo\.weights/);
    expect(readFileSync(weights, 'utf8')).toBe('weights');
  });

  it('refuses a results folder inside an image-folder dataset (it would become a class folder)', async () => {
    const images = join(tempDir(), 'images');
    mkdirSync(join(images, 'a'), { recursive: true });
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `f=folder:${images}`, ...NORMALISE, ...POINT, '--save', join(images, 'results')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the results folder \(--save\) would be written inside the dataset \(--ood f\)/);
    expect(readdirSync(images)).toEqual(['a']);
  });
});

describe('"-" is standard output only where an output can go there', () => {
  it.each([
    ['sensitivity', ['sensitivity', '--model', MODEL, '--train', TRAIN, '--out', '-'], 'the sensitivity \\(--out\\)'],
    ['extract', ['extract', '--model', MODEL, '--data', TEST, '--out', '-'], 'the features \\(--out\\)'],
    ['export', ['export', '--model', MODEL, '--train', TRAIN, ...POINT, '--out', '-'], 'the detector \\(--out\\)'],
    ['report', ['report', demoAssetPath('.'), '--out', '-'], 'the report \\(--out\\)'],
  ])('%s --out - is refused before any work, and no file named - appears', async (_name, args, what) => {
    const run = await cli(args as string[]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`${what} cannot be written to standard output \\("-"\\): it is a file`));
    expect(existsSync(join(process.cwd(), '-'))).toBe(false);
  });
});

describe('a folder output on an existing file', () => {
  it('report --out <file> is refused before any work, naming it', async () => {
    const file = join(tempDir(), 'afile');
    writeFileSync(file, 'mine');
    const run = await cli(['report', demoAssetPath('.'), '--out', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the report \(--out\) is a folder, but .*afile is a file/);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });
});
