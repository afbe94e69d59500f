/**
 * @packageDocumentation
 * `@opnp/cli`: the `opnp` command. The library entry runs it in-process ({@link runCli}) and reads and
 * writes what the command writes (results folders, reports). The evaluation workflow itself is the
 * library `@opnp/pipeline`.
 */
export { runCli, VERSION } from './main.js';
export { createProgram } from './program.js';
export { EXIT } from './errors.js';
export type { CliIo, TextSink } from './io.js';
export { writeResultsDir, readResults, RESULTS_FORMAT, RESULTS_VERSION, type ResultsManifest, type LoadedResults, type LoadedRun, type LoadedRuns } from '@opnp/pipeline';
export { writeReportFolder, type WriteReportOptions, type WrittenReport } from './report/write-report.js';
export { parseMethods } from './methods.js';
export { parseOpnpPercentages } from './options.js';
export { demoConfig, demoAssetPath } from './commands/demo.js';
