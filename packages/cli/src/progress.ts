/**
 * Progress on stderr: a bar per stage when stderr is a terminal (count, rate, ETA, redrawn at most ten
 * times a second), otherwise a plain line every few seconds and one when a stage ends; nothing with
 * `--quiet` or `--json -`.
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

/** One progress line: `label [#####-----] 1200/6000 950/s ETA 00:05`. */
export function progressLine(label: string, count: number, total: number, rate: number, width = 24): string {
  const fraction = total > 0 ? Math.min(1, count / total) : 1;
  const filled = Math.round(fraction * width);
  const eta = rate > 0 ? (total - count) / rate : Infinity;
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count}/${total} ${rate.toFixed(0)}/s ETA ${formatDuration(eta)}`;
}

/** Options of {@link createProgressListener}. */
export interface ProgressDisplay {
  /** Milliseconds between plain lines when stderr is not a terminal (default 5000). */
  readonly plainEveryMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
}

/** A progress listener drawing on `sink` (see the module comment); a no-op when not `enabled`. */
export function createProgressListener(sink: TextSink, enabled: boolean, display: ProgressDisplay = {}): ProgressListener {
  if (!enabled) return () => undefined;
  const now = display.now ?? (() => performance.now());
  const every = sink.isTTY ? 100 : (display.plainEveryMs ?? 5000);
  let last = -Infinity;
  let drawn = false;
  let stage: string | undefined;
  return (event: StageProgress) => {
    const t = now();
    if (event.stage !== stage) {
      stage = event.stage;
      // A bar appears at once; plain lines only after one interval, so short stages stay silent.
      last = sink.isTTY || every === 0 ? -Infinity : t;
    }
    if (event.done) {
      if (drawn && sink.isTTY) sink.write('\r\x1b[2K');
      else if (drawn) sink.write(`opnp: ${event.stage}: done, ${event.count}/${event.total}\n`);
      drawn = false;
      return;
    }
    if (t - last < every && every > 0) return;
    last = t;
    drawn = true;
    const line = progressLine(event.stage, event.count, event.total, event.rate);
    sink.write(sink.isTTY ? `\r\x1b[2K${line}` : `opnp: ${line}\n`);
  };
}
