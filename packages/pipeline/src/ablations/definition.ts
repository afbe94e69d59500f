/**
 * What an ablation kind is: where the paper shows it, what it measures and prints, what its run needs, and how
 * it builds its variants on an opened session.
 */
import type { MeasuredVariant } from './measure.js';
import type { AblationSession, SessionNeeds, SessionOpener } from './session.js';
import type { AblationKind, AblationMetric, AblationOptions } from './types.js';

/** One ablation kind. */
export interface AblationDefinition {
  readonly kind: AblationKind;
  /** Other names it answers to (`table4`, ...). */
  readonly aliases: readonly string[];
  /** `Table 4`, `Figure 3`, ... */
  readonly source: string;
  readonly title: string;
  /** OOD metrics per OOD test set, or the ID accuracy (no OOD test sets). */
  readonly measures: 'ood' | 'accuracy';
  /** The metrics the paper's layout prints. */
  readonly layout: readonly AblationMetric[];
  /** The options this kind takes (any other is refused). */
  readonly optionKeys: readonly (keyof AblationOptions)[];
  readonly needs: SessionNeeds;
  /** Checks the options before any work. @throws OpnpError `INVALID_ARGUMENT` */
  check(options: AblationOptions): void;
  /** Opens the session (once) and builds the variants in the paper's order. */
  variants(open: SessionOpener, options: AblationOptions): Promise<{ readonly session: AblationSession; readonly variants: readonly MeasuredVariant[] }>;
}
