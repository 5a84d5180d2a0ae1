import type { Command } from 'commander';
import type { ConnectionOptions } from '../connection.js';

/** Options every command inherits from the program. */
export type GlobalOptions = ConnectionOptions;

/** The program-level options seen from a subcommand. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}
