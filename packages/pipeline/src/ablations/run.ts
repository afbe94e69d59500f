/**
 * {@link runAblation}: one of the paper's ablations as a library call. The options are checked and the sets opened
 * before any work; the ablation's kind opens one session (sets, training pass, validation data), builds its
 * variants, and every variant is measured on the test sets in the same streaming pass (docs/numerics.md#ablations).
 */
import { resolveConfig } from '../stages/config.js';
import { withLoadedModel } from '../with-model.js';
import { assertOwnOptions } from './checks.js';
import type { AblationDefinition } from './definition.js';
import { measureAccuracy, measureOod, type Measurement } from './measure.js';
import { ablationDefinition } from './registry.js';
import { openSession, type AblationSession } from './session.js';
import type { AblationConfig, AblationCounts, AblationResult } from './types.js';

function counts(session: AblationSession, measured: Measurement): AblationCounts {
  const v = session.validation;
  return {
    train: session.fitted.trainCount,
    fit: session.fitted.fitFeatures.rows,
    idTest: measured.idTest,
    idLabelled: measured.idLabelled,
    idValidation: v?.id.rows ?? 0,
    ood: measured.ood,
    oodValidation: v ? { ...v.sizes } : {},
    skipped: Object.fromEntries(Object.entries(session.skips.sets).filter(([, list]) => list.length > 0).map(([set, list]) => [set, list.length])),
  };
}

/** The resolved run: an evaluation config whose one method makes the sets open as the ablation needs. */
function resolve(config: AblationConfig, definition: AblationDefinition) {
  const accuracy = definition.measures === 'accuracy';
  if (accuracy && config.ood.length > 0) config.onInfo?.(`the ${definition.kind} ablation measures ID accuracy: the OOD test sets are not used`);
  // `opnp` makes openSources add the noise validation set when no OOD validation set is given; `energy` opens none.
  return resolveConfig({ ...config, ood: accuracy ? [] : config.ood, methods: [definition.needs.validation ? 'opnp' : 'energy'] }, { requireOod: !accuracy });
}

/**
 * The ablation `config.kind` names, after checking its options (what {@link runAblation} does first; callers that
 * load the model themselves check before loading it).
 *
 * @throws OpnpError `INVALID_ARGUMENT` for an unknown kind, options of another kind, or bad options
 */
export function checkAblation(config: Pick<AblationConfig, 'kind' | 'options'>): AblationDefinition {
  const definition = ablationDefinition(config.kind);
  const options = config.options ?? {};
  assertOwnOptions(definition.kind, options, definition.optionKeys);
  definition.check(options);
  return definition;
}

/**
 * Runs the ablation `config.kind` (`pruning` / `table4`, `fraction` / `table8`, `statistic` / `table9`,
 * `accuracy` / `table3`, `sweep` / `figure3`) and returns its variants and tidy metrics.
 *
 * @throws OpnpError `INVALID_ARGUMENT` for an unknown kind, options of another kind, bad options or data
 * @throws InterruptedError when `config.signal` aborts
 *
 * @example
 * ```ts
 * import '@opnp/backend-onnx/register';
 * const result = await runAblation({ kind: 'pruning', model: 'mnist-cnn.onnx', train: 'idx:train-images-idx3-ubyte', test: 'idx:t10k-images-idx3-ubyte', ood: [{ name: 'fashion', spec: 'idx:fashion-t10k-images-idx3-ubyte' }], preprocess: { mean: [0.1307], std: [0.3081] } });
 * console.table(result.rows.filter((r) => r.metric === 'fpr95'));
 * ```
 */
export async function runAblation(config: AblationConfig): Promise<AblationResult> {
  const definition = checkAblation(config);
  const options = config.options ?? {};
  const resolved = resolve(config, definition);
  const run = { batchSize: resolved.batchSize, batchSizeExplicit: config.batchSize !== undefined, ...(config.signal ? { signal: config.signal } : {}), ...(config.onInfo ? { onInfo: config.onInfo } : {}), ...(resolved.optionNames ? { optionNames: resolved.optionNames } : {}) };
  return withLoadedModel(config.model, run, async (model, batchSize) => {
    const { session, variants } = await definition.variants((needs, observe) => openSession(model, { ...resolved, batchSize }, needs, observe), options);
    const measured = definition.measures === 'accuracy' ? await measureAccuracy(session, variants) : await measureOod(session, variants);
    return {
      kind: definition.kind,
      source: definition.source,
      title: definition.title,
      layout: definition.layout,
      variants: variants.map((v) => v.variant),
      oodSets: session.sources.ood.map(([name]) => name),
      rows: measured.rows,
      counts: counts(session, measured),
    };
  });
}
