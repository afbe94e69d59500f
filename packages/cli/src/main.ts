/**
 * The `opnp` command line, runnable in-process: {@link runCli} parses `argv`, runs the command, and
 * returns the exit code (0 ok, 1 user error, 2 usage error, 130 interrupted) instead of exiting.
 *
 * Dispatch rules: an unknown command, an unknown option, an unexpected argument and a single-value option given twice
 * with different values are usage errors (exit 2, one line on stderr ending with the help hint of the command they are
 * about, with "did you mean" where a name is near) even when `--help` follows them (`opnp frobnicate --help`), and so
 * is `opnp help <unknown>` (see usage-problems.ts). `opnp --help`, `opnp help` and `opnp <command> --help` print help
 * on stdout and exit 0. `opnp` with no command (or a command group such as `opnp data` without its subcommand) did
 * nothing: it prints the help on stderr and exits 2, so scripts notice.
 */
import { CommanderError, type Command } from 'commander';
import { isOpnpError } from '@opnp/core/base';
import { isAbort } from '@opnp/pipeline/interrupted';
import { EXIT, isInterrupted, UsageError } from './errors.js';
import { writeLine, type CliIo } from './io.js';
import { commandPath, HELP_FLAGS, scanArgs } from './command-line.js';
import { usageProblem } from './usage-problems.js';
import { lowerFirstWord } from './message-case.js';

import { VERSION } from './version.js';

export { VERSION };

/** One line from a commander message (`error: unknown option '--x'` -> `unknown option '--x'`). */
function commanderMessage(error: CommanderError): string {
  return error.message.replace(/^error:\s*/, '').split('\n')[0]!.trim();
}

/**
 * Whether `args` run `opnp extract` without asking for help: then the program holds the extract command alone, so
 * the process loads what extracting needs and not every other command's modules (evaluation, methods, ablations,
 * metrics, reports: over 40% of the modules, 0.1-0.2 s of CPU of every extraction's start-up). The extract command,
 * its parsing and its messages are the same as in the whole program.
 */
export function runsExtractAlone(args: readonly string[]): boolean {
  return args[0] === 'extract' && !args.some((arg) => HELP_FLAGS.includes(arg) || arg === 'help');
}

/** Whether `args` are `--version` (or `-V`) alone: answered without building the program. */
export function asksVersionAlone(args: readonly string[]): boolean {
  return args.length === 1 && (args[0] === '--version' || args[0] === '-V');
}

/** The program with the extract command alone. */
async function extractProgram(io: CliIo): Promise<Command> {
  const [{ baseProgram }, { registerExtract }] = await Promise.all([import('./base-program.js'), import('./commands/extract.js')]);
  const program = baseProgram(io);
  registerExtract(program, { io });
  return program;
}

/** The program with every command. */
async function wholeProgram(io: CliIo): Promise<Command> {
  return (await import('./program.js')).createProgram(io);
}

/**
 * Runs the CLI on `argv` (`process.argv` shape: node, script, ...args) and returns the exit code.
 * Errors are reported as one line `opnp: <message>` on `io.stderr`, the message's first word lower-case unless it is
 * a name (see message-case.ts).
 *
 * @example
 * ```ts
 * const code = await runCli(['node', 'opnp', 'data', 'info', 'train-images-idx3-ubyte', '--json'], { stdout, stderr, env: {} });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = argv.slice(2);
  if (asksVersionAlone(args)) {
    writeLine(io.stdout, VERSION); // what commander prints, without loading every command first
    return EXIT.ok;
  }
  const extractAlone = runsExtractAlone(args);
  const program = extractAlone ? await extractProgram(io) : await wholeProgram(io);
  // Options of other commands are looked up in the whole program.
  const everyCommand = async () => (extractAlone ? wholeProgram(io) : program);
  const scan = scanArgs(program, args);
  // Usage errors point to the help of the command they are about.
  const seeHelp = `(see ${commandPath(scan.command)} --help)`;
  const problem = await usageProblem(scan, everyCommand);
  if (problem) {
    writeLine(io.stderr, `opnp: ${lowerFirstWord(problem)} ${seeHelp}`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // `opnp help` (exit code 0) versus no command at all, where commander printed the help to stderr (exit code 1).
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      if (error.code === 'commander.executeSubCommandAsync') return EXIT.ok;
      // Our option parsers throw OpnpErrors; commander wraps nothing, so these are real usage errors.
      writeLine(io.stderr, `opnp: ${lowerFirstWord(commanderMessage(error))} ${seeHelp}`);
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      writeLine(io.stderr, `opnp: ${lowerFirstWord(error.message)} ${seeHelp}`);
      return EXIT.usage;
    }
    if (isInterrupted(error)) {
      // Only a command that has --checkpoint is told to pass it.
      const resumable = error.checkpointable === true && scan.command.options.some((o) => o.long === '--checkpoint');
      writeLine(io.stderr, `opnp: ${lowerFirstWord(error.message)}${resumable ? ' (pass --checkpoint <file> to make the training pass resumable)' : ''}`);
      return EXIT.interrupted;
    }
    if (isAbort(error, io.signal)) {
      writeLine(io.stderr, 'opnp: interrupted; nothing was saved');
      return EXIT.interrupted;
    }
    const message = isOpnpError(error) || error instanceof Error ? error.message : String(error);
    writeLine(io.stderr, `opnp: ${lowerFirstWord(message.split('\n')[0]!)}`);
    if (io.env.OPNP_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT.error;
  }
}
