/**
 * The arguments of `opnp` read the way commander reads them, before commander runs: which command they name, its
 * operands, the first option it does not define, and a single-value option given twice. `runCli` reports usage
 * errors from this reading, so they name the command and are found even when `--help` or a missing required option
 * would otherwise come first.
 */
import type { Command, Option } from 'commander';
import { collect } from './collect.js';

/** The help flags every command has. */
export const HELP_FLAGS: readonly string[] = ['-h', '--help'];

/** A single-value option given twice with different values. */
export interface RepeatedOption {
  /** The option as defined, e.g. `--out`. */
  readonly flag: string;
  /** The first two different values, in order. */
  readonly values: readonly [string, string];
}

/** What {@link scanArgs} found. */
export interface ScannedArgs {
  /** The deepest command the arguments name (the program itself when they name none). */
  readonly command: Command;
  /** The operands of `command`: arguments that are neither its options (with their values) nor a subcommand's name. */
  readonly operands: readonly string[];
  /** The first option `command` does not define (`--flag` of `--flag=value`), unless `command` passes unknown options on. */
  readonly unknownOption?: string;
  /** The first single-value option of `command` given twice with different values. */
  readonly repeated?: RepeatedOption;
}

/**
 * Commander's own flags, which its public API does not expose: whether `command` has an action (a command group
 * such as `opnp data` has none) and whether it takes options it does not define (`opnp cluster slurm <command...>`).
 */
interface CommanderFlags {
  readonly _actionHandler?: unknown;
  readonly _allowUnknownOption?: boolean;
}

/** Whether `command` only dispatches to its subcommands (it has no action of its own). */
export function isCommandGroup(command: Command): boolean {
  return command.commands.length > 0 && !(command as unknown as CommanderFlags)._actionHandler;
}

function passesUnknownOptions(command: Command): boolean {
  return (command as unknown as CommanderFlags)._allowUnknownOption === true;
}

/** The command path of `command` as typed, e.g. `opnp data info`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The subcommand of `command` named (or aliased) `name`. */
export function findSubcommand(command: Command, name: string): Command | undefined {
  return command.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

/**
 * Whether `option` may be given with several values: it collects them ({@link collect}: `--ood`, `--model` of eval,
 * `--method-option`, ...). Any other option given twice with different values is a usage error (commander would
 * keep the last one silently); a switch or the same value twice is harmless.
 */
export function isRepeatable(option: Option): boolean {
  return option.parseArg === collect || option.variadic;
}

function isOptionLike(arg: string): boolean {
  return arg.length > 1 && arg.startsWith('-');
}

/** One option argument: the option it names (if `command` defines it) and the value written in it, if any. */
function splitOption(command: Command, arg: string): { flag: string; option: Option | undefined; inline: string | undefined } {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    return { flag, option: command.options.find((o) => o.long === flag), inline: eq >= 0 ? arg.slice(eq + 1) : undefined };
  }
  // -x, -xVALUE, or -abc (switches -a -b -c): the first short option decides, as commander reads it.
  const flag = arg.slice(0, 2);
  const option = command.options.find((o) => o.short === flag);
  if (!option || arg.length === 2) return { flag, option, inline: undefined };
  if (option.required || option.optional) return { flag, option, inline: arg.slice(2) };
  return { flag, option, inline: undefined };
}

/**
 * Reads `args` (the user's arguments, after `node opnp`) against `program`: descends into the subcommand its first
 * operand names, skipping each command's options with their values (help flags included), up to `--` or the first
 * option the command does not define (commander treats everything after that as unknown too).
 */
export function scanArgs(program: Command, args: readonly string[]): ScannedArgs {
  let command = program;
  let operands: string[] = [];
  let values = new Map<Option, string>();
  let repeated: RepeatedOption | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!isOptionLike(arg)) {
      const sub = operands.length === 0 ? findSubcommand(command, arg) : undefined;
      if (sub) {
        [command, operands, values, repeated] = [sub, [], new Map(), undefined];
      } else {
        operands.push(arg);
      }
      continue;
    }
    if (HELP_FLAGS.includes(arg)) continue;
    const { flag, option, inline } = splitOption(command, arg);
    if (!option) return passesUnknownOptions(command) ? { command, operands, ...(repeated ? { repeated } : {}) } : { command, operands, unknownOption: flag, ...(repeated ? { repeated } : {}) };
    let value = inline;
    // A required value is the next argument whatever it is; an optional one only when it is not an option.
    if (value === undefined && i + 1 < args.length && (option.required || (option.optional && !isOptionLike(args[i + 1]!)))) value = args[++i]!;
    if (value === undefined || isRepeatable(option)) continue;
    const previous = values.get(option);
    if (previous === undefined) values.set(option, value);
    else if (previous !== value) repeated ??= { flag: option.long ?? option.short ?? flag, values: [previous, value] };
  }
  return { command, operands, ...(repeated ? { repeated } : {}) };
}
