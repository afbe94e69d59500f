/**
 * Trust in cached features and resumable extractions, through the CLI: eval refuses logits overwritten by another
 * extraction and features of another model; a failure on a corrupt input says honestly how to go on; a second
 * Ctrl-C can say what the partial outputs keep.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CheckpointBoard } from '../src/checkpoint-board.js';
import { runCli } from '../src/main.js';
import { cli, FASHION_VAL, MODEL, NORMALISE, tempDir, TEST } from './helpers.js';

const extract = (args: string[]) => cli(['extract', '--model', MODEL, ...NORMALISE, '--batch-size', '100', '-q', ...args]);

/** `opnp eval` with the given test set, everything else run through the model (after the cached sets are opened). */
const evalWithTest = (test: string, model = MODEL) => cli(['eval', '--model', model, '--train', TEST, '--train-fraction', '0.05', '--test', test, '--ood', `f=${FASHION_VAL}`, ...NORMALISE, '--methods', 'msp', '-q']);

describe('opnp eval and cached features', () => {
  it('refuses features whose logits file was overwritten by another extraction (A3)', async () => {
    const dir = tempDir();
    const [f1, f2, l] = [join(dir, 'f1.npy'), join(dir, 'f2.npy'), join(dir, 'l.npy')];
    expect((await extract(['--data', FASHION_VAL, '--out', f1, '--logits-out', l])).code).toBe(0);
    const refused = await extract(['--data', 'noise:500', '--out', f2, '--logits-out', l]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the logits output ${l} already exists, but the features ${f2} do not`);
    expect((await extract(['--data', 'noise:500', '--out', f2, '--logits-out', l, '--restart'])).code).toBe(0);
    const run = await evalWithTest(`features:${f1}#logits=${l}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the cached logits ${l} are not the logits extracted with the features ${f1}`);
    expect(run.stderr).toContain(`--out ${f1} --logits-out <logits.npy> --restart`);
  });

  it('refuses features extracted with another model (A4)', async () => {
    const dir = tempDir();
    const other = join(dir, 'other.onnx');
    // the same network with one unknown protobuf field more: another file to the sidecar's model hash
    writeFileSync(other, Buffer.concat([readFileSync(MODEL), Buffer.from([0xa0, 0x06, 0x01])]));
    const f = join(dir, 'f.npy');
    expect((await extract(['--data', FASHION_VAL, '--out', f])).code).toBe(0);
    const run = await evalWithTest(`features:${f}`, other);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the cached features ${f} were extracted with another model: ${f}.json records ${MODEL} (sha256 `);
    expect(run.stderr).toContain(`this run's model is ${other} (sha256 `);
  });
});

/** A folder of `count` 28 x 28 grey PNGs with a truncated JPEG at sorted position `bad`. */
async function folderWithTruncatedImage(dir: string, count: number, bad: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const name = join(dir, `img_${String(i).padStart(2, '0')}`);
    const image = sharp(Buffer.from(Array.from({ length: 28 * 28 }, (_, k) => (k * (i + 3)) % 256)), { raw: { width: 28, height: 28, channels: 1 } });
    if (i === bad) writeFileSync(`${name}.jpg`, (await image.jpeg().toBuffer()).subarray(0, 40));
    else await image.png().toFile(`${name}.png`);
  }
  return dir;
}

describe('opnp extract after a failure on a corrupt input (B3)', () => {
  it('says to --restart after fixing the file, and that is what works', async () => {
    const dir = tempDir();
    const images = await folderWithTruncatedImage(join(dir, 'images'), 40, 30);
    const args = ['extract', '--model', MODEL, ...NORMALISE, '--data', `folder:${images}#strict`, '--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy'), '--batch-size', '10', '--image-workers', '0'];
    const failed = await cli(args);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`partial output kept in ${join(dir, 'f.npy')}.partial and ${join(dir, 'l.npy')}.partial (30 rows each): the error is in ${join(images, 'img_30.jpg')}; fixing it changes the run's inputs, so after fixing it rerun with --restart`);
    const fixed = sharp(Buffer.alloc(28 * 28, 7), { raw: { width: 28, height: 28, channels: 1 } });
    writeFileSync(join(images, 'img_30.jpg'), await fixed.jpeg().toBuffer());
    const resumed = await cli(args);
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/partial output belongs to another run: data\.files differs/);
    const restarted = await cli([...args, '--restart', '-q']);
    expect(restarted.code, restarted.stderr).toBe(0);
  });
});

/** Runs `opnp <args>` in-process with a checkpoint board, with Ctrl-C once stderr shows `marker`. */
async function interruptedWithBoard(args: string[], marker: string) {
  const checkpoints = new CheckpointBoard();
  const controller = new AbortController();
  let stderr = '';
  const io = {
    stdout: { write: () => undefined },
    stderr: { isTTY: true, write: (s: string) => ((stderr += s), s.includes(marker) && controller.abort()) },
    env: {},
    signal: controller.signal,
    checkpoints,
  };
  const code = await runCli(['node', 'opnp', ...args], io);
  return { code, stderr, checkpoints };
}

describe('a second Ctrl-C (B5)', () => {
  it('can say how many rows the extraction\'s partial outputs keep', async () => {
    const dir = tempDir();
    const { code, stderr, checkpoints } = await interruptedWithBoard(['extract', '--model', MODEL, '--data', TEST, ...NORMALISE, '--out', join(dir, 'f.npy'), '--logits-out', join(dir, 'l.npy'), '--batch-size', '50'], '/2500');
    expect(code).toBe(130);
    const partial = JSON.parse(readFileSync(join(dir, 'f.npy.partial.json'), 'utf8')) as { rows: number };
    expect(checkpoints.describe()).toBe(`${join(dir, 'f.npy')}.partial and ${join(dir, 'l.npy')}.partial hold ${partial.rows} rows each`);
    expect(stderr).toContain(`partial output kept in ${join(dir, 'f.npy')}.partial and ${join(dir, 'l.npy')}.partial (${partial.rows} rows each`);
  });

  it('can say how many training samples a sensitivity checkpoint covers', async () => {
    const dir = tempDir();
    const checkpoint = join(dir, 'ckpt.npy');
    const args = ['sensitivity', '--model', MODEL, '--train', TEST, '--train-fraction', '0.2', ...NORMALISE, '--checkpoint', checkpoint, '--out', join(dir, 's.npy'), '--batch-size', '20'];
    const { code, checkpoints } = await interruptedWithBoard(args, '/500');
    expect(code).toBe(130);
    const meta = JSON.parse(readFileSync(`${checkpoint}.json`, 'utf8')) as { visited: number; planned: number };
    expect(meta.visited).toBeLessThan(500);
    expect(checkpoints.describe()).toBe(`${checkpoint} covers ${meta.visited} of 500 training samples`);
  });
});
