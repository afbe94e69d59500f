/**
 * The demo: OPNP on MNIST vs Fashion-MNIST and noise with the library API, printed like the paper's
 * tables. Run with `npm run demo` from the repository root.
 */
import { runMnistOpnp, type MethodResult } from './mnist-opnp.js';

const started = performance.now();
const quiet = process.argv.includes('--json');
if (!quiet && process.stderr.isTTY) process.stderr.write('Fitting the MNIST classifier, computing OPNP sensitivity, searching the grid...\n');
const run = await runMnistOpnp();
const seconds = (performance.now() - started) / 1000;

if (quiet) {
  process.stdout.write(
    JSON.stringify({
      classes: run.classes,
      featureDim: run.featureDim,
      idAccuracy: run.idAccuracy,
      opnp: { p_min: run.percentages.pMin, p_max: run.percentages.pMax, n_min: run.percentages.nMin, n_max: run.percentages.nMax },
      results: run.results,
    }) + '\n',
  );
} else {
  const pct = (v: number): string => (v * 100).toFixed(2);
  const oods = [...new Set(run.results.map((r) => r.ood))];
  const methods = [...new Set(run.results.map((r) => r.method))];
  const header = ['method', ...oods.flatMap((o) => [`${o} FPR95`, `${o} AUROC`]), 'avg FPR95', 'avg AUROC'];
  const rows = methods.map((method) => {
    const rs = oods.map((ood) => run.results.find((r) => r.method === method && r.ood === ood) as MethodResult);
    const avg = (key: 'fpr95' | 'auroc'): number => rs.reduce((s, r) => s + r[key], 0) / rs.length;
    return [method, ...rs.flatMap((r) => [pct(r.fpr95), pct(r.auroc)]), pct(avg('fpr95')), pct(avg('auroc'))];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const p = run.percentages;
  console.log(`MNIST (ID, accuracy ${pct(run.idAccuracy)}%) vs Fashion-MNIST and uniform noise (OOD); ${run.classes} classes, D = ${run.featureDim}`);
  console.log(`OPNP ${run.searched ? 'chosen by grid search on the validation split' : 'fixed'}: p_min=${p.pMin}% p_max=${p.pMax}% n_min=${p.nMin}% n_max=${p.nMax}% (kept ${run.masks.paramKept} of ${run.classes * run.featureDim} weights, ${run.masks.neuronKept} of ${run.featureDim} neurons)`);
  console.log('FPR95 (lower is better) and AUROC (higher is better), in percent:\n');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`\n(${seconds.toFixed(1)} s)`);
}
