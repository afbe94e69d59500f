/**
 * @packageDocumentation
 * `@opnp/core/node`: Node-only helpers shared by the `@opnp/*` packages (file output, file identity). The main
 * `@opnp/core` entry has no file-system access and runs in browsers.
 */
export { writeFileAtomic, type WriteFileAtomicOptions } from './write-file-atomic.js';
export { fileIdentity } from './file-identity.js';
export { startModuleWorker } from './module-worker.js';
export { offloadedBandedGridLogSumExp, closeBandedScoringWorker } from './banded-scoring-offload.js';
