/**
 * The skipped-sample log of a run: every unreadable sample per set key (`train`, `test`, `ood:<name>`,
 * `val:<name>`), each also passed on to the caller's `onSkip`.
 */
import type { SkippedSample } from '../features-meta.js';

/** A run's skipped samples per set, and the function that records one. */
export interface SkipLog {
  readonly sets: Record<string, SkippedSample[]>;
  readonly add: (set: string, skip: SkippedSample) => void;
}

/** Collects every skipped sample per set and tells `onSkip` about each. */
export function skipLog(onSkip?: (set: string, skip: SkippedSample) => void): SkipLog {
  const sets: Record<string, SkippedSample[]> = {};
  return {
    sets,
    add: (set, skip) => {
      (sets[set] ??= []).push(skip);
      onSkip?.(set, skip);
    },
  };
}
