/**
 * Fitting scorers with progress: one stage counting the scorers fitted (each method's `create`, awaited, with the
 * method being fitted as the detail), and, for a method with its own long loop, a `reportProgress` callback in its
 * context whose sub-steps show as a stage of their own. A new method gets the first without any code.
 */
import { phaseReporter, type PhaseReporter, type ProgressListener } from '../progress.js';
import {
  createSharedFits,
  resolveMethodOptions,
  type MethodContext,
  type MethodDefinition,
  type MethodOptionOverrides,
  type MethodOptions,
  type MethodProgress,
  type MethodRegistry,
  type Scorer,
  type SharedFits,
} from './registry.js';

/** One scorer to fit. */
export interface ScorerToFit {
  /** Its key in the result. */
  readonly key: string;
  /** What the progress shows while it is fitted (the method, or a grid point of the baseline search). */
  readonly label: string;
  readonly definition: MethodDefinition;
  /** Resolved options. */
  readonly options: MethodOptions;
}

/** How {@link fitScorerList} reports. */
export interface FitProgressOptions {
  readonly onProgress?: ProgressListener;
  /** Stage of the count of scorers fitted (default `'fit methods'`). */
  readonly stage?: string;
  /** Unit of that count (default `'methods'`). */
  readonly unit?: string;
  /** Stage of a scorer's own sub-steps (default `fit <label>`). */
  readonly subStage?: (label: string) => string;
  /** Values shared between the scorers (default a fresh {@link createSharedFits}). */
  readonly shared?: SharedFits;
  /** Milliseconds clock of the rates (tests). */
  readonly now?: () => number;
}

/** A {@link MethodProgress} reporting to its own stage: started by the first call, ended at `done >= total` (or by `finish`). */
function subStepReporter(listener: ProgressListener, stage: string, now: (() => number) | undefined): { report: MethodProgress; finish: () => void } {
  let phase: PhaseReporter | undefined;
  let last = 0;
  const report: MethodProgress = (done, total, unit = 'steps') => {
    phase ??= phaseReporter(listener, stage, total, { unit, ...(now ? { now } : {}) });
    last = done;
    if (done >= total) {
      phase.done(total);
      phase = undefined;
    } else phase.step(done);
  };
  return { report, finish: () => phase?.done(last) };
}

/**
 * Fits `scorers` in order (awaiting asynchronous fits), reporting each one as it starts and once more when all are
 * fitted (see the module comment). The result maps each key to its scorer.
 */
export async function fitScorerList(scorers: readonly ScorerToFit[], context: MethodContext, options: FitProgressOptions = {}): Promise<Map<string, Scorer>> {
  const { onProgress } = options;
  const shared = options.shared ?? createSharedFits();
  const clock = options.now ? { now: options.now } : {};
  const phase = phaseReporter(onProgress, options.stage ?? 'fit methods', scorers.length, { unit: options.unit ?? 'methods', ...clock });
  const out = new Map<string, Scorer>();
  for (const [i, scorer] of scorers.entries()) {
    phase.step(i, scorer.label);
    const sub = onProgress ? subStepReporter(onProgress, options.subStage?.(scorer.label) ?? `fit ${scorer.label}`, options.now) : undefined;
    const own: MethodContext = sub ? { ...context, reportProgress: sub.report } : context;
    out.set(scorer.key, await scorer.definition.create(own, scorer.options, shared));
    sub?.finish();
  }
  phase.done(scorers.length);
  return out;
}

/**
 * Builds the scorers of `methods` (sharing fitted values between them, awaiting asynchronous fits), reporting the
 * stage `fit methods` (unit `methods`, the method being fitted as the detail) and each method's own sub-steps as
 * `fit <method>`.
 */
export function fitScorers(
  registry: MethodRegistry,
  methods: readonly string[],
  context: MethodContext,
  overrides: MethodOptionOverrides = {},
  progress: Pick<FitProgressOptions, 'onProgress' | 'now'> = {},
): Promise<Map<string, Scorer>> {
  const scorers = methods.map((name): ScorerToFit => {
    const definition = registry.get(name);
    return { key: name, label: name, definition, options: resolveMethodOptions(name, definition, overrides[name]) };
  });
  return fitScorerList(scorers, context, progress);
}
