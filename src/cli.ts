#!/usr/bin/env node
/**
 * scim-bridge command line.
 *   serve [--config FILE]                         start the bridge (config: FILE, $SCIM_BRIDGE_CONFIG, or the demo)
 *   token mint                                    a new bearer token and its SHA-256 for the config
 *   mappings check [FILE…]                        validate mapping files (default: mappings/*.yaml)
 *   mappings preview --target NAME [--operation OP] USER.json   the request a SCIM user would produce
 *   targets check [NAME]                          one read-only vendor call per target
 *   reconcile --target NAME [--fix]               drift between the bridge and the vendor; --fix repairs it
 *   audit --target NAME [--user ID] [--limit N]   the vendor calls made, newest first
 *   outbox list|show|retry|drop                   the vendor work still to do, and dead letters
 */
import { tokenMintText } from "./cli/token";
import { mappingsCheck, mappingsPreview, type CommandResult } from "./cli/mappings";
import { targetsCheck } from "./cli/targets";
import { hashToken, mintToken } from "./http/auth";
import { CONFIG_ENV, configFrom, loadConfigFile } from "./config/load";
import type { Config } from "./config/schema";
import { FileValidationError } from "./config/yaml-file";
import { startBridge } from "./main";
import { startDemoVendors } from "./sandbox/demo";
import { reconcileCommand } from "./cli/reconcile";
import { auditCommand } from "./cli/audit";
import { outboxCommand } from "./cli/outbox";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Arguments that are neither options nor their values. */
function positional(args: string[], options: string[]): string[] {
  return args.filter((a, i) => !a.startsWith("--") && !options.includes(args[i - 1] ?? ""));
}

function configOf(args: string[]): Config {
  const file = option(args, "--config") ?? process.env[CONFIG_ENV];
  if (!file) throw new Error(`name the config file with --config FILE or ${CONFIG_ENV}`);
  return loadConfigFile(file);
}

/** No config file: SQLite under ./data, a store-only target and one target per sandbox vendor. */
async function demo(env: NodeJS.ProcessEnv) {
  const vendors = await startDemoVendors();
  Object.assign(process.env, vendors.env);
  const tokens: Record<string, string> = { demo: env.SCIM_BRIDGE_DEMO_TOKEN || mintToken().token };
  for (const name of Object.keys(vendors.vendors)) tokens[`demo-${name}`] = mintToken().token;
  const config = configFrom({
    server: { port: env.PORT ? Number(env.PORT) : 8080, host: env.HOST ?? "127.0.0.1" },
    store: { kind: "sqlite", path: env.SCIM_BRIDGE_DATA ? `${env.SCIM_BRIDGE_DATA}/bridge.db` : "./data/bridge.db" },
    targets: Object.entries(tokens).map(([name, token]) => ({
      name,
      tokens: [{ sha256: hashToken(token), label: "demo token minted at start" }],
      ...(name === "demo" ? {} : { vendor: vendors.vendors[name.slice("demo-".length)] }),
    })),
  });
  return { config, tokens, close: vendors.close };
}

async function serve(args: string[]): Promise<void> {
  const file = option(args, "--config") ?? process.env[CONFIG_ENV];
  const setup = file ? { config: loadConfigFile(file), tokens: undefined, close: async () => undefined } : await demo(process.env);
  const bridge = await startBridge(setup.config);
  console.log(`SCIM base URL: ${bridge.scimBaseUrl}`);
  if (setup.tokens) {
    console.log("Demo targets and their bearer tokens for this run (vendors are the built-in sandboxes):");
    for (const [name, token] of Object.entries(setup.tokens)) console.log(`  ${name.padEnd(31)} ${token}`);
    console.log(`Try: curl -H "Authorization: Bearer ${setup.tokens.demo}" ${bridge.scimBaseUrl}/Users`);
  }
  // SIGTERM: stop intake at once, let work in flight finish (bounded), then exit.
  const stop = () =>
    void bridge
      .close()
      .then(setup.close)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

function print(result: CommandResult): number {
  for (const line of result.out) console.log(line);
  return result.code;
}

const USAGE = `usage: scim-bridge <command>
  serve [--config FILE]                                       start the bridge
  token mint                                                  mint a bearer token and print its SHA-256
  mappings check [FILE…]                                      validate mapping files
  mappings preview --config FILE --target NAME [--operation OP] USER.json
                                                              print the vendor request a SCIM user produces
  targets check [NAME] --config FILE                          prove each target's credentials and ids
  reconcile --config FILE --target NAME [--fix]               report drift (status first); --fix repairs what the bridge owns
  audit --config FILE --target NAME [--user ID] [--limit N]   the vendor calls made (for one user: SCIM id or userName), newest first
  outbox list --config FILE [--target T] [--state pending|failed|done] [--json]
                                                              vendor work still to do (default: pending and failed)
  outbox show ID --config FILE                                one row: state, what the IdP believes, what the vendor holds
  outbox retry ID | --target T --failed --config FILE         make a dead letter (or all of a target's) due again
  outbox drop ID --config FILE                                give up a row (says what is left undone)`;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === "serve") return serve([sub, ...rest].filter((a): a is string => a !== undefined)).then(() => -1);
  if (command === "token" && sub === "mint") return (console.log(tokenMintText().text), 0);
  if (command === "mappings" && sub === "check") return print(mappingsCheck(rest));
  if (command === "mappings" && sub === "preview") {
    const [userFile] = positional(rest, ["--config", "--target", "--operation"]);
    const target = option(rest, "--target");
    if (!userFile || !target) return (console.error(USAGE), 2);
    return print(await mappingsPreview(configOf(rest), target, userFile, option(rest, "--operation")));
  }
  if (command === "reconcile") {
    const args = argv.slice(1);
    const target = option(args, "--target");
    if (!target) return (console.error(USAGE), 2);
    return print(await reconcileCommand(configOf(args), target, args.includes("--fix")));
  }
  if (command === "audit") {
    const args = argv.slice(1);
    const target = option(args, "--target");
    const limit = Number(option(args, "--limit") ?? 100);
    if (!target || !Number.isInteger(limit) || limit < 1) return (console.error(USAGE), 2);
    return print(await auditCommand(configOf(args), target, { user: option(args, "--user"), limit }));
  }
  if (command === "outbox") {
    const args = argv.slice(2);
    const [id] = positional(args, ["--config", "--target", "--state"]);
    return print(await outboxCommand(configOf(args), { sub, id, target: option(args, "--target"), state: option(args, "--state"), failed: args.includes("--failed"), json: args.includes("--json") }));
  }
  if (command === "targets" && sub === "check") return print(await targetsCheck(configOf(rest), positional(rest, ["--config"])[0]));
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof FileValidationError ? `Configuration is not valid:\n${error.message}` : `scim-bridge: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
