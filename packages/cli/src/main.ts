/**
 * The `opnp` command line, runnable in-process: {@link runCli} parses `argv`, runs the command, and
 * returns the exit code (0 ok, 1 user error, 2 usage error, 130 interrupted) instead of exiting.
 *
 * Dispatch rules: an unknown command is a usage error (exit 2, one line on stderr) even when `--help` follows it
 * (`opnp frobnicate --help`), and so is `opnp help <unknown>`. `opnp --help`, `opnp help` and `opnp <command> --help`
 * print help on stdout and exit 0. `opnp` with no command (or a command group such as `opnp data` without its
 * subcommand) did nothing: it prints the help on stderr and exits 2, so scripts notice.
 */
import { CommanderError, type Command } from 'commander';
import { isOpnpError } from '@opnp/core/base';
import { isAbort } from '@opnp/pipeline/interrupted';
import { EXIT, isInterrupted, UsageError } from './errors.js';
import { writeLine, type CliIo } from './io.js';

import { VERSION } from './version.js';

export { VERSION };

/** The command path of `command` as typed, e.g. `opnp data`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

const HELP_FLAGS: readonly string[] = ['-h', '--help'];

/**
 * The first operand of `args` (user arguments, after `node opnp`) that names no subcommand where one is expected,
 * with the command it was looked up in; `undefined` when there is none or when commander should decide.
 *
 * Commander handles `--help` before it reports an unknown command, so `opnp frobnicate --help` would print the main
 * help and exit 0; this runs first. It descends only through commands that have subcommands and take no
 * positional arguments, skipping help flags and the command's own options (with their values), and gives up (leaving
 * the error to commander) at `--`, at an option the command does not define, or at a command without subcommands.
 * `help <name>` looks `<name>` up like a command.
 */
function findUnknownCommand(program: Command, args: readonly string[]): { name: string; parent: Command } | undefined {
  let command = program;
  let i = 0;
  const nextOperand = (): string | undefined => {
    for (; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === '--') return undefined;
      if (arg.length < 2 || !arg.startsWith('-')) return args[i++];
      if (HELP_FLAGS.includes(arg)) continue;
      const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
      const flag = eq >= 0 ? arg.slice(0, eq) : arg;
      const option = command.options.find((o) => o.long === flag || o.short === flag);
      if (!option) return undefined;
      if (eq >= 0) continue; // --flag=value
      // A required value is the next argument whatever it is; an optional one only when it is not an option.
      const next = args[i + 1];
      if (option.required || (option.optional && next !== undefined && !(next.length > 1 && next.startsWith('-')))) i++;
    }
    return undefined;
  };
  const find = (parent: Command, name: string) => parent.commands.find((c) => c.name() === name || c.aliases().includes(name));
  while (command.commands.length > 0 && command.registeredArguments.length === 0) {
    let name = nextOperand();
    if (name === undefined) return undefined;
    if (name === 'help' && !find(command, 'help')) {
      name = nextOperand();
      if (name === undefined || find(command, name)) return undefined;
      return { name, parent: command };
    }
    const sub = find(command, name);
    if (!sub) return { name, parent: command };
    command = sub;
  }
  return undefined;
}

/** Every long option any command defines. */
function knownLongOptions(command: Command): Set<string> {
  const out = new Set<string>(['--help', '--version']);
  const walk = (c: Command) => {
    for (const o of c.options) if (o.long) out.add(o.long);
    for (const sub of c.commands) walk(sub);
  };
  walk(command);
  return out;
}

/** Levenshtein distance (for "did you mean"). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The first `--option` of `args` that no command defines, with the closest known one: commander reports a
 * missing required option before an unknown one, so `--modle x` would otherwise read "--model not specified".
 */
function misspelledOption(program: Command, args: readonly string[]): string | undefined {
  const known = knownLongOptions(program);
  for (const arg of args) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const flag = arg.split('=')[0]!;
    if (known.has(flag)) continue;
    const closest = [...known].map((k) => [k, editDistance(flag, k)] as const).sort((x, y) => x[1] - y[1])[0];
    return `unknown option '${flag}'${closest && closest[1] <= 2 ? ` (did you mean ${closest[0]}?)` : ''}`;
  }
  return undefined;
}

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
 * Errors are reported as one line `opnp: <message>` on `io.stderr`.
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
  // Misspelled options are looked up among the options of every command, as the whole program knows them.
  const everyCommand = async () => (extractAlone ? wholeProgram(io) : program);
  const unknown = findUnknownCommand(program, args);
  if (unknown) {
    writeLine(io.stderr, `opnp: unknown command '${unknown.name}' (see ${commandPath(unknown.parent)} --help)`);
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
      const misspelled = error.code === 'commander.missingMandatoryOptionValue' || error.code === 'commander.unknownOption' ? misspelledOption(await everyCommand(), args) : undefined;
      writeLine(io.stderr, `opnp: ${misspelled ?? commanderMessage(error)} (see opnp --help)`);
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      // Commands with subcommands check their required options themselves: a misspelling hides there too.
      const misspelled = /^required option /.test(error.message) ? misspelledOption(await everyCommand(), args) : undefined;
      writeLine(io.stderr, `opnp: ${misspelled ?? error.message} (see opnp --help)`);
      return EXIT.usage;
    }
    if (isInterrupted(error)) {
      writeLine(io.stderr, `opnp: ${error.message}`);
      return EXIT.interrupted;
    }
    if (isAbort(error, io.signal)) {
      writeLine(io.stderr, 'opnp: interrupted; nothing was saved');
      return EXIT.interrupted;
    }
    const message = isOpnpError(error) || error instanceof Error ? error.message : String(error);
    writeLine(io.stderr, `opnp: ${message.split('\n')[0]}`);
    if (io.env.OPNP_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return EXIT.error;
  }
}
