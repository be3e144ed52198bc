/**
 * `serve`: the bridge from a config file, or the demo (no file: SQLite under ./data, a store-only target
 * and one target per sandbox vendor). SIGHUP reloads the file; SIGTERM and SIGINT shut down cleanly.
 */
import { hashToken, mintToken } from "../http/auth";
import { configFrom, defaultsWithListenEnv, loadConfigFile, withListenEnv } from "../config/load";
import type { Config } from "../config/schema";
import { startBridge } from "../main";
import { startDemoVendors } from "../sandbox/demo";

interface Setup {
  config: Config;
  /** The demo's tokens, printed once; none in config mode. */
  tokens?: Record<string, string>;
  close(): Promise<void>;
}

/** No config file: SQLite under ./data, a store-only target and one target per sandbox vendor. */
async function demo(env: NodeJS.ProcessEnv): Promise<Setup> {
  // HOST and PORT are checked before anything starts.
  defaultsWithListenEnv(env);
  const vendors = await startDemoVendors();
  try {
    Object.assign(process.env, vendors.env);
    const tokens: Record<string, string> = { demo: env.SCIM_BRIDGE_DEMO_TOKEN || mintToken().token };
    for (const name of Object.keys(vendors.vendors)) tokens[`demo-${name}`] = mintToken().token;
    const config = configFrom({
      store: { kind: "sqlite", path: env.SCIM_BRIDGE_DATA ? `${env.SCIM_BRIDGE_DATA}/bridge.db` : "./data/bridge.db" },
      targets: Object.entries(tokens).map(([name, token]) => ({
        name,
        tokens: [{ sha256: hashToken(token), label: "demo token minted at start" }],
        ...(name === "demo" ? {} : { vendor: vendors.vendors[name.slice("demo-".length)] }),
      })),
    });
    return { config: withListenEnv(config, env), tokens, close: vendors.close };
  } catch (error) {
    await vendors.close();
    throw error;
  }
}

/** Starts the bridge and stays running; a start that fails is thrown (the caller prints it and exits). */
export async function serve(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const setup: Setup = file ? { config: loadConfigFile(file, env), close: async () => undefined } : await demo(env);
  let bridge;
  try {
    bridge = await startBridge(setup.config);
  } catch (error) {
    await setup.close();
    throw error;
  }
  // What a person starting the bridge reads on the terminal (the logs go through winston).
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`SCIM base URL: ${bridge.scimBaseUrl}`);
  if (setup.tokens) {
    say("Demo targets and their bearer tokens for this run (vendors are the built-in sandboxes):");
    for (const [name, token] of Object.entries(setup.tokens)) say(`  ${name.padEnd(31)} ${token}`);
    say(`Try: curl -H "Authorization: Bearer ${setup.tokens.demo}" ${bridge.scimBaseUrl}/Users`);
  }
  const running = bridge;
  // SIGHUP: read the file again; tokens and targets change without dropping a request.
  process.on("SIGHUP", () => {
    if (!file) running.log.warn("SIGHUP: nothing to reload (the demo has no config file)");
    else
      void running.reload(() =>
        loadConfigFile(file, env, (issue) =>
          running.log.warn("configuration: a setting is ignored", { file: issue.file, line: issue.line, setting: issue.key, detail: issue.message }),
        ),
      );
  });
  // SIGTERM: stop intake at once, let work in flight finish (bounded), then exit.
  const stop = (signal: NodeJS.Signals) => {
    running.log.info("shutdown requested", { signal });
    void running
      .close()
      .then(setup.close)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
