/** A bridge for a conformance run: a fresh SQLite file, store-only targets, a port the OS picks. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFrom } from "../../src/config/load";
import { hashToken, mintToken } from "../../src/http/auth";
import { createLogger } from "../../src/log";
import { startBridge, type RunningBridge } from "../../src/main";

export interface ConformanceBridge {
  bridge: RunningBridge;
  tokens: Record<string, string>;
  close(): Promise<void>;
}

export async function startConformanceBridge(targets: { name: string; patchResponse?: "resource" | "no-content" }[]): Promise<ConformanceBridge> {
  const dir = mkdtempSync(join(tmpdir(), "scim-bridge-conformance-"));
  const tokens: Record<string, string> = {};
  for (const t of targets) tokens[t.name] = mintToken().token;
  const config = configFrom({
    server: { port: 0, host: "127.0.0.1" },
    store: { kind: "sqlite", path: join(dir, "bridge.db") },
    log: { level: "warn" },
    targets: targets.map((t) => ({ name: t.name, tokens: [{ sha256: hashToken(tokens[t.name]!) }], patchResponse: t.patchResponse ?? "resource" })),
  });
  // Request lines would drown the suites' own output; warnings and errors still show.
  const bridge = await startBridge(config, { log: createLogger("warn", process.stderr) });
  return {
    bridge,
    tokens,
    async close() {
      await bridge.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
