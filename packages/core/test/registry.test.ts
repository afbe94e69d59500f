import { describe, expect, it } from 'vitest';
import {
  createLinearFeatureExtractor,
  linearHead,
  listBackends,
  listGemmKernels,
  loadFeatureExtractor,
  matrix,
  portableGemmKernel,
  registerBackend,
  registerGemmKernel,
  resolveBackend,
  resolveGemmKernel,
  type Backend,
  type GemmKernel,
} from '@opnp/core';
import { createRegistry } from '../src/registry.js';

describe('registry', () => {
  it('initialises lazily, once, with one shared promise for concurrent resolutions', async () => {
    const registry = createRegistry<{ id: number }>('thing');
    let calls = 0;
    registry.register('a', async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return { id: calls };
    });
    expect(calls).toBe(0);
    const [x, y] = await Promise.all([registry.resolve('a'), registry.resolve('a')]);
    expect(x).toBe(y);
    expect(calls).toBe(1);
  });

  it('prefers higher priority, skips factories that fail, and ignores re-registering the same factory', async () => {
    const registry = createRegistry<string>('thing');
    const low = () => 'low';
    registry.register('low', low, 1);
    registry.register('broken', () => {
      throw new Error('no native binary');
    }, 10);
    registry.register('mid', () => 'mid', 5);
    registry.register('low', low, 0); // same factory: no-op (priority not lowered)
    expect(registry.names()).toEqual(['broken', 'mid', 'low']);
    expect(await registry.resolve()).toBe('mid');
    await expect(registry.resolve('broken')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringContaining('no native binary') });
    await expect(registry.resolve('missing')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringContaining('broken, mid, low') });
  });

  it('a lower-priority different factory does not replace a registered one; an equal or higher one does', async () => {
    const registry = createRegistry<string>('thing');
    registry.register('x', () => 'first', 5);
    registry.register('x', () => 'second', 1);
    expect(await registry.resolve('x')).toBe('first');
    const other = createRegistry<string>('thing');
    other.register('x', () => 'first', 5);
    other.register('x', () => 'third', 5);
    expect(await other.resolve('x')).toBe('third');
  });
});

describe('backends and GEMM kernels', () => {
  const head = linearHead(matrix(2, 3, [1, 0, 0, 0, 1, 0]));
  const input = { name: 'x', shape: [null, 3] as (number | null)[], layout: 'flat' as const };
  const toyBackend: Backend = {
    specificationVersion: 'v1',
    name: 'toy-test',
    canLoad: (source) => typeof source === 'string' && source.endsWith('.toy'),
    load: async () => createLinearFeatureExtractor({ head, input }),
  };

  it('loadFeatureExtractor picks a backend that recognises the model, and says what it expected otherwise', async () => {
    registerBackend('toy-test', () => toyBackend, 3);
    expect(listBackends()).toContain('toy-test');
    expect(await resolveBackend('toy-test')).toBe(toyBackend);
    const extractor = await loadFeatureExtractor('model.toy');
    expect(extractor.backend).toBe('linear');
    await extractor.dispose();
    await expect(loadFeatureExtractor('model.unknown')).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      file: 'model.unknown',
      message: expect.stringContaining('expected an ONNX model (.onnx) or a TensorFlow.js model.json'),
    });
  });

  it('resolveGemmKernel falls back to the portable kernel and returns the best registered one', async () => {
    expect(listGemmKernels()).toContain('portable-js');
    const fake: GemmKernel = { name: 'fake-test', gemm: (a, b, o) => portableGemmKernel.gemm(a, b, o) };
    registerGemmKernel('fake-test', () => fake, 1000);
    expect(await resolveGemmKernel()).toBe(fake);
    expect(await resolveGemmKernel('portable-js')).toBe(portableGemmKernel);
  });
});
