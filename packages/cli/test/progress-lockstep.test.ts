/**
 * The test-only progress handshake (src/progress-lockstep.ts) that the fault-injection tests drive: on only with
 * `OPNP_PROGRESS_LOCKSTEP=1` and stdin a pipe; one byte read after each plain progress line; end of input lets
 * the run go on. In-process with a fake byte source, then with real processes and real pipes: a child parked at
 * the line it was not acknowledged for (also on a non-blocking stdin), children that must never wait (no variable, stdin /dev/null or a file,
 * stdin closed), and the `opnp` executable not passing the variable on to the processes it starts.
 */
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StageProgress } from '@opnp/pipeline';
import { createProgressListener } from '../src/progress.js';
import { PROGRESS_LOCKSTEP_ENV, progressLockstep, type AckSource } from '../src/progress-lockstep.js';
import { OPNP_BIN } from './built-cli.js';
import { progressMark } from './fault-helpers.js';
import { cli, MODEL, NORMALISE, tempDir, TEST } from './helpers.js';

/** A byte source handing out `bytes` bytes, then end of input; counts the reads. */
function fakeSource(pipe: boolean, bytes: number) {
  const state = { reads: 0 };
  const source: AckSource = { isPipe: () => pipe, readByte: () => (state.reads++ < bytes ? 1 : 0) };
  return { source, state };
}

const event = (count: number, total: number, done = false): StageProgress => ({ stage: 'work', count, total, rate: 0, done });

describe('progressLockstep', () => {
  it('is off unless the variable is exactly 1 and stdin is a pipe', () => {
    const never: AckSource = { isPipe: () => true, readByte: () => expect.unreachable('read without the handshake') };
    for (const value of [undefined, '', '0', 'true', 'yes', ' 1', '1 ']) expect(progressLockstep({ [PROGRESS_LOCKSTEP_ENV]: value }, never), String(value)).toBeUndefined();
    expect(progressLockstep({ [PROGRESS_LOCKSTEP_ENV]: '1' }, { ...never, isPipe: () => false })).toBeUndefined();
    expect(progressLockstep({ [PROGRESS_LOCKSTEP_ENV]: '1' }, never)).toBeTypeOf('function');
  });

  it('reads one byte per call until the end of input, then never again', () => {
    const { source, state } = fakeSource(true, 3);
    const ack = progressLockstep({ [PROGRESS_LOCKSTEP_ENV]: '1' }, source)!;
    for (let i = 0; i < 3; i++) ack();
    expect(state.reads).toBe(3);
    ack(); // end of input
    ack();
    ack();
    expect(state.reads).toBe(4);
  });
});

describe('createProgressListener afterLine', () => {
  it('runs right after each plain line is written, the last one included, and never for silent events or bars', () => {
    const writes: string[] = [];
    const seen: string[] = [];
    let t = 0;
    const listen = createProgressListener({ isTTY: false, write: (s) => writes.push(s) }, true, { plainEveryMs: 1000, now: () => t, afterLine: () => seen.push(writes.at(-1)!) });
    listen(event(0, 30)); // the stage has not run one interval: silent
    for (let count = 10; count <= 30; count += 10) {
      t += 1000;
      listen(event(count, 30));
    }
    listen(event(30, 30, true));
    expect(seen).toEqual(writes);
    expect(seen).toHaveLength(4);
    const bars: string[] = [];
    const onTerminal = createProgressListener({ isTTY: true, write: (s) => bars.push(s) }, true, { now: () => t, afterLine: () => expect.unreachable('a bar is not a plain line') });
    onTerminal(event(5, 30));
    expect(bars).toHaveLength(1);
  });

  it('is what runCli calls as io.progressAck, once per progress line, with that line on stderr', async () => {
    let stderr = '';
    const acked: string[] = [];
    const run = await cli(['extract', '--model', MODEL, '--data', TEST, ...NORMALISE, '--batch-size', '500', '--out', join(tempDir(), 'f.npy')], {
      env: { OPNP_PROGRESS_EVERY: '0' },
      onStderr: (s) => (stderr += s),
      progressAck: () => acked.push(stderr.split('\n').at(-2)!),
    });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => progressMark(l) !== undefined);
    expect(acked).toEqual(lines);
    expect(lines.map((l) => progressMark(l)!.count)).toEqual([500, 1000, 1500, 2000, 2500, 2500]);
  }, 60_000);
});

// ---- Real processes: a child reporting progress as fast as it can, through the built modules. ----

const dist = (file: string) => JSON.stringify(new URL(`../dist/${file}`, import.meta.url).href);
/** Reports `argv[1]` progress events in a tight loop, then prints how it ran; `argv[2]` `touch-stdin` makes stdin non-blocking first. */
const REPORTER = `
import { createProgressListener } from ${dist('progress.js')};
import { progressLockstep } from ${dist('progress-lockstep.js')};
const total = Number(process.argv[1]);
if (process.argv[2] === 'touch-stdin') void process.stdin; // Node sets a piped stdin non-blocking
const ack = progressLockstep(process.env);
const listen = createProgressListener(process.stderr, true, { plainEveryMs: 0, ...(ack ? { afterLine: ack } : {}) });
for (let count = 1; count <= total; count++) listen({ stage: 'work', count, total, rate: 0, done: false });
listen({ stage: 'work', count: total, total, rate: 0, done: true });
process.stdout.write(ack ? 'lockstep' : 'free');
`;
/** Enough events that a child not waiting runs far past any line before its parent can react. */
const EVENTS = 200_000;

interface Driven {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The counts of the progress lines, in order. */
  readonly counts: number[];
}

/**
 * Runs `command` and answers its progress lines: `onLine(count, index)` returns `ack` (send a byte), `kill`
 * (SIGKILL, no byte) or `close` (end stdin), or nothing (stdin is not ours to write).
 */
function drive(command: readonly string[], stdin: 'pipe' | 'ignore' | number, env: NodeJS.ProcessEnv, onLine: (count: number, index: number) => 'ack' | 'kill' | 'close' | undefined): Promise<Driven> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, { env, stdio: [stdin, 'pipe', 'pipe'] });
    child.stdin?.on('error', () => undefined);
    let stdout = '';
    let pending = '';
    const counts: number[] = [];
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const mark = progressMark(line);
        if (mark === undefined) continue;
        counts.push(mark.count);
        const answer = onLine(mark.count, counts.length - 1);
        if (answer === 'ack') child.stdin!.write('+');
        else if (answer === 'kill') child.kill('SIGKILL');
        else if (answer === 'close') child.stdin!.end();
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, counts }));
  });
}

const reporter = (total: number) => ['--input-type=module', '-e', REPORTER, String(total)];
const LOCKSTEP = { ...process.env, [PROGRESS_LOCKSTEP_ENV]: '1' };
const ALL_COUNTS = [...Array.from({ length: 1000 }, (_, i) => i + 1), 1000];

describe('the handshake between real processes', () => {
  it('parks the child at the line that was not acknowledged: it reached exactly the count acknowledged plus one', async () => {
    for (const stopAt of [1, 7, 500]) {
      const run = await drive(reporter(EVENTS), 'pipe', LOCKSTEP, (count) => (count === stopAt ? 'kill' : 'ack'));
      expect(run.signal).toBe('SIGKILL');
      expect(run.counts).toEqual(Array.from({ length: stopAt }, (_, i) => i + 1));
    }
  }, 60_000);

  it('waits as well when stdin is non-blocking (Node makes it so once process.stdin is touched): no EAGAIN error, no running ahead', async () => {
    const run = await drive([...reporter(EVENTS), 'touch-stdin'], 'pipe', LOCKSTEP, (count) => (count === 5 ? 'kill' : 'ack'));
    expect(run.signal).toBe('SIGKILL');
    expect(run.counts).toEqual([1, 2, 3, 4, 5]);
  }, 60_000);

  it('goes on without waiting once stdin is closed (end of input), and to the end', async () => {
    const run = await drive(reporter(1000), 'pipe', LOCKSTEP, (count) => (count < 10 ? 'ack' : count === 10 ? 'close' : undefined));
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('lockstep');
    expect(run.counts).toEqual(ALL_COUNTS);
  }, 60_000);

  it('never waits without the variable, or with stdin /dev/null or a file, even if nothing is ever acknowledged', async () => {
    const silent = () => undefined;
    const free = await drive(reporter(1000), 'pipe', { ...process.env, [PROGRESS_LOCKSTEP_ENV]: undefined }, silent); // stdin a pipe nobody writes to
    const devNull = await drive(reporter(1000), 'ignore', LOCKSTEP, silent);
    const path = join(tempDir(), 'stdin.txt');
    writeFileSync(path, '');
    const fd = openSync(path, 'r');
    const file = await drive(reporter(1000), fd, LOCKSTEP, silent).finally(() => closeSync(fd));
    for (const run of [free, devNull, file]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('free');
      expect(run.counts).toEqual(ALL_COUNTS);
    }
  }, 60_000);

  it('opnp does not pass the variable on: the sbatch it starts sees none', async () => {
    const dir = tempDir();
    const fake = join(dir, 'sbatch');
    writeFileSync(fake, `#!/bin/sh\ncat > /dev/null\necho "\${${PROGRESS_LOCKSTEP_ENV}-unset}" > ${dir}/env.txt\necho "41;cluster"\n`);
    chmodSync(fake, 0o755);
    // The planner checks the task's inputs before it submits: they exist (relative to --chdir).
    writeFileSync(join(dir, 'm.onnx'), '');
    writeFileSync(join(dir, 't'), '');
    const args = ['cluster', 'slurm', 'sensitivity', '--model', 'm.onnx', '--train', 'idx:./t', '--out', 's.npy', '--shards', '2', '--submit', '--sbatch', fake, '--chdir', dir, '--log-dir', join(dir, 'logs')];
    const run = await drive([OPNP_BIN, ...args], 'pipe', LOCKSTEP, () => 'ack');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('array 41\n');
    expect(readFileSync(join(dir, 'env.txt'), 'utf8')).toBe('unset\n');
  }, 60_000);
});
