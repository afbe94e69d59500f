/**
 * @packageDocumentation
 * `@opnp/cli`: the `opnp` command. The library entry runs it in-process ({@link runCli}) and exposes
 * the evaluation pipeline behind `opnp eval` ({@link runEval}).
 */
export { runCli, createProgram, VERSION } from './main.js';
export { EXIT } from './errors.js';
export type { CliIo, TextSink } from './io.js';
export { runEval, type EvalConfig, type EvalReport, type MethodResult, type NamedSpec } from './pipeline/run-eval.js';
export { METHODS, DEFAULT_METHODS, parseMethods } from './pipeline/methods.js';
export { readStateFile, writeStateFile, type StateMeta } from './pipeline/state-file.js';
export { parseOpnpPercentages } from './options.js';
export { demoConfig, demoAssetPath } from './commands/demo.js';
