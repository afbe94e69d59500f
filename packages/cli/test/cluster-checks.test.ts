/**
 * `opnp cluster slurm` checks before it submits (a stand-in sbatch records every call): the commands' own up-front
 * checks and their inputs, relative to --chdir; a missing --chdir refused and a missing --log-dir warned about or
 * created; the merge job cancelled by Slurm when a task fails (--kill-on-invalid-dep=yes); an earlier run's final
 * outputs moved aside by a new submission (by --submit and by the --merge script, run here with bash).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

/** A working folder holding the (empty) files the commands name, and a stand-in sbatch recording its calls. */
function workspace(files: readonly string[] = ['m.onnx', 'train-images', 'val']): { dir: string; sbatch: string; calls: () => string[] } {
  const dir = tempDir();
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), '');
  }
  const bin = tempDir();
  const sbatch = join(bin, 'sbatch');
  writeFileSync(sbatch, `#!/bin/sh\nn=$(ls ${bin}/call-*.args 2>/dev/null | wc -l)\necho "$@" > ${bin}/call-$n.args\ncat > ${bin}/call-$n.sh\necho "$((41 + n));cluster"\n`);
  chmodSync(sbatch, 0o755);
  return { dir, sbatch, calls: () => readdirSync(bin).filter((f) => f.endsWith('.sh')).sort().map((f) => readFileSync(join(bin, f), 'utf8')) };
}

/**
 * A stand-in sbatch that accepts its first `accepted` calls (job ids 41, 42, ...) and then fails as when the
 * controller is down, after reading the script; its folder goes first on the PATH of the generated script.
 */
function failingSbatch(accepted: number): string {
  const bin = tempDir();
  const sbatch = join(bin, 'sbatch');
  writeFileSync(sbatch, `#!/bin/sh\ncat > /dev/null\nn=$(ls ${bin}/call-* 2>/dev/null | wc -l)\ntouch ${bin}/call-$n\nif [ "$n" -ge ${accepted} ]; then echo "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)" >&2; exit 1; fi\necho "$((41 + n));cluster"\n`);
  chmodSync(sbatch, 0o755);
  return sbatch;
}

const EXTRACT = ['extract', '--model', 'm.onnx', '--data', 'idx:./val'];
const SENSITIVITY = ['sensitivity', '--model', 'm.onnx', '--train', 'idx:./train-images', '--state-out', 'sens/state.npy'];
const EVAL = ['eval', '--model', 'm.onnx', '--train', 'features:feats/train.npy', '--test', 'features:feats/val.npy', '--ood', 'inat=features:feats/inat.npy', '--sensitivity-state', 'sens/state.npy', '--methods', 'energy,opnp'];
const EVAL_FILES = ['m.onnx', 'feats/train.npy', 'feats/val.npy', 'feats/inat.npy', 'sens/state.npy'];

describe('opnp cluster slurm --submit checks every path first, relative to --chdir', () => {
  it('refuses the docs\' recipe without the output folder (extract --out feats/..., sensitivity --state-out sens/...)', async () => {
    const w = workspace();
    const extract = await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'feats/train.npy', '--shards', '4', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(extract.code).toBe(1);
    expect(extract.stderr).toMatch(/^opnp: cannot write the features \(--out\) to feats\/train\.shard-001-of-004\.npy: folder .*\/feats does not exist/);
    const sensitivity = await cli(['cluster', 'slurm', ...SENSITIVITY, '--shards', '4', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(sensitivity.code).toBe(1);
    expect(sensitivity.stderr).toMatch(/folder .*\/sens does not exist/);
    expect(w.calls()).toEqual([]);
    expect(existsSync(join(w.dir, 'opnp-extract-%A_%a.log'))).toBe(false);
  });

  it('refuses a mistyped model, naming the flag and the path', async () => {
    const w = workspace();
    const run = await cli(['cluster', 'slurm', ...EXTRACT.map((a) => (a === 'm.onnx' ? 'data/mnist-cnn.onx' : a)), '--out', 'f.npy', '--shards', '2', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^opnp: the model \(--model\) not found: data\/mnist-cnn\.onx/);
    expect(w.calls()).toEqual([]);
  });

  it('names every missing input in one message', async () => {
    const w = workspace();
    const run = await cli(['cluster', 'slurm', 'extract', '--model', 'missing.onnx', '--data', 'idx:nothere.gz', '--out', 'f.npy', '--shards', '2', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^opnp: 2 inputs cannot be read: the model \(--model\) not found: missing\.onnx; the dataset \(--data\) not found: nothere\.gz\. Fix the paths/);
    const printed = await cli(['cluster', 'slurm', 'extract', '--model', 'missing.onnx', '--data', 'idx:nothere.gz', '--out', 'f.npy', '--shards', '2', '--chdir', w.dir]);
    expect(printed.stderr).toMatch(/warning: the jobs would fail: 2 inputs cannot be read: .*missing\.onnx.*nothere\.gz/);
    expect(w.calls()).toEqual([]);
  });

  it('refuses an eval whose --json folder is missing before the array runs (the merge\'s own checks)', async () => {
    const w = workspace(EVAL_FILES);
    const run = await cli(['cluster', 'slurm', ...EVAL, '--scores-out', 'scores.npy', '--json', 'nodir/results.json', '--shards', '3', '--merge', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the JSON report \(--json\) to nodir\/results\.json: folder .*\/nodir does not exist/);
    expect(w.calls()).toEqual([]);
  });

  it('submits when the paths hold relative to --chdir (not to the current folder); absent cached features count when their shards lie there', async () => {
    const w = workspace(EVAL_FILES.filter((f) => f !== 'feats/train.npy').concat('feats/train.shard-001-of-002.npy', 'feats/train.shard-002-of-002.npy'));
    expect(existsSync('feats')).toBe(false); // the test's own folder has none of them
    const run = await cli(['cluster', 'slurm', ...EVAL, '--json', 'results.json', '--shards', '3', '--merge', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('array 41\nmerge 42\n');
    const gone = await cli(['cluster', 'slurm', ...EVAL.map((a) => a.replace('feats/val.npy', 'feats/vall.npy')), '--json', 'results.json', '--shards', '3', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^opnp: the features of --test not found: feats\/vall\.npy/);
  });

  it('refuses a missing --chdir and does not create it (nor its log folder)', async () => {
    const w = workspace();
    const missing = join(w.dir, 'no-such-folder');
    for (const mode of [['--submit', '--sbatch', w.sbatch], []]) {
      const run = await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'f.npy', '--shards', '2', '--chdir', missing, '--log-dir', 'logs', ...mode]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^opnp: --chdir .*no-such-folder: no such folder/);
      expect(run.stdout).toBe('');
    }
    expect(existsSync(missing)).toBe(false);
    expect(w.calls()).toEqual([]);
  });

  it('a missing --log-dir: the printed array script comes with a warning; --submit creates it', async () => {
    const w = workspace();
    const printed = await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'f.npy', '--shards', '2', '--chdir', w.dir, '--log-dir', 'logs']);
    expect(printed.code).toBe(0);
    expect(printed.stderr).toMatch(/opnp: warning: the log folder logs does not exist in .*: Slurm starts no task without it/);
    const submitted = await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'f.npy', '--shards', '2', '--chdir', w.dir, '--log-dir', 'logs', '--submit', '--sbatch', w.sbatch]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(existsSync(join(w.dir, 'logs'))).toBe(true);
  });

  it('a printed script whose tasks would fail comes with the reason as a warning', async () => {
    const w = workspace();
    const run = await cli(['cluster', 'slurm', ...SENSITIVITY, '--shards', '2', '--chdir', w.dir]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/opnp: warning: the jobs would fail: cannot write the state \(--state-out\) to sens\/state\.shard-001-of-002\.npy: folder .*\/sens does not exist/);
    expect(run.stdout).toMatch(/^#!\/bin\/bash\n/);
  });
});

describe('the merge job of opnp cluster slurm', () => {
  it('is cancelled by Slurm when a task fails (--kill-on-invalid-dep=yes), in the printed script and when submitted', async () => {
    const w = workspace();
    mkdirSync(join(w.dir, 'feats'));
    const printed = await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'feats/f.npy', '--shards', '2', '--chdir', w.dir, '--merge']);
    const merge = printed.stdout.slice(printed.stdout.indexOf("<<'OPNP_MERGE_JOB'"));
    expect(merge).toContain('\n#SBATCH --kill-on-invalid-dep=yes\n');
    expect(printed.stdout.slice(0, printed.stdout.indexOf("<<'OPNP_MERGE_JOB'"))).not.toContain('kill-on-invalid-dep');
    await cli(['cluster', 'slurm', ...EXTRACT, '--out', 'feats/f.npy', '--shards', '2', '--chdir', w.dir, '--merge', '--submit', '--sbatch', w.sbatch]);
    const [array, mergeJob] = w.calls();
    expect(array).not.toContain('kill-on-invalid-dep');
    expect(mergeJob).toContain('\n#SBATCH --kill-on-invalid-dep=yes\n');
  });
});

describe('an earlier run\'s final outputs', () => {
  const stale = (dir: string) => {
    writeFileSync(join(dir, 'results.json'), '{"old": true}');
    mkdirSync(join(dir, 'results'));
    writeFileSync(join(dir, 'results', 'report.json'), '{}');
    writeFileSync(join(dir, 'results', 'manifest.json'), JSON.stringify({ format: 'opnp-results', files: { report: 'report.json' } }));
  };
  const aside = (dir: string) => readdirSync(dir).filter((f) => /\.previous-\d{8}T\d{6}Z$/.test(f)).sort();

  it('--submit moves them aside (and says so) once the jobs are submitted; the new run writes the old names', async () => {
    const w = workspace(EVAL_FILES);
    stale(w.dir);
    const run = await cli(['cluster', 'slurm', ...EVAL, '--json', 'results.json', '--save', 'results', '--shards', '2', '--merge', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^opnp: note: moved the earlier run's results\.json aside to results\.json\.previous-\d{8}T\d{6}Z \(the new run writes results\.json\)\nopnp: note: moved the earlier run's results aside/);
    expect(existsSync(join(w.dir, 'results.json'))).toBe(false);
    expect(existsSync(join(w.dir, 'results'))).toBe(false);
    const moved = aside(w.dir);
    expect(moved.map((f) => f.replace(/-\d{8}T\d{6}Z$/, ''))).toEqual(['results.json.previous', 'results.previous']);
    expect(readFileSync(join(w.dir, moved[0]!), 'utf8')).toBe('{"old": true}');
  });

  const runScript = (script: string, sbatch: string) =>
    spawnSync('bash', [script], { cwd: tempDir(), env: { ...process.env, PATH: `${join(sbatch, '..')}:${process.env.PATH}` }, encoding: 'utf8' });

  it('a failed --submit leaves them in place and says so: sbatch failing on the array job, or on the merge job', async () => {
    const w = workspace(EVAL_FILES);
    stale(w.dir);
    const before = readdirSync(w.dir).sort();
    const command = ['cluster', 'slurm', ...EVAL, '--json', 'results.json', '--save', 'results', '--shards', '2', '--merge', '--chdir', w.dir, '--submit', '--sbatch'];
    const down = await cli([...command, failingSbatch(0)]);
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(/^opnp: .*sbatch failed \(exit 1\): sbatch: error: Batch job submission failed: Unable to contact slurm controller \(connect failure\); nothing was submitted; the earlier run's results\.json, results were not moved aside\n$/);
    expect(readdirSync(w.dir).sort()).toEqual(before);
    const mergeRefused = await cli([...command, failingSbatch(1)]);
    expect(mergeRefused.code).toBe(1);
    expect(mergeRefused.stderr).toMatch(/; only the array job 41 was submitted \(cancel it with scancel 41, or submit the merge job yourself\); the earlier run's results\.json, results were not moved aside\n$/);
    expect(readdirSync(w.dir).sort()).toEqual(before);
    expect(readFileSync(join(w.dir, 'results.json'), 'utf8')).toBe('{"old": true}');
  });

  it('the printed --merge script leaves them in place when sbatch fails, and says so', async () => {
    const w = workspace(EVAL_FILES);
    stale(w.dir);
    const before = readdirSync(w.dir).sort();
    const printed = await cli(['cluster', 'slurm', ...EVAL, '--json', 'results.json', '--save', 'results', '--shards', '2', '--merge', '--chdir', w.dir]);
    const script = join(tempDir(), 'submit.sh');
    writeFileSync(script, printed.stdout);
    const down = runScript(script, failingSbatch(0));
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('opnp: sbatch failed: nothing was submitted and no earlier output was moved aside\n');
    expect(readdirSync(w.dir).sort()).toEqual(before);
    const mergeRefused = runScript(script, failingSbatch(1));
    expect(mergeRefused.status).toBe(1);
    expect(mergeRefused.stderr).toContain('opnp: sbatch failed: only the array job 41 was submitted (cancel it with scancel 41, or submit the merge job yourself); no earlier output was moved aside\n');
    expect(readdirSync(w.dir).sort()).toEqual(before);
  });

  it('a --save folder holding files opnp did not write: the note says the script moves it aside whole, as it does', async () => {
    const w = workspace(EVAL_FILES);
    stale(w.dir);
    writeFileSync(join(w.dir, 'results', 'notes.txt'), 'mine');
    const printed = await cli(['cluster', 'slurm', ...EVAL, '--save', 'results', '--shards', '2', '--merge', '--chdir', w.dir]);
    expect(printed.code).toBe(0);
    expect(printed.stderr).not.toMatch(/would delete|would fail/);
    expect(printed.stderr).toBe("opnp: note: the results folder (--save): the earlier results folder results also holds files opnp did not write there (notes.txt); the script moves results aside to results.previous-<UTC time> once the jobs are submitted, with everything in it, and the merge writes a new results\n");
    const script = join(tempDir(), 'submit.sh');
    writeFileSync(script, printed.stdout);
    expect(runScript(script, w.sbatch).status).toBe(0);
    const [moved] = aside(w.dir).filter((f) => f.startsWith('results.previous-'));
    expect(readFileSync(join(w.dir, moved!, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(w.dir, 'results'))).toBe(false);
    // --submit does the same, and says so (the folder moved above is removed: a move within the same second would meet it).
    rmSync(join(w.dir, moved!), { recursive: true });
    stale(w.dir);
    writeFileSync(join(w.dir, 'results', 'notes2.txt'), 'mine too');
    const submitted = await cli(['cluster', 'slurm', ...EVAL, '--save', 'results', '--shards', '2', '--merge', '--chdir', w.dir, '--submit', '--sbatch', w.sbatch]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stderr).toMatch(/^opnp: note: the results folder \(--save\): the earlier results folder results also holds files opnp did not write there \(notes2\.txt\); opnp cluster slurm --submit moves results aside to results\.previous-<UTC time> once the jobs are submitted, with everything in it, and the merge writes a new results\nopnp: note: moved the earlier run's results aside to results\.previous-\d{8}T\d{6}Z/);
    expect(aside(w.dir).filter((f) => f.startsWith('results.previous-')).some((f) => existsSync(join(w.dir, f, 'notes2.txt')))).toBe(true);
  });

  it('the printed --merge script moves them aside when run; the array script alone warns', async () => {
    const w = workspace(EVAL_FILES);
    stale(w.dir);
    const printed = await cli(['cluster', 'slurm', ...EVAL, '--json', 'results.json', '--save', 'results', '--shards', '2', '--merge', '--chdir', w.dir]);
    expect(printed.code).toBe(0);
    expect(printed.stderr).toBe(''); // the script itself moves them
    const script = join(tempDir(), 'submit.sh');
    writeFileSync(script, printed.stdout);
    const out = execFileSync('bash', [script], { cwd: tempDir(), env: { ...process.env, PATH: `${join(w.sbatch, '..')}:${process.env.PATH}` }, encoding: 'utf8' });
    expect(out).toBe('array 41\nmerge 42\n');
    expect(aside(w.dir).map((f) => f.replace(/-\d{8}T\d{6}Z$/, ''))).toEqual(['results.json.previous', 'results.previous']);
    stale(w.dir);
    const alone = await cli(['cluster', 'slurm', ...EVAL, '--json', 'results.json', '--shards', '2', '--chdir', w.dir]);
    expect(alone.stderr).toMatch(/opnp: warning: an earlier run's results\.json is still there and would be taken for this run's: move it aside before submitting/);
  });
});
