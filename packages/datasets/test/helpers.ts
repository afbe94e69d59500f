/** Shared test helpers: the fixtures' pixel formula and batch collection. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isOpnpError } from '@opnp/core';
import type { BatchOptions, Dataset } from '../src/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const fixture = (...parts: string[]) => join(FIXTURES, ...parts);

/** The fixtures' known pixel: (37 n + 101 c + 7 y + 13 x) mod 256 (see tools/fixtures/datasets/make_fixtures.py). */
export const pix = (n: number, c: number, y: number, x: number) => (37 * n + 101 * c + 7 * y + 13 * x) % 256;

/** All batches of a pass, concatenated. */
export async function collect(dataset: Dataset, options: BatchOptions = {}) {
  const data: number[] = [];
  const labels: number[] = [];
  const indices: number[] = [];
  const shapes: number[][] = [];
  for await (const batch of dataset.batches(options)) {
    expect(batch.data.length).toBe(batch.shape.reduce((a, b) => a * b, 1));
    expect(batch.labels.length).toBe(batch.shape[0]);
    expect(batch.indices.length).toBe(batch.shape[0]);
    shapes.push([...batch.shape]);
    for (const v of batch.data) data.push(v);
    labels.push(...batch.labels);
    indices.push(...batch.indices);
  }
  return { data: Float32Array.from(data), labels, indices, shapes };
}

/** Expects `fn` to throw (or reject with) an OpnpError of `code`; returns it. */
export async function expectOpnpError(fn: () => unknown, code: string) {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  if (!isOpnpError(caught)) throw new Error(`expected an OpnpError ${code}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  expect(caught.code, caught.message).toBe(code);
  return caught;
}

/** Compares float arrays with a tolerance, naming the first differing index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)))) throw new Error(`index ${i}: got ${a}, expected ${e} (tolerance ${tolerance})`);
  }
}
