/**
 * Shared helpers of the web backend's tests: the Node backend's test models and seeded inputs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InputBatch } from '@opnp/core';
import { seeded } from '../../backend-onnx/test/helpers/models.js';

/** A test model of `@opnp/backend-onnx` (its `test/fixtures`), as bytes and as a path. */
export function fixture(name: string): { path: string; bytes: Uint8Array } {
  const path = fileURLToPath(new URL(`../../backend-onnx/test/fixtures/${name}`, import.meta.url));
  return { path, bytes: readFileSync(path) };
}

/** Deterministic pseudo-random floats in [-1, 1): the ONNX backend's test helper. */
export { seeded };

/** `n` seeded `channels x size x size` images; sample `i` does not depend on `n`. */
export const imageBatch = (channels: number, size: number) => (n: number): InputBatch => {
  const per = channels * size * size;
  const data = new Float32Array(n * per);
  for (let i = 0; i < n; i++) data.set(seeded(per, 100 + i), i * per);
  return { data, shape: [n, channels, size, size] };
};
