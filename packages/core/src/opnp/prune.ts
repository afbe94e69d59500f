/**
 * Applying masks to a head: `W' = W * keep_param * keep_neuron[None, :]`, `b` unchanged (docs/numerics.md#pruned-head).
 */
import { OpnpError } from '../errors.js';
import { assertHead, type LinearHead } from '../head.js';
import type { PruningMasks } from './masks.js';

/**
 * The pruned head `W' = W * keep_param * keep_neuron[None, :]` with the original bias (a copy; `head`
 * is not modified). Either mask may be omitted.
 *
 * @example
 * ```ts
 * const pruned = pruneHead(head, pruningMasks(sens, neuronSens, { pMin: 10, pMax: 1, nMin: 10, nMax: 1 }));
 * const oodScores = energy(logits(pruned, features)); // classify with the original head
 * ```
 */
export function pruneHead(head: LinearHead, masks: Partial<Pick<PruningMasks, 'param' | 'neuron'>>): LinearHead {
  assertHead(head);
  const { rows: C, cols: D, data: W } = head.weight;
  if (masks.param && masks.param.length !== C * D) {
    throw new OpnpError('SHAPE_MISMATCH', 'Parameter mask length must be C x D of the head', { expected: C * D, actual: masks.param.length });
  }
  if (masks.neuron && masks.neuron.length !== D) {
    throw new OpnpError('SHAPE_MISMATCH', 'Neuron mask length must be the head feature dimension D', { expected: D, actual: masks.neuron.length });
  }
  const out = new Float32Array(W.length);
  const param = masks.param;
  const neuron = masks.neuron;
  for (let c = 0; c < C; c++) {
    const base = c * D;
    for (let j = 0; j < D; j++) {
      const keep = (param ? param[base + j]! : 1) & (neuron ? neuron[j]! : 1);
      out[base + j] = keep ? W[base + j]! : 0;
    }
  }
  return { weight: { rows: C, cols: D, data: out }, bias: head.bias.slice() };
}
