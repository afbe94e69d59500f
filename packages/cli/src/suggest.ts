/**
 * "Did you mean" for every closed set of names the command line knows (commands, options, methods, flag values):
 * the names nearest to a mistyped one by edit distance, when they are near enough to be what was meant.
 */

/**
 * The Damerau-Levenshtein distance of `a` and `b`: the fewest single-character insertions, deletions,
 * substitutions and swaps of two adjacent characters that turn `a` into `b` (Lowrance and Wagner's algorithm, so a
 * swapped pair may also be edited around: `ca` -> `abc` is 2).
 */
export function editDistance(a: string, b: string): number {
  const never = a.length + b.length;
  // d[i + 1][j + 1]: the distance of the first i characters of a and the first j of b; row and column 0 are a bound.
  const d = Array.from({ length: a.length + 2 }, () => new Array<number>(b.length + 2).fill(never));
  for (let i = 0; i <= a.length; i++) d[i + 1]![1] = i;
  for (let j = 0; j <= b.length; j++) d[1]![j + 1] = j;
  const lastRowOf = new Map<string, number>(); // the last row (1-based) of a holding a character
  for (let i = 1; i <= a.length; i++) {
    let lastMatchColumn = 0;
    for (let j = 1; j <= b.length; j++) {
      const k = lastRowOf.get(b[j - 1]!) ?? 0;
      const l = lastMatchColumn;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      if (cost === 0) lastMatchColumn = j;
      d[i + 1]![j + 1] = Math.min(
        d[i]![j]! + cost,
        d[i + 1]![j]! + 1,
        d[i]![j + 1]! + 1,
        d[k]![l]! + (i - k - 1) + 1 + (j - l - 1), // swap a[k - 1] and a[i - 1], with the characters between dropped or added
      );
    }
    lastRowOf.set(a[i - 1]!, i);
  }
  return d[a.length + 1]![b.length + 1]!;
}

/**
 * Whether `candidate` is near enough to the mistyped `word` to be suggested: one edit between names of up to three
 * characters, two otherwise, and never as many edits as `word` has characters (`x` is not a typo of `vim`).
 */
export function isNearEnough(word: string, candidate: string, distance = editDistance(word, candidate)): boolean {
  const allowed = Math.max(word.length, candidate.length) <= 3 ? 1 : 2;
  return distance > 0 && distance <= allowed && distance < word.length;
}

/**
 * The `candidates` nearest to `word` that are {@link isNearEnough}, in the order given (several when tied); none
 * for an empty word or when nothing is near. Duplicates are dropped.
 */
export function nearestNames(word: string, candidates: Iterable<string>): string[] {
  let best = Number.POSITIVE_INFINITY;
  let nearest: string[] = [];
  for (const candidate of new Set(candidates)) {
    const distance = editDistance(word, candidate);
    if (!isNearEnough(word, candidate, distance) || distance > best) continue;
    if (distance < best) nearest = [];
    best = distance;
    nearest.push(candidate);
  }
  return nearest;
}

/** `a`, `a or b`, `a, b or c` (or with `and`). */
export function orList(names: readonly string[], conjunction: 'or' | 'and' = 'or'): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} ${conjunction} ${names.at(-1)!}`;
}

/**
 * `did you mean vim?` for the names nearest to `word` (at most three, each written by `show`, e.g. with its
 * dashes), or `undefined` when none is near.
 */
export function didYouMean(word: string, candidates: Iterable<string>, show: (name: string) => string = (name) => name): string | undefined {
  const nearest = nearestNames(word, candidates).slice(0, 3);
  return nearest.length > 0 ? `did you mean ${orList(nearest.map(show))}?` : undefined;
}

/**
 * `unknown method "vimm"; did you mean vim?`, or for several names each with its suggestion and, when one has none,
 * the known names: `unknown methods "vimm" (did you mean vim?), "foo"; known: msp, energy, ...`.
 */
export function unknownNamesMessage(what: string, unknown: readonly string[], known: readonly string[]): string {
  const suggestions = unknown.map((name) => didYouMean(name, known));
  const knownList = suggestions.some((s) => s === undefined) ? `; known: ${known.join(', ')}` : '';
  if (unknown.length === 1) return `unknown ${what} "${unknown[0]!}"${suggestions[0] ? `; ${suggestions[0]}` : knownList}`;
  return `unknown ${what}s ${unknown.map((name, i) => `"${name}"${suggestions[i] ? ` (${suggestions[i]})` : ''}`).join(', ')}${knownList}`;
}
