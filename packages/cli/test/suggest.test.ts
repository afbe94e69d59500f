/**
 * The "did you mean" helper: the edit distance against its definition (a breadth-first search over the four edit
 * operations), and the choice of names against a brute-force reading of the rule (nearest, near enough, ties kept).
 */
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, isNearEnough, nearestNames, orList } from '../src/suggest.js';

/** Every string over `alphabet` of length at most `max`. */
function stringsUpTo(alphabet: string, max: number): string[] {
  const out = [''];
  for (let i = 0; i < out.length; i++) if (out[i]!.length < max) for (const c of alphabet) out.push(out[i]! + c);
  return out;
}

/** The fewest insertions, deletions, substitutions and adjacent swaps from `a` to each string, by breadth-first search (strings up to `max` long). */
function bruteForceDistances(a: string, alphabet: string, max: number): Map<string, number> {
  const seen = new Map([[a, 0]]);
  let frontier = [a];
  for (let step = 1; frontier.length > 0; step++) {
    const next: string[] = [];
    const visit = (s: string) => {
      if (s.length <= max && !seen.has(s)) {
        seen.set(s, step);
        next.push(s);
      }
    };
    for (const s of frontier) {
      for (let i = 0; i <= s.length; i++) for (const c of alphabet) visit(s.slice(0, i) + c + s.slice(i));
      for (let i = 0; i < s.length; i++) {
        visit(s.slice(0, i) + s.slice(i + 1));
        for (const c of alphabet) visit(s.slice(0, i) + c + s.slice(i + 1));
        if (i + 1 < s.length) visit(s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2));
      }
    }
    frontier = next;
  }
  return seen;
}

describe('editDistance', () => {
  it('is the fewest insertions, deletions, substitutions and adjacent swaps (every pair of strings over abc up to 4 long)', () => {
    const words = stringsUpTo('abc', 4);
    for (const a of words) {
      // Paths through longer strings are searched too (up to 6 characters).
      const reference = bruteForceDistances(a, 'abc', 6);
      for (const b of words) expect(editDistance(a, b), `${a} -> ${b}`).toBe(reference.get(b));
    }
  });

  it('counts the empty string and a swap with an edit between as the definition does', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('', 'vim')).toBe(3);
    expect(editDistance('knn', '')).toBe(3);
    expect(editDistance('ca', 'abc')).toBe(bruteForceDistances('ca', 'abc', 5).get('abc'));
    expect(editDistance('extrcat', 'extract')).toBe(1);
  });
});

describe('nearestNames', () => {
  /** The rule read literally (distances as tested above): the near-enough candidates at the smallest distance any of them has, in the given order. */
  const bruteForce = (word: string, candidates: readonly string[]) => {
    const near = [...new Set(candidates)].filter((c) => isNearEnough(word, c));
    const best = Math.min(...near.map((c) => editDistance(word, c)));
    return near.filter((c) => editDistance(word, c) === best);
  };

  it('isNearEnough: one edit up to three characters, two beyond, never the whole word', () => {
    expect([isNearEnough('vmi', 'vim'), isNearEnough('vi', 'vim'), isNearEnough('v', 'vi'), isNearEnough('vm', 'vim')]).toEqual([true, true, false, true]);
    expect([isNearEnough('mdl', 'model'), isNearEnough('kn', 'knnx'), isNearEnough('ab', 'ash-b'), isNearEnough('vim', 'vim')]).toEqual([true, false, false, false]);
  });

  it('keeps every candidate tied at the smallest distance, in the order given, and only near ones', () => {
    const methods = ['msp', 'energy', 'vim', 'knn', 'ash-p', 'ash-b', 'ash-s', 'opp', 'onp', 'opnp', 'react', 'dice', 'she'];
    for (const word of ['vimm', 'vmi', 'ash', 'opn', 'enrgy', 'knn', 'x', 'kn', 'foo', 'reactt', 'dise', 'ashb', '']) {
      expect(nearestNames(word, methods), word).toEqual(bruteForce(word, methods));
    }
    expect(nearestNames('ash', methods)).toEqual(['ash-p', 'ash-b', 'ash-s']);
    expect(nearestNames('opn', methods)).toEqual(['opp', 'onp', 'opnp']);
  });

  it('suggests nothing for an empty word, no candidates, the word itself, or names too far', () => {
    expect(nearestNames('', ['a', 'ab'])).toEqual([]);
    expect(nearestNames('vim', [])).toEqual([]);
    expect(nearestNames('vim', ['vim'])).toEqual([]);
    expect(nearestNames('x', ['vim', 'knn'])).toEqual([]);
    expect(nearestNames('eval', ['extract', 'demo', 'merge'])).toEqual([]);
    expect(nearestNames('thread', ['threads', 'thread-count', 'threads'])).toEqual(['threads']);
  });
});

describe('didYouMean', () => {
  it('names one, two or at most three nearest names', () => {
    expect(didYouMean('extrct', ['demo', 'eval', 'extract'])).toBe('did you mean extract?');
    expect(didYouMean('ash', ['ash-p', 'ash-b'])).toBe('did you mean ash-p or ash-b?');
    expect(didYouMean('ab', ['aa', 'ac', 'ad', 'ae'])).toBe('did you mean aa, ac or ad?');
    expect(didYouMean('frobnicate', ['demo', 'eval'])).toBeUndefined();
    expect(orList([])).toBe('');
  });
});
