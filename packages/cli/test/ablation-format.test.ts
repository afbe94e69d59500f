/**
 * The ablation tables' layout and the paper's numbers beside ours (Tables 8 and 9; Table 4 and 3 run end to end in
 * ablate.test.ts), on hand-made results: no model needed.
 */
import { describe, expect, it } from 'vitest';
import type { AblationResult, AblationRow } from '@opnp/pipeline';
import { ablationPaper } from '../src/format/ablation-paper.js';
import { ablationCsv, ablationTable } from '../src/format/ablation-table.js';
import { paperTables } from '../src/format/paper-tables.js';

/** A result of `kind` with `variants` on `oods`: every value distinct and known. */
function fakeResult(kind: 'fraction' | 'statistic', variants: string[], oods: string[]): AblationResult {
  const rows: AblationRow[] = [];
  variants.forEach((variant, i) => {
    for (const [j, ood] of [...oods, null].entries()) {
      for (const [k, metric] of (['fpr95', 'auroc', 'auprIn', 'auprOut'] as const).entries()) rows.push({ variant, ood, metric, value: (i * 100 + j * 10 + k + 1) / 1000 });
    }
  });
  return {
    kind,
    source: kind === 'fraction' ? 'Table 8' : 'Table 9',
    title: 'test',
    layout: ['fpr95', 'auroc'],
    variants: variants.map((name) => ({ name, description: name, percentages: { pMin: 0, pMax: 1, nMin: 0, nMax: 0 }, searched: true, validation: { fpr95: 0.1, auroc: 0.9 } })),
    oodSets: oods,
    rows,
    counts: { train: 10, fit: 0, idTest: 5, idLabelled: 5, idValidation: 2, ood: {}, oodValidation: {}, skipped: {} },
  };
}

describe('ablation tables beside the paper', () => {
  it('Table 8: ours, the paper and Δ per matched OOD set and metric; the average has no paper column', () => {
    const result = fakeResult('fraction', ['none', '1%', '5%', '20%', '100%'], ['sun', 'Places', 'fashion']);
    const paper = ablationPaper(result)!;
    const t = ablationTable(result, paper);
    expect(t.columns).toEqual([
      'Fraction',
      ...['sun FPR95', 'sun AUROC', 'Places FPR95', 'Places AUROC'].flatMap((c) => [c, `${c} paper`, `${c} Δ`]),
      'fashion FPR95',
      'fashion AUROC',
      'Average FPR95',
      'Average AUROC',
    ]);
    const table8 = paperTables().table8;
    // Row `20%` (index 3): sun FPR95 = (300 + 0 + 1) / 1000 -> 30.10, paper 30.92, Δ -0.82.
    expect(t.rows[3]!.slice(0, 4)).toEqual(['20%', '30.10', table8.sun['20%']!.fpr95.toFixed(2), (30.1 - table8.sun['20%']!.fpr95).toFixed(2)]);
    expect(t.rows[3]![8]).toBe(table8.places['20%']!.fpr95.toFixed(2));
    expect(t.rows[3]!.slice(-4)).toEqual(['32.10', '32.20', '33.10', '33.20']);
    expect(paper.notes).toEqual(["not in the paper's Table 8 (SUN, Places): fashion"]);
    expect(ablationCsv(result, paper).split('\n')[0]).toBe(t.columns.join(','));
  });

  it('Table 9: the paper calls l2 norm, and a run without the paper sets has no paper columns and says so', () => {
    const result = fakeResult('statistic', ['mean', 'norm'], ['SUN']);
    const t = ablationTable(result, ablationPaper(result));
    expect(t.rows[1]!.slice(0, 3)).toEqual(['norm', '10.10', paperTables().table9.sun.norm!.fpr95.toFixed(2)]);
    const other = fakeResult('statistic', ['mean'], ['fashion']);
    expect(ablationTable(other, ablationPaper(other)).columns).toEqual(['Statistic', 'fashion FPR95', 'fashion AUROC']);
    expect(ablationPaper(other)!.notes[0]).toMatch(/none of this run's OOD sets \(fashion\) is in the paper's Table 9/);
  });
});
