/**
 * Progress bars on stderr: drawn only when stderr is a terminal and the command is not silenced
 * (`--json -`, `--quiet`); count, rate and ETA, redrawn at most ten times a second.
 */
import type { ProgressEvent } from '@opnp/datasets';
import type { TextSink } from './io.js';

/** A progress reporter for one pass. */
export interface Progress {
  /** Feeds a dataset progress event. */
  update(event: Pick<ProgressEvent, 'count' | 'total' | 'rate'>): void;
  /** Clears the bar. */
  done(): void;
}

const silent: Progress = { update: () => undefined, done: () => undefined };

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

/** A progress bar on `sink` when it is a TTY and `enabled`; otherwise a no-op. */
export function createProgress(sink: TextSink, label: string, enabled: boolean): Progress {
  if (!enabled || !sink.isTTY) return silent;
  let last = 0;
  let drawn = false;
  return {
    update(event) {
      const now = performance.now();
      if (now - last < 100 && event.count < event.total) return;
      last = now;
      drawn = true;
      sink.write(`\r\x1b[2K${progressLine(label, event.count, event.total, event.rate)}`);
    },
    done() {
      if (drawn) sink.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
