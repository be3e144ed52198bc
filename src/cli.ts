#!/usr/bin/env node
/**
 * scim-bridge command line.
 *   serve [--config FILE]   start the bridge (config from FILE, $SCIM_BRIDGE_CONFIG, or the embedded demo defaults)
 *   token mint              print a new bearer token and the hash that goes into a target's config
 */
import { tokenMintText } from "./cli/token";
import { hashToken, mintToken } from "./http/auth";
import { CONFIG_ENV, configFrom, loadConfigFile } from "./config/load";
import type { Config } from "./config/schema";
import { FileValidationError } from "./config/yaml-file";
import { startBridge } from "./main";

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** No config file: SQLite under ./data and one store-only demo target with a token minted for this run. */
function demoConfig(env: NodeJS.ProcessEnv): { config: Config; token: string } {
  const token = env.SCIM_BRIDGE_DEMO_TOKEN || mintToken().token;
  const port = env.PORT ? Number(env.PORT) : 8080;
  const config = configFrom({
    server: { port, host: env.HOST ?? "127.0.0.1" },
    store: { kind: "sqlite", path: env.SCIM_BRIDGE_DATA ? `${env.SCIM_BRIDGE_DATA}/bridge.db` : "./data/bridge.db" },
    targets: [{ name: "demo", tokens: [{ sha256: hashToken(token), label: "demo token minted at start" }] }],
  });
  return { config, token };
}

async function serve(args: string[]): Promise<void> {
  const file = option(args, "--config") ?? process.env[CONFIG_ENV];
  const { config, token } = file ? { config: loadConfigFile(file), token: undefined } : demoConfig(process.env);
  const bridge = await startBridge(config);
  console.log(`SCIM base URL: ${bridge.scimBaseUrl}`);
  if (token) {
    console.log(`Demo target 'demo' (store only). Bearer token for this run:\n  ${token}`);
    console.log(`Try: curl -H "Authorization: Bearer ${token}" ${bridge.scimBaseUrl}/Users`);
  }
  const stop = () => void bridge.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}


const USAGE = `usage: scim-bridge <command>
  serve [--config FILE]   start the bridge
  token mint              mint a bearer token and print its SHA-256 for the config`;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === "serve") return serve([sub, ...rest].filter((a): a is string => a !== undefined)).then(() => -1);
  if (command === "token" && sub === "mint") return (console.log(tokenMintText().text), 0);
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
