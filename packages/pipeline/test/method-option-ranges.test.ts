/**
 * Method option ranges: every value out of range is refused by name before any data is read, and every built-in
 * default and search grid value lies inside its method's declared range.
 */
import { describe, expect, it } from 'vitest';
import { createMethodRegistry, checkMethodOptionValues, describeRange, methodOptionProblem, type OptionRange } from '../src/index.js';
import { resolveConfig } from '../src/stages/config.js';

/** The definition of membership, written out: finite, integer when asked, inside each bound (open or closed). */
function member(value: number, r: OptionRange): boolean {
  const aboveMin = r.min === undefined || (r.minExclusive ? value > r.min : value >= r.min);
  const belowMax = r.max === undefined || (r.maxExclusive ? value < r.max : value <= r.max);
  return Number.isFinite(value) && (!r.integer || Number.isInteger(value)) && aboveMin && belowMax;
}

describe('method option ranges', () => {
  const registry = createMethodRegistry();

  it('describes ranges as the messages print them', () => {
    expect(describeRange({ min: 0, max: 100 })).toBe('a number in [0, 100]');
    expect(describeRange({ min: 0, max: 1, minExclusive: true })).toBe('a number in (0, 1]');
    expect(describeRange({ min: 0, max: 1, maxExclusive: true })).toBe('a number in [0, 1)');
    expect(describeRange({ min: 1, integer: true })).toBe('an integer >= 1');
    expect(describeRange({ min: 0, minExclusive: true })).toBe('a number > 0');
  });

  it('accepts exactly the members of each declared range, at and around both ends, NaN and infinities refused', () => {
    for (const name of registry.names()) {
      const definition = registry.get(name);
      for (const [option, range] of Object.entries(definition.ranges ?? {})) {
        const probes = [range.min, range.max].filter((v): v is number => v !== undefined).flatMap((v) => [v - 1, v - 0.5, v, v + 0.5, v + 1]);
        for (const value of [...probes, NaN, Infinity, -Infinity, 1e9]) {
          expect(methodOptionProblem(definition, option, value) === undefined, `${name}.${option}=${value}`).toBe(member(value, range));
        }
      }
    }
  });

  it('every default and every searched value lies in its range', () => {
    // A context large enough that every grid is whole (ViM's dims below D, KNN's k up to the training rows).
    const head = { weight: { rows: 1000, cols: 2048, data: new Float32Array(0) }, bias: new Float32Array(1000) };
    const context = { head, fitFeatures: { rows: 100000, cols: 2048, data: new Float32Array(0) }, fitLabels: new Int32Array(0) };
    for (const name of registry.names()) {
      const definition = registry.get(name);
      for (const [option, value] of Object.entries(definition.defaults)) expect(methodOptionProblem(definition, option, value), `${name}.${option}`).toBeUndefined();
      const search = definition.search;
      const grid = search ? (typeof search.grid === 'function' ? search.grid(context as never) : search.grid) : {};
      for (const [option, values] of Object.entries(grid)) for (const value of values as number[]) expect(methodOptionProblem(definition, option, value), `${name}.${option}=${value}`).toBeUndefined();
    }
  });

  it('refuses an out-of-range override by method and option, in the library before any data is read', () => {
    expect(() => checkMethodOptionValues(registry, { react: { percentile: 185 } })).toThrow('react.percentile: expected a number in [0, 100], got 185');
    expect(() => checkMethodOptionValues(registry, { knn: { k: 0 } })).toThrow('knn.k: expected an integer >= 1, got 0');
    expect(() => checkMethodOptionValues(registry, { react: { percentile: 100 }, knn: { k: 1 } })).not.toThrow();
    const config = { model: 'absent.onnx', train: 'noise:10', test: 'noise:10', ood: [{ name: 'n', spec: 'noise:10' }], methods: ['react'], methodOptions: { react: { percentile: -1 } } };
    expect(() => resolveConfig(config as never)).toThrow('react.percentile: expected a number in [0, 100], got -1');
  });
});
