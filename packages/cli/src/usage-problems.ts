/**
 * The usage errors found in the arguments before commander runs ({@link scanArgs}): an unknown command, an unknown
 * option (with the nearest option of the command, or the commands that take it), an unexpected argument, and a
 * single-value option given twice. Each is one short message; `runCli` adds the command's help hint.
 */
import type { Command } from 'commander';
import { commandPath, findSubcommand, isCommandGroup, type ScannedArgs } from './command-line.js';
import { didYouMean, orList } from './suggest.js';

/** `<message>; did you mean <x>?` when a suggestion exists. */
function withSuggestion(message: string, suggestion: string | undefined): string {
  return suggestion ? `${message}; ${suggestion}` : message;
}

/** The commands under `command` (itself included), depth first. */
function everyCommandUnder(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommandUnder)];
}

/** The commands of `program` that define `flag` (long or short), as paths. */
function commandsTaking(program: Command, flag: string): string[] {
  return everyCommandUnder(program)
    .filter((c) => c.options.some((o) => !o.hidden && (o.long === flag || o.short === flag)))
    .map(commandPath);
}

/** The long options `command` shows in its help, without their dashes. */
function longOptionNames(command: Command): string[] {
  return [...command.options.filter((o) => !o.hidden && o.long), { long: '--help' }].map((o) => o.long!.slice(2));
}

/**
 * `unknown option '--methods' for opnp extract; opnp demo and opnp eval take it`, or `...; did you mean --threads?`
 * when no other command defines it: another command's option is named as such (the wrong command is the likelier
 * mistake), else the nearest options of the command are suggested.
 */
function unknownOptionMessage(command: Command, flag: string, program: Command): string {
  const message = `unknown option '${flag}'${command.parent ? ` for ${commandPath(command)}` : ''}`;
  const others = commandsTaking(program, flag).filter((path) => path !== commandPath(command));
  if (others.length > 0) return `${message}; ${orList(others, 'and')} take${others.length === 1 ? 's' : ''} it`;
  return withSuggestion(message, flag.startsWith('--') ? didYouMean(flag.slice(2), longOptionNames(command), (name) => `--${name}`) : undefined);
}

/** The command a group's operands name: `unknown command 'extrct'; did you mean extract?` when it names none. */
function unknownCommandMessage(group: Command, operands: readonly string[]): string | undefined {
  // `opnp help <name>`: the name is looked up like a command (commander adds `help` to groups).
  const name = operands[0] === 'help' && !findSubcommand(group, 'help') ? operands[1] : operands[0];
  if (name === undefined || findSubcommand(group, name)) return undefined;
  const names = group.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  return withSuggestion(`unknown command '${name}'`, didYouMean(name, names));
}

/** An operand beyond the arguments `command` declares: `unexpected argument 'foo' for opnp eval`. */
function unexpectedArgumentMessage(command: Command, operands: readonly string[]): string | undefined {
  const declared = command.registeredArguments;
  if (declared.at(-1)?.variadic || operands.length <= declared.length) return undefined;
  const stray = operands[declared.length]!;
  const path = commandPath(command);
  // A mistyped subcommand (`opnp eval merg`) is an operand of the command itself.
  const subcommands = declared.length === 0 ? command.commands.map((c) => c.name()) : [];
  return withSuggestion(`unexpected argument '${stray}' for ${path}`, didYouMean(stray, subcommands, (name) => `${path} ${name}`));
}

/**
 * The first usage error of the scanned arguments, in commander's order (an unknown command of a group before an
 * unknown option, an unknown option before the arguments), or `undefined`. `program` is the whole program: an
 * option of another command is looked up there.
 */
export async function usageProblem(scan: ScannedArgs, program: () => Promise<Command>): Promise<string | undefined> {
  const { command, operands } = scan;
  if (isCommandGroup(command) && operands.length > 0) {
    const unknown = unknownCommandMessage(command, operands);
    if (unknown) return unknown;
  }
  if (scan.unknownOption !== undefined) return unknownOptionMessage(command, scan.unknownOption, await program());
  if (!isCommandGroup(command)) {
    const unexpected = unexpectedArgumentMessage(command, operands);
    if (unexpected) return unexpected;
  }
  if (scan.repeated) {
    const { flag, values } = scan.repeated;
    return `${flag} is given twice ('${values[0]}', then '${values[1]}'): give it once`;
  }
  return undefined;
}
