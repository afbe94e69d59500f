/**
 * Progress on stderr: a bar when stderr is a terminal (count, rate, ETA, redrawn at most ten times a second),
 * otherwise a plain line every few seconds and one when a stage ends; nothing with `--quiet` or `--json -`.
 * A stage shows in plain lines only once it has run for one interval, so short stages stay silent. Stages may
 * overlap (a method's fit inside `fit methods`): each keeps its own start.
 */
import type { ProgressListener, StageProgress } from '@opnp/pipeline';
import type { TextSink } from './io.js';

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mmss = `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** A rate with the digits it needs: `950`, `3.1`, `0.25`. */
function formatRate(rate: number): string {
  return rate >= 10 || rate === 0 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toFixed(2);
}

/** How a progress line names its unit and what is being worked on. */
export interface LineExtras {
  /** What the count counts; samples (shown as a bare `/s`) when absent. */
  readonly unit?: string;
  /** Shown in parentheses at the end. */
  readonly detail?: string;
}

/**
 * One progress line: `label [#####-----] 1200/6000 950/s ETA 00:05` for samples,
 * `label [##--------] 3/14 0.50 methods/s ETA 00:22 (knn)` for other units.
 */
export function progressLine(label: string, count: number, total: number, rate: number, width = 24, extras: LineExtras = {}): string {
  const fraction = total > 0 ? Math.min(1, count / total) : 1;
  const filled = Math.round(fraction * width);
  const eta = rate > 0 ? (total - count) / rate : Infinity;
  const per = extras.unit === undefined || extras.unit === 'samples' ? '/s' : ` ${extras.unit}/s`;
  const detail = extras.detail !== undefined ? ` (${extras.detail})` : '';
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count}/${total} ${formatRate(rate)}${per} ETA ${formatDuration(eta)}${detail}`;
}

/** Options of {@link createProgressListener}. */
export interface ProgressDisplay {
  /** Milliseconds between plain lines when stderr is not a terminal (default 5000). */
  readonly plainEveryMs?: number;
  /** Milliseconds clock (tests). */
  readonly now?: () => number;
  /** What plain lines start with (default `opnp`: `opnp: train [...]`). */
  readonly prefix?: string;
  /**
   * Called right after each plain line is written (never for terminal bars). Internal, test-only: the CLI
   * passes the lockstep handshake of progress-lockstep.ts here, which blocks until the driving test
   * acknowledges the line.
   */
  readonly afterLine?: () => void;
}

const lineOf = (event: StageProgress) =>
  progressLine(event.stage, event.count, event.total, event.rate, 24, { ...(event.unit !== undefined ? { unit: event.unit } : {}), ...(event.detail !== undefined ? { detail: event.detail } : {}) });

/** Bars on a terminal: the latest event's, at most every `every` ms (at once when no bar shows). */
function barListener(sink: TextSink, now: () => number, every: number): ProgressListener {
  let last = -Infinity;
  let shown: string | undefined;
  return (event) => {
    const t = now();
    if (event.done) {
      if (shown === event.stage) sink.write('\r\x1b[2K');
      if (shown === event.stage) shown = undefined;
      return;
    }
    if (shown !== undefined && t - last < every) return;
    last = t;
    shown = event.stage;
    sink.write(`\r\x1b[2K${lineOf(event)}`);
  };
}

/** Plain lines: one every `every` ms, for stages that have run at least that long, and a last one for each of those. */
function lineListener(sink: TextSink, now: () => number, every: number, prefix: string, afterLine: () => void): ProgressListener {
  let last = -Infinity;
  const started = new Map<string, number>();
  const printed = new Set<string>();
  return (event) => {
    const t = now();
    if (event.done) {
      started.delete(event.stage);
      if (!printed.delete(event.stage)) return;
      sink.write(`${prefix}: ${event.stage}: done, ${event.count}/${event.total}${event.unit !== undefined && event.unit !== 'samples' ? ` ${event.unit}` : ''}\n`);
      afterLine();
      return;
    }
    const start = started.get(event.stage) ?? t;
    started.set(event.stage, start);
    if (t - start < every || t - last < every) return;
    last = t;
    printed.add(event.stage);
    sink.write(`${prefix}: ${lineOf(event)}\n`);
    afterLine();
  };
}

/** A progress listener drawing on `sink` (see the module comment); a no-op when not `enabled`. */
export function createProgressListener(sink: TextSink, enabled: boolean, display: ProgressDisplay = {}): ProgressListener {
  if (!enabled) return () => undefined;
  const now = display.now ?? (() => performance.now());
  return sink.isTTY === true ? barListener(sink, now, 100) : lineListener(sink, now, display.plainEveryMs ?? 5000, display.prefix ?? 'opnp', display.afterLine ?? (() => undefined));
}
