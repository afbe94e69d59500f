/**
 * Rounding as numpy and Python 3 do it.
 */

/**
 * numpy's `round` (and Python 3's `round(x)`) for a finite double: the nearest integer, exact halves to the
 * even neighbour ("banker's rounding"): `0.5 -> 0`, `1.5 -> 2`, `2.5 -> 2`, `-1.5 -> -2`. Like numpy, a zero
 * result keeps the sign of `x` (`-0.5 -> -0`).
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact for |x| < 2^52
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}
