/**
 * The whole `opnp` commander program: every command registered on {@link baseProgram}.
 */
import type { Command } from 'commander';
import type { CliIo } from './io.js';
import type { CommandContext } from './commands/shared.js';
import { baseProgram } from './base-program.js';
import { registerData } from './commands/data.js';
import { registerDemo } from './commands/demo.js';
import { registerEval } from './commands/eval.js';
import { registerExtract } from './commands/extract.js';
import { registerSensitivity } from './commands/sensitivity.js';
import { registerReport } from './commands/report.js';
import { registerExport } from './commands/export.js';
import { registerCluster } from './commands/cluster.js';
import { registerAblate } from './commands/ablate.js';

/**
 * Builds the commander program writing to `io`; with `checkOnly`, its commands run only their up-front checks and hand
 * the files they would read to it (`opnp cluster`'s planner, see cluster-checks.ts).
 */
export function createProgram(io: CliIo, checkOnly?: CommandContext['checkOnly']): Command {
  const program = baseProgram(io);
  const context: CommandContext = checkOnly ? { io, checkOnly } : { io };
  registerDemo(program, context);
  registerEval(program, context);
  registerAblate(program, context);
  registerSensitivity(program, context);
  registerExtract(program, context);
  registerData(program, context);
  registerReport(program, context);
  registerExport(program, context);
  registerCluster(program, context);
  return program;
}
