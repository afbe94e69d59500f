/**
 * Citations of the baseline search's grids (docs/numerics.md#baseline-search).
 */

/** Where a grid comes from: an OpenOOD v1.5 postprocessor config (github.com/Jingkang50/OpenOOD at 3c35632). */
export const openood = (config: string, list: string): string => `OpenOOD v1.5 configs/postprocessors/${config}.yml (${list})`;
