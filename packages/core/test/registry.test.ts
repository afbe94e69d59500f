import { afterEach, describe, expect, it, vi } from 'vitest';
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
  type OpnpError,
} from '@opnp/core';
import { createRegistry, registryKey } from '../src/registry.js';
import type * as RegistryModule from '../src/registry.js';

describe('registry', () => {
  it('initialises lazily, once, with one shared promise for concurrent resolutions', async () => {
    const registry = createRegistry<{ id: number }>('thing', { key: Symbol('lazy') });
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
    const registry = createRegistry<string>('thing', { key: Symbol('priorities') });
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

  it('a lower-priority different factory is ignored, a higher one replaces, the same one at the same priority is a no-op', async () => {
    const registry = createRegistry<string>('thing', { key: Symbol('replace') });
    const first = () => 'first';
    registry.register('x', first, 5);
    registry.register('x', () => 'second', 1);
    expect(await registry.resolve('x')).toBe('first');
    registry.register('x', first, 5);
    expect(await registry.resolve('x')).toBe('first');
    registry.register('x', () => 'third', 6);
    expect(await registry.resolve('x')).toBe('third');
  });

  it('two different factories at the same name and priority are an error naming both', () => {
    const registry = createRegistry<string>('thing', { key: Symbol('conflict') });
    function fromPackageA(): string {
      return 'a';
    }
    function fromPackageB(): string {
      return 'b';
    }
    registry.register('x', fromPackageA, 5);
    let error: unknown;
    try {
      registry.register('x', fromPackageB, 5);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'OpnpError', code: 'INVALID_ARGUMENT' });
    const message = (error as Error).message;
    expect(message).toContain('"x"');
    expect(message).toContain('fromPackageA');
    expect(message).toContain('fromPackageB');
    expect(message).toContain('registry.test.ts');
  });

  it('the same factory source from another copy of a module (or a reload) counts as the same registration', async () => {
    const registry = createRegistry<string>('thing', { key: Symbol('same-source') });
    const make = () => () => 'value';
    registry.register('x', make(), 5);
    expect(() => registry.register('x', make(), 5)).not.toThrow();
    expect(await registry.resolve('x')).toBe('value');
  });

  it('rejects empty names and non-function factories', () => {
    const registry = createRegistry<string>('thing', { key: Symbol('invalid') });
    expect(() => registry.register('', () => 'x')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => registry.register('x', 'not a function' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('two copies of @opnp/core share the registries (globalThis[Symbol.for(...)])', () => {
  const slot = registryKey('copy-test');
  afterEach(() => {
    delete (globalThis as Record<symbol, unknown>)[slot];
  });

  it('keeps the entries on the global symbol', () => {
    createRegistry<string>('copy-test').register('x', () => 'x');
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('@opnp/core/registry/copy-test')]).toBeInstanceOf(Map);
    expect(registryKey('gemm kernel')).toBe(Symbol.for('@opnp/core/registry/gemm-kernel'));
  });

  it('a registry of a second module instance (a query-string import) sees what the first registered', async () => {
    // A query string makes a second module instance, as a second copy of the package would be.
    const specifier = '../src/registry.js?second-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof RegistryModule;
    expect(copy.createRegistry).not.toBe(createRegistry);
    const value = { id: 'shared' };
    createRegistry<{ id: string }>('copy-test').register('shared', () => value, 3);
    const other = copy.createRegistry<{ id: string }>('copy-test');
    expect(other.names()).toEqual(['shared']);
    expect(await other.resolve('shared')).toBe(value);
    expect(() => other.register('shared', () => ({ id: 'other copy, other code' }), 3)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('a backend registered through one copy of the contract module is loaded through another (vi.resetModules)', async () => {
    const first = await import('../src/feature-extractor.js');
    vi.resetModules();
    const second = await import('../src/feature-extractor.js');
    expect(second.registerBackend).not.toBe(first.registerBackend);
    const head = linearHead(matrix(1, 2, [1, 1]));
    const backend: Backend = {
      specificationVersion: 'v1',
      name: 'copy-test-backend',
      canLoad: (source) => source === 'copy.test',
      load: async () => createLinearFeatureExtractor({ head, input: { name: 'x', shape: [null, 2], layout: 'flat' } }),
    };
    first.registerBackend('copy-test-backend', () => backend, 1);
    expect(second.listBackends()).toContain('copy-test-backend');
    const extractor = await second.loadFeatureExtractor('copy.test');
    expect(extractor.backend).toBe('linear');
    await extractor.dispose();
  });
});

describe('backends and GEMM kernels', () => {
  const head = linearHead(matrix(2, 3, [1, 0, 0, 0, 1, 0]));
  const input = { name: 'x', shape: [null, 3] as (number | null)[], layout: 'flat' as const };
  const toyBackend: Backend = {
    specificationVersion: 'v1',
    name: 'toy-test',
    accepts: ['.toy'],
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
    const error = (await loadFeatureExtractor('model.unknown').catch((e: unknown) => e)) as OpnpError;
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE', file: 'model.unknown' });
    // Backends are registered: say what each accepts, not "import the register entry" for those that are.
    expect(error.message).toContain('None of the registered backends recognises this model');
    expect(error.message).toContain('toy-test (.toy)');
    expect(error.hint).toContain('Check the path and the file type');
    expect(error.hint).toContain('import "@opnp/backend-onnx/register" to load .onnx files');
  });

  it('loadFeatureExtractor names the register entries only when no backend is registered, and skips hints for registered ones', async () => {
    const slot = registryKey('backend');
    const saved = Object.getOwnPropertyDescriptor(globalThis, slot);
    delete (globalThis as Record<symbol, unknown>)[slot];
    try {
      vi.resetModules();
      const fresh = await import('../src/feature-extractor.js');
      const none = (await fresh.loadFeatureExtractor('model.onnx').catch((e: unknown) => e)) as OpnpError;
      expect(none).toMatchObject({ code: 'BACKEND_UNAVAILABLE', actual: 'no backends registered' });
      expect(none.hint).toContain('"@opnp/backend-onnx/register"');
      fresh.registerBackend('onnx', () => ({ ...toyBackend, name: 'onnx', accepts: ['.onnx'], canLoad: () => false }), 10);
      const unknown = (await fresh.loadFeatureExtractor(new Uint8Array([1, 2, 3])).catch((e: unknown) => e)) as OpnpError;
      expect(unknown.message).toContain('onnx (.onnx)');
      expect(unknown.hint).not.toContain('@opnp/backend-onnx/register');
      expect(unknown.hint).toContain('import "@opnp/backend-tfjs/register" to load model.json files');
      fresh.registerBackend('broken', () => Promise.reject(new Error('no native binary')), 1);
      const broken = (await fresh.loadFeatureExtractor('x.bin').catch((e: unknown) => e)) as OpnpError;
      expect(broken.message).toContain('broken (failed to initialise: ');
      expect(broken.hint).toContain('fix the backend(s) that failed to initialise (broken)');
    } finally {
      delete (globalThis as Record<symbol, unknown>)[slot];
      if (saved) Object.defineProperty(globalThis, slot, saved);
    }
  });

  it('resolveGemmKernel falls back to the portable kernel and returns the best registered one', async () => {
    expect(listGemmKernels()).toContain('portable-js');
    const fake: GemmKernel = { name: 'fake-test', gemm: (a, b, o) => portableGemmKernel.gemm(a, b, o) };
    registerGemmKernel('fake-test', () => fake, 1000);
    expect(await resolveGemmKernel()).toBe(fake);
    expect(await resolveGemmKernel('portable-js')).toBe(portableGemmKernel);
  });
});
