/**
 * The progress display with fake clocks: plain lines every interval when stderr is not a terminal (for stages that
 * ran at least one interval), bars on a terminal, units and details, overlapping stages; and `opnp eval` end to end:
 * lines for the grid search, the fits and the scoring, nothing on stderr with `--quiet`, pure JSON with `--json -`.
 */
import { describe, expect, it } from 'vitest';
import type { StageProgress } from '@opnp/pipeline';
import { createProgressListener, progressLine } from '../src/progress.js';
import { cli, FASHION, MODEL, NORMALISE, TEST, TRAIN } from './helpers.js';

/** A sink recording what was written, and a clock the test moves. */
function fakeTerminal(isTTY: boolean) {
  const writes: string[] = [];
  let t = 0;
  return { sink: { isTTY, write: (s: string) => writes.push(s) }, writes, now: () => t, advance: (ms: number) => (t += ms) };
}

const event = (stage: string, count: number, total: number, extra: Partial<StageProgress> = {}): StageProgress => ({ stage, count, total, rate: 0, done: false, ...extra });

describe('progressLine', () => {
  it('shows samples as a bare /s and other units by name, with the detail last', () => {
    expect(progressLine('train', 1200, 6000, 950)).toBe('train [#####-------------------] 1200/6000 950/s ETA 00:05');
    expect(progressLine('fit methods', 3, 14, 0.5, 10, { unit: 'methods', detail: 'knn' })).toBe('fit methods [##--------] 3/14 0.50 methods/s ETA 00:22 (knn)');
    expect(progressLine('search RPP', 12, 192, 3.14159, 10, { unit: 'points' })).toBe('search RPP [#---------] 12/192 3.1 points/s ETA 00:57');
    expect(progressLine('x', 0, 10, 0)).toBe('x [------------------------] 0/10 0/s ETA --:--');
  });
});

describe('createProgressListener (plain lines)', () => {
  it('prints a line per interval once a stage has run one interval, then its end; short stages stay silent', () => {
    const term = fakeTerminal(false);
    const listen = createProgressListener(term.sink, true, { plainEveryMs: 5000, now: term.now });
    listen(event('short', 0, 10));
    term.advance(4000);
    listen({ ...event('short', 10, 10), done: true });
    expect(term.writes).toEqual([]);
    // 12 grid blocks one second apart: lines at 5 s and 10 s.
    for (let block = 0; block <= 12; block++) {
      listen(event('grid search', block * 100, 1200, { rate: 100, detail: '192 points' }));
      term.advance(1000);
    }
    listen({ ...event('grid search', 1200, 1200), done: true });
    expect(term.writes).toEqual([
      'opnp: grid search [##########--------------] 500/1200 100/s ETA 00:07 (192 points)\n',
      'opnp: grid search [####################----] 1000/1200 100/s ETA 00:02 (192 points)\n',
      'opnp: grid search: done, 1200/1200\n',
    ]);
  });

  it('names the unit and keeps the start of each of overlapping stages', () => {
    const term = fakeTerminal(false);
    const listen = createProgressListener(term.sink, true, { plainEveryMs: 5000, now: term.now });
    listen(event('fit methods', 0, 2, { unit: 'methods', detail: 'vim' }));
    for (let step = 0; step < 8; step++) {
      term.advance(1000);
      listen(event('fit vim', step, 8, { unit: 'steps', rate: 1 }));
    }
    listen({ ...event('fit vim', 8, 8, { unit: 'steps' }), done: true });
    term.advance(3000);
    listen(event('fit methods', 1, 2, { unit: 'methods', rate: 0.11, detail: 'knn' }));
    listen({ ...event('fit methods', 2, 2, { unit: 'methods' }), done: true });
    expect(term.writes).toEqual([
      'opnp: fit vim [###############---------] 5/8 1.0 steps/s ETA 00:03\n',
      'opnp: fit vim: done, 8/8 steps\n',
      // `fit methods` started 11 s ago, the last line was 5 s ago: it shows although the fit of vim just ended.
      'opnp: fit methods [############------------] 1/2 0.11 methods/s ETA 00:09 (knn)\n',
      'opnp: fit methods: done, 2/2 methods\n',
    ]);
  });

  it('prints every event with an interval of 0 (OPNP_PROGRESS_EVERY=0) and nothing when disabled', () => {
    const term = fakeTerminal(false);
    const listen = createProgressListener(term.sink, true, { plainEveryMs: 0, now: term.now });
    listen(event('score test', 256, 512));
    listen(event('score test', 512, 512));
    expect(term.writes).toHaveLength(2);
    const off = fakeTerminal(false);
    const silent = createProgressListener(off.sink, false, { now: off.now });
    silent(event('score test', 256, 512));
    off.advance(60_000);
    silent(event('score test', 512, 512));
    silent({ ...event('score test', 512, 512), done: true });
    expect(off.writes).toEqual([]);
  });
});

describe('createProgressListener (prefix)', () => {
  it('starts plain lines with the given prefix (tools/repro: repro)', () => {
    const term = fakeTerminal(false);
    const listen = createProgressListener(term.sink, true, { plainEveryMs: 0, now: term.now, prefix: 'repro' });
    listen(event('train', 1, 2));
    listen({ ...event('train', 2, 2), done: true });
    expect(term.writes).toEqual(['repro: train [############------------] 1/2 0/s ETA --:--\n', 'repro: train: done, 2/2\n']);
  });
});

describe('createProgressListener (terminal)', () => {
  it('draws a bar at once, redraws at most every 100 ms, and clears it when its stage ends', () => {
    const term = fakeTerminal(true);
    const listen = createProgressListener(term.sink, true, { now: term.now });
    listen(event('score test', 0, 100));
    term.advance(50);
    listen(event('score test', 10, 100));
    term.advance(60);
    listen(event('score test', 20, 100));
    listen({ ...event('score test', 100, 100), done: true });
    listen(event('score fashion', 0, 100));
    expect(term.writes).toEqual([
      '\r\x1b[2Kscore test [------------------------] 0/100 0/s ETA --:--',
      '\r\x1b[2Kscore test [#####-------------------] 20/100 0/s ETA --:--',
      '\r\x1b[2K',
      '\r\x1b[2Kscore fashion [------------------------] 0/100 0/s ETA --:--',
    ]);
  });
});

describe('opnp eval progress (fake clock)', () => {
  // A clock that jumps 10 s per reading: every stage with two events or more gets a line.
  const jumpingClock = () => {
    let t = 0;
    return () => (t += 10_000);
  };
  const args = ['eval', '--model', MODEL, '--train', TRAIN, '--train-fraction', '0.1', '--test', TEST, '--ood', `fashion=${FASHION}`, ...NORMALISE, '--methods', 'energy,knn,opnp', '--fit-samples', '300'];

  it('prints plain lines for the grid search, the fits and every scored set when stderr is not a terminal', async () => {
    const run = await cli(args, { now: jumpingClock() });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n');
    const progress = (stage: string) => lines.filter((l) => l.startsWith(`opnp: ${stage} [`));
    expect(progress('grid search').length, run.stderr).toBeGreaterThan(0);
    expect(progress('grid search')[0]).toMatch(/^opnp: grid search \[[#-]+\] \d+\/\d+ [\d.]+\/s ETA [\d:-]+ \(192 points\)$/);
    expect(progress('fit methods')[0]).toMatch(/ [\d.]+ methods\/s ETA .* \((knn|opnp)\)$/);
    expect(progress('score test').length).toBeGreaterThan(0);
    expect(progress('score fashion').length).toBeGreaterThan(0);
    for (const stage of ['train', 'grid search', 'fit methods', 'score test', 'score fashion']) expect(lines.some((l) => l.startsWith(`opnp: ${stage}: done, `)), stage).toBe(true);
    expect(run.stdout).not.toMatch(/ETA/);
  }, 120_000);

  it('prints nothing on stderr with --quiet, and only the JSON report on stdout with --json -', async () => {
    const quiet = await cli([...args, '--quiet'], { now: jumpingClock() });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const json = await cli([...args, '--json', '-'], { now: jumpingClock() });
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    expect(() => JSON.parse(json.stdout) as unknown).not.toThrow();
    expect(json.stdout.trim().startsWith('{')).toBe(true);
  }, 120_000);
});
