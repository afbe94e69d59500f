/** Shared test helpers: the fixtures' pixel formula and batch collection. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isOpnpError } from '@opnp/core';
import { expectClose as sharedExpectClose } from '@opnp/core/testing';
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

/** Compares float arrays within `tolerance * max(1, |expected|)`, naming the first differing index (`@opnp/core/testing`). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  sharedExpectClose(actual, expected, tolerance);
}

/** `text` as a literal inside a RegExp (paths in messages). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
