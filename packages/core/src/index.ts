/**
 * @packageDocumentation
 * `@opnp/core`: OPNP (Optimal Parameter and Neuron Pruning, NeurIPS 2023) and the post-hoc OOD
 * baselines as pure math on row-major float32 matrices, plus the backend-agnostic contracts
 * ({@link FeatureExtractor}, {@link GemmKernel}) that model backends implement.
 */
// Errors, matrices, GEMM kernels, the head, randomness, percentiles and backends: the `@opnp/core/base` entry.
export * from './base.js';

// Scores and baselines (docs/numerics.md#scores)
export { msp, maxLogit, energy, gradNorm, scoreLogits, LOGIT_SCORES, type LogitScore, type TemperatureOptions } from './scores/logit-scores.js';
export { assertTemperature } from './scores/validate.js';
export { reactThreshold, react, ash, scale, ashKeepCount, type AshVariant, type AshOptions, type ScaleOptions } from './scores/transforms.js';
export { diceHead, featureMean, type DiceHead, type DiceOptions } from './scores/dice.js';
export { fitMahalanobis, mahalanobisScore, mahalanobisPrecision, type MahalanobisModel, type MahalanobisOptions } from './scores/mahalanobis.js';
export {
  symmetricEigen,
  symmetricEigenAsync,
  symmetricPseudoInverse,
  effectiveRank,
  PINV_RELATIVE_TOLERANCE,
  type SymmetricEigen,
  type SymmetricEigenOptions,
  type SymmetricEigenAsyncOptions,
} from './scores/symmetric-eigen.js';
export { fitKnn, knnScore, knnScoreAsync, knnBlockRows, KNN_BLOCK_BUDGET_BYTES, type KnnModel, type KnnOptions, type KnnScoreOptions, type KnnScoreAsyncOptions } from './scores/knn.js';
export { composeScore, composeScoreAsync, applyFeatureTransform, type ComposeScoreAsyncOptions, type ScoreSpec, type FeatureTransform } from './scores/compose.js';
export { gen, type GenOptions } from './scores/gen.js';
export { fitVim, fitVimAsync, vimScore, vimScoreAsync, vimOrigin, defaultVimDim, type VimModel, type VimOptions, type VimAsyncOptions, type VimScoreAsyncOptions } from './scores/vim.js';
export { entropy, type EntropyOptions } from './scores/entropy.js';
export { weightedEnergy, assertClassWeights } from './scores/webo.js';
export { fitKlMatching, klMatchingScore, type KlMatchingModel } from './scores/klm.js';
export { fitShe, sheScore, type SheFitOptions, type SheModel } from './scores/she.js';
export { fitFdbd, fdbdScore, type FdbdModel, type FdbdOptions } from './scores/fdbd.js';
export { fitRmds, rmdsScore, type RmdsModel } from './scores/rmds.js';
export { fitNnGuide, nnGuideScore, type NnGuideModel, type NnGuideOptions } from './scores/nnguide.js';
export { fitNci, nciScore, type NciModel, type NciOptions } from './scores/nci.js';
export { fitResidual, residualScore, residualScoreAsync, type ResidualModel, type ResidualScoreAsyncOptions } from './scores/residual.js';
export {
  odin,
  odinModelOf,
  odinOutputWeights,
  finiteDifferenceInputGradient,
  assertFiniteDifferenceSize,
  resolveOdinGradient,
  assertOdinOptions,
  ODIN_GRADIENTS,
  ODIN_FD_STEP,
  ODIN_FD_MAX_INPUTS,
  type OdinModel,
  type OdinOptions,
  type OdinResult,
  type OdinGradient,
  type FiniteDifferenceOptions,
} from './scores/odin.js';
export { createLinearFeatureExtractor, type LinearFeatureExtractorOptions, type LinearActivation } from './extractors/linear-extractor.js';

// OPNP (docs/numerics.md#opnp)
export {
  SensitivityAccumulator,
  computeSensitivity,
  type SensitivityAggregation,
  type SensitivityOptions,
  type SensitivityState,
  type ParameterSensitivity,
} from './opnp/sensitivity.js';
export { neuronSensitivity, type NeuronStatistic } from './opnp/neuron-sensitivity.js';
export { keepBand, keepMask, applyBand, type KeepBand, type KeepMask, type PruningPercentages } from './opnp/thresholds.js';
export {
  pruningMasks,
  percentagesForMode,
  keepAllMasks,
  keptWeightCount,
  type PruningMasks,
  type PruningMode,
  type SensitivityLike,
} from './opnp/masks.js';
export { pruneHead } from './opnp/prune.js';
export { randomWeightMask, randomNeuronMask, magnitudeWeightMask, lowNormNeuronMask, meanFeatureNorm } from './opnp/pruners.js';
export { DEFAULT_PRUNING_GRID, gridPoints, gridScores, type PruningGrid, type GridScoreOptions, type GridScores } from './opnp/grid.js';
export {
  gridSearch,
  selectGridPoint,
  evaluateGridPoint,
  type GridEvaluator,
  type GridPointResult,
  type GridSearchResult,
  type ValidationFeatures,
} from './opnp/search.js';
