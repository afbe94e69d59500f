/**
 * No silent wrong results: each ordinary mistake ends in a clear error, a clear warning or a correct
 * result, never in exit 0 with wrong numbers (one test per case of the issue, through the CLI on the
 * demo's MNIST and Fashion-MNIST).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { describe, expect, it, vi } from 'vitest';
import { encodeNpy, loadIdx, loadNpy } from '@opnp/datasets/node';
import { demoAssetPath } from '../src/commands/demo.js';
import type { EvalReport } from '@opnp/pipeline';
import { cli, FASHION, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST, TRAIN } from './helpers.js';

const SMALL_TRAIN = ['--train', TRAIN, '--train-fraction', '0.05'];
const POINT = ['--opnp', 'p_min=10,p_max=1,n_min=10,n_max=1'];

/** Runs `args` with Ctrl-C as soon as the progress of `stage` shows (stderr as a terminal). */
async function interrupted(args: string[], marker: string) {
  const controller = new AbortController();
  return cli(args, { signal: controller.signal, stderrTTY: true, onStderr: (t) => t.includes(marker) && controller.abort() });
}

describe('1. extract resumes only its own run', () => {
  it('refuses partial or finished output of another dataset, model input or preprocessing; --restart starts over', async () => {
    const dir = tempDir();
    const out = join(dir, 'f.npy');
    const base = ['extract', '--model', MODEL, '--out', out, '--batch-size', '50'];
    const first = await interrupted([...base, '--data', TEST, ...NORMALISE], '/2500');
    expect(first.code).toBe(130);
    expect(existsSync(`${out}.partial`)).toBe(true);
    // Another dataset, and the same dataset without --mean/--std: refused, the partial output untouched.
    const before = readFileSync(`${out}.partial`);
    const other = await cli([...base, '--data', FASHION_VAL, ...NORMALISE]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/partial output belongs to another run: data\.count, data\.files differ/);
    expect(other.stderr).toContain('--restart');
    const unnormalised = await cli([...base, '--data', TEST]);
    expect(unnormalised.code).toBe(1);
    expect(unnormalised.stderr).toMatch(/belongs to another run: data\.preprocess differs/);
    expect(readFileSync(`${out}.partial`)).toEqual(before);
    // The same run resumes and completes; a finished output is not overwritten by another run either.
    expect((await cli([...base, '--data', TEST, ...NORMALISE])).code).toBe(0);
    const done = await cli([...base, '--data', FASHION_VAL, ...NORMALISE]);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/existing output belongs to another run/);
    expect((await loadNpy(out)).shape).toEqual([2500, 128]);
    const again = await cli([...base, '--data', TEST, ...NORMALISE]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already complete for this run/);
    const restarted = await cli([...base, '--data', FASHION_VAL, ...NORMALISE, '--restart', '-q']);
    expect(restarted.code).toBe(0);
    expect((await loadNpy(out)).shape).toEqual([500, 128]);
  });
});

describe('1b. a finished extract serves a rerun asking for part of its outputs, or for labels besides', () => {
  it('accepts --logits-out dropped, writes --labels-out added from the dataset, and refuses other logits in flag terms', async () => {
    const dir = tempDir();
    const [out, logits, labels] = [join(dir, 'f.npy'), join(dir, 'l.npy'), join(dir, 'y.npy')];
    const base = ['extract', '--model', MODEL, '--data', FASHION_VAL, ...NORMALISE, '--out', out];
    expect((await cli([...base, '--logits-out', logits, '-q'])).code).toBe(0);
    const finished = readFileSync(out);
    const dropped = await cli(base);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stderr).toBe(`opnp: ${out} is already complete for this run (500 rows; it also holds the logits in ${logits}, which this run does not ask for and which are kept); nothing to do (pass --restart to extract again)\n`);
    const added = await cli([...base, '--logits-out', logits, '--labels-out', labels]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toBe(`opnp: ${out} is already complete for this run (500 rows): wrote the labels to ${labels} from the dataset, without running the model again\n`);
    const truth = await loadIdx(demoAssetPath('fashion-val-labels-idx1-ubyte.gz'));
    expect(Array.from((await loadNpy(labels)).data)).toEqual(Array.from(truth.data, Number));
    expect(readFileSync(out)).toEqual(finished);
    const other = await cli([...base, '--logits-out', join(dir, 'l2.npy')]);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(`opnp: ${out} was extracted with its logits in ${logits}, not in ${join(dir, 'l2.npy')} (--logits-out). Pass --logits-out ${logits} to use them, or --restart to extract the features and the logits again\n`);
    for (const run of [dropped, added, other]) expect(run.stderr).not.toMatch(/outputs\.|was (true|false)/);
  });
});

describe('2. sensitivity checkpoints prove their run', () => {
  it('a checkpoint written with --mean/--std is not resumed without them; a complete one is reused and said so', async () => {
    const dir = tempDir();
    const checkpoint = join(dir, 'ckpt.npy');
    const base = ['sensitivity', '--model', MODEL, ...SMALL_TRAIN, '--checkpoint', checkpoint, '--out', join(dir, 's.npy'), '--batch-size', '20'];
    const first = await interrupted([...base, ...NORMALISE], '/300');
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/checkpoint written to/);
    const other = await cli(base);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/checkpoint belongs to another run: train\.preprocess differs/);
    const otherFraction = await cli([...base.map((a) => (a === '0.05' ? '0.06' : a)), ...NORMALISE]);
    expect(otherFraction.stderr).toMatch(/checkpoint belongs to another run: subset\.count was 300, now 360; subset\.fraction was 0\.05, now 0\.06; subset\.indices was /);
    expect((await cli([...base, ...NORMALISE])).code).toBe(0);
    const reused = await cli([...base, ...NORMALISE]);
    expect(reused.code).toBe(0);
    expect(reused.stderr).toMatch(/checkpoint .* is complete: reusing its 300 samples/);
    expect((await cli([...base, ...NORMALISE, '--restart', '-q'])).code).toBe(0);
  });

  it('eval --sensitivity-state refuses a state of another run', async () => {
    const dir = tempDir();
    const state = join(dir, 'state.npy');
    expect((await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--state-out', state, '-q'])).code).toBe(0);
    const run = await cli(['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--methods', 'opnp', '--sensitivity-state', state, '-q']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/sensitivity state belongs to another run: subset\.count was 300, now 600; subset\.fraction was 0\.05, now 0\.1; subset\.indices was /);
  });

  it('eval --sensitivity-state refuses an interrupted checkpoint and one shard, in the flags\' names, even with --json -', async () => {
    const dir = tempDir();
    const checkpoint = join(dir, 'ck.npy');
    const first = await interrupted(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--checkpoint', checkpoint, '--checkpoint-every', '0', '--state-out', join(dir, 'state.npy'), '--batch-size', '20'], '/300');
    expect(first.code).toBe(130);
    const evalArgs = ['eval', '--model', MODEL, ...SMALL_TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--methods', 'energy,opnp', '--json', '-'];
    const unfinished = await cli([...evalArgs, '--sensitivity-state', checkpoint]);
    expect(unfinished.code).toBe(1);
    expect(unfinished.stdout).toBe('');
    expect(unfinished.stderr).toMatch(/^opnp: the sensitivity state .*ck\.npy is unfinished: it covers \d+ of the 300 training samples \(an interrupted run's checkpoint\)\. Finish the run: rerun the same opnp sensitivity \(or opnp eval\) command with --checkpoint .*ck\.npy \(it resumes from this checkpoint\), then pass it as --sensitivity-state/);
    const shard = join(dir, 'sens.shard-001-of-002.npy');
    expect((await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--shard', '1/2', '--state-out', shard, '-q'])).code).toBe(0);
    const one = await cli([...evalArgs, '--sensitivity-state', shard]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/covers only shard 1 of 2 of its run \(150 training samples\)\. Use the whole run: pass .*sens\.npy as --sensitivity-state .* or merge every shard's state with opnp sensitivity merge/);
  });
});

/** A folder of 28 x 28 grey PNGs with one corrupt JPEG at sorted position `bad`. */
async function folderWithCorruptImage(dir: string, count: number, bad: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const name = `img_${String(i).padStart(2, '0')}`;
    if (i === bad) writeFileSync(join(dir, `${name}.jpg`), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    else await sharp(Buffer.from(Array.from({ length: 28 * 28 }, (_, k) => (k * (i + 3)) % 256)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, `${name}.png`));
  }
  return dir;
}

describe('3. unreadable images', () => {
  it('are named on stderr and left out of every output alike, with their indices', async () => {
    const dir = tempDir();
    const images = await folderWithCorruptImage(join(dir, 'images'), 6, 2);
    const out = (name: string) => join(dir, name);
    const run = await cli(['extract', '--model', MODEL, '--data', `folder:${images}`, ...NORMALISE, '--out', out('f.npy'), '--logits-out', out('l.npy'), '--labels-out', out('y.npy'), '--indices-out', out('i.npy')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/skipped unreadable sample #2 .*img_02\.jpg/);
    expect(run.stderr).toMatch(/1 of 6 samples were unreadable/);
    expect((await loadNpy(out('f.npy'))).shape).toEqual([5, 128]);
    expect((await loadNpy(out('l.npy'))).shape).toEqual([5, 10]);
    expect((await loadNpy(out('y.npy'))).shape).toEqual([5]);
    expect(Array.from((await loadNpy(out('i.npy'))).data)).toEqual([0, 1, 3, 4, 5]);
    const meta = JSON.parse(readFileSync(`${out('f.npy')}.json`, 'utf8')) as { skipped: { index: number; file: string }[] };
    expect(meta.skipped).toHaveLength(1);
    expect(meta.skipped[0]!.index).toBe(2);
    // The rows are those of the readable images: extracting the clean folder gives the same rows.
    rmSync(join(images, 'img_02.jpg'));
    expect((await cli(['extract', '--model', MODEL, '--data', `folder:${images}`, ...NORMALISE, '--out', out('clean.npy'), '-q'])).code).toBe(0);
    expect(Array.from((await loadNpy(out('clean.npy'))).data)).toEqual(Array.from((await loadNpy(out('f.npy'))).data));
  });

  it('give the same rows and the same messages with any number of image workers (the built workers)', async () => {
    const dir = tempDir();
    const images = await folderWithCorruptImage(join(dir, 'images'), 11, 6);
    const extract = async (workers: string, data = `folder:${images}`) => {
      const out = join(dir, `workers-${workers}`);
      mkdirSync(out, { recursive: true });
      const run = await cli(['extract', '--model', MODEL, '--data', data, ...NORMALISE, '--out', join(out, 'f.npy'), '--logits-out', join(out, 'l.npy'), '--batch-size', '4', '--image-workers', workers, '--restart']);
      // libvips words a decoding error from its process-wide error buffer, which concurrent decodes add to
      const stderr = run.stderr.replaceAll(out, '<out>').replace(/([Cc])annot decode image \([^)]*\)/g, '$1annot decode image (<libvips>)');
      return { ...run, stderr, out };
    };
    const main = await extract('0');
    expect(main.code).toBe(0);
    expect(main.stderr).toMatch(/skipped unreadable sample #6 .*img_06\.jpg/);
    for (const workers of ['1', '3']) {
      const run = await extract(workers);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe(main.stderr);
      for (const file of ['f.npy', 'l.npy']) expect(readFileSync(join(run.out, file)).equals(readFileSync(join(main.out, file))), file).toBe(true);
      const sidecar = (out: string) => readFileSync(join(out, 'f.npy.json'), 'utf8').replaceAll(out, '<out>').replace(/([Cc])annot decode image \([^)]*\)/g, '$1annot decode image (<libvips>)');
      expect(sidecar(run.out)).toBe(sidecar(main.out));
    }
    const strictMain = await extract('0', `folder:${images}#strict`);
    const strictWorkers = await extract('2', `folder:${images}#strict`);
    expect(strictMain.code).toBe(1);
    expect(strictMain.stderr).toContain('img_06.jpg');
    expect(strictWorkers.code).toBe(1);
    expect(strictWorkers.stderr).toBe(strictMain.stderr);
  });

  it('are counted per set in the eval report, and strict fails on the first one', async () => {
    const dir = tempDir();
    const images = await folderWithCorruptImage(join(dir, 'ood'), 5, 1);
    const args = ['eval', '--model', MODEL, ...SMALL_TRAIN, '--test', TEST, ...NORMALISE, ...POINT, '--methods', 'energy,opnp', '--json', '-'];
    const run = await cli([...args, '--ood', `folder=folder:${images}`]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/skipped unreadable sample #1 of ood:folder: .*img_01\.jpg/);
    const report = JSON.parse(run.stdout) as EvalReport;
    expect(report.counts.ood.folder).toBe(4);
    expect(report.counts.skipped).toEqual({ 'ood:folder': 1 });
    const strict = await cli([...args, '--ood', `folder=folder:${images}#strict`]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('img_01.jpg');
  });
});

describe('4, 5, 11, 12: checks before the work', () => {
  const evalArgs = ['eval', '--model', MODEL, ...SMALL_TRAIN, '--test', TEST, ...NORMALISE, ...POINT];

  it('refuses duplicate --ood names', async () => {
    const run = await cli([...evalArgs, '--ood', `a=${FASHION}`, '--ood', `a=${FASHION_VAL}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/opnp: two --ood sets are named "a"/);
  });

  it.each([
    [['--json', '/nonexistent-folder/r.json'], /opnp: cannot write the JSON report \(--json\) to .*folder \/nonexistent-folder does not exist/],
    [['--save', '/nonexistent-folder/results'], /opnp: cannot write the results folder .*folder \/nonexistent-folder does not exist/],
    [['--checkpoint', '/nonexistent-folder/c.npy'], /opnp: cannot write the checkpoint \(--checkpoint\) .*does not exist/],
  ])('checks %j before any work', async (flags, message) => {
    const run = await cli([...evalArgs, '--ood', `f=${FASHION_VAL}`, ...flags]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/model:|grid search|train/);
  });

  it('checks extract and sensitivity outputs before any work (missing folder, a folder, two outputs on one file)', async () => {
    const dir = tempDir();
    const extract = ['extract', '--model', MODEL, '--data', FASHION_VAL, ...NORMALISE];
    const missing = await cli([...extract, '--out', '/nonexistent-folder/f.npy']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/opnp: cannot write the features \(--out\) to \/nonexistent-folder\/f\.npy: folder \/nonexistent-folder does not exist/);
    expect(missing.stderr).not.toMatch(/not found/);
    const folder = await cli([...extract, '--out', join(dir, 'f.npy'), '--logits-out', dir]);
    expect(folder.stderr).toMatch(/it is a folder/);
    const same = await cli([...extract, '--out', join(dir, 'f.npy'), '--labels-out', join(dir, 'f.npy')]);
    expect(same.stderr).toMatch(/are the same file/);
    const sensitivity = await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, '--out', join(dir, 's.npy'), '--neuron-out', '/nonexistent-folder/n.npy']);
    expect(sensitivity.code).toBe(1);
    expect(sensitivity.stderr).toMatch(/neuron sensitivity \(--neuron-out\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('caps --batch-size from the model input and the memory it needs', async () => {
    const run = await cli([...evalArgs, '--ood', `f=${FASHION_VAL}`, '--batch-size', '1000000000000']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/batch of 1000000000000 samples is too large for this model: it needs [\d.]+ GiB .*input \[N, 1, 28, 28\]/);
    expect(run.stderr).toMatch(/expected a batch size from 1 to \d+/);
    expect(run.stderr).toMatch(/Pass --batch-size 256 \(the most that fits in/);
  });

  it('says what is wrong: malformed noise, missing or mis-shaped features, NaN sensitivities', async () => {
    const dir = tempDir();
    const noise = await cli([...evalArgs, '--ood', 'n=noise:abc']);
    expect(noise.stderr).toMatch(/opnp: malformed noise spec "noise:abc"/);
    const missing = await cli([...evalArgs, '--ood', `f=features:${join(dir, 'none.npy')}`]);
    expect(missing.stderr).toMatch(/opnp: cached features file not found: .*none\.npy/);
    writeFileSync(join(dir, 'wide.npy'), encodeNpy({ dtype: 'float32', shape: [100, 300], data: new Float32Array(30000) }));
    const wide = await cli([...evalArgs, '--ood', `f=features:${join(dir, 'wide.npy')}`]);
    expect(wide.stderr).toMatch(/wide\.npy has 300 columns but the model's head takes 128 features \(--ood f=features:.*wide\.npy\): these features were not extracted with this model/);
    const sens = new Float64Array(1280);
    sens[7] = NaN;
    writeFileSync(join(dir, 'sens.npy'), encodeNpy({ dtype: 'float64', shape: [10, 128], data: sens }));
    const exported = await cli(['export', '--model', MODEL, '--sensitivity', join(dir, 'sens.npy'), ...POINT, '--out', join(dir, 'd.onnx')]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/offset 7\), got NaN/);
  });
});

describe('8. sensitivity merge', () => {
  it('refuses the same shard twice, missing shards (unless --allow-partial) and states of other runs', async () => {
    const dir = tempDir();
    const shard = async (i: number, extra: string[] = []) => {
      const path = join(dir, `s${i}${extra.length ? 'x' : ''}.npy`);
      const run = await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--shard', `${i}/3`, '--state-out', path, ...extra]);
      expect(run.stderr).toMatch(new RegExp(`covers only shard ${i}/3: \\d+ of 300 training samples`));
      return path;
    };
    const [a, b, c] = [await shard(1), await shard(2), await shard(3)];
    const merge = (...args: string[]) => cli(['sensitivity', 'merge', ...args, '--out', join(dir, 'm.npy')]);
    expect((await merge(a, a, b)).stderr).toMatch(/are the same shard 1\/3: merging both would count it twice/);
    const partial = await merge(a, b);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toMatch(/opnp: shard 3 of 3 is missing/);
    const allowed = await merge(a, b, '--allow-partial');
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toMatch(/covers only shards 1, 2 of 3/);
    const foreign = await shard(3, ['--seed', '5']);
    expect((await merge(a, b, foreign)).stderr).toMatch(/belongs to another run/);
    const full = await cli(['sensitivity', 'merge', c, a, b, '--out', join(dir, 'm.npy'), '--state-out', join(dir, 'all.npy')]);
    expect(full.code).toBe(0);
    // The merged state is this run's: eval takes it instead of its own training pass, with the same results.
    const evalArgs = ['eval', '--model', MODEL, ...SMALL_TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--methods', 'opnp', '--json', '-'];
    const withState = await cli([...evalArgs, '--sensitivity-state', join(dir, 'all.npy')]);
    expect(withState.code).toBe(0);
    const [x, y] = [JSON.parse(withState.stdout) as EvalReport, JSON.parse((await cli(evalArgs)).stdout) as EvalReport];
    expect(x.counts.train).toBe(300);
    expect(Math.abs(x.results[0]!.auroc - y.results[0]!.auroc)).toBeLessThan(1e-9);
    const whole = join(dir, 'whole.npy');
    expect((await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--out', whole, '-q'])).code).toBe(0);
    const [m, w] = [await loadNpy(join(dir, 'm.npy')), await loadNpy(whole)];
    for (let i = 0; i < w.data.length; i++) expect(Math.abs(m.data[i]! - w.data[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(w.data[i]!) + 1e-9);
  });

  it('--shard auto takes the shard from a Slurm array task, and the tasks merge to the whole', async () => {
    const dir = tempDir();
    const task = (id: number) => cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--shard', 'auto', '--state-out', join(dir, `t${id}.npy`)], { env: { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '1' } });
    const [t0, t1] = [await task(0), await task(1)];
    expect(t0.stderr).toMatch(/shard 1\/2 \(from the array job's environment\)/);
    expect(t1.stderr).toMatch(/covers only shard 2\/2: 150 of 300/);
    expect((await cli(['sensitivity', 'merge', join(dir, 't0.npy'), join(dir, 't1.npy'), '--out', join(dir, 'm.npy'), '-q'])).code).toBe(0);
    expect((await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--out', join(dir, 'whole.npy'), '-q'])).code).toBe(0);
    const [m, w] = [await loadNpy(join(dir, 'm.npy')), await loadNpy(join(dir, 'whole.npy'))];
    for (let i = 0; i < w.data.length; i++) expect(Math.abs(m.data[i]! - w.data[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(w.data[i]!) + 1e-9);
    const none = await cli(['sensitivity', '--model', MODEL, ...SMALL_TRAIN, '--shard', 'auto', '--state-out', join(dir, 'x.npy')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--shard auto found no array-job environment.*SLURM_ARRAY_TASK_ID/);
  });

  it("a finished shard removes its own checkpoint (its state is what it keeps); the other shards' checkpoints stay", async () => {
    const dir = tempDir();
    const task = (i: number) => ['sensitivity', '--model', MODEL, ...SMALL_TRAIN, ...NORMALISE, '--shard', `${i}/2`, '--state-out', join(dir, `state.shard-00${i}-of-002.npy`), '--checkpoint', join(dir, `state.checkpoint.shard-00${i}-of-002.npy`), '--checkpoint-every', '0', '--batch-size', '20'];
    expect((await interrupted(task(2), '/150')).code).toBe(130);
    expect((await cli([...task(1), '-q'])).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['state.checkpoint.shard-002-of-002.npy', 'state.checkpoint.shard-002-of-002.npy.json', 'state.shard-001-of-002.npy', 'state.shard-001-of-002.npy.json']);
    const resumed = await cli(task(2));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*state\.checkpoint\.shard-002-of-002\.npy/);
    expect(readdirSync(dir).sort()).toEqual(['state.shard-001-of-002.npy', 'state.shard-001-of-002.npy.json', 'state.shard-002-of-002.npy', 'state.shard-002-of-002.npy.json']);
  });

  it('a shard needs --state-out; an empty shard writes an empty state and refuses --out', async () => {
    const dir = tempDir();
    const base = ['sensitivity', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.0005', ...NORMALISE, '--shard', '1/5000'];
    const alone = await cli([...base, '--out', join(dir, 's.npy')]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--shard needs --state-out/);
    const empty = await cli([...base, '--state-out', join(dir, 'st.npy'), '-q']);
    expect(empty.code).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'st.npy.json'), 'utf8')) as { count: number }).count).toBe(0);
    const both = await cli([...base, '--state-out', join(dir, 'st2.npy'), '--out', join(dir, 's.npy')]);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/opnp: shard 1\/5000 holds no readable samples/);
  });
});

describe('9. NaN features', () => {
  it('fail at the batch they are in, naming the set and the sample', async () => {
    const dir = tempDir();
    const data = new Float32Array(20 * 128).fill(0.5);
    data[13 * 128 + 4] = NaN;
    writeFileSync(join(dir, 'nan.npy'), encodeNpy({ dtype: 'float32', shape: [20, 128], data }));
    const run = await cli(['eval', '--model', MODEL, ...SMALL_TRAIN, '--test', TEST, ...NORMALISE, ...POINT, '--methods', 'energy', '--ood', `bad=features:${join(dir, 'nan.npy')}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/features of sample #13 of features:.*nan\.npy are not finite \(column 4 is NaN\)/);
  });
});

describe('10. Ctrl-C without a checkpoint', () => {
  it('exits 130 and says that nothing was saved', async () => {
    const run = await interrupted(['eval', '--model', MODEL, '--train', TRAIN, '--test', TEST, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, ...POINT, '--batch-size', '50'], '/6000');
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/nothing was saved/);
    expect(run.stderr).not.toMatch(/writing checkpoint/);
  });
});

describe('15. cached features carry their preprocessing', () => {
  it('the noise validation set gets the recorded preprocessing; other flags or no record are refused', async () => {
    const dir = tempDir();
    const train = join(dir, 'train.npy');
    expect((await cli(['extract', '--model', MODEL, '--data', TRAIN, ...NORMALISE, '--out', train, '--labels-out', join(dir, 'y.npy'), '-q'])).code).toBe(0);
    const common = ['eval', '--model', MODEL, '--test', TEST, '--ood', `f=${FASHION_VAL}`, '--methods', 'energy,opnp', '--val-noise', '200', '--json', '-'];
    const fromImages = JSON.parse((await cli([...common, '--train', TRAIN, ...NORMALISE])).stdout) as EvalReport;
    const cached = await cli([...common, '--train', `features:${train}`]);
    expect(cached.code).toBe(0);
    const fromCache = JSON.parse(cached.stdout) as EvalReport;
    expect(fromCache.opnp).toEqual(fromImages.opnp);
    for (const [k, r] of fromImages.results.entries()) expect(Math.abs(fromCache.results[k]!.auroc - r.auroc)).toBeLessThan(1e-4);
    const other = await cli([...common, '--train', `features:${train}`, '--mean', '0.5', '--std', '0.5']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/preprocessing flags differ from the preprocessing the cached features .* were extracted with/);
    rmSync(`${train}.json`);
    const unknown = await cli([...common, '--train', `features:${train}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/the preprocessing of the cached features .* is unknown/);
  });
});

describe('6. a header claiming huge images', () => {
  it('is refused before any image is read, through a 28 x 28 model', async () => {
    const dir = tempDir();
    const { gzipSync } = await import('node:zlib');
    // IDX header: magic 0x00000803, 2 images of 20000 x 20000, then a few bytes of payload.
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20]);
    writeFileSync(join(dir, 'huge-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header, Buffer.alloc(64)])));
    const run = await cli(['extract', '--model', MODEL, '--data', `idx:${join(dir, 'huge-images-idx3-ubyte.gz')}`, '--out', join(dir, 'f.npy')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/20000/);
    expect(existsSync(join(dir, 'f.npy.partial'))).toBe(false);
  });

  it('images far larger than the model input need an explicit --resize', async () => {
    const dir = tempDir();
    const side = 300;
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, side >> 8, side & 255, 0, 0, side >> 8, side & 255]);
    writeFileSync(join(dir, 'big-images-idx3-ubyte'), Buffer.concat([header, Buffer.alloc(2 * side * side, 7)]));
    const base = ['extract', '--model', MODEL, '--data', `idx:${join(dir, 'big-images-idx3-ubyte')}`, '--out', join(dir, 'f.npy')];
    const refused = await cli(base);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/images of .* are 300 x 300 but the model takes 28 x 28/);
    const resized = await cli([...base, '--resize', '28', '-q']);
    expect(resized.code).toBe(0);
    expect((await loadNpy(join(dir, 'f.npy'))).shape).toEqual([2, 128]);
  });
});

describe('16. image lists', () => {
  it('refuse entries outside root= (naming the line) unless allow-outside-root', async () => {
    const dir = tempDir();
    const root = await folderWithCorruptImage(join(dir, 'root'), 2, -1);
    await folderWithCorruptImage(join(dir, 'outside'), 1, -1);
    writeFileSync(join(dir, 'list.txt'), `img_00.png 0\n../outside/img_00.png 1\n`);
    const base = ['extract', '--model', MODEL, ...NORMALISE, '--out', join(dir, 'f.npy')];
    const refused = await cli([...base, '--data', `imglist:${join(dir, 'list.txt')}#root=${root}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/outside/);
    expect(refused.stderr).toMatch(/list\.txt/);
    const allowed = await cli([...base, '--data', `imglist:${join(dir, 'list.txt')}#root=${root},allow-outside-root`, '-q']);
    expect(allowed.code).toBe(0);
    expect((await loadNpy(join(dir, 'f.npy'))).shape).toEqual([2, 128]);
  });
});

describe('--threads and --execution-provider', () => {
  it('pass through to the runtime, and a provider that is not installed fails at once', async () => {
    const dir = tempDir();
    const args = ['extract', '--model', MODEL, '--data', FASHION_VAL, ...NORMALISE, '--out', join(dir, 'f.npy')];
    const cpu = await cli([...args, '--threads', '1', '--execution-provider', 'cpu']);
    expect(cpu.code).toBe(0);
    expect(cpu.stderr).toContain('runtime: cpu, 1 thread');
    const create = vi.spyOn(ort.InferenceSession, 'create');
    const cuda = await cli([...args, '--execution-provider', 'cuda', '--restart']);
    expect(cuda.code).toBe(1);
    expect(cuda.stderr).toMatch(/could not start the execution provider\(s\) cuda/);
    // One attempt (onnxruntime logs each failed provider library on stderr), not a second after loading other backends.
    const cudaAttempts = create.mock.calls.filter(([, options]) => JSON.stringify(options ?? {}).includes('cuda'));
    create.mockRestore();
    expect(cudaAttempts).toHaveLength(1);
  });
});
