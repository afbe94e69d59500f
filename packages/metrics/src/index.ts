/**
 * @packageDocumentation
 * `@opnp/metrics`: OOD detection and calibration metrics on plain score arrays: FPR95 (three documented
 * conventions), AUROC, AUPR-In/Out, ECE and reliability diagrams, accuracy. ID is the positive class and a
 * higher score means more in-distribution. Every metric is O(n log n), accumulates in float64, leaves its
 * inputs unmodified, and throws `OpnpError` (`EMPTY_INPUT`, `NON_FINITE`, `SHAPE_MISMATCH`,
 * `INVALID_ARGUMENT`) on bad input.
 */
export { fpr95, minCountForRate, FPR95_CONVENTIONS, type Fpr95Convention, type Fpr95Options } from './fpr95.js';
export { fpr95Threshold } from './threshold.js';
export { auroc } from './auroc.js';
export { auprIn, auprOut } from './aupr.js';
export { oodMetrics, type OodMetrics } from './ood-metrics.js';
export {
  ece,
  reliabilityDiagram,
  DEFAULT_CALIBRATION_BINS,
  type ReliabilityBin,
  type ReliabilityDiagram,
} from './calibration.js';
export { accuracy, argmaxRows, type RowMajor } from './accuracy.js';
