/**
 * The top level of the `opnp` commander program (name, version, output, help text), which every program starts
 * from: the whole one ({@link createProgram} of `program.ts`) and the one `opnp extract` runs with.
 */
import { Command } from 'commander';
import type { CliIo } from './io.js';
import { VERSION } from './version.js';

/** The top-level program writing to `io`, without commands. */
export function baseProgram(io: CliIo): Command {
  const program = new Command('opnp');
  program
    .description('OOD detection with OPNP (Optimal Parameter and Neuron Pruning) and post-hoc baselines')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    // runCli reports unknown commands and options itself, with its own "did you mean" (suggest.ts) for every name.
    .showSuggestionAfterError(false)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: () => undefined, // runCli prints one line itself
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  opnp demo
  opnp eval --model model.onnx --train <dataset> --test <dataset> --ood fashion=<dataset> --json out.json
  opnp eval ... --save results/ && opnp report results/ --out report/
  opnp ablate pruning --model model.onnx --train <dataset> --test <dataset> --ood fashion=<dataset>
  opnp export --model model.onnx --train <dataset> --opnp p_min=10,p_max=1,n_min=10,n_max=1 --out detector.onnx
  opnp data info ./t10k-images-idx3-ubyte --json

Exit codes: 0 ok, 1 error, 2 usage error (unknown command, option or argument, missing or conflicting options, no command given), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM,
141 standard output closed by its reader.`,
    );
  return program;
}
