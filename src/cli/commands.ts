/**
 * The command line: every command with its usage, options and what it runs. Arguments are parsed with
 * node:util parseArgs, strictly: an unknown option or an option without its value is refused with the
 * command's usage (exit 2); `--help` on any command prints its usage (exit 0). A command's code is loaded
 * only when it runs, so help and usage errors answer at once.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CONFIG_ENV, defaultsWithListenEnv, loadConfigFile } from "../config/load";
import type { Config } from "../config/schema";
import { VERSION } from "../version";
import type { CommandResult } from "./mappings";
import { parseSince } from "./since";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

/** A command's problem with its arguments: printed with its usage, exit 2. */
export class UsageError extends Error {}

interface Command {
  /** One or two words: "serve", "outbox list". */
  name: string;
  /** Arguments and options after the name, as shown in the usage. */
  args: string;
  summary: string;
  options: Options;
  /** How many positional arguments it takes at most (Infinity: a list of files). */
  positionals: number;
  /** Runs it: a result to print, or nothing when it keeps running (serve). */
  run(values: Values, positionals: string[]): Promise<CommandResult | void>;
}

const CONFIG: Options = { config: { type: "string", short: "c" } };
const TARGET: Options = { target: { type: "string", short: "t" } };

function configOf(values: Values): Config {
  const file = (values.config as string | undefined) ?? process.env[CONFIG_ENV];
  if (!file) throw new UsageError(`name the config file with --config FILE or ${CONFIG_ENV}`);
  return loadConfigFile(file);
}

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== "string") throw new UsageError(`--${name} is required`);
  return value;
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${name} takes a whole number above 0, not '${value}'`);
  return Number(value);
}

function since(values: Values): Date | undefined {
  const value = values.since as string | undefined;
  if (value === undefined) return undefined;
  const at = parseSince(value);
  if (!at) throw new UsageError(`--since takes a time (2026-12-01, 2026-12-01T09:00:00Z) or an age (90m, 24h, 7d), not '${value}'`);
  return at;
}

const OUTBOX_STATES = "pending|failed|done";

export const COMMANDS: Command[] = [
  {
    name: "serve",
    args: "[--config FILE]",
    summary: `start the bridge (config: FILE, $${CONFIG_ENV}, or the demo with sandbox vendors)`,
    options: CONFIG,
    positionals: 0,
    run: async (values) => (await import("./serve")).serve((values.config as string | undefined) ?? process.env[CONFIG_ENV]),
  },
  {
    name: "token mint",
    args: "",
    summary: "mint a bearer token and print its SHA-256 for the config",
    options: {},
    positionals: 0,
    run: async () => ({ code: 0, out: [(await import("./token")).tokenMintText().text] }),
  },
  {
    name: "mappings check",
    args: "[FILE…]",
    summary: "validate mapping files (default: mappings/*.yaml)",
    options: {},
    positionals: Infinity,
    run: async (_values, files) => (await import("./mappings")).mappingsCheck(files),
  },
  {
    name: "mappings preview",
    args: "--config FILE --target NAME [--operation OP] USER.json",
    summary: "print the vendor request a SCIM user would produce (secrets masked; nothing is sent)",
    options: { ...CONFIG, ...TARGET, operation: { type: "string" } },
    positionals: 1,
    run: async (values, [userFile]) => {
      if (!userFile) throw new UsageError("name the SCIM user's JSON file");
      return (await import("./mappings")).mappingsPreview(configOf(values), required(values, "target"), userFile, values.operation as string | undefined);
    },
  },
  {
    name: "targets check",
    args: "[NAME] --config FILE",
    summary: "check each target's settings as serve does, and prove its credentials with one read-only vendor call",
    options: CONFIG,
    positionals: 1,
    run: async (values, [name]) => (await import("./targets")).targetsCheck(configOf(values), name),
  },
  {
    name: "reconcile",
    args: "--config FILE (--target NAME | --all) [--fix] [--since TIME] [--json]",
    summary: "report drift between the bridge and the vendor (status first); --fix repairs what the bridge owns",
    options: { ...CONFIG, ...TARGET, all: { type: "boolean" }, fix: { type: "boolean" }, since: { type: "string" }, json: { type: "boolean" } },
    positionals: 0,
    run: async (values) => {
      const config = configOf(values);
      if (!values.all && typeof values.target !== "string") throw new UsageError("name a target with --target NAME, or --all for every vendor target");
      if (values.all && values.target !== undefined) throw new UsageError("--all and --target exclude each other");
      const targets = values.all ? config.targets.filter((t) => t.vendor).map((t) => t.name) : [values.target as string];
      return (await import("./reconcile")).reconcileCommand(config, targets, { fix: !!values.fix, since: since(values), json: !!values.json });
    },
  },
  {
    name: "audit",
    args: "--config FILE --target NAME [--user ID] [--since TIME] [--limit N] [--json]",
    summary: "the vendor calls made (for one user: SCIM id or userName), newest first",
    options: { ...CONFIG, ...TARGET, user: { type: "string" }, since: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } },
    positionals: 0,
    run: async (values) =>
      (await import("./audit")).auditCommand(configOf(values), required(values, "target"), {
        user: values.user as string | undefined,
        limit: positiveInteger(values.limit as string | undefined, "limit", 100),
        since: since(values),
        json: !!values.json,
      }),
  },
  {
    name: "outbox list",
    args: `--config FILE [--target T] [--state ${OUTBOX_STATES}] [--json]`,
    summary: "vendor work still to do (default: pending and failed)",
    options: { ...CONFIG, ...TARGET, state: { type: "string" }, json: { type: "boolean" } },
    positionals: 0,
    run: async (values) =>
      (await import("./outbox")).outboxCommand(configOf(values), {
        sub: "list",
        target: values.target as string | undefined,
        state: values.state as string | undefined,
        failed: false,
        json: !!values.json,
      }),
  },
  {
    name: "outbox show",
    args: "ID --config FILE [--target T]",
    summary: "one row: state, what the IdP believes, what the vendor holds, its calls",
    options: { ...CONFIG, ...TARGET },
    positionals: 1,
    run: async (values, [id]) =>
      (await import("./outbox")).outboxCommand(configOf(values), { sub: "show", id, target: values.target as string | undefined, failed: false, json: false }),
  },
  {
    name: "outbox retry",
    args: "(ID | --target T --failed) --config FILE",
    summary: "make a dead letter (or all of a target's) due again",
    options: { ...CONFIG, ...TARGET, failed: { type: "boolean" } },
    positionals: 1,
    run: async (values, [id]) =>
      (await import("./outbox")).outboxCommand(configOf(values), {
        sub: "retry",
        id,
        target: values.target as string | undefined,
        failed: !!values.failed,
        json: false,
      }),
  },
  {
    name: "outbox drop",
    args: "ID --config FILE [--target T]",
    summary: "give up a row (says what is left undone)",
    options: { ...CONFIG, ...TARGET },
    positionals: 1,
    run: async (values, [id]) =>
      (await import("./outbox")).outboxCommand(configOf(values), { sub: "drop", id, target: values.target as string | undefined, failed: false, json: false }),
  },
  {
    name: "backup",
    args: "--to FILE --config FILE",
    summary: "an online copy of the SQLite store, taken while the bridge runs",
    options: { ...CONFIG, to: { type: "string" } },
    positionals: 0,
    run: async (values) => (await import("./backup")).backupCommand(configOf(values), required(values, "to")),
  },
  {
    name: "healthcheck",
    args: "[--config FILE]",
    summary: "ask the local bridge for /healthz where the config and HOST / PORT say it listens (exit 0: healthy)",
    options: CONFIG,
    positionals: 0,
    run: async (values) => {
      const file = (values.config as string | undefined) ?? process.env[CONFIG_ENV];
      return (await import("./healthcheck")).healthcheckCommand(file ? loadConfigFile(file) : defaultsWithListenEnv(process.env));
    },
  },
];

function usageLine(command: Command): string {
  return `scim-bridge ${command.name}${command.args ? ` ${command.args}` : ""}`;
}

export function commandHelp(command: Command): string {
  const options = Object.entries(command.options).map(([name, o]) => `  ${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? " VALUE" : ""}`);
  return [`usage: ${usageLine(command)}`, "", command.summary, ...(options.length > 0 ? ["", "options:", ...options, "      --help"] : [])].join("\n");
}

export function usage(commands = COMMANDS): string {
  return [
    "usage: scim-bridge <command> [options]   (scim-bridge <command> --help for one command; --version)",
    "",
    ...commands.flatMap((c) => [`  ${c.name}${c.args ? ` ${c.args}` : ""}`, `      ${c.summary}`]),
  ].join("\n");
}

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const HELP = new Set(["--help", "-h"]);

/** The command named by the first one or two words, and the arguments after it. */
function commandOf(argv: string[]): { command?: Command; rest: string[]; group: Command[] } {
  const [first, second] = argv;
  const two = COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (two) return { command: two, rest: argv.slice(2), group: [] };
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { command: one, rest: argv.slice(1), group: [] };
  return { rest: argv, group: COMMANDS.filter((c) => c.name.startsWith(`${first} `)) };
}

/** Runs the command line; answers the exit code, or undefined while the command keeps running (serve). */
export async function runCli(argv: string[], io: CliOutput): Promise<number | undefined> {
  if (argv.length === 1 && argv[0] === "--version") return (io.out(VERSION), 0);
  if (argv.length === 1 && HELP.has(argv[0]!)) return (io.out(usage()), 0);
  const { command, rest, group } = commandOf(argv);
  if (!command) {
    // `outbox --help` shows the outbox commands; anything else unknown is a usage error.
    if (group.length > 0 && rest.slice(1).some((a) => HELP.has(a))) return (io.out(usage(group)), 0);
    io.err(
      argv.length === 0
        ? usage()
        : `scim-bridge: unknown command '${argv.slice(0, group.length > 0 ? 2 : 1).join(" ")}'\n\n${usage(group.length > 0 ? group : COMMANDS)}`,
    );
    return 2;
  }
  if (rest.some((a) => HELP.has(a))) return (io.out(commandHelp(command)), 0);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: command.positionals > 0, strict: true }) as typeof parsed;
    if (parsed.positionals.length > command.positionals) throw new UsageError(`unexpected argument '${parsed.positionals[command.positionals]}'`);
  } catch (error) {
    io.err(`scim-bridge ${command.name}: ${(error as Error).message}\n\n${commandHelp(command)}`);
    return 2;
  }
  try {
    const result = await command.run(parsed.values, parsed.positionals);
    if (!result) return undefined;
    for (const line of result.out) io.out(line);
    return result.code;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`scim-bridge ${command.name}: ${error.message}\n\n${commandHelp(command)}`);
    return 2;
  }
}
