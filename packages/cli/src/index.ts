/**
 * @packageDocumentation
 * `@opnp/cli`: the `opnp` command. The library entry runs it in-process ({@link runCli}) and exposes
 * the evaluation pipeline behind `opnp eval` ({@link runEval}).
 */
export { runCli, createProgram, VERSION } from './main.js';
export { EXIT } from './errors.js';
export type { CliIo, TextSink } from './io.js';
export {
  runEval,
  runEvalWithArtifacts,
  type EvalConfig,
  type EvalReport,
  type EvalArtifacts,
  type SetScores,
  type CalibrationInputs,
  type MethodResult,
  type NamedSpec,
} from './pipeline/run-eval.js';
export { writeResultsDir, readResults, RESULTS_FORMAT, RESULTS_VERSION, type ResultsManifest, type LoadedResults } from './pipeline/results-dir.js';
export { writeReportFolder, type WriteReportOptions, type WrittenReport } from './report/write-report.js';
export { fpr95Threshold } from './pipeline/threshold.js';
export { METHODS, DEFAULT_METHODS, parseMethods } from './pipeline/methods.js';
export { readStateFile, writeStateFile, type StateMeta } from './pipeline/state-file.js';
export { parseOpnpPercentages } from './options.js';
export { demoConfig, demoAssetPath } from './commands/demo.js';
