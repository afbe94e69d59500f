/**
 * Fault injection (one test file per command, so the runner spreads them over its workers): a command is
 * killed 20 times at seeded random points of its work (SIGINT and SIGKILL in turn, real processes) and
 * rerun until it finishes; what it finally writes must equal an uninterrupted run bit for bit. Kill
 * points are positions in the work (the sample count a progress line reports), not times, and the child
 * runs in lockstep with this process (`OPNP_PROGRESS_LOCKSTEP=1`, see src/progress-lockstep.ts): after each
 * progress line it waits for a byte on stdin, so the signal reaches it parked at exactly the chosen line
 * however slowly this process reads, and the tests do not depend on how fast or busy the machine is.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { mulberry32 } from '@opnp/core';
import { OPNP_BIN } from './built-cli.js';

export const KILLS = 20;
/**
 * A hang guard only: 21 child processes per command take about 30 s on an idle 2-core machine, and up to about
 * 240 s at load 20 (measured for `opnp eval`); the lockstep handshake keeps a slow machine from changing the outcome.
 */
export const TIMEOUT = 600_000;

/** One plain progress line of the child: `opnp: train [###---] 300/3000 ...` or `opnp: train: done, 3000/3000`. */
export interface ProgressMark {
  readonly stage: string;
  readonly count: number;
  readonly done: boolean;
}

/** How a child run ended, with every progress line it wrote. */
export interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly progress: readonly ProgressMark[];
  /** Index in `progress` of the line at which the signal was sent; undefined when none was. */
  readonly killedAt: number | undefined;
}

const BAR_LINE = /^opnp: (.+) \[[#-]+\] (\d+)\/\d+ /;
const DONE_LINE = /^opnp: (.+): done, (\d+)\/\d+/;

/** The progress line `line` is (the lines the child waits on in lockstep), or undefined for other stderr lines. */
export function progressMark(line: string): ProgressMark | undefined {
  const bar = BAR_LINE.exec(line);
  if (bar) return { stage: bar[1]!, count: Number(bar[2]), done: false };
  const done = DONE_LINE.exec(line);
  return done ? { stage: done[1]!, count: Number(done[2]), done: true } : undefined;
}

/**
 * Runs `opnp <args>` as a child process in lockstep and sends `signal` at the first progress line of `stage`
 * reporting at least `killAt` samples (never, with `killAt` undefined). Every line before it is acknowledged;
 * after SIGKILL none is, so the child dies parked at that line; after SIGINT or SIGTERM stdin is closed, which
 * lets the child run on without waiting (it runs its handler once its read returns and stops after the current
 * batch). Without a kill point stdin is closed at once: lockstep only costs time where a kill can land.
 */
export function runChild(args: readonly string[], stage: string, killAt: number | undefined, signal: NodeJS.Signals): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, OPNP_PROGRESS_EVERY: '0', OPNP_PROGRESS_LOCKSTEP: '1' };
    const child = spawn(process.execPath, [OPNP_BIN, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.on('error', () => undefined); // an ack to a child that has just exited (EPIPE): 'close' reports the exit
    if (killAt === undefined) child.stdin.end();
    let stderr = '';
    let pending = '';
    const progress: ProgressMark[] = [];
    let killedAt: number | undefined;
    const onLine = (line: string) => {
      const mark = progressMark(line);
      if (mark === undefined) return;
      progress.push(mark);
      if (killAt === undefined || killedAt !== undefined) return;
      if (mark.stage === stage && !mark.done && mark.count >= killAt) {
        killedAt = progress.length - 1;
        child.kill(signal);
        if (signal !== 'SIGKILL') child.stdin.end();
      } else child.stdin.write('+');
    };
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    child.on('error', reject);
    child.on('close', (code, exitSignal) => resolve({ code, signal: exitSignal, stderr, progress, killedAt }));
  });
}

/** Where a kill landed: the point asked for, the count of the line the signal was sent at, and how far the child went on. */
export interface KillRecord {
  readonly signal: NodeJS.Signals;
  readonly point: number;
  readonly killedAtCount: number;
  /** Progress lines the child wrote after the one the signal was sent at (always 0 after SIGKILL). */
  readonly linesAfter: number;
}

/**
 * Checks that a killed child got its signal at the first line of `stage` reporting at least `point` samples
 * (every earlier line of the stage reported fewer) and, after SIGKILL, that it wrote nothing more.
 */
function checkKillPoint(outcome: Outcome, stage: string, point: number, signal: NodeJS.Signals): KillRecord {
  const { progress, killedAt } = outcome;
  expect(killedAt, `no progress line of ${stage} reached ${point}:\n${outcome.stderr}`).toBeDefined();
  const at = progress[killedAt!]!;
  expect(progress.slice(0, killedAt).filter((m) => m.stage === stage && !m.done && m.count >= point)).toEqual([]);
  const linesAfter = progress.length - 1 - killedAt!;
  if (signal === 'SIGKILL') expect(linesAfter, outcome.stderr).toBe(0);
  return { signal, point, killedAtCount: at.count, linesAfter };
}

/**
 * Kills a command `KILLS` times at seeded points in `[0, 0.8 * total)` samples of `stage` (ascending, so
 * every rerun goes on from what the previous one saved), then lets it finish.
 */
export async function killRepeatedly(args: readonly string[], stage: string, total: number, seed: number): Promise<{ kills: number; signals: string[]; records: KillRecord[] }> {
  const random = mulberry32(seed);
  const points = Array.from({ length: KILLS }, () => Math.floor(random() * 0.8 * total)).sort((a, b) => a - b);
  const signals: string[] = [];
  const records: KillRecord[] = [];
  for (const [k, point] of points.entries()) {
    const signal: NodeJS.Signals = k % 2 === 0 ? 'SIGINT' : 'SIGKILL';
    const outcome = await runChild(args, stage, point, signal);
    if (signal === 'SIGINT') expect(outcome.code, outcome.stderr).toBe(130);
    else expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
    records.push(checkKillPoint(outcome, stage, point, signal));
    signals.push(signal);
  }
  const last = await runChild(args, stage, undefined, 'SIGINT');
  expect(last.code, last.stderr).toBe(0);
  return { kills: signals.length, signals, records };
}

/** A file's bytes. */
export const bytes = (path: string) => readFileSync(path);
