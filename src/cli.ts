#!/usr/bin/env node
/**
 * scim-bridge command line: `scim-bridge --help` lists the commands (src/cli/commands.ts), `scim-bridge
 * <command> --help` explains one. Exit codes: 0 done, 1 the command found a problem, 2 a usage error.
 */
import { runCli } from "./cli/commands";
import { FileValidationError } from "./config/yaml-file";

/** One message, no stack: start problems (StartError, VendorConfigError) say what to change. */
function messageOf(error: unknown): string {
  if (error instanceof FileValidationError) return `Configuration is not valid:\n${error.message}`;
  return `scim-bridge: ${error instanceof Error ? error.message : String(error)}`;
}

runCli(process.argv.slice(2), { out: (line) => console.log(line), err: (line) => console.error(line) }).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(messageOf(error));
    // A start that failed may leave sockets or timers (sandboxes, a store pool): nothing more runs.
    process.exit(1);
  },
);
