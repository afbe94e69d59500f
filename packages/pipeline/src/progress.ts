/**
 * Progress of the long stages, as plain events: the CLI draws bars or prints lines from them, a library
 * user logs them or ignores them.
 */

/** Where a stage is. Sent after every batch and once more with `done: true`. */
export interface StageProgress {
  /** `'train'`, `'test'`, `'extract'`, an OOD set's name, ... */
  readonly stage: string;
  /** Samples done so far in this stage (resumed ones included). */
  readonly count: number;
  /** Samples this stage visits. */
  readonly total: number;
  /** Samples per second since the stage (re)started. */
  readonly rate: number;
  readonly done: boolean;
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
