/**
 * Fault injection (one test file per command, so the runner spreads them over its workers): a command is
 * killed 20 times at seeded random points of its work (SIGINT and SIGKILL in turn, real processes) and
 * rerun until it finishes; what it finally writes must equal an uninterrupted run bit for bit. Kill
 * points are positions in the work (the sample count a progress line reports), not times, so the tests
 * do not depend on how fast the machine is.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { mulberry32 } from '@opnp/core';
import { OPNP_BIN } from './built-cli.js';

export const KILLS = 20;
/** A hang guard only: 21 child processes per command take about 30 s on an idle 2-core machine. */
export const TIMEOUT = 300_000;

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * Runs `opnp <args>` as a child process and sends `signal` once a progress line of `stage` reports at
 * least `killAt` samples (never, with `killAt` undefined).
 */
export function runChild(args: readonly string[], stage: string, killAt: number | undefined, signal: NodeJS.Signals): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPNP_BIN, ...args], { env: { ...process.env, OPNP_PROGRESS_EVERY: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    const pattern = new RegExp(`opnp: ${stage} \\[[#-]+\\] (\\d+)/(\\d+)`, 'g');
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (sent || killAt === undefined) return;
      for (const m of stderr.matchAll(pattern)) {
        if (Number(m[1]) >= killAt) {
          sent = true;
          child.kill(signal);
          return;
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code, exitSignal) => resolve({ code, signal: exitSignal, stderr }));
  });
}

/**
 * Kills a command `KILLS` times at seeded points in `[0, 0.8 * total)` samples of `stage` (ascending, so
 * every rerun goes on from what the previous one saved), then lets it finish.
 */
export async function killRepeatedly(args: readonly string[], stage: string, total: number, seed: number): Promise<{ kills: number; signals: string[] }> {
  const random = mulberry32(seed);
  const points = Array.from({ length: KILLS }, () => Math.floor(random() * 0.8 * total)).sort((a, b) => a - b);
  const signals: string[] = [];
  for (const [k, point] of points.entries()) {
    const signal: NodeJS.Signals = k % 2 === 0 ? 'SIGINT' : 'SIGKILL';
    const outcome = await runChild(args, stage, point, signal);
    if (signal === 'SIGINT') expect(outcome.code, outcome.stderr).toBe(130);
    else expect(outcome.signal, outcome.stderr).toBe('SIGKILL');
    signals.push(signal);
  }
  const last = await runChild(args, stage, undefined, 'SIGINT');
  expect(last.code, last.stderr).toBe(0);
  return { kills: signals.length, signals };
}

/** A file's bytes. */
export const bytes = (path: string) => readFileSync(path);
