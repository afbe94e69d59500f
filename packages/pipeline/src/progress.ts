/**
 * Progress of the long stages, as plain events: the CLI draws bars or prints lines from them, a library
 * user logs them or ignores them.
 *
 * Stages of an evaluation (each sends events after every piece of work and once more with `done: true`):
 * `train` (or `shard i/n`) and `fit subset` (training features), `validation <set>`, `grid search` (rows scored at
 * every grid point), `search <method>: fit` and `search <method>: <set>` (the baseline search), `fit methods`
 * (unit `methods`; `fit <method>` for the sub-steps a method reports), then the test set and every OOD set by
 * name (scored by every method in one pass). Extraction sends `extract`; the ablations `search <variant>`.
 */

/** Where a stage is. Sent after every piece of work and once more with `done: true`. */
export interface StageProgress {
  /** `'train'`, `'test'`, `'extract'`, an OOD set's name, `'grid search'`, `'fit methods'`, ... */
  readonly stage: string;
  /** Units done so far in this stage (resumed ones included). */
  readonly count: number;
  /** Units this stage does. */
  readonly total: number;
  /** Units per second since the stage (re)started (0 when unknown). */
  readonly rate: number;
  readonly done: boolean;
  /** What `count` counts: `'samples'` when absent; `'methods'`, `'points'` (grid points), `'configurations'`, `'steps'`, ... */
  readonly unit?: string;
  /** What the stage works on right now (the method being fitted), for display. */
  readonly detail?: string;
}

/** Receives {@link StageProgress} events. */
export type ProgressListener = (event: StageProgress) => void;

/** The `onProgress` callback of a dataset pass that forwards to `listener` as stage `stage` (offset by `before` samples). */
export function stageReporter(listener: ProgressListener | undefined, stage: string, total: number, before = 0) {
  return {
    onProgress: (e: { count: number; rate: number }) => listener?.({ stage, count: before + e.count, total, rate: e.rate, done: false }),
    done: (count: number) => listener?.({ stage, count, total, rate: 0, done: true }),
  };
}

/** Options of {@link phaseReporter}. */
export interface PhaseReporterOptions {
  /** What the phase counts (default samples). */
  readonly unit?: string;
  /** Milliseconds clock of the rate (default `performance.now`; tests inject one). */
  readonly now?: () => number;
}

/** Reports one phase that counts its own work: see {@link phaseReporter}. */
export interface PhaseReporter {
  /** `count` units done so far (sent as is: callers report a count that only rises); `detail` is shown with it. */
  step(count: number, detail?: string): void;
  /** The final event (`count` defaults to the total). */
  done(count?: number): void;
}

/**
 * A reporter for a phase that is not a dataset pass (grid rows, methods fitted, configurations tried): its rate is
 * counted from the reporter's creation. A no-op without a listener.
 */
export function phaseReporter(listener: ProgressListener | undefined, stage: string, total: number, options: PhaseReporterOptions = {}): PhaseReporter {
  if (!listener) return { step: () => undefined, done: () => undefined };
  const now = options.now ?? (() => performance.now());
  const started = now();
  const unit = options.unit !== undefined ? { unit: options.unit } : {};
  return {
    step(count, detail) {
      const elapsed = now() - started;
      listener({ stage, count, total, rate: elapsed > 0 ? (count * 1000) / elapsed : 0, done: false, ...unit, ...(detail !== undefined ? { detail } : {}) });
    },
    done(count = total) {
      listener({ stage, count, total, rate: 0, done: true, ...unit });
    },
  };
}
