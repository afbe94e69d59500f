/**
 * After the training pass: the options each method runs with on the rows it fits on, when a method must change one
 * it cannot run as given (NNGuide's `k` above its bank's rows, `MethodDefinition.adapt`), with a warning each.
 */
import { resolveMethodOptions, type MethodOptionOverrides, type MethodRegistry, type TrainingRows } from '../methods/registry.js';

/**
 * `overrides` with the options of every method of `methods` whose `MethodDefinition.adapt` changes them on
 * `rows`, saying each change once to `warn`. The returned overrides are what the methods are fitted with and what
 * the report records.
 */
export function adaptToTrainingRows(registry: MethodRegistry, methods: readonly string[], overrides: MethodOptionOverrides, rows: TrainingRows, warn: (message: string) => void): MethodOptionOverrides {
  let out: MethodOptionOverrides = overrides;
  for (const method of methods) {
    const definition = registry.get(method);
    const adapted = definition.adapt?.(resolveMethodOptions(method, definition, overrides[method]), rows);
    if (!adapted) continue;
    warn(adapted.warning);
    out = { ...out, [method]: adapted.options };
  }
  return out;
}
