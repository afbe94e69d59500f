/**
 * Brute-force definitions the tests compare against, written straight from docs/numerics.md with no sorting tricks,
 * plus a seeded random generator. Quadratic on purpose: keep inputs to a few hundred values.
 */
import { mulberry32 } from '@opnp/core';

/** The toolkit's seeded PRNG (mulberry32): floats in [0, 1). */
export const rng = mulberry32;

/** `n` integers drawn uniformly from `0..maxInclusive` (many ties). */
export function tiedScores(random: () => number, n: number, maxInclusive: number, shift = 0): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * (maxInclusive + 1)) + shift);
}

/** `n` continuous scores, roughly normal with the given mean. */
export function continuousScores(random: () => number, n: number, mean: number): number[] {
  return Array.from({ length: n }, () => mean + (random() + random() + random() - 1.5) * 2);
}

const count = (xs: readonly number[], pred: (x: number) => boolean): number => xs.filter(pred).length;

/** AUROC by counting all ID x OOD pairs, ties one half. */
export function bruteAuroc(id: readonly number[], ood: readonly number[]): number {
  let wins = 0;
  for (const a of id) for (const b of ood) wins += a > b ? 1 : a === b ? 0.5 : 0;
  return wins / (id.length * ood.length);
}

/** Every candidate threshold: all scores of both sets, both signs. */
function candidates(id: readonly number[], ood: readonly number[]): number[] {
  return [...id, ...ood, ...id.map((x) => -x), ...ood.map((x) => -x)];
}

/** FPR95 'default': sweep every candidate, keep the largest with TPR >= 0.95, count OOD >= it. */
export function bruteFpr95Default(id: readonly number[], ood: readonly number[]): number {
  let best = -Infinity;
  for (const t of candidates(id, ood)) {
    if (count(id, (x) => x >= t) / id.length >= 0.95 && t > best) best = t;
  }
  return count(ood, (x) => x >= best) / ood.length;
}

/** FPR95 'ood-positive': same sweep on negated scores with OOD positive; ID false alarms. */
export function bruteFpr95OodPositive(id: readonly number[], ood: readonly number[]): number {
  let best = -Infinity;
  for (const t of candidates(id, ood)) {
    if (count(ood, (x) => -x >= t) / ood.length >= 0.95 && t > best) best = t;
  }
  return count(id, (x) => -x >= best) / id.length;
}

/** Python 3 round(): written independently of the package (via the remainder, not floor/diff). */
export function pythonRound(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** FPR95 'dice', literally as in the DICE code: known.sort(); threshold = known[round(0.05 * N)]; mean(novel > threshold). */
export function bruteFpr95Dice(id: readonly number[], ood: readonly number[]): number {
  const known = [...id].sort((a, b) => a - b);
  const threshold = known[pythonRound(0.05 * known.length)]!;
  return count(ood, (x) => x > threshold) / ood.length;
}

/** Average precision, literally: distinct thresholds in decreasing order, sum (R_k - R_{k-1}) P_k. */
export function bruteAveragePrecision(positive: readonly number[], negative: readonly number[]): number {
  const thresholds = [...new Set([...positive, ...negative])].sort((a, b) => b - a);
  let ap = 0;
  let previousRecall = 0;
  for (const t of thresholds) {
    const tp = count(positive, (x) => x >= t);
    const fp = count(negative, (x) => x >= t);
    const recall = tp / positive.length;
    ap += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return ap;
}

/** ECE with a naive loop over the bins (b/B, (b+1)/B], 0 in the first. */
export function bruteEce(conf: readonly number[], correct: readonly boolean[], bins = 15): number {
  let total = 0;
  for (let b = 0; b < bins; b++) {
    const lower = b / bins;
    const upper = (b + 1) / bins;
    const members = conf.map((c, i) => ({ c, ok: correct[i]! })).filter(({ c }) => (c > lower && c <= upper) || (b === 0 && c === 0));
    if (members.length === 0) continue;
    const acc = members.filter((m) => m.ok).length / members.length;
    const mean = members.reduce((s, m) => s + m.c, 0) / members.length;
    total += (members.length / conf.length) * Math.abs(acc - mean);
  }
  return total;
}
