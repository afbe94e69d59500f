import { describe, expect, it } from 'vitest';
import { resolveGemmKernel } from '@opnp/core';
import { createTfjsGemmKernel, initTfjsBackend } from '../src/node/index.js';
import '../src/register.js';

// The TensorFlow.js backend is process-wide: this file switches it to cpu, apart from the wasm tests.
describe("the 'tfjs' GEMM kernel without wasm or tfjs-node", () => {
  it('refuses the pure-JavaScript cpu backend (slower than the portable kernel); the registry falls back', async () => {
    await expect(createTfjsGemmKernel({ prefer: 'cpu' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    process.env.OPNP_TFJS_BACKEND = 'cpu';
    try {
      expect((await resolveGemmKernel()).name).toBe('portable-js');
      await expect(resolveGemmKernel('tfjs')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    } finally {
      delete process.env.OPNP_TFJS_BACKEND;
    }
  });

  it('stops with a clear error when the global backend changes under a kernel', async () => {
    const kernel = await createTfjsGemmKernel({ prefer: 'wasm' });
    await initTfjsBackend({ prefer: 'cpu' });
    const m = { rows: 2, cols: 2, data: new Float32Array(4) };
    await expect(kernel.gemm(m, m, { transA: false, transB: false })).rejects.toMatchObject({ code: 'BACKEND_FAILURE' });
  });
});
