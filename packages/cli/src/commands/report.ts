/**
 * `opnp report <results dir | eval JSON> --out <dir> [--recipe <name>]`: the paper's figures (SVG and PNG)
 * and a self-contained report.html with the results table, and with `--recipe` the paper's numbers of
 * that setting beside ours; the results tables as Markdown, CSV, JSON and Arrow under tables/.
 */
import type { Command } from 'commander';
import { checkRunFiles, isFolder } from './run-files.js';
import { choiceError } from '../options.js';
import { isRecipe, RECIPES, type RecipeName } from '../format/names.js';
import { writeLine } from '../io.js';
import { infoWriter, type CommandContext } from './shared.js';

interface ReportFlags {
  out: string;
  png: boolean;
  recipe?: string;
  quiet?: boolean;
}

/** Validates `--recipe`. */
export function parseRecipe(value: string | undefined): RecipeName | undefined {
  if (value === undefined) return undefined;
  if (!isRecipe(value)) throw choiceError('--recipe', value, RECIPES);
  return value;
}

/** Registers `opnp report`. */
export function registerReport(program: Command, context: CommandContext): void {
  program
    .command('report')
    .description('draw the paper-style figures (SVG, PNG) and a self-contained report.html from eval results')
    .argument('<results>', 'a folder written by opnp eval --save (all figures), or an eval JSON from --json (tables only; of one run, or of several: --seeds, several --model)')
    .requiredOption('--out <dir>', 'output folder: report.html and figures/*.svg, *.png')
    .option('--no-png', 'write only SVG figures')
    .option('--recipe <name>', `the paper setting the results reproduce (${RECIPES.join(', ')}): adds the paper's FPR95 / AUROC and the difference per cell`)
    .option('-q, --quiet', 'no info lines on stderr')
    .addHelpText(
      'after',
      `
Figures (from a results folder):
  fig1-parameter-sensitivity  s_cj / max s with the pruned bands (p_min, p_max) shaded
  fig2-neuron-sensitivity     s_j / max s_j with the pruned bands (n_min, n_max) shaded
  fig3-pruning-sweep          validation FPR95 and AUROC against each percentage (needs a grid search)
  fig4-reliability            reliability diagrams and ECE of the original and pruned head (needs ID labels)
  fig5-score-distributions    ID vs OOD energy and OPNP score densities per OOD set

Tables (always): tables/results.md and results.csv (the printed table), and the tidy table (method, ood,
metric, value; fractions; averages as ood "Average") as results-tidy.csv, results-tidy.json and
results-tidy.arrow (Arrow IPC file: pyarrow.ipc.open_file, arquero's fromArrow).
The eval JSON of several runs (--seeds, several --model) gives the mean ± std table (population std, as eval
prints it) and each run's table; its tidy table has a first column run (the run's label) with every run's values.

Example:
  opnp eval --model m.onnx --train ... --test ... --ood ... --save results
  opnp report results --out report && open report/report.html
  opnp report results/cifar10 --out report --recipe cifar10   # a tools/repro --save folder, beside Table 5`,
    )
    .action(async (input: string, flags: ReportFlags) => {
      const { io } = context;
      const info = infoWriter(io, flags.quiet === true);
      const recipe = parseRecipe(flags.recipe);
      // Notes about missing figures are always shown (they explain a partial report), unless --quiet.
      // Loaded on use: the figure stack (vega, resvg) would slow every other command's start.
      await checkRunFiles({ folders: [{ path: flags.out, what: 'the report (--out)', kind: 'into' }], inputs: [{ path: input, what: 'the results (<results>)', folder: isFolder(input) }] });
      const { writeReportFolder } = await import('../report/write-report.js');
      const written = await writeReportFolder({ input, out: flags.out, png: flags.png, ...(recipe ? { recipe } : {}), onNote: (m) => info(m) });
      writeLine(io.stdout, `${flags.out}/${written.html}`);
      for (const f of written.figures) writeLine(io.stdout, `${flags.out}/${f.svg}${f.png ? `  ${flags.out}/${f.png}` : ''}`);
      for (const t of written.tables) writeLine(io.stdout, `${flags.out}/${t}`);
    });
}
