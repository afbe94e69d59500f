import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { initTfjsBackend } from '../src/node/index.js';

describe('initTfjsBackend', () => {
  it('forces cpu and wasm and reports the choice', async () => {
    const cpu = await initTfjsBackend({ prefer: 'cpu' });
    expect(cpu).toMatchObject({ name: 'cpu', tfName: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initTfjsBackend({ prefer: 'wasm' });
    expect(wasm.name).toBe('wasm');
    expect(typeof wasm.simd).toBe('boolean');
    expect(typeof wasm.threads).toBe('boolean');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('concurrent calls share one init', async () => {
    const [a, b] = await Promise.all([initTfjsBackend({ prefer: 'cpu' }), initTfjsBackend({ prefer: 'cpu' })]);
    expect(a).toBe(b);
  });

  it('automatic choice: tfjs-node when installed, else wasm (the reason node was skipped is reported)', async () => {
    let nodeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nodeInstalled = false;
    }
    const info = await initTfjsBackend();
    if (nodeInstalled) expect(info.name).toBe('node');
    else {
      expect(info.name).toBe('wasm');
      expect(info.skipped[0]).toMatch(/^node: /);
    }
  });

  it('forcing an unavailable backend rejects with BACKEND_UNAVAILABLE; unknown names with INVALID_ARGUMENT', async () => {
    let nodeInstalled = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nodeInstalled = false;
    }
    if (!nodeInstalled) {
      const error = await initTfjsBackend({ prefer: 'node' }).catch((e: unknown) => e);
      expect(isOpnpError(error) && error.code).toBe('BACKEND_UNAVAILABLE');
    }
    expect(() => initTfjsBackend({ prefer: 'webgpu' as 'cpu' })).toThrow(/Unknown TensorFlow.js backend/);
  });
});
