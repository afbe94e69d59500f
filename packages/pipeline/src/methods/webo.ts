/**
 * The `webo` method (docs/numerics.md#webo): VOS's weighted energy `log sum_c relu(v_c) exp(f_c)` with the class
 * weights `v` of the user's VOS training read from a `.npy` file (option `weights`); without it every weight is 1
 * and the score is `energy` at `T = 1`, exactly.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OpnpError, assertClassWeights, energy, weightedEnergy } from '@opnp/core';
import { readNpy } from '@opnp/datasets/node';
import type { MethodDefinition } from './registry.js';

type WeboOptions = { weights: string };

function weightsFileBytes(path: string, hint: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new OpnpError('IO_ERROR', `Cannot read the webo.weights file ${path}`, { file: path, cause: error, hint: `${(error as Error).message}; ${hint}` });
  }
}

/**
 * Reads the class weights `v [C]` from a `.npy` of shape `[C]` or `[1, C]` (VOS's `weight_energy.weight`, an
 * `nn.Linear(C, 1)` weight) and checks them against `classes`.
 *
 * @throws OpnpError `IO_ERROR` (unreadable file), `DATASET_FORMAT` (not a float `.npy`), `SHAPE_MISMATCH` (another
 * shape or length, naming both), `NON_FINITE` (with the weight's offset)
 */
export function readClassWeights(path: string, classes: number): Float32Array | Float64Array {
  const array = readNpy(weightsFileBytes(path, `give a .npy of the ${classes} class weights of your VOS training`), { file: path });
  const { shape } = array;
  if (!(shape.length === 1 || (shape.length === 2 && shape[0] === 1))) {
    throw new OpnpError('SHAPE_MISMATCH', 'The webo.weights file must hold one weight per class', { file: path, expected: `shape [${classes}] or [1, ${classes}]`, actual: `shape [${shape.join(', ')}]` });
  }
  assertClassWeights(array.data, classes, path);
  return array.data;
}

/** Weighted energy with the class weights of a `.npy` file, read (and checked against the model's classes) before any data is read. */
export const weboMethod: MethodDefinition<WeboOptions> = {
  description: "WEBO: VOS's weighted energy log sum_c relu(v_c) exp(f_c), v from the weights option (.npy of C values); without it v = 1 and the score equals energy",
  defaults: { weights: '' },
  check: ({ extractor }, o) => {
    const classes = extractor.head.weight.rows;
    if (o.weights === '') return 'no weights file (webo.weights): every class weight is 1, the score equals energy';
    readClassWeights(o.weights, classes);
    return `class weights from ${o.weights}`;
  },
  identity: (o) => (o.weights === '' ? null : { weightsSha256: createHash('sha256').update(weightsFileBytes(o.weights, 'give a .npy of the class weights of your VOS training')).digest('hex') }),
  create: (c, o) => {
    if (o.weights === '') return (_h, f) => energy(f);
    const weights = readClassWeights(o.weights, c.head.weight.rows);
    return (_h, f) => weightedEnergy(f, weights);
  },
};
