/** Row blocks of the grid search: block sizes and the gathered feature columns of a block. */

/** Bytes of partial logits the blocks in flight hold at most by default (the banded path keeps two). */
export const DEFAULT_BLOCK_BYTES = 256 * 2 ** 20;

/** The default block size: 512 rows, fewer when a row's `partialsPerRow` float32 partial logits would exceed {@link DEFAULT_BLOCK_BYTES}. */
export function defaultBlockRows(partialsPerRow: number): number {
  return Math.max(1, Math.min(512, Math.floor(DEFAULT_BLOCK_BYTES / (4 * Math.max(1, partialsPerRow)))));
}

/**
 * Rows `start .. start+R` of `data [N x D]` restricted to each column list and clipped at `clip`: one
 * `[R x |columns|]` matrix per list, filled row by row so each source row is read from cache once.
 */
export function gatherColumns(data: Float32Array, D: number, start: number, R: number, columnLists: readonly Int32Array[], clip: number): Float32Array[] {
  const outs = columnLists.map((columns) => new Float32Array(R * columns.length));
  const lists = columnLists.length;
  for (let r = 0; r < R; r++) {
    const src = (start + r) * D;
    for (let k = 0; k < lists; k++) {
      const columns = columnLists[k]!;
      const out = outs[k]!;
      const J = columns.length;
      const o = r * J;
      if (clip === Infinity) {
        for (let jj = 0; jj < J; jj++) out[o + jj] = data[src + columns[jj]!]!;
      } else {
        for (let jj = 0; jj < J; jj++) {
          const v = data[src + columns[jj]!]!;
          out[o + jj] = v > clip ? clip : v;
        }
      }
    }
  }
  return outs;
}
